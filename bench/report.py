"""BENCHMARKS.md: the benchmark table (from bench/results/latest.json) and the drills table.

The drills table comes from the junit XML the last ``make test`` wrote (``.state/junit.xml``):
every drill test, what it expects (its docstring's ``expected: ...``, carried into the XML
as a property by tests/conftest.py) and what was observed (outcome and duration).

``python -m bench.report`` rewrites BENCHMARKS.md from the files on disk without measuring.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
JUNIT = ROOT / ".state" / "junit.xml"
OUTPUT = ROOT / "BENCHMARKS.md"

#: Modules whose every test is a drill (junit classnames end with these).
DRILL_MODULES = ("test_drills", "test_process_drills", "test_download_drills")
#: The receiver's refusal table: one drill per hostile body.
REFUSAL_TABLE = ("test_bad_input", "test_refusals_are_4xx_naming_the_field_and_store_nothing")


METHOD_NOTES = (
    "**receiver**: `wrk` (or the Python fallback) for 10 s per level against the receiver and a "
    "trivial Flask app answering 200, both under make run's gunicorn command line "
    "(`sintegre_dev.devstack.receiver_command`); every request is a new valid notification, so "
    "every 2xx is a SQLite commit on disk (`synchronous=FULL`'s promise: under gevent the "
    "commit at `NORMAL`, then the receiver's own fsync of the WAL before the answer). Each "
    "level runs trivial app then receiver three times (interleaved rounds): the ratio is the "
    "median of the rounds' ratios, "
    "the rates shown are that round's, with every round's spread and the load average. The "
    "former command line (2 gthread workers × 8 threads) is measured too, once, at 16 clients, "
    "for before/after.",
    '**burst**: `send_all` ("Enviar Tudo") of 500 notifications into make run\'s stack, DAG '
    "paused (delivery, not 500 executions on 2 cores); until Airflow's `queued_at` of the last "
    "run; runs counted per notification through Airflow's API. Baseline: the same 500 confs "
    "POSTed straight to Airflow's API one at a time. Three rounds, figure and baseline "
    "alternating (figure, baseline | baseline, figure | figure, baseline); ratio: median of the "
    "per-round ratios.",
    "**ingest**: ours (stream to a staged Parquet, then land it: history, catalog, curated) "
    "vs pyarrow's own streaming CSV → Parquet of the same bytes, interleaved three times; the "
    "figures are medians, (min–max) the spread; the 1 GB file runs in a subprocess of its own "
    "per path, its `VmHWM` is the peak. **excel**: see bench/ingest_bench.py and "
    "bench/excel_bench.py.",
    "**lake_scale**: the catalog Delta table (sintegre's own code) vs one catalog file per "
    "delivery (the design before issue #15), at 10k/100k/1M synthetic deliveries, on local disk "
    "and on S3 (moto's server in its own process), bench/lake_scale_bench.py. Delta: bulk-built, "
    "maintained (`maintain_catalog`), then the newest deliveries committed one per commit with "
    "maintenance every `maintain_every` of them (40 by default: an hour of the 1M lake's "
    "traffic, what the hourly `sintegre_maintenance` leaves; counts in latest.json: "
    "`single_commits`, `commits_requested`); measured after the last commit. On S3, "
    "`request_ms` is moto's own time for one metadata request, the floor of every S3 figure. "
    "File per delivery: the decision reads the real probe "
    "folder at every size; the views are measured on whole lakes of files at the sizes shown "
    "in `views_points` and extrapolated proportionally to N from the largest of them (labelled).",
    "**e2e**: POST → rows returned by DuckDB (`sintegre.lake.views`), one notification at a "
    "time; baseline: the one-task no-op DAG bench/dags/bench_noop.py, trigger → success, on "
    "the same Airflow. Runs Airflow itself fails (task processes starved on a loaded machine) "
    "are counted in `failed_runs_remeasured` and measured again. No-op and e2e interleaved "
    "(no-op, e2e, no-op, e2e …), three rounds of 4 pairs; ratio: median of the per-round ratios "
    "(each: median e2e / median no-op), after one uncounted warm-up pair (cold starts).",
    "**day**: every catalogued product's normal e2e fixture (tests/fixtures/catalog_fixtures.py, "
    "22 products; not the mismatch/drift/implausible/generic extras) in ONE `send_all` (Enviar "
    "Tudo) into make run's stack; first POST → the last notification's catalog rows readable "
    "through `sintegre.lake.views.connect`. Baseline: as many bench_noop runs triggered at once, "
    "until all succeed, measured before and after the day (mean of the two). Steps per "
    "notification: queue = POST → the `ingest` task's start_date (task instance API); download, "
    "parse, land = the task's XCom `steps`; task other = task duration minus the steps (process "
    "start, DAG file parse, imports), split by the task log's step lines into before and after "
    "the steps; to readable = task end → catalog rows seen (1 s polling).",
    "**overhead**: bench/dags/bench_imports.py (one task importing what `ingest` imports and "
    "loading settings and catalog) vs bench_noop, trigger → success, interleaved, three rounds of "
    "4 pairs. Parse: per file of dags/ and dags/examples, Airflow's own parse duration of that "
    "one file (`DagBag.dagbag_stats`, what `airflow dags report` prints) in a fresh interpreter "
    "after `airflow`, `airflow.sdk` and `@task`'s module are imported and `gc.freeze()` is called "
    "(as Airflow's DAG processor does before forking its parsers: otherwise whichever parse "
    "comes first pays a full collection of Airflow's own heap, 140-280 ms, the no-op file's too "
    "when AIRFLOW_HOME has an airflow.cfg), median of 3, divided by the tasks it defines; each "
    "parse paired with one of bench/dags/bench_noop.py (baseline; ratio = whole file vs no-op "
    "file); the whole DagBag call's wall time, the collector's pauses, the heavy modules left "
    "imported and the worst file's slowest imports (`-X importtime`) are in the JSON.",
    "**spread** column: min–max of the per-round ratios and of the raw seconds (figure; "
    "baseline), and the 1-minute load average at the section's start → end.",
)


def _row(
    figure: str,
    measured: Any,
    baseline: Any,
    ratio: float | None,
    target: str,
    met: bool | None,
    spread: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    row = {
        "figure": figure,
        "measured": measured,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
    }
    if spread:
        # Optional: per cell ("measured", "baseline", "ratio"), [min, max] over repeated runs.
        row["spread"] = spread
    return row


def _missing(section: str, data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and "error" not in data and "missing" not in data:
        return None
    reason = data.get("error") or data.get("missing") if isinstance(data, dict) else "not run"
    return _row(f"{section}: not measured ({str(reason)[:160]})", "—", "—", None, "—", None)


def _ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, digits)


def _load(data: dict[str, Any]) -> str:
    start, end = data.get("loadavg_start"), data.get("loadavg_end")
    if not start or not end:
        return ""
    return f"load {start[0]:g} → {end[0]:g}"


def _spread(row: dict[str, Any], data: dict[str, Any], figure: str, baseline: str) -> dict:
    """Set ``row["spread"]``: ratios, raw seconds (figure; baseline) min–max, load average."""
    parts = []
    if ratios := data.get("ratio_spread"):
        parts.append(f"ratios {ratios[0]:g}–{ratios[1]:g}")
    ours, theirs = data.get(f"{figure}_spread"), data.get(f"{baseline}_spread")
    if ours and theirs:
        parts.append(
            f"{figure} {ours[0]:g}–{ours[1]:g} s; {baseline} {theirs[0]:g}–{theirs[1]:g} s"
        )
    elif theirs:
        parts.append(f"{baseline} {theirs[0]:g}–{theirs[1]:g} s")
    if load := _load(data):
        parts.append(load)
    row["spread"] = ", ".join(parts) or None
    return row


def benchmark_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: measured, its same-run baseline, ratio, target, met or missed."""
    rows: list[dict[str, Any]] = []

    receiver = results.get("receiver")
    if (row := _missing("receiver", receiver)) is not None:
        rows.append(row)
    else:
        for clients in (1, 16):
            level = receiver[f"clients_{clients}"]
            rec, base = level["receiver"], level["baseline"]
            target = "≥ 0.5" if clients == 16 else "—"
            met = level["throughput_ratio"] >= 0.5 if clients == 16 else None
            rounds = level.get("rounds")
            row = _row(
                f"receiver accepted/s, {clients} client(s) vs trivial 200"
                + (
                    f", median of {rounds} interleaved rounds (its round's rates)" if rounds else ""
                ),
                rec["per_second"],
                base["per_second"],
                level["throughput_ratio"],
                target,
                met,
            )
            if rounds:
                ratios = level["ratio_spread"]
                ours = level["receiver_per_second_spread"]
                theirs = level["baseline_per_second_spread"]
                row["spread"] = (
                    f"ratios {ratios[0]:g}–{ratios[1]:g}, receiver {ours[0]:g}–{ours[1]:g}/s; "
                    f"trivial {theirs[0]:g}–{theirs[1]:g}/s, {_load(level)}"
                )
            rows.append(row)
            for pct in ("p50", "p99"):
                rows.append(
                    _row(
                        f"receiver {pct} ms, {clients} client(s)",
                        rec[f"{pct}_ms"],
                        base[f"{pct}_ms"],
                        _ratio(rec[f"{pct}_ms"], base[f"{pct}_ms"]),
                        "—",
                        None,
                    )
                )

        old = receiver.get("former_shape_clients_16")
        if old:
            rows.append(
                _row(
                    f"receiver accepted/s, 16 clients, make run's former shape ({old['shape']})",
                    old["receiver"]["per_second"],
                    old["baseline"]["per_second"],
                    old["throughput_ratio"],
                    "—",
                    None,
                )
            )

    burst = results.get("burst")
    if (row := _missing("burst", burst)) is not None:
        rows.append(row)
    else:
        rounds = f", median of {burst['rounds']} rounds" if burst.get("rounds") else ""
        rows.append(
            _spread(
                _row(
                    f"burst: seconds until all {burst['notifications']} DAG runs exist, "
                    f"Enviar Tudo vs direct API triggers{rounds}",
                    burst["seconds_to_all_runs"],
                    burst["direct_trigger_seconds"],
                    burst["ratio"],
                    "≤ 1.2×",
                    burst["ratio"] is not None and burst["ratio"] <= 1.2,
                ),
                burst,
                "burst",
                "direct",
            )
        )
        rows.append(
            _row(
                "burst: lost / twice (acknowledged notifications)",
                f"{burst['lost']} / {burst['twice']}",
                "0 / 0",
                None,
                "0 / 0",
                burst["lost"] == 0 and burst["twice"] == 0,
            )
        )
        rows.append(
            _row(
                "burst: forwarder retries / receiver non-2xx",
                f"{burst['forwarder_retries']} / {burst['non_2xx']}",
                "—",
                None,
                "—",
                None,
            )
        )

    ingest = results.get("ingest")
    if (row := _missing("ingest", ingest)) is not None:
        rows.append(row)
    else:
        rows.extend(_ingest_rows(ingest))

    excel = results.get("excel")
    if (row := _missing("excel", excel)) is not None:
        rows.append(row)
    else:
        rows.append(
            _row(
                f"excel: {excel.get('rows', '?')}-row workbook, seconds (openpyxl as baseline)",
                excel["reader_seconds"],
                excel["openpyxl_seconds"],
                excel["ratio"],
                "≥ 5× faster",
                excel["ratio"] >= 5,
            )
        )

    e2e = results.get("e2e")
    if (row := _missing("e2e", e2e)) is not None:
        rows.append(row)
    else:
        rounds = f", {e2e['rounds']} interleaved rounds" if e2e.get("rounds") else ""
        rows.append(
            _spread(
                _row(
                    f"e2e: median seconds POST → rows in the lake ({e2e['samples']} "
                    f"notifications{rounds}) vs no-op DAG trigger → success",
                    e2e["median_seconds"],
                    e2e["noop_median_seconds"],
                    e2e["ratio"],
                    "≤ 2× (aim ≤ 1.5×)",
                    e2e["ratio"] is not None and e2e["ratio"] <= 2,
                ),
                e2e,
                "e2e",
                "noop",
            )
        )

    for name, section_rows in (("day", _day_rows), ("overhead", _overhead_rows)):
        data = results.get(name)
        if data is None:  # only once measured
            continue
        if (row := _missing(name, data)) is not None:
            rows.append(row)
        else:
            rows.extend(section_rows(data))

    lake_scale = results.get("lake_scale")
    if lake_scale is not None:  # only once measured (python -m bench lake_scale)
        if (row := _missing("lake_scale", lake_scale)) is not None:
            rows.append(row)
        else:
            rows.extend(_lake_scale_rows(lake_scale))
    return rows


