"""The system driven only as SINtegre drives it: its buttons, through the simulator."""

from __future__ import annotations

import time
from datetime import date

import requests
from stack import MEASUREMENTS

from helpers.lake import catalog_rows
from sintegre_dev.simulator import build_notification, send_notification
from sintegre_dev.simulator.buttons import (
    DeliveryState,
    publish_and_send,
    resend_pending,
    send_all,
)
from sintegre_dev.simulator.samples import sample_products

DAY = date(2025, 5, 6)


def _auth(webhook) -> dict:
    return {
        "auth": "basic",
        "user": "ons",
        "password": webhook.stack.env["SINTEGRE_WEBHOOK_PASSWORD"],
    }


def test_send_all_every_sample_product_lands(stack, simulator, webhook, tmp_path):
    samples = sample_products(tmp_path / "files", DAY)
    state = DeliveryState(tmp_path / "state.json")
    started = time.monotonic()
    deliveries = send_all(
        simulator, f"{stack.receiver_url}/sintegre/default", samples, state=state, **_auth(webhook)
    )
    assert [d.status for d in deliveries] == [200] * len(samples)
    views = [
        webhook.wait_for(d.receiver_id, {"succeeded", "unchanged", "failed"}, timeout=400)
        for d in deliveries
    ]
    MEASUREMENTS["send_all_samples_seconds"] = round(time.monotonic() - started, 1)
    assert {v["product"]: v["status"] for v in views} == {s.nome: "succeeded" for s in samples}, [
        (v["product"], v["last_error"]) for v in views
    ]
    webhook.accepted_ids.extend(d.receiver_id for d in deliveries)
    for view in views:  # Airflow's own record agrees with the receiver's
        run = stack.airflow_get(f"/api/v2/dags/{view['dag_id']}/dagRuns/{view['dag_run_id']}")
        assert run.json()["state"] == "success"
        assert view["product"] in (run.json().get("note") or "")
    assert catalog_rows(stack.lake)
    # The PDF (IPDO) is kept raw only, the others landed tables.
    curated = {p.name for p in (stack.lake / "curated").iterdir()}
    assert {"psat", "vazoes_observadas", "dessem_dp", "decomp_carga_dp"} <= curated


def test_a_failed_delivery_then_resend_pending_lands(stack, simulator, webhook, tmp_path):
    sample = next(
        s for s in sample_products(tmp_path / "files", date(2025, 5, 7)) if s.product_id == 487
    )
    state = DeliveryState(tmp_path / "state.json")
    url = f"{stack.receiver_url}/sintegre/default"
    stack.kill_receiver()  # the webhook is down: SINtegre records the delivery as failed
    failed = publish_and_send(simulator, url, sample, state=state, timeout=3, **_auth(webhook))
    assert failed.status is None
    stack.start_receiver()
    resent = resend_pending(simulator, url, state, **_auth(webhook))
    assert [d.status for d in resent] == [200]
    assert resent[0].payload["url"] != failed.payload["url"]  # a fresh token
    view = webhook.wait_for(resent[0].receiver_id, {"succeeded", "unchanged", "failed"})
    assert view["status"] in {"succeeded", "unchanged"}
    webhook.accepted_ids.append(resent[0].receiver_id)


def test_a_token_expired_before_sending_is_refused_then_the_resend_lands(
    stack, simulator, webhook, tmp_path
):
    sample = next(
        s for s in sample_products(tmp_path / "files", date(2025, 5, 8)) if s.product_id == 275
    )
    url = f"{stack.receiver_url}/sintegre/default"
    stale = simulator.publish(
        sample.path,
        file_name=sample.file_name,
        product_id=sample.product_id,
        nome=sample.nome,
        nbf=int(time.time()) - 90_000,
    )
    payload = build_notification(
        stale,
        processo=sample.processo,
        macro_processo=sample.macro_processo,
        data_produto=sample.data_produto,
        periodicidade=sample.periodicidade,
        periodicidade_final=sample.periodicidade_final,
    )
    refused = send_notification(url, payload, **_auth(webhook))
    assert refused.status_code == 422
    assert "expired" in refused.json()["error"]
    resend = publish_and_send(simulator, url, sample, **_auth(webhook))
    assert resend.status == 200
    view = webhook.wait_for(resend.receiver_id, {"succeeded", "unchanged", "failed"})
    assert view["status"] == "succeeded"
    webhook.accepted_ids.append(resend.receiver_id)
    assert requests.get(f"{stack.receiver_url}/healthz", timeout=5).ok
