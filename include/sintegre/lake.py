"""Land parsed tables in the Parquet lake: atomic, idempotent, every version kept.

Layout (see ARCHITECTURE.md)::

    raw/<dataset>/<yyyy>/<mm>/<sha256>/<file>                              every original file
    curated/<dataset>/macroprocesso=<slug>/periodicidade=<date>/data.parquet  current version
    history/<dataset>/macroprocesso=<slug>/periodicidade=<date>/<sha256>.parquet
    catalog/ingestions/macroprocesso=<slug>/periodicidade=<date>/<uuid>.parquet

Partition values live in the path only (hive style), never as file columns, so DuckDB, pyarrow
and Polars agree on them; the accented labels are ordinary columns.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Schema metadata key holding the sha256 of the source file a curated file came from.
SHA_METADATA_KEY = b"sintegre.source_sha256"
CURATED_FILE_NAME = "data.parquet"

LINEAGE_COLUMNS = (
    "src_product",
    "src_product_id",
    "src_notification_id",
    "src_processo",
    "src_macroprocesso",
    "src_data_produto",
    "src_file",
    "src_member",
    "src_sha256",
    "granularity",
    "periodicidade_final",
    "ingested_at",
    "airflow_run_id",
)

CATALOG_SCHEMA = pa.schema(
    [
        ("ingestion_id", pa.string()),
        ("notification_id", pa.string()),
        ("dataset", pa.string()),
        ("table_name", pa.string()),
        ("product", pa.string()),
        ("product_id", pa.int64()),
        ("processo", pa.string()),
        ("macroprocesso_label", pa.string()),
        ("data_produto", pa.string()),
        ("granularity", pa.string()),
        ("periodicidade_final", pa.date32()),
        ("source_file", pa.string()),
        ("source_member", pa.string()),
        ("sha256", pa.string()),
        ("rows", pa.int64()),
        ("original_columns", pa.string()),
        ("changed", pa.bool_()),
        ("raw_path", pa.string()),
        ("curated_path", pa.string()),
        ("history_path", pa.string()),
        ("airflow_run_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class StagedTable:
    """A parsed table waiting in the staging area (tasks pass paths, never DataFrames)."""

    name: str
    path: str
    source_member: str
    original_columns: list[str]
    rows: int


def dataset_name(product_dataset: str, table_name: str) -> str:
    """``<product>`` for a one-table file, ``<product>__<table>`` when it holds several."""
    return f"{product_dataset}__{table_name}" if table_name else product_dataset


def partition_dir(zone: str, dataset: str, macro_slug: str, period: str) -> PurePosixPath:
    """``<zone>/<dataset>/macroprocesso=<slug>/periodicidade=<YYYY-MM-DD>``."""
    return PurePosixPath(zone, dataset, f"macroprocesso={macro_slug}", f"periodicidade={period}")


def _atomic_write(table: pa.Table, target: Path) -> None:
    """Write aside, fsync, then rename over: a reader sees the old file or the new, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def current_sha(curated_file: Path) -> str | None:
    """The source sha256 recorded in a curated file's metadata, or None."""
    if not curated_file.exists():
        return None
    metadata = pq.read_schema(curated_file).metadata or {}
    value = metadata.get(SHA_METADATA_KEY)
    return value.decode() if value else None


def _with_lineage(
    table: pa.Table,
    conf: dict[str, Any],
    *,
    staged: StagedTable,
    download: dict[str, Any],
    run_id: str,
    ingested_at: datetime,
) -> pa.Table:
    rename = {name: f"{name}_data" for name in table.column_names if name in LINEAGE_COLUMNS}
    if rename:
        table = table.rename_columns([rename.get(n, n) for n in table.column_names])
    rows = table.num_rows

    def const(value: Any, type_: pa.DataType) -> pa.Array:
        return pa.array([value] * rows, type=type_)

    final_date = datetime.fromisoformat(conf["periodicidade_final_date"]).date()
    lineage = {
        "src_product": const(conf.get("nome"), pa.string()),
        "src_product_id": const(conf.get("product_id"), pa.int64()),
        "src_notification_id": const(conf.get("notification_id"), pa.string()),
        "src_processo": const(conf.get("processo"), pa.string()),
        "src_macroprocesso": const(conf.get("macroProcesso"), pa.string()),
        "src_data_produto": const(conf.get("dataProduto"), pa.string()),
        "src_file": const(download["file_name"], pa.string()),
        "src_member": const(staged.source_member or None, pa.string()),
        "src_sha256": const(download["sha256"], pa.string()),
        "granularity": const(conf.get("granularity"), pa.string()),
        "periodicidade_final": const(final_date, pa.date32()),
        "ingested_at": const(ingested_at, pa.timestamp("us", tz="UTC")),
        "airflow_run_id": const(run_id, pa.string()),
    }
    for name, column in lineage.items():
        table = table.append_column(name, column)
    return table


