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

Then, for a catalog table made before its columns were reordered (the columns the views read
last in each file, ``delta_catalog.TRAILING_COLUMNS``), it rewrites the table in today's
order in ONE overwrite commit (every version before it stays readable by time travel until a
vacuum allows otherwise), and verifies the same per-partition counts and checksums before and
after; a mismatch raises and names the partition (the previous version is the one to restore).

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
from dataclasses import dataclass, replace
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
    #: Rows the table held when it was rewritten into today's column order (0: not needed).
    reordered_rows: int = 0

    def as_dict(self) -> dict[str, int | None]:
        return {
            "files": self.files,
            "rows": self.rows,
            "appended": self.appended,
            "partitions": self.partitions,
            "moved": self.moved,
            "table_version": self.table_version,
            "reordered_rows": self.reordered_rows,
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
    """Convert the old catalog files into the catalog Delta table, verify, then move them;
    then rewrite a table made in the old column order into today's (:func:`reorder_columns`).

    Raises:
        MigrationError: A verification failed (the old files stay where they are; a reorder
            names the table version to restore).
    """
    store = open_store(lake_root, settings)
    report = _migrate_legacy(store, keep)
    reordered, version = reorder_columns(store)
    if not reordered:
        return report
    return replace(report, table_version=version, reordered_rows=reordered)


def _migrate_legacy(store: LakeStore, keep: bool) -> MigrationReport:
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


def reorder_columns(store: LakeStore) -> tuple[int, int | None]:
    """Rewrite a catalog table made in the old column order into today's, verified.

    One ``overwrite`` commit of the snapshot's rows with :func:`delta_catalog.delta_schema`
    (its column comments make it a schema change: delta-rs otherwise keeps a table's order),
    the rows streamed from the snapshot rather than held in memory. The overwrite declares
    that it read the whole table (``predicate="true"``): without it delta-rs checks nothing,
    and a compaction committed meanwhile left every row twice (reproduced). With it, any
    commit made since the snapshot (a compaction, a landing) makes the rewrite fail and
    leaves the table as it was: run it with the DAGs paused, like the rest of the migration,
    and again if it says the table changed.

    Returns:
        The rows rewritten and the version the rewrite made; ``(0, None)`` when there is no
        table or it is already in today's order.

    Raises:
        MigrationError: The table changed during the rewrite (nothing was committed), or the
            rewritten version's counts or checksums differ from the old one's.
    """
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError

    target = catalog_delta.open_or_none(store)
    if target is None or catalog_delta.in_table_order(target):
        return 0, None
    version = target.version()
    before = _table_checksums(store, version)
    snapshot = catalog_delta.dataset(store, version)
    if snapshot is None:
        raise MigrationError(f"version {version} of the catalog table could not be read")
    schema = catalog_delta.delta_schema()
    rows = snapshot.scanner(columns=schema.names)
    reader = pa.RecordBatchReader.from_batches(
        schema, (batch.cast(schema) for batch in rows.to_batches())
    )
    try:
        write_deltalake(
            target,
            reader,
            mode="overwrite",
            schema_mode="overwrite",
            predicate="true",
            partition_by=list(catalog_delta.PARTITION_BY),
        )
    except CommitFailedError as exc:
        raise MigrationError(
            f"the catalog table changed during the column reorder ({exc}): nothing was "
            "committed; pause the DAGs and run the command again"
        ) from None
    # The version this overwrite made (``target`` knows it), not whatever is newest now.
    rewritten = target.version()
    if not catalog_delta.in_table_order(catalog_delta.open_table(store, rewritten)):
        raise MigrationError("the catalog table kept its old column order after the rewrite")
    after = _table_checksums(store, rewritten)
    if after != before:
        bad = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        raise MigrationError(
            f"{len(bad)} partition(s) differ after the column reorder (first: {bad[0]}): "
            f"restore version {version} of the catalog table (the rewrite made {rewritten})"
        )
    total = sum(count for count, _ in before.values())
    log.info(
        "catalog table rewritten in today's column order: %d row(s) in %d partition(s) "
        "verified (version %d -> %d)",
        total,
        len(before),
        version,
        rewritten,
    )
    return total, rewritten


def _table_checksums(store: LakeStore, version: int) -> dict[tuple[str, str], tuple[int, str]]:
    """``(macroprocesso, periodicidade) → (rows, sum of the rows' hashes)`` of one version.

    DuckDB streams the snapshot (memory stays flat at millions of rows; the per-row JSON of
    :func:`_checksums` took 12 GB and 6 min at 1M deliveries): each row's hash over every
    catalog column, summed per partition without overflow, so the order rows are read in
    does not matter and a lost, added or changed row changes the sum.
    """
    import duckdb

    dataset = catalog_delta.dataset(store, version)
    if dataset is None:
        raise MigrationError(f"version {version} of the catalog table could not be read")
    columns = ", ".join(f'"{name}"' for name in (*CATALOG_SCHEMA.names, "periodo_mes"))
    with duckdb.connect() as con:
        con.register("snapshot", dataset)
        rows = con.execute(
            "SELECT macroprocesso, CAST(periodicidade AS VARCHAR), count(*), "
            f"CAST(sum(hash({columns})::HUGEINT) AS VARCHAR) "
            "FROM snapshot GROUP BY ALL"
        ).fetchall()
    return {(macro, day): (count, digest) for macro, day, count, digest in rows}


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(root.iterdir()):
        root.rmdir()