#: The day's per-notification steps, as the rows name them.
DAY_STEPS = {
    "queue": "queue (POST → ingest task start)",
    "download": "download",
    "parse": "parse",
    "land": "land",
    "before_steps": "task start → step 1 (process start, DAG parse, imports)",
    "after_steps": "step 3 done → task end (XCom, asset events, state)",
    "task_other": "task duration minus its steps",
    "to_readable": "task end → catalog rows seen",
}


def _day_rows(day: dict[str, Any]) -> list[dict[str, Any]]:
    """A day of traffic vs as many no-op runs, then one row per step (median; sum, max)."""
    n = day["notifications"]
    failed = f", {len(day['failed'])} failed" if day.get("failed") else ""
    rows = [
        _spread(
            _row(
                f"day: {n} products in one Enviar Tudo, first POST → last table readable "
                f"({day['readable']} readable{failed}) vs {n} no-op runs triggered at once",
                day["seconds"],
                day["noop_seconds"],
                day["ratio"],
                "measured (aim ≤ 1.5×)",
                None,
            ),
            day,
            "day",
            "noop",
        )
    ]
    for step, label in DAY_STEPS.items():
        figures = (day.get("steps") or {}).get(step)
        if not figures or figures.get("median") is None:
            continue
        row = _row(
            f"day step, per notification: {label}, median s",
            figures["median"],
            "—",
            None,
            "—",
            None,
        )
        row["spread"] = f"sum {figures['sum']:g} s, max {figures['max']:g} s (n={figures['n']})"
        rows.append(row)
    return rows


