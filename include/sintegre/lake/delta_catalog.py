"""The lake's catalog as one Delta Lake table (delta-rs), at ``<lake>/catalog/delta``.

One row per landed table (or raw-only report) of a delivery, with the columns of
:data:`sintegre.lake.landing.CATALOG_SCHEMA` plus ``macroprocesso`` (slug), ``periodicidade``
(DATE) and
``periodo_mes`` (``YYYY-MM`` of ``periodicidade``: Delta has no hidden partitioning, so the
month is a real column). Partitioned by ``(macroprocesso, periodo_mes)``; the table property
``delta.checkpointInterval=10`` keeps a commit's log replay short.

* **Commit point of a landing**: :func:`append` is one ``write_deltalake(mode="append")`` with
  the delivery's rows: one JSON in ``_delta_log`` (written with a conditional put, so two
  writers never both get a version number, on local disk or S3 without any lock service).
* **Version decision**: :func:`partition_rows` reads the rows of one (macroprocesso, month)
  partition filtered to one ``periodicidade`` through delta-rs's own query engine
  (``QueryBuilder``): the last checkpoint, at most 10 JSON commits and that partition's files;
  its cost does not grow with the number of past deliveries.
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

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.dataset as pads
    from deltalake import DeltaTable

    from sintegre.core.settings import Settings
    from sintegre.lake.storage import LakeStore

#: The table's key under the lake root.
TABLE_KEY = "catalog/delta"
#: Where the migration moves today's per-delivery catalog files (see ``sintegre.lake.migrate``).
LEGACY_KEY = "catalog/ingestions"
PARTITION_BY = ("macroprocesso", "periodo_mes")
#: Table properties set when the table is created.
TABLE_CONFIGURATION = {"delta.checkpointInterval": "10"}
#: Commits that fail on a concurrent table creation are tried again this many times.
_CREATE_RETRIES = 5


def delta_schema() -> pa.Schema:
    """``CATALOG_SCHEMA`` plus the partition columns, as stored in the Delta table."""
    from sintegre.lake.layout import CATALOG_SCHEMA

    return pa.schema(
        [
            *CATALOG_SCHEMA,
            pa.field("macroprocesso", pa.string()),
            pa.field("periodicidade", pa.date32()),
            pa.field("periodo_mes", pa.string()),
        ]
    )


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


def to_arrow(rows: list[dict[str, Any]], macro: str, period: str) -> pa.Table:
    """Catalog rows of one landing (``CATALOG_SCHEMA`` dicts) as the table's Arrow rows."""
    from datetime import date

    day = date.fromisoformat(period)
    full = [
        {**row, "macroprocesso": macro, "periodicidade": day, "periodo_mes": period[:7]}
        for row in rows
    ]
    return pa.Table.from_pylist(full, schema=delta_schema())


def append(store: LakeStore, table: pa.Table, *, migrating: bool = False) -> int:
    """Commit rows in one Delta transaction (creating the table first if needed).

    Args:
        store: The lake.
        table: The rows (``delta_schema()`` columns).
        migrating: The migration itself: the old catalog files may still be there.

    Returns:
        The table version this commit made.

    Raises:
        LegacyCatalogError: The table would be created in a lake whose old catalog files were
            never migrated (the first landing after an upgrade must not hide them).
    """
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError, DeltaError

    table = table.cast(delta_schema())
    if _forked():
        return int(_in_spawned("append", store, table, migrating))
    if not migrating and not exists(store):
        check_not_legacy(store)
    for attempt in range(_CREATE_RETRIES):
        try:
            write_deltalake(
                table_uri(store),
                table,
                mode="append",
                partition_by=list(PARTITION_BY),
                configuration=TABLE_CONFIGURATION,
                storage_options=_options(store),
            )
            break
        except (CommitFailedError, DeltaError):
            # Two first landings racing to create the table: one made version 0, the other
            # appends on top of it. Other commit conflicts are retried inside delta-rs.
            if attempt == _CREATE_RETRIES - 1 or not exists(store):
                raise
            time.sleep(0.05 * (attempt + 1))
    return open_table(store).version()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def partition_rows(
    store: LakeStore,
    macro: str,
    period: str,
    columns: list[str],
    datasets: list[str] | None = None,
) -> list[dict[str, Any]] | None:
    """The rows of one lake partition: (macroprocesso, periodo_mes) pruned, one periodicidade,
    only ``datasets`` when given.

    None when the table does not exist yet.
    """
    from deltalake import QueryBuilder

    if _forked():
        rows: list[dict[str, Any]] | None = _in_spawned(
            "partition_rows", store, macro, period, columns, datasets
        )
        return rows
    if not exists(store):
        return None
    select = ", ".join(f'"{name}"' for name in columns)
    sql = (
        f"SELECT {select} FROM catalog WHERE macroprocesso = {_literal(macro)} "
        f"AND periodo_mes = {_literal(period[:7])} AND periodicidade = DATE {_literal(period)}"
    )
    if datasets:
        sql += f" AND dataset IN ({', '.join(_literal(name) for name in sorted(set(datasets)))})"
    reader = QueryBuilder().register("catalog", open_table(store)).execute(sql)
    return pa.table(reader.read_all()).to_pylist()


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


def dataset(store: LakeStore, version: int | None = None) -> pads.Dataset | None:
    """The table as a ``pyarrow.dataset`` (for DuckDB and the reprocess plan); None if absent."""
    if _forked():
        # delta-rs' own filesystem cannot run here: list the files in a helper process and
        # read them with the lake's pyarrow filesystem.
        files = _in_spawned("_data_files", store, version)
        return None if files is None else _dataset_of_files(store, files)
    if not exists(store):
        return None
    return open_table(store, version).to_pyarrow_dataset()


def _data_files(store: LakeStore, version: int | None) -> list[str] | None:
    """The table's data files, as keys of the lake (None: no table)."""
    if not exists(store):
        return None
    uris = open_table(store, version).file_uris()
    keys = [store.key_of(uri) for uri in uris]
    return [key for key in keys if key is not None]


def _dataset_of_files(store: LakeStore, keys: list[str]) -> pads.Dataset:
    import pyarrow.dataset as pads

    partitioning = pads.partitioning(
        pa.schema([(name, pa.string()) for name in PARTITION_BY]), flavor="hive"
    )
    return pads.dataset(
        [store.path_for_pyarrow(key) for key in keys],
        schema=delta_schema(),
        format="parquet",
        filesystem=store.filesystem,
        partitioning=partitioning,
        partition_base_dir=store.path_for_pyarrow(TABLE_KEY),
    )


__all__ = [
    "LEGACY_KEY",
    "PARTITION_BY",
    "TABLE_CONFIGURATION",
    "TABLE_KEY",
    "LegacyCatalogError",
    "append",
    "check_not_legacy",
    "dataset",
    "delta_schema",
    "exists",
    "open_table",
    "partition_rows",
    "storage_options",
    "table_uri",
    "to_arrow",
]
