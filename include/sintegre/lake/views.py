"""DuckDB views over the Parquet lake: the catalog, every dataset's history and current rows.

The current version of a partition is computed from the catalog (the commit point of
``sintegre.lake.landing.land``), never from ``curated/``: a landing that crashed before its
catalog file
is invisible here, and one that crashed after it is already visible, even while ``curated/``
still holds the previous copy (the retry repairs it).

Views created by :func:`connect`:

``catalog``
    Every ingestion row of the catalog Delta table (``catalog/delta``, see
    ``sintegre.lake.delta_catalog``), with ``macroprocesso`` and ``periodicidade`` (a ``DATE``) and
    ``is_current``: true for the row that defines the current version of its (dataset,
    macroprocesso, periodicidade).
``<dataset>_history``
    Every landed version of a dataset (one per ``history/`` folder).
``<dataset>``
    The current rows only: the history rows of the version the catalog marks current.
``datasets``
    One row per dataset: ``name``, ``partitions``, ``current_rows``, ``versions``,
    ``last_ingested_at``.
``<dataset>_as_of(T)`` (a table macro)
    Time travel: the rows of the version each partition had as current at instant ``T``
    (``SELECT * FROM acomph_as_of(TIMESTAMPTZ '2025-08-06 12:00-03')``), so a forecast can be
    compared with its later revisions.

The set of dataset views and the catalog's snapshot (its Delta version) are fixed when
:func:`connect` runs: reconnect to see later landings. History files are found at query time.

The lake may be local or on S3 (``s3://bucket/prefix``). DuckDB's own S3 support (the httpfs
extension) is downloaded on first use, which a worker without internet cannot do: the
connection reads the bucket through the lake's pyarrow S3 filesystem, registered with DuckDB as
an fsspec filesystem (``read_parquet('s3://...')`` globs work through it).

Usage::

    python -m sintegre.cli.lake "SELECT * FROM datasets"   # one statement, then exit
    python -m sintegre.cli.lake                              # interactive, one statement a line
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import duckdb
import pyarrow as pa

from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.decision import VERSION_OUTCOMES
from sintegre.lake.layout import CATALOG_SCHEMA
from sintegre.lake.storage import LakeStore, open_store

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from sintegre.core.settings import Settings

logger = logging.getLogger(__name__)

CATALOG_VIEW = "catalog"
#: Threads binding dataset views in :func:`connect` (S3 round trips overlap).
_BIND_THREADS = 8
#: The catalog Delta table's snapshot, registered with the connection (``catalog`` reads it).
CATALOG_RAW = "catalog_raw"
DATASETS_VIEW = "datasets"
HISTORY_SUFFIX = "_history"
AS_OF_SUFFIX = "_as_of"
"""``<dataset>_as_of(T)``: the table macro of what the lake said at an instant."""
#: Hive partition keys of every zone and their SQL types (never inferred from the values).
PARTITION_TYPES = (("macroprocesso", "VARCHAR"), ("periodicidade", "DATE"))

_ARROW_TO_SQL = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.float64(): "DOUBLE",
}


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote an SQL string literal (single quotes, embedded quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _sql_type(type_: pa.DataType) -> str:
    if pa.types.is_timestamp(type_):
        return "TIMESTAMPTZ" if type_.tz else "TIMESTAMP"
    try:
        return _ARROW_TO_SQL[type_]
    except KeyError:
        raise TypeError(f"no SQL type for catalog column type {type_}") from None


def _read_parquet(glob: str, *options: str) -> str:
    """``read_parquet(...)`` over a glob: hive partitions typed explicitly, columns by name."""
    hive_types = ", ".join(f"{quote_literal(name)}: {sql}" for name, sql in PARTITION_TYPES)
    extra = "".join(f", {option}" for option in options)
    return (
        f"read_parquet({quote_literal(glob)}, hive_partitioning = true, "
        f"union_by_name = true, hive_types = {{{hive_types}}}{extra})"
    )


def _glob(store: LakeStore, *parts: str) -> str:
    """Every Parquet file under a folder of the lake, as DuckDB spells it (path or s3:// URL)."""
    return f"{store.uri_for(LakeStore.join(*parts))}/**/*.parquet"


def _empty_catalog_select() -> str:
    """A zero-row SELECT with the catalog's columns, for a lake with no catalog table yet."""
    columns = [
        f"CAST(NULL AS {_sql_type(field.type)}) AS {quote_identifier(field.name)}"
        for field in CATALOG_SCHEMA
    ]
    columns += [f"CAST(NULL AS {sql}) AS {quote_identifier(name)}" for name, sql in PARTITION_TYPES]
    return f"SELECT {', '.join(columns)} WHERE false"


#: Columns put first in the registered catalog snapshot. A query that needs no column of it
#: (``SELECT count(*) FROM catalog``: DuckDB drops the unused ``is_current`` window) still
#: scans one, the schema's first; in the file that is ``notification_id``, at the head of
#: the file, while a view reads the last columns (one ranged read of each file's tail on S3,
#: see ``delta_catalog.TRAILING_COLUMNS``): so every file cost a second request for it.
#: ``dataset``, the table's last column, is dictionary-encoded and a few KB a file.
SCAN_FIRST = ("dataset",)


def scan_order(snapshot: pads.Dataset) -> pads.Dataset:
    """``snapshot`` with :data:`SCAN_FIRST` as its first columns (Parquet columns are read
    by name: the files are unchanged, and the ``catalog`` view names every column it shows)."""
    schema = snapshot.schema
    first = [schema.field(name) for name in SCAN_FIRST if name in schema.names]
    rest = [field for field in schema if field.name not in SCAN_FIRST]
    reordered = pa.schema([*first, *rest], metadata=cast(Any, schema.metadata))
    # pyarrow's stubs say None; it returns the new dataset (tests/integration/test_lake_s3.py).
    return cast("pads.Dataset", cast(Any, snapshot).replace_schema(reordered))


def _catalog_sql(store: LakeStore, snapshot: pads.Dataset | None) -> str:
    """The ``catalog`` view: every ingestion row plus ``is_current``.

    ``snapshot``, the Delta table's current snapshot, is registered as ``catalog_raw`` (a
    pyarrow dataset: no DuckDB extension needed); the view keeps today's columns
    (``periodo_mes`` is the table's partition column, not shown). None: no table yet.
    """
    if snapshot is not None:
        names = [quote_identifier(n) for n in (*CATALOG_SCHEMA.names, "macroprocesso")]
        source = (
            f"SELECT {', '.join(names)}, CAST(periodicidade AS DATE) AS periodicidade "
            f"FROM {quote_identifier(CATALOG_RAW)}"
        )
    else:
        catalog_delta.check_not_legacy(store)
        source = _empty_catalog_select()
    versions = f"outcome IN ({', '.join(quote_literal(o) for o in VERSION_OUTCOMES)})"
    # The rule of sintegre.lake.landing.current_version: the newest delivery, then the latest
    # landing,
    # then (a full tie) the greatest ingestion_id.
    return f"""
        SELECT * EXCLUDE (_rank), coalesce({versions} AND _rank = 1, false) AS is_current
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY dataset, macroprocesso, periodicidade, {versions}
                ORDER BY delivered_at DESC, ingested_at DESC, ingestion_id DESC
            ) AS _rank
            FROM ({source})
        )
    """


def _as_of_sql(dataset: str) -> str:
    """The ``<dataset>_as_of(T)`` table macro: what the lake said at instant ``T``.

    Per partition, the version that was current at ``T``: among the catalog rows landed by
    then (``ingested_at <= T``), the newest delivery, then the latest landing (the rule of
    ``sintegre.lake.landing.current_version``). History files are immutable, so the rows read are
    the
    ones readers saw at ``T``; a forecast can be compared with its later revisions.
    """
    history = quote_identifier(dataset + HISTORY_SUFFIX)
    versions = f"outcome IN ({', '.join(quote_literal(o) for o in VERSION_OUTCOMES)})"
    return f"""
        SELECT h.* FROM {history} AS h
        SEMI JOIN (
            SELECT macroprocesso, periodicidade, version FROM (
                SELECT macroprocesso, periodicidade, version, row_number() OVER (
                    PARTITION BY macroprocesso, periodicidade
                    ORDER BY delivered_at DESC, ingested_at DESC
                ) AS _rank
                FROM {quote_identifier(CATALOG_VIEW)}
                WHERE dataset = {quote_literal(dataset)} AND {versions}
                    AND ingested_at <= CAST(instant AS TIMESTAMPTZ)
            ) WHERE _rank = 1
        ) AS c
        ON h.macroprocesso = c.macroprocesso
            AND h.periodicidade = c.periodicidade
            AND h.src_version = c.version
    """


def _current_sql(dataset: str) -> str:
    """The ``<dataset>`` view: the history rows of the version the catalog marks current."""
    history = quote_identifier(dataset + HISTORY_SUFFIX)
    return f"""
        SELECT h.* FROM {history} AS h
        SEMI JOIN (
            SELECT macroprocesso, periodicidade, version FROM {quote_identifier(CATALOG_VIEW)}
            WHERE is_current AND dataset = {quote_literal(dataset)}
        ) AS c
        ON h.macroprocesso = c.macroprocesso
            AND h.periodicidade = c.periodicidade
            AND h.src_version = c.version
    """


def _datasets_sql(datasets: Sequence[str]) -> str:
    """The ``datasets`` view: one summary row per dataset, from one pass over the catalog.

    ``current_rows`` is what the catalog records for the current versions (the row count of
    each landed table), so the summary never scans the data files.
    """
    if not datasets:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS name, CAST(NULL AS BIGINT) AS partitions, "
            "CAST(NULL AS BIGINT) AS current_rows, CAST(NULL AS BIGINT) AS versions, "
            "CAST(NULL AS TIMESTAMPTZ) AS last_ingested_at WHERE false"
        )
    names = ", ".join(f"({quote_literal(name)})" for name in datasets)
    versions = f"outcome IN ({', '.join(quote_literal(o) for o in VERSION_OUTCOMES)})"
    return f"""
        SELECT
            n.name,
            coalesce(c.partitions, 0) AS partitions,
            coalesce(c.current_rows, 0) AS current_rows,
            coalesce(c.versions, 0) AS versions,
            c.last_ingested_at
        FROM (VALUES {names}) AS n(name)
        LEFT JOIN (
            SELECT
                dataset,
                count(*) FILTER (WHERE is_current) AS partitions,
                CAST(sum(rows) FILTER (WHERE is_current) AS BIGINT) AS current_rows,
                count(DISTINCT (macroprocesso, periodicidade, sha256)) FILTER (WHERE {versions})
                    AS versions,
                max(ingested_at) AS last_ingested_at
            FROM {quote_identifier(CATALOG_VIEW)}
            GROUP BY dataset
        ) AS c ON c.dataset = n.name
        ORDER BY n.name
    """


