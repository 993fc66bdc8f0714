"""Operators' tools against the real stack: freshness alerts, replay, metrics."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import requests
from stack import daily_notification

from sintegre_dev.fixtures import make_csv
from sintegre_dev.ons_files.hydro import make_acomph


def test_freshness_dag_fires_for_a_product_made_late(stack, simulator, webhook, alerts, tmp_path):
    make_acomph(tmp_path / "ACOMPH_28.04.2025.xls", date(2025, 4, 28))
    publication = simulator.publish(
        tmp_path / "ACOMPH_28.04.2025.xls",
        file_name="ACOMPH_28.04.2025.xls",
        product_id=230,
        nome="Acomph",
    )
    payload = daily_notification(
        publication, date(2025, 4, 28), processo="Acompanhamento das Condições Hidroenergéticas"
    )
    response = webhook.send(payload)
    assert response.status_code == 200
    # Only landed deliveries make a product fresh (or watched): wait for this one to land.
    landed = webhook.wait_for(response.json()["id"], {"succeeded", "failed", "layout_mismatch"})
    assert landed["status"] == "succeeded", landed
    # Judged on the evening of the 30th, the Acomph of the 30th (due ~11:50) never came.
    run_id = stack.trigger("sintegre_freshness", {"now": "2025-04-30T20:00:00-03:00"})
    assert stack.wait_for_run("sintegre_freshness", run_id) == "failed"
    deadline = time.monotonic() + 30
    while not [a for a in alerts.received if a.get("run_id") == run_id]:
        assert time.monotonic() < deadline, "the notifier never posted"
        time.sleep(0.5)
    alert = next(a for a in alerts.received if a.get("run_id") == run_id)
    late = {item["product_id"]: item for item in alert["late"]}
    assert late[230]["period"] == "2025-04-30"
    assert late[230]["last_seen_period"] == "2025-04-28"
    assert "Acomph" in alert["message"]

    # Judged on the 28th itself after the window, Acomph is not late.
    run_id = stack.trigger("sintegre_freshness", {"now": "2025-04-28T20:00:00-03:00"})
    stack.wait_for_run("sintegre_freshness", run_id)
    later = [a for a in alerts.received if a.get("run_id") == run_id]
    assert all(230 not in {i["product_id"] for i in a["late"]} for a in later)


def test_replay_of_a_failed_notification_ends_succeeded(stack, simulator, webhook, tmp_path: Path):
    make_csv(tmp_path / "replay.csv", rows=4)
    publication = simulator.publish(
        tmp_path / "replay.csv", file_name="Replay_2025-04-30.csv", product_id=9200, nome="Replay"
    )
    simulator.set_html_error(publication, times=1)  # ONS's error page once, then the file
    payload = daily_notification(publication, date(2025, 4, 30))
    notification_id = webhook.send(payload).json()["id"]
    failed = webhook.wait_for(notification_id, {"succeeded", "failed"})
    assert failed["status"] == "failed"
    response = requests.post(
        f"{stack.receiver_url}/api/notifications/{notification_id}/replay",
        headers={"Authorization": webhook.admin},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["dag_run_id"] == f"{failed['dag_run_id']}__r1"
    final = webhook.wait_for(notification_id, {"succeeded", "failed"}, timeout=240)
    assert final["status"] == "succeeded", final
    assert list((stack.lake / "curated" / "produto_9200").rglob("data.parquet"))

    metrics = requests.get(f"{stack.receiver_url}/metrics", timeout=10).text
    assert "sintegre_notifications_replayed_total" in metrics
    ready = requests.get(f"{stack.receiver_url}/readyz", timeout=10).json()
    assert ready["airflow_reachable"] is True


def test_replay_after_the_token_died_uses_the_raw_copy(stack, simulator, webhook, tmp_path: Path):
    make_csv(tmp_path / "late-replay.csv", rows=5)
    publication = simulator.publish(
        tmp_path / "late-replay.csv",
        file_name="LateReplay_2025-04-30.csv",
        product_id=9201,
        nome="Late Replay",
        lifetime=40,
    )
    payload = daily_notification(publication, date(2025, 4, 30))
    notification_id = webhook.send(payload).json()["id"]
    first = webhook.wait_for(notification_id, {"succeeded", "failed"})
    assert first["status"] == "succeeded"
    view = webhook.wait_for_field(notification_id, "raw_path")  # learned from the run
    time.sleep(max(0.0, publication.claims["exp"] - time.time() + 1))
    requests.post(
        f"{stack.receiver_url}/api/notifications/{notification_id}/replay",
        headers={"Authorization": webhook.admin},
        timeout=10,
    ).raise_for_status()
    final = webhook.wait_for(notification_id, {"succeeded", "unchanged", "failed"}, timeout=240)
    assert final["status"] == "unchanged", final  # same bytes: nothing rewritten
    assert final["raw_path"] == view["raw_path"]
    assert simulator.request_count(publication) == 1  # the dead token was never used again
