"""``lake_scale``: the lake's catalog at 10k / 100k / 1M deliveries, today's design vs Delta.

``python -m bench lake_scale`` (or ``--only lake_scale``). Local disk only (S3 via moto is in
the spike, docs/spikes/lake-table-format.md). The synthetic catalog is the spike's
(``bench.spike_lake_format.synth``: 25 products, 62 datasets, 6 macroprocessos, 2023-2025).

* **delta** (the built design, through ``sintegre``'s own code): the deliveries are committed
  in bulk, the maintenance task is run (``sintegre.lake.maintenance.maintain_catalog``), then the
  newest ``COMMITS`` deliveries are committed one at a time with ``catalog_delta.append`` (the
  state between two maintenance runs). Measured: ``lakeviews.connect`` (views ready), the
  30-day product query through ``catalog``'s ``is_current``, a landing's decision
  (``lake_decision.partition_versions`` for the busiest (macroprocesso, periodicidade, dataset) of
  the
  newest month: every catalog file of that folder in today's design) and commit.
* **files** (the design before issue #15: one Parquet file per delivery under
  ``catalog/ingestions/macroprocesso=/periodicidade=``, read by a ``read_parquet`` glob):
  built whole at 10k; at 100k and 1M only the probe partition is written (writing 100k files
  takes ~3 min, 1M ~30 min), so only its decision is measured there.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.spike_lake_format import END, new_delivery, probe_for, synth

COMMITS = 50
Q_SINCE = END - timedelta(days=30)
QUERY = (
    "SELECT dataset, periodicidade, sha256 FROM catalog "
    f"WHERE product_id = 3 AND periodicidade >= DATE '{Q_SINCE}' AND is_current"
)
SIZES = (10_000, 100_000, 1_000_000)
#: Targets of issue #15 (at 1M deliveries).
TARGETS = {"views_ready_s": 2.0, "query_30d_s": 1.0, "decision_s": 0.1}


def _timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
        if times[-1] > 5:
            break
    return round(statistics.median(times), 4), out


def _delta(n: int, work: Path) -> dict[str, Any]:
    from sintegre.lake import decision as lake_decision
    from sintegre.lake import delta_catalog as catalog_delta
    from sintegre.lake import views as lakeviews
    from sintegre.lake.maintenance import maintain_catalog
    from sintegre.lake.storage import open_store

    table, firsts = synth(n)
    probe = probe_for(table)
    store = open_store(work / "delta")
    cut = int(firsts[n - COMMITS])
    started = time.perf_counter()
    catalog_delta.append(store, table.slice(0, cut))
    bulk_s = time.perf_counter() - started
    started = time.perf_counter()
    maintain_catalog(store)
    maint_s = time.perf_counter() - started
    template = table.filter(
        (pc.field("macroprocesso") == probe["macro"])
        & (pc.field("periodicidade") == pa.scalar(probe["period"]).cast(pa.date32()))
    ).slice(0, 2)
    commits = []
    for seq in range(COMMITS):
        rows = new_delivery(template, seq)
        started = time.perf_counter()
        catalog_delta.append(store, rows)
        commits.append(time.perf_counter() - started)
    decision_s, versions = _timed(
        lambda: lake_decision.partition_versions(
            store, probe["macro"], probe["period"], [probe["dataset"]]
        )
    )

    def ready() -> duckdb.DuckDBPyConnection:
        return lakeviews.connect(store)

    views_s, con = _timed(ready)
    query_s, answer = _timed(lambda: con.execute(QUERY).fetchall())
    count = con.execute("SELECT count(*) FROM catalog").fetchone()[0]
    con.close()
    return {
        "rows": count,
        "bulk_commit_s": round(bulk_s, 2),
        "maintenance_s": round(maint_s, 2),
        "commit_ms_median": round(statistics.median(commits) * 1000, 1),
        "commit_ms_last10": round(statistics.median(commits[-10:]) * 1000, 1),
        "decision_s": decision_s,
        "decision_rows": len(versions),
        "views_ready_s": views_s,
        "query_30d_s": query_s,
        "query_30d_rows": len(answer),
    }


def _old_catalog(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    glob = f"{root}/catalog/ingestions/**/*.parquet"
    con.execute(
        "CREATE OR REPLACE VIEW catalog AS SELECT * EXCLUDE (_rank), "
        "coalesce(outcome IN ('new','older','reprocessed','reverted') AND _rank = 1, false) "
        "AS is_current FROM (SELECT *, row_number() OVER (PARTITION BY dataset, macroprocesso, "
        "periodicidade, outcome IN ('new','older','reprocessed','reverted') "
        "ORDER BY delivered_at DESC, ingested_at DESC) AS _rank FROM read_parquet("
        f"'{glob}', hive_partitioning = true, union_by_name = true, "
        "hive_types = {'macroprocesso': VARCHAR, 'periodicidade': DATE}))"
    )


def _files(n: int, work: Path, whole: bool) -> dict[str, Any]:
    table, firsts = synth(n)
    probe = probe_for(table)
    base = work / "files" / "catalog" / "ingestions"
    names = [f.name for f in table.schema][:-3]  # the catalog columns (partitions: the path)
    written = 0
    started = time.perf_counter()
    for i in range(n):
        rows = table.slice(int(firsts[i]), int(firsts[i + 1] - firsts[i]))
        macro = rows.column("macroprocesso")[0].as_py()
        period = str(rows.column("periodicidade")[0].as_py())
        if not whole and (macro, period) != (probe["macro"], probe["period"]):
            continue
        folder = base / f"macroprocesso={macro}" / f"periodicidade={period}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{i:08d}.parquet.tmp"
        pq.write_table(rows.select(names), tmp)
        os.replace(tmp, folder / f"{i:08d}.parquet")
        written += 1
    build_s = time.perf_counter() - started
    folder = base / f"macroprocesso={probe['macro']}" / f"periodicidade={probe['period']}"

    def decide() -> list[dict[str, Any]]:
        found = []
        for path in sorted(folder.glob("*.parquet")):
            rows = pq.read_table(path, columns=["dataset", "sha256", "outcome"]).to_pylist()
            found += [r for r in rows if r["dataset"] == probe["dataset"]]
        return found

    decision_s, versions = _timed(decide)
    result: dict[str, Any] = {
        "files_written": written,
        "build_s": round(build_s, 1),
        "decision_s": decision_s,
        "decision_files": len(list(folder.glob("*.parquet"))),
        "decision_rows": len(versions),
    }
    if whole:

        def ready() -> duckdb.DuckDBPyConnection:
            con = duckdb.connect()
            _old_catalog(con, work / "files")
            con.execute("SELECT count(*) FROM catalog").fetchall()  # the glob is listed lazily
            return con

        result["views_ready_s"], con = _timed(ready, repeat=2)
        result["query_30d_s"], answer = _timed(lambda: con.execute(QUERY).fetchall(), repeat=2)
        result["query_30d_rows"] = len(answer)
        con.close()
    return result


def run(quick: bool = False, sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Every size: the Delta design (whole) and today's (whole at 10k, its decision beyond)."""
    chosen = sizes or ((10_000,) if quick else SIZES)
    out: dict[str, Any] = {"commits_after_maintenance": COMMITS, "targets_at_1m": TARGETS}
    for n in chosen:
        work = Path(tempfile.mkdtemp(prefix=f"lake_scale_{n}_"))
        try:
            started = time.perf_counter()
            out[f"delta_{n}"] = _delta(n, work)
            out[f"delta_{n}"]["section_s"] = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            out[f"files_{n}"] = _files(n, work, whole=n <= 10_000)
            out[f"files_{n}"]["section_s"] = round(time.perf_counter() - started, 1)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"[lake_scale] {n}: {out[f'delta_{n}']} | {out[f'files_{n}']}", flush=True)
    return out


if __name__ == "__main__":
    import json
    import sys

    picked = tuple(int(s) for s in sys.argv[1].split(",")) if len(sys.argv) > 1 else None
    print(json.dumps(run(sizes=picked), indent=2))