def _overhead_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Imports-only task vs no-op task; DAG file parse time per task (worst file, each file)."""
    rows = [
        _spread(
            _row(
                f"overhead: imports-only task vs no-op task, median trigger → success s "
                f"({data['samples']} each, {data['rounds']} interleaved rounds)",
                data["imports_median_seconds"],
                data["noop_median_seconds"],
                data["ratio"],
                "measured (aim ≤ 1.1×)",
                None,
            ),
            data,
            "imports",
            "noop",
        )
    ]
    parse = data.get("parse") or {}
    worst = parse.get("worst_file")
    if worst:
        figures = parse["files"][worst]
        rows.append(
            _row(
                f"overhead: DAG file parse ms per task, worst file ({worst}) vs the no-op DAG "
                "file's parse",
                parse["worst_ms_per_task"],
                figures.get("noop_file_ms", "—"),
                figures.get("ratio"),
                "≤ 50 ms",
                parse["met"],
            )
        )
    for name, figures in (parse.get("files") or {}).items():
        row = _row(
            f"parse ms per task: {name} ({figures['dags']} DAGs, {figures['tasks']} tasks) "
            "vs the no-op DAG file (ms)",
            figures["ms_per_task"],
            figures.get("noop_file_ms", "—"),
            figures.get("ratio"),
            "≤ 50 ms",
            None if figures["ms_per_task"] is None else figures["ms_per_task"] <= 50,
        )
        row["spread"] = "file: " + ", ".join(f"{s * 1000:.0f}" for s in figures["seconds"]) + " ms"
        if figures.get("excess_ms_per_task") is not None:
            row["spread"] += f"; over the no-op file: {figures['excess_ms_per_task']:g} ms per task"
        if figures.get("dagbag_wall_ms") is not None:
            row["spread"] += f"; whole DagBag call {figures['dagbag_wall_ms']:g} ms"
        rows.append(row)
    return rows


#: lake_scale figures: label, and the issue #15 target at 1M deliveries (seconds).
LAKE_SCALE_FIGURES = {
    "views_ready_s": ("every view ready: connect + first count(*) (s)", 2.0),
    "catalog_ready_s": ("catalog views only: connect(only=[]) + first count(*) (s)", None),
    "query_30d_s": ("30-day product query (s)", 1.0),
    "decision_s": ("landing's decision (s)", 0.1),
}


def _median(value: Any) -> float | None:
    """A figure's median (``{"median", "min", "max"}``), an extrapolation, or a bare number."""
    if isinstance(value, dict):
        return value.get("median", value.get("extrapolated"))
    return value if isinstance(value, (int, float)) else None


