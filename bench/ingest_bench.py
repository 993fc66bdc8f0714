"""Ingest throughput of a big ONS CSV, against pyarrow's own CSV→Parquet, same file, same run.

(a) OUR path: :func:`sintegre.readers.text.streaming.stream_delimited_to_parquet` with the
    catalog's spec (cp1252, ``;``, decimal comma with ``.`` thousands, a code column kept as
    text), then :func:`sintegre.lake.landing.land` of the staged Parquet (history, catalog,
    curated).
(b) BASELINE: ``pyarrow.csv.open_csv`` (latin-1, ``;``, every column read as a string, the
    simplest way pyarrow can take decimal commas) straight into ``pq.ParquetWriter``.
(c) A 1 GB file through our path in a subprocess of its own, whose peak RSS is its
    ``VmHWM`` (target ≤ 450 MB), next to pyarrow's path (b) on the same file in a
    subprocess too; skipped with ``quick``.

(a) and (b) run interleaved three times (order alternating), as do the two 1 GB
subprocesses: every figure is the median of the three, ``spread`` has their min and max.

The CSV is written by ``sintegre_dev.ons_files.text_products.make_big_ons_csv``
(100 MB; 10 MB quick).
``python -m bench.ingest_bench [--quick]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sintegre.catalog.spec import ParseSpec
from sintegre.lake.landing import land
from sintegre.lake.layout import StagedTable
from sintegre.readers.text.streaming import stream_delimited_to_parquet
from sintegre_dev.ons_files.text_products import make_big_ons_csv

ROOT = Path(__file__).resolve().parents[1]

MB = 1 << 20
SPEC = ParseSpec(
    delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo_do_posto",)
)
#: Peak RSS allowed for the 1 GB file (issue #17; later aim 400).
TARGET_RSS_MB = 450
#: Throughput of ours / pyarrow's on the 100 MB file (issue #17; later aim 0.8).
TARGET_RATIO = 0.6
#: Interleaved runs of ours and the baseline; the figures are medians.
REPEATS = 3


def _conf(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    conf = {
        "nome": "Bench: vazões ONS",
        "product_id": 0,
        "notification_id": "bench",
        "dataset": "bench_vazoes",
        "macroprocesso_slug": "bench",
        "periodicidade_date": "2025-09-07",
        "periodicidade_final_date": "2025-09-07T23:59:59",
        "granularity": "daily",
        "token_nbf": 1_757_203_200,
    }
    download = {"file_name": name, "sha256": "0" * 64, "raw_path": f"raw/bench/{name}"}
    return conf, download


def ingest(csv_path: Path, work: Path) -> dict[str, Any]:
    """Run OUR path on one file: stream to a staged Parquet, then land it in a fresh lake.

    Args:
        csv_path: The CSV.
        work: A scratch folder (staging and lake go inside).

    Returns:
        Seconds for each step, rows and the staged schema.
    """
    conf, download = _conf(csv_path.name)
    with csv_path.open("rb") as handle:  # the download step hashes the file: not timed
        download["sha256"] = hashlib.file_digest(handle, "sha256").hexdigest()
    started = time.perf_counter()
    parsed = stream_delimited_to_parquet(csv_path, csv_path.name, work / "staged.parquet", SPEC)
    streamed = time.perf_counter()
    assert parsed.path is not None
    rows = pq.ParquetFile(parsed.path).metadata.num_rows
    staged = StagedTable(
        name="",
        path=str(parsed.path),
        source_member="",
        original_columns=parsed.original_columns,
        rows=rows,
    )
    land([staged], conf, download, lake_root=work / "lake", run_id="bench")
    landed = time.perf_counter()
    return {
        "rows": rows,
        "stream_s": streamed - started,
        "land_s": landed - streamed,
        "total_s": landed - started,
        "schema": {f.name: str(f.type) for f in parsed.table.schema},
    }


def baseline(csv_path: Path, out: Path) -> dict[str, Any]:
    """pyarrow's streaming CSV reader into a ParquetWriter, every column as text.

    Args:
        csv_path: The CSV.
        out: The Parquet file to write.

    Returns:
        Seconds and rows.
    """
    started = time.perf_counter()
    reader = pacsv.open_csv(
        csv_path,
        read_options=pacsv.ReadOptions(encoding="latin-1", block_size=64 * MB),
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types={
                name: pa.string()
                for name in (
                    "Data",
                    "Código do Posto",
                    "Nome do Reservatório",
                    "Vazão Afluente (m³/s)",
                    "Volume Útil (%)",
                    "Observação",
                )
            }
        ),
    )
    rows = 0
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return {"rows": rows, "total_s": time.perf_counter() - started}


def _child_peak(csv_path: Path, work: Path, *, what: str = "ours") -> dict[str, Any]:
    """One path on one file in a fresh process; its own peak RSS (``ru_maxrss``) with it."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_bench", "--child", str(csv_path), str(work)]
        + (["--pyarrow"] if what == "pyarrow" else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),  # the package is installed (pip install -e .); cwd has bench/
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    return report


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _median_spread(values: list[float], digits: int) -> tuple[float, list[float]]:
    return round(statistics.median(values), digits), [
        round(min(values), digits),
        round(max(values), digits),
    ]