def dataset_names(
    lake_root: Path | str | LakeStore, *, settings: Settings | None = None
) -> list[str]:
    """The datasets of a lake: every ``history/`` folder holding at least one Parquet file.

    Args:
        lake_root: The lake root: a path, a ``file://`` or ``s3://`` URI, or a store.
        settings: S3 endpoint and credentials; from the environment when omitted and needed.

    Returns:
        The folder names, sorted.
    """
    store = open_store(lake_root, settings)
    # One listing of history/'s first level: listing every history file (one per version of
    # every partition, millions in an old lake) made ``connect`` grow with the lake's age.
    names = store.folders("history")
    if not store.is_local:
        # On S3 a folder is a key prefix: it exists only while a key is under it, and history
        # files are written with one PUT each under their final names.
        return names
    # On disk an interrupted write can leave a folder holding only a hidden temporary file.
    return [n for n in names if store.holds_file(LakeStore.join("history", n), ".parquet")]


def connect(
    lake_root: Path | str | LakeStore,
    *,
    database: str = ":memory:",
    settings: Settings | None = None,
    only: Sequence[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with views over the lake: ``catalog``, ``datasets`` and two per dataset.

    Works on an empty or missing lake: ``catalog`` and ``datasets`` are then empty views with
    their usual columns. A dataset whose views would clash with another view's name
    (``catalog``, ``datasets``, or ``x_history`` next to ``x``) is skipped with a warning.

    Args:
        lake_root: The lake root (``load_settings().lake_uri``): a path, a ``file://`` URI,
            ``s3://bucket/prefix``, or a :class:`~sintegre.lake.storage.LakeStore`.
        database: The DuckDB database; views are created (or replaced) in it.
        settings: S3 endpoint and credentials of an ``s3://`` lake; from the environment when
            omitted.
        only: Build the per-dataset views and macro of these datasets only (``datasets``
            still lists every one): binding a dataset's views lists its history and reads a
            footer, a round trip each on S3, wasted on a web page that shows one dataset.

    Returns:
        The open connection (with the lake's S3 filesystem registered); the caller closes it.

    Raises:
        sintegre.lake.storage.LakeStoreError: ``lake_root`` has a scheme other than file or s3.
    """
    store = open_store(lake_root, settings)
    con = duckdb.connect(database)
    try:
        # A dataset's views and macro each bind its history glob: with the footers cached
        # (validated by the file's time, which on S3 comes from the listing) only the first
        # bind reads one.
        con.execute("SET parquet_metadata_cache = true")
        filesystem = store.register_with_duckdb(con)
        # Binding a dataset's two views and macro globs its history three times: on S3 one
        # listing serves the three (queries list afresh).
        with filesystem.same_listings() if filesystem is not None else contextlib.nullcontext():
            _create_views(con, store, only)
    except BaseException:
        con.close()
        raise
    return con


def _create_views(
    con: duckdb.DuckDBPyConnection, store: LakeStore, only: Sequence[str] | None
) -> None:
    """The views and macros of :func:`connect`."""
    snapshot = catalog_delta.dataset(store)
    if snapshot is not None:
        snapshot = scan_order(snapshot)
        con.register(CATALOG_RAW, snapshot)
    con.execute(
        f"CREATE OR REPLACE VIEW {quote_identifier(CATALOG_VIEW)} AS "
        f"{_catalog_sql(store, snapshot)}"
    )
    names: list[str] = []
    taken = {CATALOG_VIEW, DATASETS_VIEW}
    for name in dataset_names(store):
        views = {name, name + HISTORY_SUFFIX}
        if views & taken:
            logger.warning("dataset %r skipped: its view names are already taken", name)
            continue
        taken |= views
        names.append(name)
    wanted = [name for name in names if only is None or name in only]
    # Binding a dataset's views lists its history/ folder and reads a footer: on S3 each is a
    # round trip, so the datasets are bound side by side, each thread on its own cursor (the
    # same database). Locally it changes little.
    workers = max(1, min(_BIND_THREADS, len(wanted)))
    shares = [wanted[start::workers] for start in range(workers)]
    # Cursors are made here: a connection is not thread-safe, its cursors each are.
    cursors = [con.cursor() for _ in shares]
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [
                pool.submit(_create_dataset_views, cursor, store, share, snapshot)
                for cursor, share in zip(cursors, shares, strict=True)
            ]
            for job in jobs:
                job.result()
    finally:
        for cursor in cursors:
            cursor.close()
    con.execute(
        f"CREATE OR REPLACE VIEW {quote_identifier(DATASETS_VIEW)} AS {_datasets_sql(names)}"
    )


def _create_dataset_views(
    cursor: duckdb.DuckDBPyConnection,
    store: LakeStore,
    names: Sequence[str],
    snapshot: pads.Dataset | None,
) -> None:
    """``<dataset>_history``, ``<dataset>`` and ``<dataset>_as_of`` of each of ``names``.

    On a cursor of the connection: the same database, but registered objects are per cursor,
    so the catalog snapshot is registered on it too (the views bind against it here; queries
    on the connection bind against the connection's).
    """
    if snapshot is not None:
        cursor.register(CATALOG_RAW, snapshot)
    for name in names:
        cursor.execute(
            f"CREATE OR REPLACE VIEW {quote_identifier(name + HISTORY_SUFFIX)} AS "
            f"SELECT * FROM {_read_parquet(_glob(store, 'history', name))}"
        )
        cursor.execute(f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS {_current_sql(name)}")
        cursor.execute(
            f"CREATE OR REPLACE MACRO {quote_identifier(name + AS_OF_SUFFIX)}(instant) AS "
            f"TABLE {_as_of_sql(name)}"
        )


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views of the connection's main schema, sorted (the registered catalog snapshot
    ``catalog_raw`` is an implementation detail of ``catalog`` and not listed)."""
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "AND view_name <> ? ORDER BY view_name",
        [CATALOG_RAW],
    ).fetchall()
    return [row[0] for row in rows]