def land(
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    lake_root: Path,
    run_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Land staged tables as the current version of their partitions, and record them.

    A partition whose current file came from the same source sha256 is left alone
    (idempotent: a retried run or a re-sent file changes nothing but the catalog).

    Returns:
        A small dict: ``changed`` (any partition replaced), ``datasets`` and ``rows``.
    """
    ingested_at = now or datetime.now(UTC)
    macro = conf["macroprocesso_slug"]
    period = conf["periodicidade_date"]
    sha = download["sha256"]
    catalog_rows: list[dict[str, Any]] = []
    changed_any = False
    datasets: list[dict[str, Any]] = []
    for staged in staged_tables:
        dataset = dataset_name(conf["dataset"], staged.name)
        part = partition_dir("curated", dataset, macro, period)
        curated_file = lake_root / part / CURATED_FILE_NAME
        history_rel = partition_dir("history", dataset, macro, period) / f"{sha}.parquet"
        changed = current_sha(curated_file) != sha
        if changed:
            table = pq.read_table(staged.path)
            table = _with_lineage(
                table,
                conf,
                staged=staged,
                download=download,
                run_id=run_id,
                ingested_at=ingested_at,
            )
            metadata = dict(table.schema.metadata or {})
            metadata[SHA_METADATA_KEY] = sha.encode()
            metadata[b"sintegre.original_columns"] = json.dumps(
                staged.original_columns, ensure_ascii=False
            ).encode()
            table = table.replace_schema_metadata(metadata)
            history_file = lake_root / history_rel
            if not history_file.exists():
                _atomic_write(table, history_file)
            _atomic_write(table, curated_file)
            changed_any = True
        datasets.append({"dataset": dataset, "rows": staged.rows, "changed": changed})
        catalog_rows.append(
            _catalog_row(
                conf,
                download,
                staged,
                dataset,
                run_id,
                ingested_at,
                changed,
                curated=str(part / CURATED_FILE_NAME),
                history=str(history_rel),
            )
        )
    if not staged_tables:
        # A report kept raw only (PDF): still one catalog row, so the ingestion is visible.
        catalog_rows.append(
            _catalog_row(
                conf,
                download,
                None,
                conf["dataset"],
                run_id,
                ingested_at,
                False,
                curated=None,
                history=None,
            )
        )
    catalog_file = (
        lake_root
        / PurePosixPath(
            "catalog", "ingestions", f"macroprocesso={macro}", f"periodicidade={period}"
        )
        / f"{ingested_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.parquet"
    )
    _atomic_write(pa.Table.from_pylist(catalog_rows, schema=CATALOG_SCHEMA), catalog_file)
    return {
        "changed": changed_any,
        "datasets": datasets,
        "rows": sum(d["rows"] for d in datasets),
        "catalog_file": str(catalog_file.relative_to(lake_root)),
    }


def _catalog_row(
    conf: dict[str, Any],
    download: dict[str, Any],
    staged: StagedTable | None,
    dataset: str,
    run_id: str,
    ingested_at: datetime,
    changed: bool,
    *,
    curated: str | None,
    history: str | None,
) -> dict[str, Any]:
    return {
        "ingestion_id": uuid.uuid4().hex,
        "notification_id": conf.get("notification_id"),
        "dataset": dataset,
        "table_name": staged.name if staged else None,
        "product": conf.get("nome"),
        "product_id": conf.get("product_id"),
        "processo": conf.get("processo"),
        "macroprocesso_label": conf.get("macroProcesso"),
        "data_produto": conf.get("dataProduto"),
        "granularity": conf.get("granularity"),
        "periodicidade_final": datetime.fromisoformat(conf["periodicidade_final_date"]).date(),
        "source_file": download["file_name"],
        "source_member": staged.source_member if staged else None,
        "sha256": download["sha256"],
        "rows": staged.rows if staged else 0,
        "original_columns": json.dumps(
            staged.original_columns if staged else [], ensure_ascii=False
        ),
        "changed": changed,
        "raw_path": download["raw_path"],
        "curated_path": curated,
        "history_path": history,
        "airflow_run_id": run_id,
        "ingested_at": ingested_at,
    }
