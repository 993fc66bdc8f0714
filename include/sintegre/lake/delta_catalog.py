"""The lake's catalog as one Delta Lake table (delta-rs), at ``<lake>/catalog/delta``.

One row per landed table (or raw-only report) of a delivery, with the columns of
:data:`sintegre.lake.landing.CATALOG_SCHEMA` plus ``macroprocesso`` (slug), ``periodicidade``
(DATE) and
``periodo_mes`` (``YYYY-MM`` of ``periodicidade``: Delta has no hidden partitioning, so the
month is a real column). Partitioned by ``(macroprocesso, periodo_mes)``; the table property
``delta.checkpointInterval=2`` keeps a log load short (see :data:`TABLE_CONFIGURATION`).

* **Commit point of a landing**: :func:`append` is one ``write_deltalake(mode="append")`` with
  the delivery's rows: one JSON in ``_delta_log`` (written with a conditional put, so two
  writers never both get a version number, on local disk or S3 without any lock service).
* **Version decision**: :func:`partition_rows` reads the rows of one (macroprocesso, month)
  partition filtered to one ``periodicidade``: the last checkpoint, at most 2 JSON commits and
  that partition's files (the log's statistics skip the others), read with pyarrow; its cost
  does not grow with the number of past deliveries. Without a loaded table, the log's tail
  is read directly (``sintegre.lake.delta_log``: 4 GETs on S3 where a delta-rs load takes 13;
  delta-rs still reads any log that reader does not fully understand). A landing's commit
  appends to the table delta-rs loads meanwhile, in the background (``load_for_landing``).
* **S3 reads**: the catalog's files go through delta-rs's filesystem handler with the sizes
  the log records and are read whole when small (``sintegre.lake.whole_reads``): one GET a
  file.
* **Views**: :func:`dataset` is the table's ``pyarrow.dataset`` (DuckDB, pandas, pyarrow);
  Polars users can ``pl.scan_delta(uri)``.

**Fork.** delta-rs starts a tokio runtime on first use (importing it starts nothing), and that
runtime panics in a child forked afterwards ("Forked process detected"), whatever table
handle the child opens (measured: ``tests/integration/test_catalog_delta.py``). Airflow and
Celery fork workers before any task code runs, and nothing here runs at import or DAG-parse
time, so a task process is the first user of its runtime. For the rare process that lands,
forks and lands again in the child, every function here notices the fork (the runtime's owner
PID is not ours) and does its work in a freshly *spawned* helper process instead (~1 s more).
"""

from __future__ import annotations

import datetime
import functools
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from sintegre.lake.storage import LakeStore

if TYPE_CHECKING:
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs
    from deltalake import DeltaTable

    from sintegre.core.settings import Settings

#: The table's key under the lake root.
TABLE_KEY = "catalog/delta"
#: Where the migration moves today's per-delivery catalog files (see ``sintegre.lake.migrate``).
LEGACY_KEY = "catalog/ingestions"
PARTITION_BY = ("macroprocesso", "periodo_mes")
#: Table properties set when the table is created (and by the maintenance on older tables).
#: A checkpoint every 2 commits: every log load (a landing's, a view's) reads the last
#: checkpoint and then each JSON commit after it, twice (delta-rs replays them for the
#: protocol and again for the files): on S3 at 20k deliveries a load took 25 requests with 10,
#: 13 with 2 (tests/integration/test_catalog_delta.py, docs/ARCHITECTURE.md). Statistics only
#: for the columns the views and the decision prune by (``GUARANTEE_COLUMNS``): every add
#: action carries them, in each commit and each checkpoint.
TABLE_CONFIGURATION = {
    "delta.checkpointInterval": "2",
    "delta.dataSkippingStatsColumns": "periodicidade,dataset",
}
#: Commits that fail on a concurrent table creation are tried again this many times.
_CREATE_RETRIES = 5


