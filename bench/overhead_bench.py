"""Per-task overhead of our DAG files and of our task's imports.

Two figures:

- **imports**: bench/dags/bench_imports.py, whose one task only imports what the ingest task
  imports (``sintegre.ingest.pipeline``, ``sintegre.readers``, the lake landing, pyarrow) and
  loads the settings and the catalog, against bench/dags/bench_noop.py (Airflow's no-op task),
  trigger → ``success`` on make run's Airflow, interleaved (no-op, imports, no-op …) in three
  rounds. Ratio: median of the per-round ratios. Target: measured (later aim ≤ 1.1×).
- **parse**: for every file of dags/ and dags/examples, Airflow's own parse duration of that one
  file (``DagBag.dagbag_stats[...].duration``, what ``airflow dags report`` prints) in a fresh
  interpreter after Airflow itself (``airflow``, ``airflow.sdk``, the ``@task`` decorator's
  module and ``DagBag``) is imported, median of three runs, divided by the number of tasks the
  file defines. Target: ≤ 50 ms per task for the worst file. Each parse is paired with one of
  bench/dags/bench_noop.py (baseline: a one-task no-op DAG file), so the excess over Airflow's
  floor is reported too. The whole ``DagBag(...)`` call's wall time, the garbage collector's
  pauses during it and the heavy modules the file left imported are kept in the JSON as
  context; the child also records the top of ``-X importtime`` for the worst file (the modules
  whose own import took longest), to say why it is slow.

Why the child calls ``gc.freeze()`` before parsing: Airflow's DAG processor does the same
before it forks the processes that parse the files (``DagFileProcessorManager.before_run``), so
a parse never scans the ~200,000 objects Airflow's own import left. Without it, the first parse
after the import that allocates enough to start a second-generation collection pays a full
collection of Airflow's heap: 140-280 ms on a loaded 2-core host. Whose parse pays it depends on
where Airflow's import left the collector's counters, not on the file: with an ``airflow.cfg``
in ``AIRFLOW_HOME`` (``airflow standalone`` writes one: make run's stack, which this benchmark
uses) the counters end at ``(269, 0, 11)`` and even the no-op file's parse pays it (~147 ms of
"floor" in the first runs of this figure); without one (a plain environment) they end at
``(264, 3, 10)``, the no-op file allocates too little to reach it (~6 ms) and any file importing
a little more pays it in full. Frozen, the floor is Airflow's own few milliseconds in both, and a
file's figure is its own work, the collections of what it allocates included.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.e2e_bench import NOOP_DAG, _noop_seconds, _retried
from bench.live_stack import ROOT, AirflowApi
from bench.rounds import loadavg, summarize

IMPORTS_DAG = "bench_imports"
PARSE_TARGET_MS = 50.0
IMPORTS_TARGET = 1.1  # the later aim; for now the figure is reported, not judged

#: Modules none of our DAG files should leave imported after a parse (the child reports which
#: are): the lake's and the readers' engines, and the full settings (pydantic-settings).
HEAVY_MODULES = (
    "deltalake",
    "duckdb",
    "pyarrow",
    "pandas",
    "polars",
    "openpyxl",
    "python_calamine",
    "pydantic_settings",
    "requests",
    "sintegre.core.settings",
    "sintegre.catalog.products",
    "sintegre.ingest",
    "sintegre.lake",
    "sintegre.readers",
)

#: Runs in the child: imports Airflow and DagBag, then parses one file with one DagBag.
_CHILD = r"""
import gc, json, sys, time
import airflow
import airflow.sdk  # what every DAG file imports: Airflow itself, not ours
try:  # @task's implementation, imported lazily by airflow.sdk on first use: Airflow's too
    import airflow.providers.standard.decorators.python
except ImportError:
    pass
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow before 3.1
    from airflow.models.dagbag import DagBag
