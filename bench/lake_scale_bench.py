"""``lake_scale``: the lake's catalog at 10k / 100k / 1M deliveries, local disk and S3 (moto).

``python -m bench lake_scale [--lake-commits N] [--lake-sizes 10000,100000]
[--lake-stores local,s3]``. The synthetic catalog is the spike's
(``bench.spike_lake_format.synth``: 25 products, 62 datasets, 6 macroprocessos, 2023-2025).
S3 is moto's server in its own process (``python -m moto.server``), reached over HTTP the way
tests/integration/test_lake_s3.py reaches it (``LAKE_URI=s3://bucket/lake`` + endpoint).

Each store, each size N, two designs measured in the same run:

* **delta** (the built design, through ``sintegre``'s own code): the oldest deliveries are
  committed in bulk (``catalog_delta.append`` of Arrow slices of ≤ ``BULK_ROWS`` rows, a few
  commits), maintained (``sintegre.lake.maintenance.maintain_catalog``, what the hourly
  ``sintegre_maintenance`` runs), then the newest ``commits`` deliveries (at most N / 100) are
  committed **one delivery per commit**, with ``maintain_catalog`` after every
  ``MAINTAIN_EVERY`` of them (an hour of the 1M-delivery lake's traffic: 1M deliveries in three
  years is ~38 an hour). The measurements are taken after the last commit, i.e. up to
  ``MAINTAIN_EVERY`` commits since the last maintenance: the end of an hour, the slowest point
  (``--maintain-every 1000`` measures a lake maintained once a day instead). One small history
  file per dataset is written so ``connect`` builds every view (history/ growth is not this
  bench's subject).
* **files** (today's design before issue #15: one Parquet catalog file per delivery under
  ``catalog/ingestions/macroprocesso=/periodicidade=``): its **decision** (list the partition's
  folder, read every file, the way ``lake._partition_versions`` did) is measured at every size
  on the real probe folder (only that folder is written). Its **views** (a ``read_parquet``
  glob over every file, ``is_current`` on top, as the old ``views.connect`` did) need the whole
  lake of files: measured whole where N ≤ the store's ``files_whole`` limit, else
  **extrapolated** (proportionally to N from the largest point measured in the same run, labelled
  ``extrapolated`` with the points kept in the result).

Figures: ``views_ready_s`` (``lakeviews.connect`` with every view + the first
``SELECT count(*) FROM catalog``; today's design: the same ``connect`` with the old ``catalog``
view, ``_connect_old``), ``catalog_ready_s`` (the same with ``only=[]``: the catalog and
``datasets`` views alone, what issue #15 changed),
``query_30d_s`` (one product's last 30 days, ``is_current`` rows), ``decision_s``
(``partition_versions`` of the probe partition + ``decide``), each run ``repeat`` times:
median, min, max. Commits: every one timed (median / p90 / max, first and last 10%).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bench.spike_lake_format import DAYS, END, probe_for, synth
from sintegre_dev.moto_s3 import moto_server

#: What issue #15 asks: the newest 10,000 deliveries committed one by one.
ISSUE_COMMITS = 10_000
#: Routine ``make bench`` runs: 10,000 commits take ~10 min locally, far longer on moto.
DEFAULT_COMMITS = 300
QUICK_COMMITS = 50
#: Single commits are at most this share of the deliveries (10,000 of 1M).
SINGLES_SHARE = 0.01
#: Maintenance (compaction + checkpoint + log trim) after this many single commits: what the
#: default hourly ``SINTEGRE_MAINTENANCE_SCHEDULE`` leaves in the 1M lake (~38 an hour).
MAINTAIN_EVERY = 40
#: The maintenance DAG's defaults (``SINTEGRE_LAKE_TOMBSTONE_RETENTION_HOURS`` and
#: ``SINTEGRE_LAKE_LOG_RETENTION_DAYS``), applied in bench hours (see ``_delta``).
TOMBSTONE_RETENTION_HOURS = 1.0
LOG_RETENTION_DAYS = 7.0
#: Rows per bulk commit when building the old part of the lake.
BULK_ROWS = 1_000_000
SIZES = (10_000, 100_000, 1_000_000)
STORES = ("local", "s3")
REPEAT = 3
#: The whole file-per-delivery lake is built up to this many deliveries; beyond, extrapolated
#: from the points below (S3 through moto's HTTP server costs ~0.1 s per catalog file).
FILES_WHOLE = {"local": 2_500, "s3": 0}
FILES_POINTS = {"local": (2_500,), "s3": (100,)}
#: The old design's whole-lake views take minutes each (every dataset view bound a glob over
#: every catalog file): measured this many times.
FILES_VIEWS_REPEAT = 1
Q_SINCE = END - timedelta(days=30)
QUERY = (
    "SELECT dataset, periodicidade, sha256 FROM catalog "
    f"WHERE product_id = 3 AND periodicidade >= DATE '{Q_SINCE}' AND is_current"
)
FIGURES = ("views_ready_s", "catalog_ready_s", "query_30d_s", "decision_s")
VIEW_FIGURES = ("views_ready_s", "catalog_ready_s", "query_30d_s")
#: Targets of issue #15 (at 1M deliveries).
TARGETS = {"views_ready_s": 2.0, "query_30d_s": 1.0, "decision_s": 0.1}
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _spread(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """``fn`` run ``repeat`` times: median / min / max seconds, and its last answer."""
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return {
        "median": round(statistics.median(times), 4),
        "min": round(min(times), 4),
        "max": round(max(times), 4),
        "runs": len(times),
    }, out


@contextlib.contextmanager
def lake_store(kind: str, endpoint: str | None, name: str) -> Iterator[Any]:
    """A fresh empty lake: a temporary folder, or ``s3://<fresh bucket>/lake`` on moto."""
    from sintegre.core.settings import load_settings
    from sintegre.lake.storage import open_store

    if kind == "local":
        work = Path(tempfile.mkdtemp(prefix=f"lake_scale_{name}_"))
        try:
            yield open_store(work / "lake")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    import boto3

    assert endpoint is not None
    bucket = f"lake-{name}-{uuid.uuid4().hex[:8]}".replace("_", "-").lower()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_boto_keys())
    client.create_bucket(Bucket=bucket)
    state = Path(tempfile.mkdtemp(prefix="lake_scale_state_"))
    settings = load_settings(
        {
            "LAKE_URI": f"s3://{bucket}/lake",
            "SINTEGRE_STATE_DIR": str(state),
            "SINTEGRE_S3_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            **S3_CREDENTIALS,
        }
    )
    try:
        yield open_store(settings.lake_uri, settings)
    finally:
        shutil.rmtree(state, ignore_errors=True)
        # Empty the bucket: moto keeps every object in its process's memory.
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        client.delete_bucket(Bucket=bucket)


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _put(store: Any, key: str, table: pa.Table) -> None:
    """One Parquet file at ``key``: renamed over its target on disk (as the old landing did),
    one PUT on S3 (atomic)."""
    if store.is_local:
        path = store.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f"{path}.tmp")
        os.replace(f"{path}.tmp", path)
    else:
        with store.filesystem.open_output_stream(store.path_for_pyarrow(key)) as out:
            pq.write_table(table, out)


