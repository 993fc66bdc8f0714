"""SINtegre's "Enviar Tudo" of 500 notifications into make run's stack.

The simulator's :func:`~sintegre_dev.simulator.buttons.send_all` POSTs 500 notifications at once
(64 at a time, as SINtegre's burst); the clock runs until Airflow holds a DAG run for every
acknowledged one. Counted through Airflow's API: runs per notification (0 lost, 0 twice),
and from the inbox the forwarder's retries. The DAG is paused: the figure is delivery, not
500 executions on two cores. Baseline: the same 500 confs triggered straight against
Airflow's API, one request at a time, in the same run (the forwarder's floor).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.live_stack import WEBHOOK_PASSWORD, AirflowApi

DAG_ID = "sintegre_generic"
#: Every run the receiver's notifications create (the product ids are not in the catalog, so
#: the run ids say ``produto_<id>``); runs are matched to notifications by their conf.
PREFIX = "sintegre__"


def _samples(folder: Path, count: int) -> list[Any]:
    from sintegre_dev.fixtures import make_csv
    from sintegre_dev.simulator.samples import Sample

    csv = folder / "burst.csv"
    make_csv(csv, rows=6)
    day = datetime(2025, 4, 29)
    return [
        Sample(
            path=csv,
            file_name=f"Bench_Burst_{index:03d}.csv",
            # One product per notification: "Enviar Tudo" sends each product's latest version.
            product_id=200_000 + index,
            nome="Bench Burst",
            processo="Bench",
            macro_processo="Programação da Operação",
            data_produto="29/04/2025",
            periodicidade=day,
            periodicidade_final=day.replace(hour=23, minute=59, second=59),
        )
        for index in range(count)
    ]


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run(stack: Any, simulator: Any, *, count: int = 500, timeout: float = 900) -> dict[str, Any]:
    """Burst ``count`` notifications; time until every acknowledged one has its DAG run."""
    from sintegre.core.redact import redact
    from sintegre.intake.inbox import Inbox
    from sintegre_dev.simulator.buttons import send_all

    api = AirflowApi(stack)
    api.set_paused(DAG_ID, True)
    with tempfile.TemporaryDirectory() as tmp:
        samples = _samples(Path(tmp), count)
        started = time.monotonic()
        started_wall = time.time()
        deliveries = send_all(
            simulator,
            f"{stack.receiver_url}/sintegre/default",
            samples,
            auth="basic",
            user="ons",
            password=WEBHOOK_PASSWORD,
            timeout=60,
        )
    answered = time.monotonic() - started
    acknowledged = {d.notification_id for d in deliveries if d.ok}
    non_2xx = len(deliveries) - len(acknowledged)
    runs: list[dict[str, Any]] = []
    deadline = started + timeout
    while time.monotonic() < deadline:
        runs = [
            r
            for r in api.runs(DAG_ID, PREFIX)
            if (r.get("conf") or {}).get("notification_id") in acknowledged
        ]
        seen = {r["conf"]["notification_id"] for r in runs}
        if acknowledged <= seen:
            break
        time.sleep(2.0)
    all_runs_seconds = time.monotonic() - started
    # Airflow's own creation time of the last run is sharper than this loop's 2 s polling.
    created = [_epoch(r.get("queued_at")) for r in runs]
    if runs and all(created):
        all_runs_seconds = max(created) - started_wall
    per_notification = Counter((r.get("conf") or {}).get("notification_id") for r in runs)
    lost = len(acknowledged - set(per_notification))
    twice = sum(1 for n in per_notification.values() if n > 1)

    inbox = Inbox(stack.settings.inbox_url)
    rows = [r for r in inbox.list(limit=count + 100) if r["product"] == "Bench Burst"]
    retries = sum(max(0, r["attempts"] - 1) for r in rows)
    confs = [json.loads(r["conf"]) for r in rows]
    inbox.dispose()

    # Baseline: the same confs, straight to Airflow, one at a time, on a fresh run id.
    direct_started = time.monotonic()
    direct_errors = 0
    for index, conf in enumerate(confs):
        conf["url"] = redact(conf["url"])  # as the forwarder does: the token stays in the inbox
        status = api.trigger(DAG_ID, f"bench_direct__{index:04d}", conf)
        direct_errors += status not in (200, 201)
    direct_seconds = time.monotonic() - direct_started
    return {
        "notifications": count,
        "acknowledged": len(acknowledged),
        "non_2xx": non_2xx,
        "seconds_to_answer_all": round(answered, 2),
        "seconds_to_all_runs": round(all_runs_seconds, 2),
        "direct_trigger_seconds": round(direct_seconds, 2),
        "direct_trigger_errors": direct_errors,
        "ratio": round(all_runs_seconds / direct_seconds, 2),
        "runs": len(runs),
        "lost": lost,
        "twice": twice,
        "forwarder_retries": retries,
        "target": "0 lost, 0 twice",
        "met": lost == 0 and twice == 0,
    }