#: Written last in each of the table's files (before them, the rest in ``CATALOG_SCHEMA``'s
#: order): what the ``catalog`` view's ``is_current`` needs (``macroprocesso`` is a partition
#: column, in no file) and ``product_id``, so the column chunks a view reads sit right before
#: the footer, and one ranged read of a file's tail serves both (``whole_reads``). In
#: ``CATALOG_SCHEMA``'s order they sat at both ends of the file around the long strings
#: (paths, sha256: 93% of the bytes), and reading them meant reading the file: at 1M
#: deliveries ~3.4 MB a file for ~0.15 MB of columns (docs/ARCHITECTURE.md, session 8).
#: delta-rs writes every file (a landing's, a compaction's) in the table's schema order, so
#: the order is the table's own: tables made before keep theirs (read whole) until
#: ``python -m sintegre.cli.lake_migrate`` rewrites them (``sintegre.lake.migrate``).
TRAILING_COLUMNS = (
    "product_id",
    "outcome",
    "delivered_at",
    "ingested_at",
    "ingestion_id",
    "periodicidade",
    "dataset",
)


#: Each column's meaning, kept in the table's schema as Delta column comments (Spark's and
#: Trino's ``DESCRIBE`` show them).
COLUMN_COMMENTS = {
    "ingestion_id": "one landing of one delivery (all its tables share it)",
    "notification_id": "the SINtegre notification this delivery came from",
    "dataset": "the lake dataset (history/<dataset>, curated/<dataset>)",
    "table_name": "the table's name inside the product file ('' for a one-table file)",
    "product": "the product's name as SINtegre published it",
    "product_id": "SINtegre's product id",
    "processo": "SINtegre's Processo",
    "macroprocesso_label": "SINtegre's MacroProcesso as published",
    "data_produto": "the product's own date, as SINtegre gave it",
    "granularity": "daily | weekly | monthly | ... (the Periodicidade's span)",
    "periodicidade_final": "last day the delivery covers",
    "source_file": "the file name downloaded",
    "source_member": "the member of an archive the table came from",
    "sha256": "sha256 of the table's content (a version's identity)",
    "version": "the history file's stem: sha256, or sha256-r<time> (reprocess)",
    "rows": "rows of the table",
    "original_columns": "the file's own headers (JSON)",
    "schema_drift": "JSON {missing, unexpected} vs the catalog, or null",
    "implausible": "JSON {column: values outside the catalog's range}, or null",
    "outcome": "new | unchanged | older | raw_only",
    "changed": "the content differs from the version current before it",
    "raw_path": "the downloaded file in raw/ (content-addressed)",
    "curated_path": "the partition's curated/ file",
    "history_path": "this version's history/ file",
    "dag_run_id": "the Airflow DAG run that landed it",
    "delivered_at": "when SINtegre published it (the token's nbf), UTC",
    "ingested_at": "when it was landed, UTC",
    "macroprocesso": "MacroProcesso (slug): table partition",
    "periodicidade": "the Periodicidade's first day",
    "periodo_mes": "YYYY-MM of periodicidade: table partition",
}


@functools.cache
def delta_schema() -> pa.Schema:
    """``CATALOG_SCHEMA`` plus the partition columns, in the order stored in the Delta table
    (:data:`TRAILING_COLUMNS` last). Built once: every append, decision and view asks for it,
    and an Arrow schema is immutable."""
    from sintegre.lake.layout import CATALOG_SCHEMA

    fields = [
        *CATALOG_SCHEMA,
        pa.field("macroprocesso", pa.string()),
        pa.field("periodicidade", pa.date32()),
        pa.field("periodo_mes", pa.string()),
    ]
    by_name = {
        field.name: field.with_metadata({"comment": COLUMN_COMMENTS[field.name]})
        for field in fields
    }
    trailing = [by_name[name] for name in TRAILING_COLUMNS]
    leading = [by_name[f.name] for f in fields if f.name not in TRAILING_COLUMNS]
    return pa.schema([*leading, *trailing])