def _spread_cell(value: Any) -> Any:
    """``0.55 (0.52–0.61)``: median (min–max); ``~73 (extrapolated)``; or the number."""
    if isinstance(value, dict) and "median" in value:
        return f"{value['median']:g} ({value['min']:g}–{value['max']:g})"
    if isinstance(value, dict) and "extrapolated" in value:
        return f"~{value['extrapolated']:g} (extrapolated)"
    return "—" if value is None else value


def _lake_scale_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Delta catalog vs one file per delivery, per store and size; the issue's targets at 1M."""
    rows = []
    stores = data.get("stores") or []
    for store in stores:
        section = data.get(store)
        if not isinstance(section, dict):
            continue
        points = section.get("views_points") or []
        sizes = sorted(
            int(key.removeprefix("delta_")) for key in section if key.startswith("delta_")
        )
        for n in sizes:
            delta, files = section[f"delta_{n}"], section.get(f"files_{n}", {})
            for figure, (label, target) in LAKE_SCALE_FIGURES.items():
                measured, baseline = delta.get(figure), files.get(figure)
                extrapolated = isinstance(baseline, dict) and "extrapolated" in baseline
                note = ""
                if extrapolated:
                    shown = ", ".join(f"{p['deliveries']:,}" for p in points)
                    note = f"; baseline extrapolated from files measured at {shown} deliveries"
                if figure == "decision_s":
                    note += (
                        f" ({delta.get('decision_rows')} rows vs "
                        f"{files.get('decision_files')} files)"
                    )
                at_target = n >= 1_000_000 and target is not None
                value = _median(measured)
                rows.append(
                    _row(
                        f"lake_scale {store} {n:,} deliveries: {label}, Delta vs file per "
                        f"delivery, median (min–max) of {data.get('repeat', '?')}{note}",
                        _spread_cell(measured),
                        _spread_cell(baseline),
                        _ratio(value, _median(baseline), 4),
                        f"≤ {target:g}" if at_target else "—",
                        value <= target if at_target and value is not None else None,
                    )
                )
            commit = delta.get("commit_ms") or {}
            rows.append(
                _row(
                    f"lake_scale {store} {n:,} deliveries: commit of one landing (ms), median "
                    f"(p90 / max) of {delta.get('single_commits')} single commits, first vs "
                    f"last 10%: {commit.get('first_10pct_median')} / "
                    f"{commit.get('last_10pct_median')} ms; no same-run baseline",
                    f"{commit.get('median')} ({commit.get('p90')} / {commit.get('max')})",
                    "—",
                    None,
                    "—",
                    None,
                )
            )
    if not rows:
        rows.append(_row("lake_scale: figures", json.dumps(data)[:120], "—", None, "—", None))
    return rows