def run(quick: bool = False, repeats: int = REPEATS) -> dict[str, Any]:
    """Measure ours vs the baseline on 100 MB (10 MB quick), and the 1 GB peak RSS.

    Ours and the baseline run interleaved ``repeats`` times (the order alternating), each
    run's ratio taken from the pair measured back to back; the figures are the medians, and
    ``spread`` holds each figure's min and max over the runs.

    Args:
        quick: Small file, no 1 GB run.
        repeats: Interleaved runs of each.

    Returns:
        The figures (MB/s, ratio baseline seconds / ours, seconds, rows, peak RSS).
    """
    size = (10 if quick else 100) * MB
    with tempfile.TemporaryDirectory(prefix="sintegre-ingest-bench-") as scratch:
        folder = Path(scratch)
        csv_path = make_big_ons_csv(folder / "vazoes.csv", size)
        megabytes = csv_path.stat().st_size / MB
        runs: list[dict[str, Any]] = []
        for index in range(repeats):
            timed: dict[str, Any] = {}
            order = ("ours", "pyarrow") if index % 2 == 0 else ("pyarrow", "ours")
            for what in order:
                cpu = _cpu_seconds()
                if what == "ours":
                    timed["ours"] = ingest(csv_path, folder / f"ours{index}")
                    shutil.rmtree(folder / f"ours{index}")
                else:
                    timed["pyarrow"] = baseline(csv_path, folder / "baseline.parquet")
                timed[f"{what}_cpu"] = _cpu_seconds() - cpu
            assert timed["pyarrow"]["rows"] == timed["ours"]["rows"]
            runs.append(timed)
        series = {
            "throughput_ratio": [r["pyarrow"]["total_s"] / r["ours"]["total_s"] for r in runs],
            "ours_mb_s": [megabytes / r["ours"]["total_s"] for r in runs],
            "pyarrow_mb_s": [megabytes / r["pyarrow"]["total_s"] for r in runs],
            "ours_stream_s": [r["ours"]["stream_s"] for r in runs],
            "ours_land_s": [r["ours"]["land_s"] for r in runs],
            "pyarrow_s": [r["pyarrow"]["total_s"] for r in runs],
            "ours_cpu_s": [r["ours_cpu"] for r in runs],
            "pyarrow_cpu_s": [r["pyarrow_cpu"] for r in runs],
            "cpu_ratio_pyarrow_over_ours": [r["pyarrow_cpu"] / r["ours_cpu"] for r in runs],
        }
        result: dict[str, Any] = {}
        spread: dict[str, list[float]] = {}
        for key, values in series.items():
            result[key], spread[key] = _median_spread(values, 3 if "ratio" in key else 2)
        result.update(
            {
                "throughput_target": TARGET_RATIO,
                "repeats": repeats,
                "file_mb": round(megabytes, 1),
                "rows": runs[0]["ours"]["rows"],
                "ours_stream_only_mb_s": round(megabytes / result["ours_stream_s"], 2),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "schema": runs[0]["ours"]["schema"],
                "spread": spread,
            }
        )
        if not quick:
            big = make_big_ons_csv(folder / "vazoes_1gb.csv", 1024 * MB)
            children: dict[str, list[dict[str, Any]]] = {"ours": [], "pyarrow": []}
            for index in range(repeats):
                order = ("ours", "pyarrow") if index % 2 == 0 else ("pyarrow", "ours")
                for what in order:
                    children[what].append(_child_peak(big, folder / f"big{index}", what=what))
            ours_rss = [child["self_peak_mb"] for child in children["ours"]]
            theirs_rss = [child["self_peak_mb"] for child in children["pyarrow"]]
            gb_s = [child["total_s"] for child in children["ours"]]
            result["gb_file_mb"] = round(big.stat().st_size / MB, 1)
            result["gb_rows"] = children["ours"][0]["rows"]
            result["gb_total_s"], spread["gb_total_s"] = _median_spread(gb_s, 1)
            result["gb_mb_s"] = round(big.stat().st_size / MB / result["gb_total_s"], 2)
            result["peak_rss_1gb_mb"], spread["peak_rss_1gb_mb"] = _median_spread(ours_rss, 1)
            result["peak_rss_target_mb"] = TARGET_RSS_MB
            # pyarrow's own CSV -> Parquet of the same file, in a process of its own.
            result["pyarrow_peak_rss_1gb_mb"], spread["pyarrow_peak_rss_1gb_mb"] = _median_spread(
                theirs_rss, 1
            )
    return result


def _child(csv_path: Path, work: Path, what: str = "ours") -> None:
    if what == "pyarrow":
        work.mkdir(parents=True, exist_ok=True)
        report = baseline(csv_path, work / "baseline.parquet")
    else:
        report = ingest(csv_path, work)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark over the exec into
    # ru_maxrss (see tests/integration/test_lake_streaming.py), and the parent holds MBs.
    status = Path("/proc/self/status").read_text()
    [hwm_kib] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    report["self_peak_mb"] = round(int(hwm_kib) / 1024, 1)
    report["ru_maxrss_mb"] = round(usage.ru_maxrss / 1024, 1)
    report["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)  # the process's, imports too
    print(json.dumps(report))


def main() -> None:
    """``python -m bench.ingest_bench [--quick]`` (``--child CSV WORK`` is internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("CSV", "WORK"))
    parser.add_argument("--pyarrow", action="store_true", help="--child runs the baseline")
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), "pyarrow" if args.pyarrow else "ours")
        return
    print(json.dumps(run(quick=args.quick), indent=2))


if __name__ == "__main__":
    main()
