"""SINtegre's "Enviar Tudo" of 500 notifications into make run's stack.

The simulator's :func:`~sintegre_dev.simulator.buttons.send_all` POSTs 500 notifications at once
(64 at a time, as SINtegre's burst); the clock runs until Airflow holds a DAG run for every
acknowledged one. Counted through Airflow's API: runs per notification (0 lost, 0 twice),
and from the inbox the forwarder's retries. The DAG is paused: the figure is delivery, not
500 executions on two cores. Baseline: the same 500 confs triggered straight against
Airflow's API, one request at a time, in the same run (the forwarder's floor).

Figure and baseline alternate over three rounds (figure, baseline | baseline, figure |
figure, baseline; a baseline that comes first reuses the previous round's confs on fresh run
ids): the ratio is the median of the per-round ratios, with the spread of the ratios and of
the raw seconds and the load average at the start and end of the section. Target ≤ 1.2×.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.live_stack import WEBHOOK_PASSWORD, AirflowApi
from bench.rounds import loadavg, summarize

DAG_ID = "sintegre_generic"
#: Every run the receiver's notifications create (the product ids are not in the catalog, so
#: the run ids say ``produto_<id>``); runs are matched to notifications by their conf.
PREFIX = "sintegre__"
TARGET_RATIO = 1.2


def _samples(folder: Path, count: int, base: int = 200_000) -> list[Any]:
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
            product_id=base + index,
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


def _direct(api: AirflowApi, confs: list[dict[str, Any]], round_index: int) -> dict[str, Any]:
    """The baseline: the same confs straight to Airflow, one at a time, on fresh run ids."""
    from sintegre.core.redact import redact

    started = time.monotonic()
    errors = 0
    for index, conf in enumerate(confs):
        conf = {**conf, "url": redact(conf["url"])}  # as the forwarder: the token stays behind
        status = api.trigger(DAG_ID, f"bench_direct__r{round_index}_{index:04d}", conf)
        errors += status not in (200, 201)
    return {"seconds": round(time.monotonic() - started, 2), "errors": errors}


def _burst(
    api: AirflowApi,
    stack: Any,
    simulator: Any,
    count: int,
    timeout: float,
    history: int,
    base: int = 200_000,
) -> dict[str, Any]:
    """One Enviar Tudo of ``count``; time until every acknowledged one has its DAG run."""
    from sintegre.intake.inbox import Inbox
    from sintegre_dev.simulator.buttons import send_all

    with tempfile.TemporaryDirectory() as tmp:
        samples = _samples(Path(tmp), count, base)
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
    # Wait on the inbox (the forwarder stamps ``triggered_at`` when Airflow answered), not by
    # listing Airflow's runs: a listing every 2 s of a table that grows by 500 runs a round
    # loads the API server the forwarder is triggering against, and grew the figure round
    # after round. Airflow's runs are listed once at the end, under this round's own prefix.
    inbox = Inbox(stack.settings.inbox_url)
    deadline = started + timeout
    try:
        while time.monotonic() < deadline:
            rows = [r for r in inbox.list(limit=history + count + 100) if r["id"] in acknowledged]
            if len(rows) == len(acknowledged) and all(r.get("triggered_at") for r in rows):
                break
            time.sleep(1.0)
    finally:
        inbox.dispose()
    prefix = f"{PREFIX}produto_{base // 10_000}"
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = [
            r
            for r in api.runs(DAG_ID, prefix)
            if (r.get("conf") or {}).get("notification_id") in acknowledged
        ]
        if acknowledged <= {r["conf"]["notification_id"] for r in runs}:
            break
        time.sleep(2.0)
    all_runs_seconds = time.monotonic() - started
    # Airflow's own creation time of the last run is sharper than the polling.
    created = [_epoch(r.get("queued_at")) for r in runs]
    if runs and all(created):
        all_runs_seconds = max(created) - started_wall
    per_notification = Counter((r.get("conf") or {}).get("notification_id") for r in runs)

    inbox = Inbox(stack.settings.inbox_url)
    rows = [r for r in inbox.list(limit=history + count + 100) if r["id"] in acknowledged]
    inbox.dispose()
    return {
        "acknowledged": len(acknowledged),
        "non_2xx": non_2xx,
        "seconds_to_answer_all": round(answered, 2),
        "seconds_to_all_runs": round(all_runs_seconds, 2),
        "runs": len(runs),
        "lost": len(acknowledged - set(per_notification)),
        "twice": sum(1 for n in per_notification.values() if n > 1),
        "forwarder_retries": sum(max(0, r["attempts"] - 1) for r in rows),
        "confs": [json.loads(r["conf"]) for r in rows],
    }


def run(
    stack: Any, simulator: Any, *, count: int = 500, rounds: int = 3, timeout: float = 900
) -> dict[str, Any]:
    """``rounds`` alternating Enviar Tudo / direct-trigger pairs of ``count`` notifications."""
    load_start = loadavg()
    api = AirflowApi(stack)
    api.set_paused(DAG_ID, True)
    per_round: list[dict[str, Any]] = []
    bursts: list[dict[str, Any]] = []
    confs: list[dict[str, Any]] = []
    for round_index in range(rounds):
        baseline_first = round_index % 2 == 1 and bool(confs)
        direct = _direct(api, confs, round_index) if baseline_first else None
        # Product ids 200000+, 210000+, 220000+ …: each round's run ids have their own prefix.
        burst = _burst(
            api,
            stack,
            simulator,
            count,
            timeout,
            history=count * round_index,
            base=200_000 + 10_000 * round_index,
        )
        confs = burst.pop("confs")
        if direct is None:
            direct = _direct(api, confs, round_index)
        bursts.append(burst)
        per_round.append(
            {
                "order": "baseline, figure" if baseline_first else "figure, baseline",
                "burst": [burst["seconds_to_all_runs"]],
                "direct": [direct["seconds"]],
                "direct_errors": direct["errors"],
                **{k: v for k, v in burst.items() if k != "seconds_to_all_runs"},
            }
        )
    summary = summarize(per_round, figure="burst", baseline="direct")
    every_burst = [entry["burst"][0] for entry in per_round]
    every_direct = [entry["direct"][0] for entry in per_round]
    lost = sum(b["lost"] for b in bursts)
    twice = sum(b["twice"] for b in bursts)
    return {
        "notifications": count,
        "rounds": rounds,
        "acknowledged": sum(b["acknowledged"] for b in bursts),
        "non_2xx": sum(b["non_2xx"] for b in bursts),
        "seconds_to_answer_all": max(b["seconds_to_answer_all"] for b in bursts),
        "seconds_to_all_runs": statistics.median(every_burst),
        "direct_trigger_seconds": statistics.median(every_direct),
        "direct_trigger_errors": sum(entry["direct_errors"] for entry in per_round),
        "ratio": summary["ratio"],
        "ratio_target": f"ratio <= {TARGET_RATIO}",
        "ratio_met": summary["ratio"] is not None and summary["ratio"] <= TARGET_RATIO,
        **{k: v for k, v in summary.items() if k != "ratio"},
        "per_round": per_round,
        "runs": sum(b["runs"] for b in bursts),
        "lost": lost,
        "twice": twice,
        "forwarder_retries": sum(b["forwarder_retries"] for b in bursts),
        "target": "0 lost, 0 twice",
        "met": lost == 0 and twice == 0,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
    }
