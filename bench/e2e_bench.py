"""End to end: from the POST to the rows readable in the lake, against a no-op DAG.

Notifications one after the other (each its own day of the same small ONS-shaped CSV
product): the clock starts at the POST to the receiver and stops when DuckDB, through
:mod:`sintegre.lake.views`, returns the notification's rows. The baseline is Airflow's own
floor on the same instance: a one-task no-op DAG (bench/dags/bench_noop.py) triggered through
the API, trigger → ``success``. Baseline and figure are interleaved (no-op, e2e, no-op, e2e …)
in three rounds: the ratio is the median of the per-round ratios (each round: median e2e /
median no-op), reported with the spread of the ratios and of the raw seconds and the load
average at the start and end of the section. Target: ratio ≤ 2 (later aim ≤ 1.5).
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
from bench.rounds import loadavg, summarize

TARGET_RATIO = 2.0
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


def _noop_seconds(
    api: AirflowApi, index: int, timeout: float = 300, *, dag_id: str = NOOP_DAG
) -> float | None:
    """Trigger one run of ``dag_id`` (a one-task bench DAG); seconds until ``success``."""
    run_id = f"{dag_id}__{time.time_ns()}_{index}"
    started = time.monotonic()
    status = api.trigger(dag_id, run_id, {})
    if status >= 500:
        return None  # Airflow on SQLite: "database is locked" under load; re-measured
    if status not in (200, 201):
        raise RuntimeError(f"the {dag_id} trigger answered {status}")
    deadline = started + timeout
    while time.monotonic() < deadline:
        state = api.run_state(dag_id, run_id)
        if state == "success":
            return time.monotonic() - started
        if state == "failed":
            return None  # Airflow itself failed it (an overloaded machine): re-measured
        time.sleep(0.25)
    raise RuntimeError(f"the {dag_id} run {run_id} did not finish in {timeout} s")


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


def _retried(measure, failures: dict[str, int], key: str, limit: int):
    """``measure()`` until it returns a figure; a run Airflow failed on its own is re-measured."""
    while failures[key] <= limit:
        result = measure()
        if result is not None and (not isinstance(result, tuple) or result[0] is not None):
            return result
        failures[key] += 1
    raise RuntimeError(f"too many failed runs: {failures}")


def run(stack: Any, simulator: Any, *, samples: int = 4, rounds: int = 3) -> dict[str, Any]:
    """Interleaved no-op / e2e pairs, ``samples`` per round, ``rounds`` rounds."""
    from sintegre_dev.fixtures import make_csv

    load_start = loadavg()
    api = AirflowApi(stack)
    api.set_paused("sintegre_generic", False)
    api.set_paused(NOOP_DAG, False)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        make_csv(csv, rows=48)
        content = csv.read_bytes()
    # A run Airflow fails on its own (task processes starved on a loaded machine) is counted
    # and measured again, up to as many failures as samples in all.
    failures = {"noop": 0, "e2e": 0}
    limit = samples * rounds
    per_round: list[dict[str, Any]] = []
    rows: list[int] = []
    # One pair first, not counted: the first run of a DAG after the stack starts is a cold
    # start (16 s for the no-op against ~3 s after it, in one run).
    warmup = {
        "noop": _noop_seconds(api, 0),
        "e2e": _e2e_seconds(stack, simulator, content, date(2025, 2, 1))[0],
    }
    index = 1
    for _ in range(rounds):
        entry: dict[str, Any] = {"noop": [], "e2e": []}
        for _ in range(samples):
            noop = _retried(lambda i=index: _noop_seconds(api, i), failures, "noop", limit)
            entry["noop"].append(round(noop, 2))
            day = date(2025, 3, 1) + timedelta(index)
            seconds, landed = _retried(
                lambda d=day: _e2e_seconds(stack, simulator, content, d), failures, "e2e", limit
            )
            entry["e2e"].append(round(seconds, 2))
            rows.append(landed)
            index += 1
        per_round.append(entry)
    every_e2e = [s for entry in per_round for s in entry["e2e"]]
    every_noop = [s for entry in per_round for s in entry["noop"]]
    summary = summarize(per_round, figure="e2e", baseline="noop")
    ratio = summary["ratio"]
    return {
        "samples": len(every_e2e),
        "rounds": rounds,
        "median_seconds": round(statistics.median(every_e2e), 2),
        "noop_median_seconds": round(statistics.median(every_noop), 2),
        "ratio": ratio,
        "target": f"ratio <= {TARGET_RATIO}",
        "met": ratio is not None and ratio <= TARGET_RATIO,
        **{k: v for k, v in summary.items() if k != "ratio"},
        "per_round": per_round,
        "rows_per_notification": rows,
        "failed_runs_remeasured": failures,
        "warmup_seconds": {k: v if v is None else round(v, 2) for k, v in warmup.items()},
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
    }