path, heavy = sys.argv[1], sys.argv[2].split(",")
gc.freeze()  # as Airflow's DAG processor does before forking its parsers (module docstring)
pauses = []
def _gc(phase, info):
    if phase == "start":
        pauses.append([info["generation"], time.perf_counter()])
    else:
        pauses[-1][1] = time.perf_counter() - pauses[-1][1]
gc.callbacks.append(_gc)
started = time.perf_counter()
bag = DagBag(dag_folder=path, safe_mode=True)
wall = time.perf_counter() - started
gc.callbacks.remove(_gc)
# A timedelta since Airflow 3; seconds (a float) before.
durations = [getattr(s.duration, "total_seconds", lambda: s.duration)() for s in bag.dagbag_stats]
print("BENCH_PARSE " + json.dumps({
    "seconds": sum(durations),
    "wall_seconds": wall,
    "gc_ms": round(sum(p for _, p in pauses) * 1000, 1),
    "gc_full_collections": sum(1 for g, _ in pauses if g == 2),
    "dags": len(bag.dags),
    "tasks": sum(len(d.tasks) for d in bag.dags.values()),
    "heavy_imported": [m for m in heavy if m in sys.modules],
    "errors": {k: str(v)[:300] for k, v in bag.import_errors.items()},
}))
"""


def dag_files() -> list[Path]:
    """Our DAG files: dags/*.py and dags/examples/*.py."""
    return [
        *sorted((ROOT / "dags").glob("*.py")),
        *sorted((ROOT / "dags" / "examples").glob("*.py")),
    ]


def _parse_once(path: Path, env: dict[str, str], importtime: bool = False) -> dict[str, Any]:
    args = [
        sys.executable,
        *(["-X", "importtime"] if importtime else []),
        "-c",
        _CHILD,
        str(path),
        ",".join(HEAVY_MODULES),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_PARSE ")), None)
    if line is None:
        raise RuntimeError(f"parsing {path.name} failed: {done.stderr[-800:]}")
    result = json.loads(line.removeprefix("BENCH_PARSE "))
    if importtime:
        result["slowest_imports"] = _slowest_imports(done.stderr)
    return result


def _slowest_imports(stderr: str, top: int = 8) -> list[str]:
    """The modules imported after Airflow's DagBag whose cumulative import took longest (ms)."""
    lines = [x for x in stderr.splitlines() if x.startswith("import time:")]
    # Skip what the child imported before timing: everything up to airflow.models.dagbag.
    marker = next((i for i, x in enumerate(lines) if x.rstrip().endswith(".dagbag")), -1)
    entries = []
    for raw in lines[marker + 1 :]:
        parts = raw.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        entries.append((int(parts[1]), parts[2].rstrip()))
    entries.sort(reverse=True)
    return [f"{name.strip()} {us / 1000:.0f} ms" for us, name in entries[:top]]


def parse_times(env: dict[str, str], runs: int = 3) -> dict[str, Any]:
    """Per DAG file: Airflow's median parse duration over ``runs`` fresh interpreters, per task.

    Each parse of a file is paired with one of bench/dags/bench_noop.py (a one-task no-op DAG
    file: Airflow's own floor) just before it, so the load of the moment is in both.
    """
    noop_file = ROOT / "bench" / "dags" / "bench_noop.py"
    files: dict[str, Any] = {}
    for path in dag_files():
        samples, floors = [], []
        for _ in range(runs):
            floors.append(_parse_once(noop_file, env))
            samples.append(_parse_once(path, env))
        seconds = statistics.median(s["seconds"] for s in samples)
        floor = statistics.median(f["seconds"] for f in floors)
        tasks = samples[0]["tasks"]
        files[str(path.relative_to(ROOT))] = {
            "seconds": [round(s["seconds"], 3) for s in samples],
            "median_ms": round(seconds * 1000, 1),
            "noop_file_ms": round(floor * 1000, 1),
            "ratio": round(seconds / floor, 2) if floor else None,
            "dags": samples[0]["dags"],
            "tasks": tasks,
            "ms_per_task": round(seconds * 1000 / tasks, 1) if tasks else None,
            "excess_ms_per_task": round((seconds - floor) * 1000 / tasks, 1) if tasks else None,
            # Context: the whole DagBag call (Airflow's figure plus the bag's own bookkeeping),
            # the collector's pauses inside it, and what the parse left imported.
            "dagbag_wall_ms": round(
                statistics.median(s["wall_seconds"] for s in samples) * 1000, 1
            ),
            "noop_dagbag_wall_ms": round(
                statistics.median(f["wall_seconds"] for f in floors) * 1000, 1
            ),
            "gc_ms": [s["gc_ms"] for s in samples],
            "gc_full_collections": [s["gc_full_collections"] for s in samples],
            "heavy_imported": samples[0]["heavy_imported"],
            "errors": samples[0]["errors"],
        }
    measured = {k: v for k, v in files.items() if v["ms_per_task"] is not None}
    worst = max(measured, key=lambda k: measured[k]["ms_per_task"]) if measured else None
    if worst is not None:
        files[worst]["slowest_imports"] = _parse_once(ROOT / worst, env, importtime=True)[
            "slowest_imports"
        ]
    return {
        "figure": "Airflow's per-file parse duration (dagbag_stats), after gc.freeze()",
        "files": files,
        "worst_file": worst,
        "worst_ms_per_task": measured[worst]["ms_per_task"] if worst else None,
        "worst_noop_file_ms": measured[worst]["noop_file_ms"] if worst else None,
        "worst_excess_ms_per_task": measured[worst]["excess_ms_per_task"] if worst else None,
        "target": f"ms per task <= {PARSE_TARGET_MS:g}",
        "met": bool(worst) and measured[worst]["ms_per_task"] <= PARSE_TARGET_MS,
    }


def run(stack: Any, *, samples: int = 4, rounds: int = 3, parse_runs: int = 3) -> dict[str, Any]:
    """Imports-only task vs no-op task (interleaved rounds), then the DAG files' parse times."""
    load_start = loadavg()
    api = AirflowApi(stack)
    api.set_paused(NOOP_DAG, False)
    api.set_paused(IMPORTS_DAG, False)
    failures = {"noop": 0, "imports": 0}
    limit = samples * rounds
    per_round: list[dict[str, Any]] = []
    # One pair first, not counted: the first run of each DAG is a cold start.
    warmup = {
        key: _noop_seconds(api, 0, dag_id=dag_id)
        for key, dag_id in (("noop", NOOP_DAG), ("imports", IMPORTS_DAG))
    }
    index = 1
    for _ in range(rounds):
        entry: dict[str, Any] = {"noop": [], "imports": []}
        for _ in range(samples):
            for key, dag_id in (("noop", NOOP_DAG), ("imports", IMPORTS_DAG)):
                seconds = _retried(
                    lambda i=index, d=dag_id: _noop_seconds(api, i, dag_id=d), failures, key, limit
                )
                entry[key].append(round(seconds, 2))
            index += 1
        per_round.append(entry)
    summary = summarize(per_round, figure="imports", baseline="noop")
    every_imports = [s for entry in per_round for s in entry["imports"]]
    every_noop = [s for entry in per_round for s in entry["noop"]]
    load_after_tasks = loadavg()
    env = {**os.environ, **stack.airflow_env}
    return {
        "samples": len(every_imports),
        "rounds": rounds,
        "imports_median_seconds": round(statistics.median(every_imports), 2),
        "noop_median_seconds": round(statistics.median(every_noop), 2),
        **summary,
        "imports_target": f"ratio <= {IMPORTS_TARGET} (later aim; measured for now)",
        "per_round": per_round,
        "failed_runs_remeasured": failures,
        "warmup_seconds": {k: v if v is None else round(v, 2) for k, v in warmup.items()},
        "parse": parse_times(env, runs=parse_runs),
        "loadavg_start": load_start,
        "loadavg_after_tasks": load_after_tasks,
        "loadavg_end": loadavg(),
    }