def _find(data: dict[str, Any], *words: str) -> tuple[str, Any] | None:
    """The first numeric entry whose key holds every word (the ingest section's shape is free)."""
    for key, value in data.items():
        if all(w in key for w in words) and isinstance(value, (int, float)):
            return key, value
    return None


def _spread_of(data: dict[str, Any], **cells: tuple[str, Any] | None) -> dict[str, list[float]]:
    """``{cell: [min, max]}`` from a section's ``spread`` dict, for the keys found."""
    spread = data.get("spread") if isinstance(data.get("spread"), dict) else {}
    return {
        cell: spread[found[0]]
        for cell, found in cells.items()
        if found and isinstance(spread.get(found[0]), list) and len(spread[found[0]]) == 2
    }


def _ingest_rows(ingest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    ratio = _find(ingest, "throughput_ratio") or _find(ingest, "ratio")
    ours = _find(ingest, "ours_mb_s") or _find(ingest, "mb_s")
    theirs = _find(ingest, "pyarrow_mb_s") or _find(ingest, "baseline")
    target = ingest.get("throughput_target", 0.5)
    repeats = ingest.get("repeats")
    runs = f", median of {repeats} interleaved runs (min–max)" if repeats else ""
    if ratio:
        rows.append(
            _row(
                f"ingest: 100 MB ONS CSV → lake, MB/s vs pyarrow CSV→Parquet{runs}",
                ours[1] if ours else "—",
                theirs[1] if theirs else "—",
                round(ratio[1], 3),
                f"≥ {target}",
                ratio[1] >= target,
                _spread_of(ingest, measured=ours, baseline=theirs, ratio=ratio),
            )
        )
    rss = _find(ingest, "peak_rss_1gb_mb") or _find(ingest, "rss", "mb")
    if rss:
        rss_target = ingest.get("peak_rss_target_mb", 600)
        theirs_rss = _find(ingest, "pyarrow_peak_rss_1gb_mb")
        rows.append(
            _row(
                f"ingest: 1 GB file, peak RSS MB{' vs pyarrow CSV→Parquet' if theirs_rss else ''}"
                + runs,
                rss[1],
                theirs_rss[1] if theirs_rss else "—",
                round(rss[1] / theirs_rss[1], 2) if theirs_rss and theirs_rss[1] else None,
                f"≤ {rss_target}",
                rss[1] <= rss_target,
                _spread_of(ingest, measured=rss, baseline=theirs_rss),
            )
        )
    if not rows:
        rows.append(_row("ingest: figures", json.dumps(ingest)[:120], "—", None, "—", None))
    return rows


def drill_rows(junit: Path) -> list[dict[str, Any]]:
    """Every drill test of a junit XML: case, expected, observed (outcome, seconds)."""
    tree = ET.parse(junit)
    rows = []
    for case in tree.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        module = classname.rsplit(".", 1)[-1]
        marked = any(prop.get("name") == "drill" for prop in case.iter("property"))
        is_drill = (
            marked
            or "drill" in name.lower()
            or module in DRILL_MODULES
            or (module == REFUSAL_TABLE[0] and name.startswith(REFUSAL_TABLE[1]))
        )
        if not is_drill:
            continue
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = {"failure": "FAILED", "error": "ERROR", "skipped": "skipped"}[tag]
                message = (child.get("message") or "").strip().splitlines()
                if message and tag != "failure":
                    outcome += f" ({message[0][:80]})"
                break
        expected = ""
        for prop in case.iter("property"):
            if prop.get("name") == "expected":
                expected = prop.get("value", "")
        rows.append(
            {
                "case": f"{module}::{name}",
                "expected": expected or "—",
                "observed": f"{outcome}, {float(case.get('time', 0)):.1f} s",
                "passed": outcome == "passed",
            }
        )
    return rows


def _cell(value: Any, spread: list[float] | None = None) -> str:
    if value is None:
        return "—"
    text = str(value)
    if spread:
        text += f" ({spread[0]}–{spread[1]})"
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: dict[str, Any] | None, junit: Path | list[Path] | None) -> str:
    """The whole BENCHMARKS.md text (``junit``: one XML, or several merged)."""
    junits = [junit] if isinstance(junit, Path) else list(junit or [])
    junits = [path for path in junits if path.is_file()]
    lines = [
        "# Benchmarks and fault drills",
        "",
        "Generated by `make bench` (benchmarks: `bench/results/latest.json`) and from the junit",
        "XML of the last `make test` (drills: `.state/junit.xml`). Do not edit by hand:",
        "`make drills-table` rewrites this file from those two files.",
        "",
        "The machine is shared and noisy: every figure is measured next to its own baseline in",
        "the same run, and the ratio is what to read. Benchmarks are never pass/fail tests.",
        "",
        "## Benchmarks",
        "",
    ]
    if results:
        partial = results.get("sections_run")
        kept = (
            f" ({', '.join(partial)} measured again since the full run of "
            f"{results.get('previous_when', '?')}, whose figures the other sections keep)"
            if partial
            else ""
        )
        lines += [
            f"Run: {results.get('when', '?')}{kept} on {results.get('machine', '?')}.",
            "",
            "| figure | measured | baseline | ratio | target | met | spread (min–max), load |",
            "|---|---:|---:|---:|---|---|---|",
        ]
        for row in benchmark_rows(results):
            met = {True: "met", False: "**missed**", None: "—"}[row["met"]]
            # Two kinds of spread: per cell ([min, max] of repeated runs: ingest) or a note
            # (rounds' ratios and raw seconds, load average: the live-stack sections).
            spread = row.get("spread")
            cells = spread if isinstance(spread, dict) else {}
            note = spread if isinstance(spread, str) else None
            measured, baseline, ratio = (
                _cell(row[key], cells.get(key)) for key in ("measured", "baseline", "ratio")
            )
            lines.append(
                f"| {_cell(row['figure'])} | {measured} | {baseline} | {ratio} | "
                f"{_cell(row['target'])} | {met} | {_cell(note)} |"
            )
        notes = [*METHOD_NOTES, *(results.get("notes") or [])]
        lines += ["", "How each figure is measured:", "", *[f"- {note}" for note in notes]]
    else:
        lines.append("No benchmark results yet: run `make bench`.")
    lines += ["", "## Fault drills", ""]
    if junits:
        rows = [row for path in junits for row in drill_rows(path)]
        passed = sum(r["passed"] for r in rows)
        names = ", ".join(
            f"`{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`" for path in junits
        )
        lines += [
            f"From {names}: {passed} of {len(rows)} drills passed.",
            "",
            "| case | expected | observed |",
            "|---|---|---|",
        ]
        for row in rows:
            lines.append(f"| {_cell(row['case'])} | {_cell(row['expected'])} | {row['observed']} |")
    else:
        lines.append("No test results yet: run `make test` (it writes `.state/junit.xml`).")
    return "\n".join(lines) + "\n"


def write(
    results: dict[str, Any] | None = None,
    *,
    junit: Path | list[Path] = JUNIT,
    output: Path = OUTPUT,
) -> Path:
    """Write BENCHMARKS.md from ``results`` (or latest.json) and the junit XML(s)."""
    if results is None and RESULTS.is_file():
        results = json.loads(RESULTS.read_text())
    if junit == JUNIT and not JUNIT.is_file():
        # No `make test` on this checkout yet: the drill runs kept with the results.
        junit = sorted(RESULTS.parent.glob("junit-*.xml"))
    output.write_text(render(results, junit))
    return output


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report [junit.xml ...]``: rewrite BENCHMARKS.md."""
    args = sys.argv[1:] if argv is None else argv
    junit = [Path(arg) for arg in args] if args else JUNIT
    print(f"written: {write(junit=junit)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
