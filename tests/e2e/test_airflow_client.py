"""The REST API client against the real Airflow: 409 is success, an expired JWT is renewed."""

from __future__ import annotations

import uuid

from helpers.webhook import make_payload, ons_url, to_body
from sintegre.intake.airflow_api import AirflowClient, AirflowRejected
from sintegre.intake.notification import normalize


def test_duplicate_trigger_counts_as_success_and_jwt_is_renewed(stack):
    client = AirflowClient(stack.airflow_url, "admin", stack.env["AIRFLOW_PASSWORD"])
    stack.set_paused("sintegre_generic", True)
    try:
        run_id = f"client_contract__{uuid.uuid4().hex[:8]}"
        payload = make_payload(url=ons_url(host="localhost"))
        conf = normalize(to_body(payload), allowed_hosts=("localhost",)).to_conf()
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
        client.trigger("sintegre_generic", "bad_conf", {"notification_id": "x"})
    except AirflowRejected as exc:
        assert exc.status in (400, 422)  # Params' JSON schema refuses an incomplete conf
    else:
        raise AssertionError("an incomplete conf must be refused by the Params schema")
    try:
        client.trigger("no_such_dag", "x", {})
    except AirflowRejected as exc:
        assert exc.status == 404
    else:
        raise AssertionError("a missing DAG must be refused")
