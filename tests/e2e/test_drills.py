"""Fault drills against the real stack: nothing answered 2xx is ever lost or doubled."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import requests
from stack import MEASUREMENTS, daily_notification

from helpers.webhook import SUBSCRIBER_EMAIL
from sintegre_dev.fixtures import make_csv
from sintegre_dev.simulator import SimulatorServer

DAG_ID = "sintegre_generic"
# Uncatalogued products: generic DAG, dataset (and run-id prefix) produto_<id>.
DRILL_PRODUCTS = {"Drill Burst": 9001, "Drill Outage": 9003}


def _payloads(
    simulator: SimulatorServer, content: bytes, nome: str, count: int, **publish: Any
) -> list[dict[str, Any]]:
    payloads = []
    for index in range(count):
        publication = simulator.publish(
            content,
            file_name=f"drill_{index:03d}.csv",
            product_id=DRILL_PRODUCTS[nome],
            nome=nome,
            username=SUBSCRIBER_EMAIL,
            **publish,
        )
        payloads.append(daily_notification(publication, date(2025, 4, 29)))
    return payloads


def _wait_for_runs(stack, prefix: str, expected: int, timeout: float = 300) -> list[dict]:
    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = stack.dag_runs(DAG_ID, prefix)
        if len(runs) >= expected:
            return runs
        time.sleep(2)
    raise AssertionError(f"only {len(runs)} of {expected} runs reached Airflow")


def test_sigkill_during_a_burst_loses_nothing_acknowledged(
    stack, simulator, webhook, tmp_path: Path
):
    make_csv(tmp_path / "drill.csv", rows=3)
    content = (tmp_path / "drill.csv").read_bytes()
    payloads = _payloads(simulator, content, "Drill Burst", 300)
    stack.set_paused(DAG_ID, True)  # the drill is about delivery, not 300 executions
    acknowledged: list[str] = []
    failed: list[dict[str, Any]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def send(payload: dict[str, Any]) -> None:
        try:
            response = webhook.send(payload)
        except requests.RequestException:
            with lock:
                failed.append(payload)
            return
        with lock:
            if response.status_code == 200:
                acknowledged.append(response.json()["dag_run_id"])
                if len(acknowledged) == 120 and not killed.is_set():
                    killed.set()
                    receiver = stack.processes["receiver"]
                    os.killpg(receiver.pid, signal.SIGKILL)
            else:
                failed.append(payload)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, payloads))
    stack.processes.pop("receiver").wait()
    assert killed.is_set()
    assert len(acknowledged) >= 120 and failed, (len(acknowledged), len(failed))

    stack.start_receiver()
    # SINtegre resends what failed ("Reenviar Pendentes"); some were stored before the kill
    # cut the answer, and come back as duplicates.
    resent = [webhook.send(p) for p in failed]
    assert all(r.status_code == 200 for r in resent)

    prefix = "sintegre__produto_9001__"
    runs = _wait_for_runs(stack, prefix, 300)
    run_ids = [r["dag_run_id"] for r in runs]
    assert len(run_ids) == len(set(run_ids)) == 300
    assert set(acknowledged) <= set(run_ids)
    MEASUREMENTS["burst_acknowledged_before_sigkill"] = len(acknowledged)
    MEASUREMENTS["burst_resent_after_restart"] = len(failed)
    stack.mark_failed(DAG_ID, run_ids)
    stack.set_paused(DAG_ID, False)


def test_airflow_outage_then_token_rescue(stack, simulator, webhook, tmp_path: Path):
    make_csv(tmp_path / "outage.csv", rows=5)
    content = (tmp_path / "outage.csv").read_bytes()
    payloads = _payloads(simulator, content, "Drill Outage", 50)
    make_csv(tmp_path / "rescue.csv", rows=6)
    rescue_lifetime = 45
    rescue_pub = simulator.publish(
        tmp_path / "rescue.csv",
        file_name="Rescue_2025-04-29.csv",
        product_id=9002,
        nome="Drill Rescue",
        username=SUBSCRIBER_EMAIL,
        lifetime=rescue_lifetime,
    )
    rescue_payload = daily_notification(rescue_pub, date(2025, 4, 29))

    stack.set_paused(DAG_ID, True)
    stack.stop_airflow()
    outage_started = time.monotonic()
    ids = []
    for payload in payloads:
        response = webhook.send(payload)
        assert response.status_code == 200
        ids.append(response.json()["id"])
    # The forwarder restarts mid-outage: its state is the inbox, nothing is lost or doubled.
    stack.stop_forwarder()
    stack.start_forwarder()
    rescue = webhook.send(rescue_payload)
    assert rescue.status_code == 200
    rescue_id = rescue.json()["id"]

    # Airflow is away and the token nears expiry: the forwarder fetches the file itself.
    view = webhook.wait_for_field(rescue_id, "raw_path", timeout=60)
    assert view["status"] == "received"
    assert view["raw_path"].endswith("Rescue_2025-04-29.csv")
    assert (stack.lake / view["raw_path"]).is_file()
    assert simulator.request_count(rescue_pub.url) == 1
    # Let the token die before Airflow comes back: only the rescued copy can save it now.
    exp = rescue_pub.claims["exp"]
    time.sleep(max(0.0, exp - time.time() + 1))
    assert requests.get(rescue_pub.url, verify=simulator.ca_path, timeout=10).status_code == 403

    stack.start_airflow()
    MEASUREMENTS["airflow_outage_seconds"] = round(time.monotonic() - outage_started, 1)
    runs = _wait_for_runs(stack, "sintegre__produto_9003__", 50)
    run_ids = [r["dag_run_id"] for r in runs]
    assert len(run_ids) == len(set(run_ids)) == 50
    stack.mark_failed(DAG_ID, run_ids)
    stack.set_paused(DAG_ID, False)

    final = webhook.wait_for(rescue_id, {"succeeded", "failed", "expired"}, timeout=240)
    assert final["status"] == "succeeded", final
    landed = list((stack.lake / "curated" / "produto_9002").rglob("*.parquet"))
    assert len(landed) == 1
    # Two requests in total: the rescue, and the 403 probe above. The DAG used the copy.
    assert simulator.request_count(rescue_pub.url) == 2