def _history_files(store: Any, table: pa.Table) -> int:
    """One small history file per dataset, so ``connect`` builds every dataset's views."""
    import pyarrow.compute as pc

    from sintegre.lake.storage import LakeStore

    written = 0
    datasets = pc.unique(table.column("dataset")).to_pylist()
    for name in sorted(datasets):
        row = table.filter(pc.equal(table.column("dataset"), name)).slice(0, 1)
        macro = row.column("macroprocesso")[0].as_py()
        period = row.column("periodicidade")[0].as_py()
        sha = row.column("sha256")[0].as_py()
        key = LakeStore.join(
            "history", name, f"macroprocesso={macro}", f"periodicidade={period}", f"{sha}.parquet"
        )
        _put(store, key, pa.table({"valor": [1.0], "src_version": [sha]}))
        written += 1
    return written


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _delta(
    store: Any, n: int, commits: int, repeat: int, share: float, maintain_every: int
) -> dict[str, Any]:
    """Build the Delta catalog of ``n`` deliveries (bulk, then ``commits`` single) and measure."""
    from sintegre.lake import decision as lake_decision
    from sintegre.lake import delta_catalog as catalog_delta
    from sintegre.lake import views as lakeviews
    from sintegre.lake.maintenance import maintain_catalog

    table, firsts = synth(n)
    probe = probe_for(table)
    singles = min(commits, int(n * share))
    cut = int(firsts[n - singles])
    started = time.perf_counter()
    bulk_commits = 0
    for start in range(0, cut, BULK_ROWS):
        catalog_delta.append(store, table.slice(start, min(BULK_ROWS, cut - start)))
        bulk_commits += 1
    bulk_s = time.perf_counter() - started
    started = time.perf_counter()
    maintain_catalog(store)
    maintenance = [time.perf_counter() - started]
    history = _history_files(store, table)
    commit_s: list[float] = []
    started_all = time.perf_counter()
    #: The bench's hour: what its first ``maintain_every`` commits took (a real lake's hour
    #: holds that many). Retentions are kept in bench hours, so the log holds what a real
    #: lake's would: one hour of replaced files' entries, a week of log.
    bench_hour_s: float | None = None
    for i in range(n - singles, n):
        rows = table.slice(int(firsts[i]), int(firsts[i + 1] - firsts[i]))
        started = time.perf_counter()
        catalog_delta.append(store, rows)
        commit_s.append(time.perf_counter() - started)
        done = len(commit_s)
        if done % maintain_every == 0 and done < singles:
            if bench_hour_s is None:
                bench_hour_s = time.perf_counter() - started_all
            hours = bench_hour_s / 3600
            started = time.perf_counter()
            maintain_catalog(
                store,
                tombstone_retention_hours=TOMBSTONE_RETENTION_HOURS * hours,
                log_retention_days=LOG_RETENTION_DAYS * hours,
            )
            maintenance.append(time.perf_counter() - started)
    singles_total_s = time.perf_counter() - started_all
    since_maintenance = singles - (singles - 1) // maintain_every * maintain_every

    delivered = datetime.now(UTC)
    sha = uuid.uuid4().hex * 2

    def decision() -> tuple[list[dict[str, Any]], str]:
        versions = lake_decision.partition_versions(
            store, probe["macro"], probe["period"], [probe["dataset"]]
        )
        outcome = lake_decision.decide(
            versions, probe["dataset"], sha, delivered, store, "curated/unused"
        )
        return versions, outcome

    decision_t, (versions, outcome) = _spread(decision, repeat)
    measured = _measure_views(lakeviews.connect, store, repeat)
    tenth = max(1, len(commit_s) // 10)
    return {
        "deliveries": n,
        "bulk_commits": bulk_commits,
        "bulk_commit_s": round(bulk_s, 2),
        "single_commits": singles,
        "single_commits_total_s": round(singles_total_s, 1),
        "commits_since_maintenance": since_maintenance,
        "bench_hour_s": None if bench_hour_s is None else round(bench_hour_s, 2),
        "delta_log_files": _log_files(store),
        "maintenance_runs": len(maintenance),
        "maintenance_s_median": round(statistics.median(maintenance), 2),
        "maintenance_s_max": round(max(maintenance), 2),
        "commit_ms": {
            "median": round(statistics.median(commit_s) * 1000, 1),
            "p90": round(_percentile(commit_s, 0.9) * 1000, 1),
            "max": round(max(commit_s) * 1000, 1),
            "first_10pct_median": round(statistics.median(commit_s[:tenth]) * 1000, 1),
            "last_10pct_median": round(statistics.median(commit_s[-tenth:]) * 1000, 1),
        }
        if commit_s
        else None,
        "history_files": history,
        "decision_s": decision_t,
        "decision_rows": len(versions),
        "decision_outcome": outcome,
        **measured,
        "probe": probe,
    }


def _log_files(store: Any) -> dict[str, int]:
    """What the catalog table's ``_delta_log`` holds at the end (every log load lists it)."""
    from sintegre.lake.delta_catalog import TABLE_KEY
    from sintegre.lake.storage import LakeStore

    prefix = LakeStore.join(TABLE_KEY, "_delta_log")
    return {
        "json": len(store.list(prefix, ".json")),
        "checkpoints": len(store.list(prefix, ".checkpoint.parquet")),
    }


def _old_catalog_sql(glob: str) -> str:
    """The catalog view's SELECT as views.connect built it before issue #15 (a file glob)."""
    versions = "outcome IN ('new','older','reprocessed','reverted')"
    return (
        f"SELECT * EXCLUDE (_rank), "
        f"coalesce({versions} AND _rank = 1, false) AS is_current FROM (SELECT *, "
        f"row_number() OVER (PARTITION BY dataset, macroprocesso, periodicidade, {versions} "
        "ORDER BY delivered_at DESC, ingested_at DESC) AS _rank FROM read_parquet("
        f"'{glob}', hive_partitioning = true, union_by_name = true, "
        "hive_types = {'macroprocesso': VARCHAR, 'periodicidade': DATE}))"
    )


def _write_files(store: Any, table: pa.Table, firsts: Any, n: int, only: Any = None) -> int:
    """Today's design: one catalog file per delivery (``only``: the one folder to write)."""
    from sintegre.lake.layout import CATALOG_SCHEMA
    from sintegre.lake.storage import LakeStore

    names = CATALOG_SCHEMA.names
    macros = table.column("macroprocesso").to_pylist()
    periods = table.column("periodicidade").to_pylist()
    written = 0
    for i in range(n):
        first = int(firsts[i])
        folder = (macros[first], str(periods[first]))
        if only is not None and folder != only:
            continue
        rows = table.slice(first, int(firsts[i + 1]) - first).select(names)
        key = LakeStore.join(
            "catalog/ingestions",
            f"macroprocesso={folder[0]}",
            f"periodicidade={folder[1]}",
            f"{i:08d}.parquet",
        )
        _put(store, key, rows)
        written += 1
    return written


def _connect_old(store: Any, only: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """``views.connect`` as it was before issue #15: the same code, but the ``catalog`` view
    over a glob of the per-delivery files (every other view is unchanged by the issue)."""
    from sintegre.lake import views as lakeviews

    glob = f"{store.uri_for('catalog/ingestions')}/**/*.parquet"
    with mock.patch.object(
        lakeviews, "_catalog_sql", lambda store, snapshot: _old_catalog_sql(glob)
    ):
        return lakeviews.connect(store, only=only)


def _ready(connect: Callable[..., duckdb.DuckDBPyConnection], store: Any, only: Any) -> Any:
    """Views created and the first ``count(*)`` of ``catalog`` answered (a glob is lazy)."""

    def ready() -> tuple[duckdb.DuckDBPyConnection, int]:
        con = connect(store, only=only)
        return con, con.execute("SELECT count(*) FROM catalog").fetchone()[0]

    return ready


def _measure_views(
    connect: Callable[..., duckdb.DuckDBPyConnection], store: Any, repeat: int
) -> dict[str, Any]:
    """Catalog views only, every view, the 30-day query: the same for both designs."""
    from sintegre.lake import views as lakeviews

    catalog_t, (con, _) = _spread(_ready(connect, store, []), repeat)
    con.close()
    views_t, (con, count) = _spread(_ready(connect, store, None), repeat)
    views = lakeviews.view_names(con)
    query_t, answer = _spread(lambda: con.execute(QUERY).fetchall(), repeat)
    con.close()
    return {
        "rows": count,
        "views": len(views),
        "catalog_ready_s": catalog_t,
        "views_ready_s": views_t,
        "query_30d_s": query_t,
        "query_30d_rows": len(answer),
    }


def _files_views(store: Any, n: int, repeat: int) -> dict[str, Any]:
    """The file-per-delivery lake of ``n`` deliveries, whole: views ready and the query."""
    table, firsts = synth(n)
    started = time.perf_counter()
    written = _write_files(store, table, firsts, n)
    build_s = time.perf_counter() - started
    history = _history_files(store, table)
    return {
        "deliveries": n,
        "files": written,
        "history_files": history,
        "build_s": round(build_s, 1),
        **_measure_views(_connect_old, store, repeat),
    }


def _files_decision(store: Any, n: int, repeat: int) -> dict[str, Any]:
    """Today's decision at ``n`` deliveries: list the probe folder, read every file of it."""
    from sintegre.lake import decision as lake_decision
    from sintegre.lake.storage import LakeStore

    table, firsts = synth(n)
    probe = probe_for(table)
    written = _write_files(store, table, firsts, n, only=(probe["macro"], probe["period"]))
    folder = LakeStore.join(
        "catalog/ingestions", f"macroprocesso={probe['macro']}", f"periodicidade={probe['period']}"
    )
    delivered = datetime.now(UTC)
    sha = uuid.uuid4().hex * 2

    def decision() -> tuple[list[dict[str, Any]], str]:
        versions = []
        for key in store.list(folder, ".parquet"):
            rows = pq.read_table(
                store.path_for_pyarrow(key),
                columns=lake_decision.DECISION_COLUMNS,
                filesystem=store.filesystem,
            ).to_pylist()
            versions += [
                r
                for r in rows
                if r["dataset"] == probe["dataset"]
                and r["outcome"] in lake_decision.VERSION_OUTCOMES
            ]
        outcome = lake_decision.decide(
            versions, probe["dataset"], sha, delivered, store, "curated/unused"
        )
        return versions, outcome

    decision_t, (versions, _) = _spread(decision, repeat)
    return {
        "deliveries": n,
        "decision_files": written,
        "decision_rows": len(versions),
        "decision_s": decision_t,
    }


def _line(points: list[dict[str, Any]], figure: str, n: int) -> float:
    """The figure at ``n``, proportional to N from the largest measured point.

    The old design reads one catalog file per delivery, so its cost is proportional to the
    deliveries; a least-squares line through two noisy points measured on a loaded machine
    could even slope down (it once gave 0 s at 200 deliveries).
    """
    largest = max(points, key=lambda point: point["deliveries"])
    return round(largest[figure]["median"] * n / largest["deliveries"], 2)


def _files(
    kind: str, endpoint: str | None, sizes: tuple[int, ...], repeat: int, limits: dict[str, Any]
) -> dict[str, Any]:
    """Today's design on one store: views measured whole or extrapolated, decision everywhere."""
    out: dict[str, Any] = {}
    whole, points = limits["whole"], limits["points"]
    measured: dict[int, dict[str, Any]] = {}
    for n in sorted({*points, *(s for s in sizes if s <= whole)}):
        with lake_store(kind, endpoint, f"files{n}") as store:
            measured[n] = _files_views(store, n, min(repeat, FILES_VIEWS_REPEAT))
        print(f"[lake_scale] {kind} files views {n}: {measured[n]}", flush=True)
    fit = [measured[n] for n in points]
    out["views_points"] = fit
    for n in sizes:
        with lake_store(kind, endpoint, f"filesdec{n}") as store:
            result = _files_decision(store, n, repeat)
        if n in measured:
            result.update({k: measured[n][k] for k in (*VIEW_FIGURES, "files")})
            result["views_measured"] = True
        else:
            for figure in VIEW_FIGURES:
                result[figure] = {"extrapolated": _line(fit, figure, n)}
            result["views_measured"] = False
        out[f"files_{n}"] = result
        print(f"[lake_scale] {kind} files {n}: {result}", flush=True)
    return out


def run(
    quick: bool = False,
    sizes: tuple[int, ...] | None = None,
    commits: int | dict[str, int] | None = None,
    stores: tuple[str, ...] | None = None,
    repeat: int = REPEAT,
    files_whole: dict[str, int] | None = None,
    files_points: dict[str, tuple[int, ...]] | None = None,
    share: float = SINGLES_SHARE,
    maintain_every: int = MAINTAIN_EVERY,
) -> dict[str, Any]:
    """Every store and size: the Delta design and today's, measured in the same run.

    Args:
        quick: 10k deliveries and ``QUICK_COMMITS`` single commits.
        sizes: Deliveries recorded (default ``SIZES``).
        commits: Newest deliveries committed one by one (capped at N / 100), or per store
            (``{"local": 10000, "s3": 500}``); the issue's figure is ``ISSUE_COMMITS``,
            routine runs use ``DEFAULT_COMMITS``.
        stores: ``local`` and/or ``s3`` (moto's server, started here).
        repeat: Runs of each measurement (median, min, max reported).
        files_whole: Per store, the largest N whose file-per-delivery lake is built whole.
        files_points: Per store, the N of the whole file-per-delivery lakes the larger sizes'
            views are extrapolated from.
        share: The single commits are capped at this share of N.
        maintain_every: ``maintain_catalog`` after this many single commits.
    """
    chosen = sizes or ((10_000,) if quick else SIZES)
    default = QUICK_COMMITS if quick else DEFAULT_COMMITS
    kinds = stores or STORES
    per_store = (
        {kind: default for kind in kinds}
        | ({} if commits is None else {kind: commits for kind in kinds})
        if not isinstance(commits, dict)
        else {kind: commits.get(kind, default) for kind in kinds}
    )
    whole = {**FILES_WHOLE, **(files_whole or {})}
    points = {**FILES_POINTS, **(files_points or {})}
    out: dict[str, Any] = {
        "commits_requested": per_store,
        "maintain_every": maintain_every,
        "repeat": repeat,
        "singles_share": share,
        "synthetic_days": DAYS,
        "targets_at_1m": TARGETS,
        "stores": list(kinds),
    }
    for kind in kinds:
        with moto_server() if kind == "s3" else contextlib.nullcontext() as endpoint:
            section: dict[str, Any] = {}
            if kind == "s3":
                with lake_store(kind, endpoint, "latency") as store:
                    section["request_ms"] = _request_ms(store)
            for n in chosen:
                started = time.perf_counter()
                with lake_store(kind, endpoint, f"delta{n}") as store:
                    section[f"delta_{n}"] = _delta(
                        store, n, per_store[kind], repeat, share, maintain_every
                    )
                section[f"delta_{n}"]["section_s"] = round(time.perf_counter() - started, 1)
                print(f"[lake_scale] {kind} delta {n}: {section[f'delta_{n}']}", flush=True)
            started = time.perf_counter()
            limits = {"whole": whole[kind], "points": tuple(points[kind])}
            section.update(_files(kind, endpoint, chosen, repeat, limits))
            section["files_section_s"] = round(time.perf_counter() - started, 1)
            out[kind] = section
    return out


def _request_ms(store: Any, count: int = 50) -> dict[str, float]:
    """One small object's metadata asked ``count`` times: the store's floor per request (on
    moto, a Python server sharing the machine's two cores, every S3 figure is a multiple)."""
    key = "latency/probe.bin"
    store.write_bytes_atomic(key, b"x")
    path = store.path_for_pyarrow(key)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        store.filesystem.get_file_info(path)
        times.append((time.perf_counter() - started) * 1000)
    return {"median": round(statistics.median(times), 2), "p90": round(_percentile(times, 0.9), 2)}


def parse_sizes(text: str) -> tuple[int, ...]:
    """``10000,100_000`` → ``(10000, 100000)``."""
    return tuple(int(s.replace("_", "")) for s in text.split(",") if s)


def parse_commits(text: str) -> int | dict[str, int]:
    """``10000`` (every store) or ``local=10000,s3=500``."""
    if "=" not in text:
        return int(text.replace("_", ""))
    pairs = (item.split("=", 1) for item in text.split(",") if item)
    return {kind.strip(): int(value.replace("_", "")) for kind, value in pairs}


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.lake_scale_bench")
    parser.add_argument("--sizes", type=parse_sizes, default=None)
    parser.add_argument("--commits", type=parse_commits, default=None)
    parser.add_argument("--stores", default=None)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--maintain-every", type=int, default=MAINTAIN_EVERY)
    parser.add_argument("--output", type=Path, help="also write the result JSON here")
    args = parser.parse_args()
    stores = tuple(args.stores.split(",")) if args.stores else None
    result = run(
        sizes=args.sizes,
        commits=args.commits,
        stores=stores,
        repeat=args.repeat,
        maintain_every=args.maintain_every,
    )
    if args.output:
        args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))
