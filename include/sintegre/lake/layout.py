"""The lake's layout: zones and partition paths, file metadata keys, the catalog's schema.

See :mod:`sintegre.lake.landing` for how a delivery is committed into this layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sintegre.lake.storage import LakeStore

#: Schema metadata keys of every landed file.
SHA_METADATA_KEY = b"sintegre.source_sha256"
VERSION_METADATA_KEY = b"sintegre.version"
DELIVERED_METADATA_KEY = b"sintegre.delivered_at"
CURATED_FILE_NAME = "data.parquet"
#: ``exp - nbf`` of every ONS token seen: lets us date a delivery from ``exp`` alone.
TOKEN_LIFETIME_SECONDS = 86_640
#: Test-only fault injection: the writer dies (``os._exit``) at this point.
#: Rows per record batch when a staged table is copied into history: bounds the memory.
BATCH_ROWS = 65536
#: ...and at most about this many bytes (uncompressed) for wide rows.
BATCH_BYTES = 8 << 20
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
    "src_version",
    "granularity",
    "periodicidade_final",
    "delivered_at",
    "ingested_at",
    "dag_run_id",
)

_CATALOG_FIELDS: list[tuple[str, pa.DataType]] = [
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
    ("version", pa.string()),  # the history file's stem: sha256, or sha256-r<time> (reprocess)
    ("rows", pa.int64()),
    ("original_columns", pa.string()),
    ("schema_drift", pa.string()),  # JSON {"missing", "unexpected"} vs the catalog, or null
    ("implausible", pa.string()),  # JSON {column: values outside the catalog's range}, or null
    ("outcome", pa.string()),  # new | unchanged | older | raw_only
    ("changed", pa.bool_()),
    ("raw_path", pa.string()),
    ("curated_path", pa.string()),
    ("history_path", pa.string()),
    ("dag_run_id", pa.string()),
    ("delivered_at", pa.timestamp("us", tz="UTC")),
    ("ingested_at", pa.timestamp("us", tz="UTC")),
]
CATALOG_SCHEMA = pa.schema(_CATALOG_FIELDS)


@dataclass(frozen=True)
class StagedTable:
    """A parsed table waiting in the staging area (tasks pass paths, never DataFrames)."""

    name: str
    path: str
    source_member: str
    original_columns: list[str]
    rows: int
    #: How the columns differ from the catalog's (``{"missing": [...], "unexpected": [...]}``).
    drift: dict[str, list[str]] | None = None
    #: Values outside the catalog's plausible range, per column (they land, flagged).
    implausible: dict[str, int] | None = None
    #: The lake dataset chosen by the catalog; ``None``: ``<product dataset>__<name>``.
    dataset: str | None = None


def dataset_name(product_dataset: str, table_name: str) -> str:
    """``<product>`` for a one-table file, ``<product>__<table>`` when it holds several."""
    return f"{product_dataset}__{table_name}" if table_name else product_dataset


def partition_dir(zone: str, dataset: str, macro_slug: str, period: str) -> PurePosixPath:
    """``<zone>/<dataset>/macroprocesso=<slug>/periodicidade=<YYYY-MM-DD>``."""
    return PurePosixPath(zone, dataset, f"macroprocesso={macro_slug}", f"periodicidade={period}")


def _metadata_of(store: LakeStore, key: str) -> dict[bytes, bytes]:
    if not store.exists(key):
        return {}
    with store.open_input(key) as handle:
        return dict(pq.ParquetFile(handle).schema_arrow.metadata or {})


def _file_metadata(path: Path | str, store: LakeStore | None) -> dict[bytes, bytes]:
    if store is not None:
        return _metadata_of(store, str(path))
    path = Path(path)
    if not path.exists():
        return {}
    return dict(pq.read_schema(path).metadata or {})


def current_sha(curated_file: Path | str, store: LakeStore | None = None) -> str | None:
    """The source sha256 recorded in a curated file's metadata, or None.

    Args:
        curated_file: A local path, or a key of ``store``.
        store: The lake holding the key; omitted for a local path.
    """
    value = _file_metadata(curated_file, store).get(SHA_METADATA_KEY)
    return value.decode() if value else None


def current_file_version(curated_file: Path | str, store: LakeStore | None = None) -> str | None:
    """The version (history file stem) a curated file is a copy of, or None."""
    value = _file_metadata(curated_file, store).get(VERSION_METADATA_KEY)
    return value.decode() if value else None


def delivered_at(conf: dict[str, Any], fallback: datetime) -> datetime:
    """When SINtegre delivered this file: the token's ``nbf`` (= the delivery instant)."""
    nbf = conf.get("token_nbf")
    if nbf is None and conf.get("token_exp") is not None:
        nbf = int(conf["token_exp"]) - TOKEN_LIFETIME_SECONDS
    return datetime.fromtimestamp(int(nbf), tz=UTC) if nbf is not None else fallback