def in_table_order(target: DeltaTable | None) -> bool:
    """True when the table's columns are in :func:`delta_schema`'s order (or no table)."""
    if target is None:
        return True
    names = [field.name for field in target.schema().fields]
    return names == delta_schema().names


def storage_options(settings: Settings) -> dict[str, str]:
    """delta-rs (object_store) options for an S3 lake, from the same settings as pyarrow's.

    Commits use S3 conditional writes (``If-None-Match: *``: AWS S3, MinIO, R2, moto), so no
    DynamoDB or other lock service is needed. ``SINTEGRE_S3_CA_BUNDLE`` is not an option of
    delta-rs: for a private CA, also set ``SSL_CERT_FILE`` (see docs/OPERATIONS.md).
    """
    options: dict[str, str] = {"conditional_put": "etag"}
    endpoint = settings.s3_endpoint_url
    if endpoint:
        if "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        options["AWS_ENDPOINT_URL"] = endpoint.rstrip("/")
        if urlsplit(endpoint).scheme == "http":
            options["AWS_ALLOW_HTTP"] = "true"
    if settings.s3_region:
        options["AWS_REGION"] = settings.s3_region
    elif endpoint:
        options["AWS_REGION"] = "us-east-1"
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        options["AWS_ACCESS_KEY_ID"] = settings.aws_access_key_id.get_secret_value()
        options["AWS_SECRET_ACCESS_KEY"] = settings.aws_secret_access_key.get_secret_value()
        if settings.aws_session_token:
            options["AWS_SESSION_TOKEN"] = settings.aws_session_token.get_secret_value()
    return options


def table_uri(store: LakeStore) -> str:
    """The table's URI: an absolute path, or ``s3://bucket/prefix/catalog/delta``."""
    return store.uri_for(TABLE_KEY)


def _options(store: LakeStore) -> dict[str, str] | None:
    return store.delta_storage_options


#: The PID whose delta-rs runtime is started (None: not used yet in this process).
_runtime_pid: int | None = None


def _forked() -> bool:
    """True in a child forked after this process used delta-rs: it must not use it."""
    global _runtime_pid
    if _runtime_pid is None:
        _runtime_pid = os.getpid()
        return False
    return _runtime_pid != os.getpid()


