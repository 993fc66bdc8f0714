"""Migrate a lake's catalog from one Parquet file per delivery to the catalog Delta table.

Before issue #15 the catalog was ``catalog/ingestions/macroprocesso=<slug>/periodicidade=<date>/
<ts>-<id>.parquet`` (one file per landing, partition values in the path). Now it is one Delta
table at ``catalog/delta`` (``sintegre.lake.delta_catalog``). This command:

1. reads every old catalog file (their partition values from the path; a column an old file
   lacks is null);
2. appends the rows the table does not hold yet (by ``ingestion_id``) in ONE Delta commit, so
   a migration that died half-way is simply run again;
3. verifies, per (macroprocesso, periodicidade), the row count and a checksum (sha256 of the
   rows' values in ``ingestion_id`` order) of the old files against the table;
4. only then moves the old files to ``catalog/_migrated/ingestions/...`` (``--keep`` leaves
   them where they are; nothing reads either place any more). Nothing is deleted.

``history/``, ``curated/`` and ``raw/`` are not touched: their layout did not change.

Run it with the landings stopped (pause the DAGs, or before deploying the new code): a landing
of the old code during the migration would write a file this run does not see. Run it again
afterwards if unsure: it is idempotent.

Usage::

    python -m sintegre.cli.lake_migrate [LAKE] [--keep]        # LAKE: default LAKE_URI
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.layout import CATALOG_SCHEMA
from sintegre.lake.storage import LakeStore, open_store

if TYPE_CHECKING:
    from sintegre.core.settings import Settings

log = logging.getLogger(__name__)

LEGACY_PREFIX = catalog_delta.LEGACY_KEY
MIGRATED_PREFIX = "catalog/_migrated/ingestions"
_PARTITION_FIELDS: list[tuple[str, pa.DataType]] = [
    ("macroprocesso", pa.string()),
    ("periodicidade", pa.date32()),
]
_PARTITIONING = pads.partitioning(pa.schema(_PARTITION_FIELDS), flavor="hive")


class MigrationError(RuntimeError):
    """The table does not hold exactly the old files' rows: nothing was moved."""


@dataclass(frozen=True)
class MigrationReport:
    """What a migration did."""

    files: int
    rows: int
    appended: int
    partitions: int
    moved: int
    table_version: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "files": self.files,
            "rows": self.rows,
            "appended": self.appended,
            "partitions": self.partitions,
            "moved": self.moved,
            "table_version": self.table_version,
        }


def legacy_files(store: LakeStore) -> list[str]:
    """The old per-delivery catalog files still in place."""
    return store.list(LEGACY_PREFIX, ".parquet")


def _read_legacy(store: LakeStore, keys: list[str]) -> pa.Table:
    """Every old catalog row, as ``CATALOG_SCHEMA`` plus the two partition columns."""
    schema = pa.schema([*CATALOG_SCHEMA, *_PARTITIONING.schema])
    dataset = pads.dataset(
        [store.path_for_pyarrow(key) for key in keys],
        schema=schema,
        format="parquet",
        filesystem=store.filesystem,
        partitioning=_PARTITIONING,
        partition_base_dir=store.path_for_pyarrow(LEGACY_PREFIX),
    )
    return dataset.to_table()


def _checksums(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, str]]:
    """``(macroprocesso, periodicidade) → (rows, sha256)`` over the catalog columns."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["macroprocesso"], row["periodicidade"].isoformat())].append(row)
    sums: dict[tuple[str, str], tuple[int, str]] = {}
    for partition, members in groups.items():
        digest = hashlib.sha256()
        for row in sorted(members, key=lambda r: r["ingestion_id"]):
            values = [row.get(name) for name in CATALOG_SCHEMA.names]
            digest.update(json.dumps(values, default=str, ensure_ascii=False).encode())
            digest.update(b"\n")
        sums[partition] = (len(members), digest.hexdigest())
    return sums


def migrate(
    lake_root: Path | str | LakeStore, *, keep: bool = False, settings: Settings | None = None
) -> MigrationReport:
    """Convert the old catalog files into the catalog Delta table, verify, then move them.

    Raises:
        MigrationError: The verification failed (the old files stay where they are).
    """
    store = open_store(lake_root, settings)
    keys = legacy_files(store)
    if not keys:
        log.info("no old catalog files under %s: nothing to migrate", store.uri_for(LEGACY_PREFIX))
        existing = catalog_delta.open_or_none(store)
        return MigrationReport(0, 0, 0, 0, 0, None if existing is None else existing.version())
    legacy = _read_legacy(store, keys)
    ids = legacy.column("ingestion_id").to_pylist()
    if len(set(ids)) != len(ids):
        raise MigrationError("the old catalog files repeat an ingestion_id: not migrated")
    present: set[str] = set()
    if catalog_delta.exists(store):
        table = catalog_delta.dataset(store)
        assert table is not None
        # ingestion_id is never null (every landing writes one).
        present_ids = table.to_table(columns=["ingestion_id"]).column(0).to_pylist()
        present = set(cast("list[str]", present_ids))
    missing = legacy
    if present:
        known = pc.is_in(legacy["ingestion_id"], pa.array(sorted(present), pa.string()))
        missing = legacy.filter(pc.invert(known))
    if missing.num_rows:
        months = pc.utf8_slice_codeunits(pc.cast(missing["periodicidade"], pa.string()), 0, 7)
        catalog_delta.append(store, missing.append_column("periodo_mes", months), migrating=True)
    version = catalog_delta.open_table(store).version()
    # Verify: the table's rows of these ingestion ids, partition by partition.
    dataset = catalog_delta.dataset(store)
    assert dataset is not None
    wanted = pads.field("ingestion_id").isin(pa.array(ids, pa.string()))
    migrated = dataset.to_table(filter=wanted).drop_columns(["periodo_mes"]).to_pylist()
    expected = _checksums(legacy.to_pylist())
    found = _checksums(migrated)
    if found != expected:
        bad = sorted(p for p in expected.keys() | found.keys() if expected.get(p) != found.get(p))
        raise MigrationError(
            f"{len(bad)} partition(s) differ between the old catalog files and the table "
            f"(first: {bad[0]}): the old files were left in place"
        )
    log.info(
        "catalog migrated: %d file(s), %d row(s) (%d appended) in %d partition(s) verified",
        len(keys),
        legacy.num_rows,
        missing.num_rows,
        len(expected),
    )
    moved = 0
    if not keep:
        for key in keys:
            target = MIGRATED_PREFIX + key[len(LEGACY_PREFIX) :]
            store.copy(key, target)
            store.delete(key)
            moved += 1
        if store.is_local:
            _remove_empty_dirs(store.local_path(LEGACY_PREFIX))
    return MigrationReport(
        len(keys), legacy.num_rows, missing.num_rows, len(expected), moved, version
    )


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(root.iterdir()):
        root.rmdir()
