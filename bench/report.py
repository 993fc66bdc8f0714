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
    "every 2xx is a SQLite commit with `synchronous=FULL`. The former command line (4 sync "
    "workers) is measured too, at 16 clients, for before/after.",
    '**burst**: `send_all` ("Enviar Tudo") of 500 notifications into make run\'s stack, DAG '
    "paused (delivery, not 500 executions on 2 cores); until Airflow's `queued_at` of the last "
    "run; runs counted per notification through Airflow's API. Baseline: the same 500 confs "
    "POSTed straight to Airflow's API one at a time.",
    "**ingest**, **excel**: see bench/ingest_bench.py and bench/excel_bench.py.",
    "**lake_scale**: the catalog Delta table (sintegre's own code) vs one catalog file per "
    "delivery (the design before issue #15), at 10k/100k/1M synthetic deliveries, on local disk "
    "and on S3 (moto's server in its own process), bench/lake_scale_bench.py. Delta: bulk-built, "
    "maintained (`maintain_catalog`), then the newest deliveries committed one per commit with "
    "maintenance every 1,000 (counts in latest.json: `single_commits`, `commits_requested`); "
    "measured after the last commit. File per delivery: the decision reads the real probe "
    "folder at every size; the views are measured on whole lakes of files at the sizes shown "
    "in `views_points` and extrapolated on a straight line beyond them (labelled).",
    "**e2e**: POST → rows returned by DuckDB (`sintegre.lake.views`), one notification at a "
    "time; baseline: the one-task no-op DAG bench/dags/bench_noop.py, trigger → success, on "
    "the same Airflow. Runs Airflow itself fails (task processes starved on a loaded machine) "
    "are counted in `failed_runs_remeasured` and measured again.",
)


def _row(
    figure: str,
    measured: Any,
    baseline: Any,
    ratio: float | None,
    target: str,
    met: bool | None,
) -> dict[str, Any]:
    return {
        "figure": figure,
        "measured": measured,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def _missing(section: str, data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and "error" not in data and "missing" not in data:
        return None
    reason = data.get("error") or data.get("missing") if isinstance(data, dict) else "not run"
    return _row(f"{section}: not measured ({str(reason)[:160]})", "—", "—", None, "—", None)


def _ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, digits)


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
            rows.append(
                _row(
                    f"receiver accepted/s, {clients} client(s) vs trivial 200",
                    rec["per_second"],
                    base["per_second"],
                    level["throughput_ratio"],
                    target,
                    met,
                )
            )
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

        old = receiver.get("sync_4_workers_clients_16")
        if old:
            rows.append(
                _row(
                    "receiver accepted/s, 16 clients, make run's former shape (4 sync workers)",
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
        rows.append(
            _row(
                f"burst: seconds until all {burst['notifications']} DAG runs exist, "
                "Enviar Tudo vs direct API triggers",
                burst["seconds_to_all_runs"],
                burst["direct_trigger_seconds"],
                burst["ratio"],
                "—",
                None,
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
        rows.append(
            _row(
                f"e2e: median seconds POST → rows in the lake ({e2e['samples']} notifications)"
                " vs no-op DAG trigger → success",
                e2e["median_seconds"],
                e2e["noop_median_seconds"],
                e2e["ratio"],
                "≤ 3×",
                e2e["ratio"] <= 3,
            )
        )

    lake_scale = results.get("lake_scale")
    if lake_scale is not None:  # only once measured (python -m bench lake_scale)
        if (row := _missing("lake_scale", lake_scale)) is not None:
            rows.append(row)
        else:
            rows.extend(_lake_scale_rows(lake_scale))
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


def _ingest_rows(ingest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    ratio = _find(ingest, "throughput_ratio") or _find(ingest, "ratio")
    ours = _find(ingest, "ours_mb_s") or _find(ingest, "mb_s")
    theirs = _find(ingest, "pyarrow_mb_s") or _find(ingest, "baseline")
    if ratio:
        rows.append(
            _row(
                "ingest: 100 MB ONS CSV → lake, MB/s vs pyarrow CSV→Parquet",
                ours[1] if ours else "—",
                theirs[1] if theirs else "—",
                round(ratio[1], 3),
                "≥ 0.5",
                ratio[1] >= 0.5,
            )
        )
    rss = _find(ingest, "peak_rss_1gb_mb") or _find(ingest, "rss", "mb")
    if rss:
        rows.append(
            _row("ingest: 1 GB file, peak RSS MB", rss[1], 600, None, "≤ 600", rss[1] <= 600)
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


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


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
        lines += [
            f"Run: {results.get('when', '?')} on {results.get('machine', '?')}.",
            "",
            "| figure | measured | baseline | ratio | target | met |",
            "|---|---:|---:|---:|---|---|",
        ]
        for row in benchmark_rows(results):
            met = {True: "met", False: "**missed**", None: "—"}[row["met"]]
            lines.append(
                f"| {_cell(row['figure'])} | {_cell(row['measured'])} | "
                f"{_cell(row['baseline'])} | {_cell(row['ratio'])} | {_cell(row['target'])} "
                f"| {met} |"
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
