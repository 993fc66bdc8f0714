"""End to end: from the POST to the rows readable in the lake, against a no-op DAG.

Ten notifications, one after the other (each its own day of the same small ONS-shaped CSV
product): the clock starts at the POST to the receiver and stops when DuckDB, through
:mod:`sintegre.lake.views`, returns the notification's rows. The baseline is Airflow's own
floor on the same instance: a one-task no-op DAG (bench/dags/bench_noop.py) triggered through
the API, trigger → ``success``. Target: median ≤ 3× the no-op's median.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.live_stack import WEBHOOK_PASSWORD, AirflowApi

TARGET_RATIO = 3.0
NOOP_DAG = "bench_noop"


def _rows_in_lake(lake: Path, notification_id: str) -> int:
    from sintegre.lake import views as lakeviews

    con = lakeviews.connect(lake)
    try:
        found = con.execute(
            "SELECT dataset FROM catalog WHERE notification_id = ? AND rows > 0",
            [notification_id],
        ).fetchall()
        total = 0
        for (dataset,) in found:
            total += con.execute(
                f"SELECT count(*) FROM {lakeviews.quote_identifier(dataset)} "
                "WHERE src_notification_id = ?",
                [notification_id],
            ).fetchone()[0]
        return total
    finally:
        con.close()


def _noop_seconds(api: AirflowApi, index: int, timeout: float = 300) -> float | None:
    run_id = f"bench_noop__{time.time_ns()}_{index}"
    started = time.monotonic()
    status = api.trigger(NOOP_DAG, run_id, {})
    if status not in (200, 201):
        raise RuntimeError(f"the no-op trigger answered {status}")
    deadline = started + timeout
    while time.monotonic() < deadline:
        state = api.run_state(NOOP_DAG, run_id)
        if state == "success":
            return time.monotonic() - started
        if state == "failed":
            return None  # Airflow itself failed it (an overloaded machine): re-measured
        time.sleep(0.25)
    raise RuntimeError(f"the no-op run {run_id} did not finish in {timeout} s")


def _e2e_seconds(stack: Any, simulator: Any, content: bytes, day: date, timeout: float = 600):
    from stack import daily_notification

    publication = simulator.publish(
        content,
        file_name=f"Bench_E2E_{day.isoformat()}.csv",
        product_id=9101,
        nome="Bench E2E",
    )
    payload = daily_notification(publication, day, processo="Bench")
    started = time.monotonic()
    response = requests.post(
        f"{stack.receiver_url}/sintegre/default",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        auth=("ons", WEBHOOK_PASSWORD),
        timeout=30,
    )
    response.raise_for_status()
    notification_id = response.json()["id"]
    from sintegre.intake.inbox import Inbox

    inbox = Inbox(stack.settings.inbox_url)
    deadline = started + timeout
    try:
        while time.monotonic() < deadline:
            rows = _rows_in_lake(stack.lake, notification_id)
            if rows:
                return time.monotonic() - started, rows
            if (inbox.get(notification_id) or {}).get("status") in ("failed", "expired"):
                return None, 0  # the run failed (see Airflow's log): re-measured
            time.sleep(0.25)
    finally:
        inbox.dispose()
    raise RuntimeError(f"notification {notification_id} never reached the lake")


def run(stack: Any, simulator: Any, *, samples: int = 10) -> dict[str, Any]:
    """Median POST → rows-in-lake over ``samples`` notifications vs the no-op DAG's median."""
    from sintegre_dev.fixtures import make_csv

    api = AirflowApi(stack)
    api.set_paused("sintegre_generic", False)
    api.set_paused(NOOP_DAG, False)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        make_csv(csv, rows=48)
        content = csv.read_bytes()
    # A run Airflow fails on its own (task processes starved on a loaded machine) is counted
    # and measured again, up to as many failures as samples.
    noop: list[float] = []
    failures = {"noop": 0, "e2e": 0}
    index = 0
    while len(noop) < samples and failures["noop"] <= samples:
        seconds = _noop_seconds(api, index)
        index += 1
        if seconds is None:
            failures["noop"] += 1
        else:
            noop.append(seconds)
    e2e: list[float] = []
    rows = []
    index = 0
    while len(e2e) < samples and failures["e2e"] <= samples:
        day = date(2025, 3, 1) + timedelta(index)
        index += 1
        seconds, landed = _e2e_seconds(stack, simulator, content, day)
        if seconds is None:
            failures["e2e"] += 1
            continue
        e2e.append(seconds)
        rows.append(landed)
    if not noop or not e2e:
        raise RuntimeError(f"too many failed runs: {failures}")
    median, noop_median = statistics.median(e2e), statistics.median(noop)
    ratio = round(median / noop_median, 2)
    return {
        "samples": len(e2e),
        "median_seconds": round(median, 2),
        "noop_median_seconds": round(noop_median, 2),
        "ratio": ratio,
        "target": f"ratio <= {TARGET_RATIO}",
        "met": ratio <= TARGET_RATIO,
        "e2e_seconds": [round(s, 2) for s in e2e],
        "noop_seconds": [round(s, 2) for s in noop],
        "rows_per_notification": rows,
        "failed_runs_remeasured": failures,
    }
