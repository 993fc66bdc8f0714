"""Ingest throughput of a big ONS CSV, against pyarrow's own CSV→Parquet, same file, same run.

(a) OUR path: :func:`sintegre.readers.streaming.stream_delimited_to_parquet` with the
    catalog's spec (cp1252, ``;``, decimal comma with ``.`` thousands, a code column kept as
    text), then :func:`sintegre.lake.landing.land` of the staged Parquet (history, catalog,
    curated).
(b) BASELINE: ``pyarrow.csv.open_csv`` (latin-1, ``;``, every column read as a string, the
    simplest way pyarrow can take decimal commas) straight into ``pq.ParquetWriter``.
(c) A 1 GB file through our path in a subprocess, whose peak RSS is read with
    ``getrusage(RUSAGE_CHILDREN)`` (target ≤ 600 MB); skipped with ``quick``.

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
from sintegre.readers.streaming import stream_delimited_to_parquet
from sintegre_dev.ons_files.text_products import make_big_ons_csv

ROOT = Path(__file__).resolve().parents[1]

MB = 1 << 20
SPEC = ParseSpec(
    delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo_do_posto",)
)
#: Peak RSS allowed for the 1 GB file.
TARGET_RSS_MB = 600


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


def _child_peak(csv_path: Path, work: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_bench", "--child", str(csv_path), str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),  # the package is installed (pip install -e .); cwd has bench/
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["peak_rss_mb"] = round(after / 1024, 1)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: only meaningful if this
    # child beat every earlier one; its own figure is kept as a cross-check.
    report["rusage_children_before_mb"] = round(before / 1024, 1)
    return report


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(quick: bool = False) -> dict[str, Any]:
    """Measure ours vs the baseline on 100 MB (10 MB quick), and the 1 GB peak RSS.

    Args:
        quick: Small file, no 1 GB run.

    Returns:
        The figures (MB/s, ratio ours/baseline, seconds, rows, peak RSS).
    """
    size = (10 if quick else 100) * MB
    with tempfile.TemporaryDirectory(prefix="sintegre-ingest-bench-") as scratch:
        folder = Path(scratch)
        csv_path = make_big_ons_csv(folder / "vazoes.csv", size)
        megabytes = csv_path.stat().st_size / MB
        cpu = _cpu_seconds()
        ours = ingest(csv_path, folder / "ours")
        ours_cpu = _cpu_seconds() - cpu
        theirs = baseline(csv_path, folder / "baseline.parquet")
        theirs_cpu = _cpu_seconds() - cpu - ours_cpu
        result: dict[str, Any] = {
            "ours_mb_s": round(megabytes / ours["total_s"], 2),
            "pyarrow_mb_s": round(megabytes / theirs["total_s"], 2),
            "throughput_ratio": round(theirs["total_s"] / ours["total_s"], 3),
            "file_mb": round(megabytes, 1),
            "rows": ours["rows"],
            "ours_stream_s": round(ours["stream_s"], 2),
            "ours_land_s": round(ours["land_s"], 2),
            "pyarrow_s": round(theirs["total_s"], 2),
            "ours_stream_only_mb_s": round(megabytes / ours["stream_s"], 2),
            # CPU seconds (all threads): steadier than wall time on a shared machine.
            "ours_cpu_s": round(ours_cpu, 2),
            "pyarrow_cpu_s": round(theirs_cpu, 2),
            "cpu_ratio_pyarrow_over_ours": round(theirs_cpu / ours_cpu, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "schema": ours["schema"],
        }
        assert theirs["rows"] == ours["rows"], (theirs["rows"], ours["rows"])
        if not quick:
            big = make_big_ons_csv(folder / "vazoes_1gb.csv", 1024 * MB)
            child = _child_peak(big, folder / "big")
            result["gb_file_mb"] = round(big.stat().st_size / MB, 1)
            result["gb_rows"] = child["rows"]
            result["gb_total_s"] = round(child["total_s"], 1)
            result["gb_mb_s"] = round(big.stat().st_size / MB / child["total_s"], 2)
            result["peak_rss_1gb_mb"] = child["peak_rss_mb"]
            result["peak_rss_1gb_self_mb"] = child["self_peak_mb"]
            result["peak_rss_target_mb"] = TARGET_RSS_MB
    return result


def _child(csv_path: Path, work: Path) -> None:
    report = ingest(csv_path, work)
    report["self_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report))


def main() -> None:
    """``python -m bench.ingest_bench [--quick]`` (``--child CSV WORK`` is internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("CSV", "WORK"))
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]))
        return
    print(json.dumps(run(quick=args.quick), indent=2))


if __name__ == "__main__":
    main()