def _in_spawned(name: str, *args: Any) -> Any:
    """Run ``name(*args)`` of this module in a fresh spawned process (see the fork note)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_call, name, *args).result()


def _call(name: str, *args: Any) -> Any:
    if name == "append":
        return append(args[0], args[1], migrating=args[2])
    return globals()[name](*args)


def exists(store: LakeStore) -> bool:
    """Whether the catalog table has been created (a first landing or the migration)."""
    from deltalake import DeltaTable

    if _forked():
        return bool(_in_spawned("exists", store))
    return DeltaTable.is_deltatable(table_uri(store), storage_options=_options(store))


def open_table(store: LakeStore, version: int | None = None) -> DeltaTable:
    """A fresh ``DeltaTable`` (never cached: see the module's note on fork)."""
    from deltalake import DeltaTable

    return DeltaTable(table_uri(store), version=version, storage_options=_options(store))


def open_or_none(store: LakeStore, version: int | None = None) -> DeltaTable | None:
    """The table, or None when it does not exist yet: one log load, where ``exists`` and then
    ``open_table`` load the log twice (each load replays the checkpoint and its JSONs)."""
    from deltalake.exceptions import TableNotFoundError

    try:
        return open_table(store, version)
    except TableNotFoundError:
        return None


def load_for_landing(store: LakeStore) -> DeltaTable | None:
    """The table a landing commits to (loaded while it decides from the log's tail), or None:
    no table yet, or a forked process (see the module's note: its helpers load their own)."""
    if _forked():
        return None
    return open_or_none(store)


def to_arrow(rows: list[dict[str, Any]], macro: str, period: str) -> pa.Table:
    """Catalog rows of one landing (``CATALOG_SCHEMA`` dicts) as the table's Arrow rows."""
    day = datetime.date.fromisoformat(period)
    full = [
        {**row, "macroprocesso": macro, "periodicidade": day, "periodo_mes": period[:7]}
        for row in rows
    ]
    return pa.Table.from_pylist(full, schema=delta_schema())


def append(
    store: LakeStore,
    table: pa.Table,
    *,
    migrating: bool = False,
    loaded: DeltaTable | None = None,
) -> int:
    """Commit rows in one Delta transaction (creating the table first if needed).

    Args:
        store: The lake.
        table: The rows (``delta_schema()`` columns).
        migrating: The migration itself: the old catalog files may still be there.
        loaded: The table as the caller already loaded it (the landing, in the background
            while it decided, under the same partition lock): the commit is made on top of
            it, without loading the log again (on S3 a log load is ~13 requests). Commits
            made since it was loaded are Delta's to reconcile: blind appends and compactions
            do not conflict, and on any other conflict the next attempt loads the table
            afresh.

    Returns:
        The table version this commit made.

    Raises:
        LegacyCatalogError: The table would be created in a lake whose old catalog files were
            never migrated (the first landing after an upgrade must not hide them).
    """
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError, DeltaError

    # By name: callers build rows in CATALOG_SCHEMA's order or this one (delta-rs writes
    # them in the table's own order either way).
    schema = delta_schema()
    table = table.select(schema.names).cast(schema)
    if _forked():
        return int(_in_spawned("append", store, table, migrating))
    for attempt in range(_CREATE_RETRIES):
        # One log load per commit (none when the caller's is given): the open table is what
        # the write appends to (a URI would make delta-rs load the log again) and it knows
        # its new version afterwards.
        target = loaded if attempt == 0 and loaded is not None else open_or_none(store)
        if target is None and not migrating:
            check_not_legacy(store)
        try:
            write_deltalake(
                target if target is not None else table_uri(store),
                table,
                mode="append",
                partition_by=list(PARTITION_BY),
                configuration=TABLE_CONFIGURATION,
                storage_options=_options(store) if target is None else None,
            )
        except (CommitFailedError, DeltaError):
            # Two first landings racing to create the table: one made version 0, the other
            # appends on top of it. Other commit conflicts are retried inside delta-rs.
            if attempt == _CREATE_RETRIES - 1 or not exists(store):
                raise
            time.sleep(0.05 * (attempt + 1))
            continue
        return (target if target is not None else open_table(store)).version()
    raise AssertionError("unreachable: the last attempt returns or raises")


def partition_rows(
    store: LakeStore,
    macro: str,
    period: str,
    columns: list[str],
    datasets: list[str] | None = None,
    *,
    loaded: DeltaTable | None = None,
) -> list[dict[str, Any]] | None:
    """The rows of one lake partition: (macroprocesso, periodo_mes) pruned, one periodicidade,
    only ``datasets`` when given.

    The snapshot's add actions (already in memory once the log is loaded) name the files of
    the (macroprocesso, month) partition; their statistics skip those without this
    ``periodicidade`` or these datasets; pyarrow reads the rest, on S3 one request a file
    (``whole_reads``). delta-rs's own query engine read each file in two requests and planned
    every query anew (issue #15: the decision is on every landing's path).

    Args:
        loaded: The table, already loaded by the caller; else the partition's files come from
            the log's tail (``sintegre.lake.delta_log``), or from a delta-rs load when that
            reader declines.

    None when the table does not exist yet.
    """
    import pyarrow.compute as pc

    if _forked():
        rows: list[dict[str, Any]] | None = _in_spawned(
            "partition_rows", store, macro, period, columns, datasets
        )
        return rows
    partition = {"macroprocesso": macro, "periodo_mes": period[:7]}
    entries = None if loaded is not None else _tail_entries(store, partition)
    if entries is None:
        target = loaded if loaded is not None else open_or_none(store)
        if target is None:
            return None
        entries = _entries_of(target, partition)
    if not entries:
        return []
    schema = delta_schema()
    condition = pc.field("periodicidade") == pa.scalar(
        datetime.date.fromisoformat(period), schema.field("periodicidade").type
    )
    if datasets:
        condition = condition & pc.field("dataset").isin(sorted(set(datasets)))
    table = _dataset_of_entries(store, entries).to_table(columns=columns, filter=condition)
    return table.to_pylist()


class LegacyCatalogError(RuntimeError):
    """The lake still has the old per-delivery catalog files and no catalog table."""


def check_not_legacy(store: LakeStore) -> None:
    """Refuse a lake whose catalog was never migrated (its history would look empty).

    Raises:
        LegacyCatalogError: ``catalog/ingestions`` holds files and ``catalog/delta`` is absent.
    """
    if store.list(LEGACY_KEY, ".parquet"):
        raise LegacyCatalogError(
            f"{store.uri} has the old catalog files ({LEGACY_KEY}/) and no catalog table: "
            "run `python -m sintegre.cli.lake_migrate` first (docs/OPERATIONS.md)"
        )


#: Columns whose per-file min/max (from the Delta log's statistics) become each fragment's
#: guarantee in :func:`dataset`, so a filter on them skips files without opening them: the
#: day's (un-compacted) landings are one small file each, and a query of the last 30 days of
#: one product would otherwise open every one of them.
#: Timestamps are left out: the Delta log keeps their statistics to the millisecond, so a
#: maximum there can be below the real one (a guarantee that would drop rows).
GUARANTEE_COLUMNS = ("periodicidade", "dataset")


def dataset(store: LakeStore, version: int | None = None) -> pads.Dataset | None:
    """The table as a ``pyarrow.dataset`` (for DuckDB and the reprocess plan); None if absent.

    Built from the snapshot's add actions rather than delta-rs's ``to_pyarrow_dataset``: that
    one builds each file's fragment in Python and took 1.6 s for 1,216 files (1M deliveries
    with a day of landings since maintenance); this takes ~60 ms for the same snapshot, with
    each fragment guaranteed its partition values and its statistics' ranges.
    """
    if _forked():
        # delta-rs' own filesystem cannot run here: read the snapshot in a helper process and
        # the files with the lake's pyarrow filesystem.
        found = _in_spawned("_file_entries", store, version)
    else:
        found = _file_entries(store, version)
    if found is None:
        return None
    files, ordered = found
    # A view reads the last columns of each file: a large file in the table's order is read
    # tail first (one request for the footer and those columns) rather than whole; in the
    # old order those columns spanned the file and a whole read costs no more.
    return _dataset_of_entries(store, files, tail_first=ordered)


def _file_entries(
    store: LakeStore, version: int | None
) -> tuple[list[dict[str, Any]], bool] | None:
    """The snapshot's data files (key in the lake, partition values, statistics) and whether
    the table's columns are in :func:`delta_schema`'s order; None: no table. Plain values, so
    a spawned helper can return them."""
    target = open_or_none(store, version)
    if target is None:
        return None
    return _entries_of(target), in_table_order(target)


def _tail_entries(store: LakeStore, partition: dict[str, str]) -> list[dict[str, Any]] | None:
    """The newest version's files of one partition read from the log's tail
    (``sintegre.lake.delta_log``: 4 requests on S3 where delta-rs's load takes 13); None
    when that reader leaves the log to delta-rs."""
    from sintegre.lake.delta_log import partition_files

    schema = delta_schema()
    types = {name: schema.field(name).type for name in GUARANTEE_COLUMNS}
    return partition_files(store, partition, types)


def exact_range(low: Any, high: Any, nulls: Any) -> tuple[Any, Any] | None:
    """A file's (min, max) of a column from the log's statistics, when it is a guarantee: it
    covers every row (no nulls, both ends known) and is exact (a string of 32 characters or
    more may be a truncated statistic: a short one is the value itself); else None."""
    if nulls != 0 or low is None or high is None:
        return None
    if isinstance(low, str) and (len(low) >= 32 or len(high) >= 32):
        return None
    return (low, high)


def file_entry(
    path: str,
    size: int,
    partition_values: Mapping[str, str | None],
    ranges: dict[str, tuple[Any, Any]],
) -> dict[str, Any]:
    """One data file as the readers of the catalog take it (``_dataset_of_entries``): its
    key in the lake, size, partition values and exact column ranges."""
    return {
        # Add-action paths are relative to the table and URL-encoded (Delta protocol).
        "key": LakeStore.join(TABLE_KEY, unquote(path)),
        "size": size,
        "partition": {name: partition_values.get(name) for name in PARTITION_BY},
        "ranges": ranges,
    }


def _entries_of(
    target: DeltaTable, partition: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The data files of a loaded snapshot (see :func:`_file_entries`), only those of one
    ``partition`` (its values by name) when given: filtered in Arrow, before any file becomes
    a Python entry."""
    import pyarrow.compute as pc

    actions = pa.table(target.get_add_actions(flatten=True))
    if partition is not None:
        condition = pc.scalar(True)
        for name, value in partition.items():
            condition = condition & (pc.field(f"partition.{name}") == pa.scalar(value))
        actions = actions.filter(condition)
    entries: list[dict[str, Any]] = []
    names = set(actions.column_names)
    stats = [
        name
        for name in GUARANTEE_COLUMNS
        if {f"min.{name}", f"max.{name}", f"null_count.{name}"} <= names
    ]
    columns = ["path", "size_bytes", *(f"partition.{name}" for name in PARTITION_BY)]
    columns += [f"{kind}.{name}" for name in stats for kind in ("min", "max", "null_count")]
    for row in actions.select(columns).to_pylist():
        ranges = {}
        for name in stats:
            found = exact_range(row[f"min.{name}"], row[f"max.{name}"], row[f"null_count.{name}"])
            if found is not None:
                ranges[name] = found
        partition_values = {name: row[f"partition.{name}"] for name in PARTITION_BY}
        entries.append(file_entry(row["path"], row["size_bytes"], partition_values, ranges))
    return entries


#: Gaps between the column ranges a scan needs that are read through rather than asked for
#: separately. The catalog's files are small (a month of one macroprocesso: ~0.4 MB at 100k
#: deliveries, ~3 MB at 1M) and a view reads 7 of their ~20 columns: with pyarrow's default
#: (8 KB) each column chunk was its own GET, ~8 requests a file; read through, it is the footer
#: and one. Measured on moto (256 files, 100k deliveries): 5.0 s -> 1.7 s for those 7 columns.
#: (At 1M the one range spans the file's long strings too: ~3 MB for ~160 KB of columns.)
_READ_THROUGH_BYTES = 8 << 20
#: On S3 a catalog file up to this size is read in one request (``whole_reads``): the
#: decision reads every column of its partition's files, and a view of a table in the old
#: column order needs columns at both ends of each file.
WHOLE_READ_MAX_BYTES = 16 << 20
#: A view of a table in :func:`delta_schema`'s order reads a larger file tail first: its
#: last 1/``TAIL_SHARE`` of bytes plus ``TAIL_EXTRA`` in one request (pyarrow reads a footer
#: as the file's last 64 KB: the extra covers that read and the footer's own size).
#: The trailing columns are ~5% of a file's bytes (1M deliveries: ~0.15 MB of ~3.4 MB);
#: should a file hold more, the rest is one more ranged read, never a wrong answer.
TAIL_FIRST_MIN_BYTES = 1 << 20
TAIL_SHARE = 8
TAIL_EXTRA = 96 << 10


def _scan_options() -> pads.ParquetFragmentScanOptions:
    import pyarrow.dataset as pads

    return pads.ParquetFragmentScanOptions(
        pre_buffer=True,
        cache_options=pa.CacheOptions(
            hole_size_limit=_READ_THROUGH_BYTES, range_size_limit=8 * _READ_THROUGH_BYTES
        ),
    )


def _reader_of(
    store: LakeStore, entries: list[dict[str, Any]], tail_first: bool
) -> tuple[pafs.FileSystem, Callable[[str], str]]:
    """The filesystem the catalog's files are read with, and each key's path in it.

    On S3, delta-rs's own handler given the sizes the log records (pyarrow's S3 filesystem
    sends a HEAD before each file's first read, whatever size the caller passes), each small
    file read whole (``whole_reads``): one GET a file where there were three. On disk, or in
    a process forked after delta-rs started (it cannot run there), the lake's filesystem.
    """
    if store.is_local or _forked():
        return store.filesystem, store.path_for_pyarrow
    import pyarrow.fs as pafs
    from deltalake.fs import DeltaStorageHandler

    from sintegre.lake.whole_reads import whole_read_filesystem

    prefix = TABLE_KEY + "/"

    def relative(key: str) -> str:
        return key[len(prefix) :] if key.startswith(prefix) else key

    sizes = {relative(entry["key"]): entry["size"] for entry in entries if entry["size"]}
    handler = DeltaStorageHandler(table_uri(store), options=_options(store), known_sizes=sizes)
    limit = TAIL_FIRST_MIN_BYTES if tail_first else WHOLE_READ_MAX_BYTES
    whole = {path: size for path, size in sizes.items() if size <= limit}
    tails = {
        path: (size, size // TAIL_SHARE + TAIL_EXTRA)
        for path, size in sizes.items()
        if tail_first and size > limit
    }
    return whole_read_filesystem(pafs.PyFileSystem(handler), whole, tails), relative


def _dataset_of_entries(
    store: LakeStore, entries: list[dict[str, Any]], *, tail_first: bool = False
) -> pads.Dataset:
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    schema = delta_schema()
    parquet = pads.ParquetFileFormat(default_fragment_scan_options=_scan_options())
    filesystem, path_of = _reader_of(store, entries, tail_first)
    fragments = []
    for entry in entries:
        guarantee = pc.scalar(True)
        for name, value in entry["partition"].items():
            if value is None:
                guarantee = guarantee & pc.field(name).is_null()
            else:
                guarantee = guarantee & (
                    pc.field(name) == pa.scalar(value, schema.field(name).type)
                )
        for name, (low, high) in entry["ranges"].items():
            type_ = schema.field(name).type
            guarantee = (
                guarantee
                & (pc.field(name) >= pa.scalar(low, type_))
                & (pc.field(name) <= pa.scalar(high, type_))
            )
        fragments.append(
            parquet.make_fragment(
                path_of(entry["key"]),
                filesystem=filesystem,
                partition_expression=guarantee,
                # Known from the log: saves a HEAD request per file on S3.
                file_size=entry["size"],
            )
        )
    return pads.FileSystemDataset(fragments, schema, parquet, filesystem)


__all__ = [
    "COLUMN_COMMENTS",
    "LEGACY_KEY",
    "PARTITION_BY",
    "TABLE_CONFIGURATION",
    "TABLE_KEY",
    "TAIL_EXTRA",
    "TAIL_FIRST_MIN_BYTES",
    "TAIL_SHARE",
    "TRAILING_COLUMNS",
    "WHOLE_READ_MAX_BYTES",
    "LegacyCatalogError",
    "append",
    "check_not_legacy",
    "dataset",
    "delta_schema",
    "exists",
    "in_table_order",
    "load_for_landing",
    "open_or_none",
    "open_table",
    "partition_rows",
    "storage_options",
    "table_uri",
    "to_arrow",
]
