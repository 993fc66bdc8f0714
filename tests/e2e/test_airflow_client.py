"""The REST API client against the real Airflow: 409 is success, an expired JWT is renewed."""

from __future__ import annotations

import uuid

from sintegre.airflow_api import AirflowClient, AirflowRejected


def test_duplicate_trigger_counts_as_success_and_jwt_is_renewed(stack):
    client = AirflowClient(stack.airflow_url, "admin", stack.env["AIRFLOW_PASSWORD"])
    stack.set_paused("sintegre_generic", True)
    try:
        run_id = f"client_contract__{uuid.uuid4().hex[:8]}"
        conf = {"notification_id": "x"}  # incomplete on purpose: the run must not execute
        first = client.trigger("sintegre_generic", run_id, conf, note="contract test")
        assert first.outcome == "created"
        client._token = "expired-or-garbage"  # Airflow answers 401: the client logs in again
        second = client.trigger("sintegre_generic", run_id, conf)
        assert second.outcome == "exists"
        assert client.dag_run_state("sintegre_generic", run_id) == "queued"
        assert client.dag_run_state("sintegre_generic", "no-such-run") is None
        stack.mark_failed("sintegre_generic", [run_id])
    finally:
        stack.set_paused("sintegre_generic", False)
    try:
        client.trigger("no_such_dag", "x", {})
    except AirflowRejected as exc:
        assert exc.status == 404
    else:
        raise AssertionError("a missing DAG must be refused")
