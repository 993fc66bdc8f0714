"""Land parsed tables in the Parquet lake: atomic, idempotent, every version kept.

Layout (see ARCHITECTURE.md)::

    raw/<dataset>/<yyyy>/<mm>/<sha256>/<file>                                  every original
    history/<dataset>/macroprocesso=<slug>/periodicidade=<date>/<sha256>.parquet   every version
    catalog/ingestions/macroprocesso=<slug>/periodicidade=<date>/<ts>-<id>.parquet  append-only
    curated/<dataset>/macroprocesso=<slug>/periodicidade=<date>/data.parquet      current copy

A landing commits in three steps, each file written aside and renamed into place:

1. every table's version goes to ``history/`` (immutable, named by the source sha256);
2. ONE catalog file for the whole delivery is written: this is the commit point. The views
   (``sintegre.lakeviews``) compute the current version of each partition from the catalog, so
   a crash before it leaves the old version visible everywhere, and after it the new one;
3. ``curated/`` copies are replaced for the partitions where this delivery is the newest, for
   readers that want plain files (pyarrow, Polars); a crash here is repaired by the retry.

Content decides: a sha256 already landed for a dataset and partition rewrites nothing
(``unchanged``); a new sha256 becomes current only when its delivery (the token's ``nbf``) is
newer than the current one's; an older delivery re-run late goes to ``history/`` only.
Partition values live in the path only (hive style), never as file columns.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Schema metadata keys of every landed file.
SHA_METADATA_KEY = b"sintegre.source_sha256"
VERSION_METADATA_KEY = b"sintegre.version"
DELIVERED_METADATA_KEY = b"sintegre.delivered_at"
CURATED_FILE_NAME = "data.parquet"
#: ``exp - nbf`` of every ONS token seen: lets us date a delivery from ``exp`` alone.
TOKEN_LIFETIME_SECONDS = 86_640
#: Test-only fault injection: the writer dies (``os._exit``) at this point.
CRASH_ENV = "SINTEGRE_LAKE_CRASH_AT"

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
        ("version", pa.string()),  # the history file's stem: sha256, or sha256-r<time> (reprocess)
        ("rows", pa.int64()),
        ("original_columns", pa.string()),
        ("outcome", pa.string()),  # new | unchanged | older | raw_only
        ("changed", pa.bool_()),
        ("raw_path", pa.string()),
        ("curated_path", pa.string()),
        ("history_path", pa.string()),
        ("dag_run_id", pa.string()),
        ("delivered_at", pa.timestamp("us", tz="UTC")),
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


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(70)


def _atomic_write(table: pa.Table, target: Path) -> None:
    """Write aside, fsync, then rename over: a reader sees the old file or the new, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        # zstd and column statistics (pyarrow's default) so engines prune row groups.
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
        _crash_point("mid_file")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        # The rename itself must reach the disk: the catalog file is the commit point.
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)


def _file_metadata(path: Path) -> dict[bytes, bytes]:
    if not path.exists():
        return {}
    return dict(pq.read_schema(path).metadata or {})


def current_sha(curated_file: Path) -> str | None:
    """The source sha256 recorded in a curated file's metadata, or None."""
    value = _file_metadata(curated_file).get(SHA_METADATA_KEY)
    return value.decode() if value else None


def current_file_version(curated_file: Path) -> str | None:
    """The version (history file stem) a curated file is a copy of, or None."""
    value = _file_metadata(curated_file).get(VERSION_METADATA_KEY)
    return value.decode() if value else None


def delivered_at(conf: dict[str, Any], fallback: datetime) -> datetime:
    """When SINtegre delivered this file: the token's ``nbf`` (= the delivery instant)."""
    nbf = conf.get("token_nbf")
    if nbf is None and conf.get("token_exp") is not None:
        nbf = int(conf["token_exp"]) - TOKEN_LIFETIME_SECONDS
    return datetime.fromtimestamp(int(nbf), tz=UTC) if nbf is not None else fallback


def _with_lineage(
    table: pa.Table,
    conf: dict[str, Any],
    *,
    staged: StagedTable,
    download: dict[str, Any],
    run_id: str,
    delivered: datetime,
    ingested_at: datetime,
    version: str,
) -> pa.Table:
    # Lineage and partition names are ours: a source column with such a name is kept as
    # <name>_data (a file column named like a partition would be overwritten by the path).
    reserved = {*LINEAGE_COLUMNS, "macroprocesso", "periodicidade"}
    rename = {name: f"{name}_data" for name in table.column_names if name in reserved}
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
        "src_version": const(version, pa.string()),
        "granularity": const(conf.get("granularity"), pa.string()),
        "periodicidade_final": const(final_date, pa.date32()),
        "delivered_at": const(delivered, pa.timestamp("us", tz="UTC")),
        "ingested_at": const(ingested_at, pa.timestamp("us", tz="UTC")),
        "dag_run_id": const(run_id, pa.string()),
    }
    for name, column in lineage.items():
        table = table.append_column(name, column)
    return table


#: Catalog outcomes that put a version in history (candidates for "current").
VERSION_OUTCOMES = ("new", "older", "reprocessed")


def _partition_versions(lake_root: Path, macro: str, period: str) -> list[dict[str, Any]]:
    """Every committed version in one partition, from its catalog files (small: one per landing)."""
    folder = (
        lake_root / "catalog" / "ingestions" / f"macroprocesso={macro}" / f"periodicidade={period}"
    )
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(
            path,
            columns=["dataset", "sha256", "version", "outcome", "delivered_at", "ingested_at"],
        )
        rows += [r for r in table.to_pylist() if r["outcome"] in VERSION_OUTCOMES]
    return rows


def current_version(versions: list[dict[str, Any]], dataset: str) -> dict[str, Any] | None:
    """The current version of a dataset partition: the newest delivery (then the latest landing)."""
    mine = [v for v in versions if v["dataset"] == dataset]
    return max(mine, key=lambda v: (v["delivered_at"], v["ingested_at"])) if mine else None


def _decide(
    versions: list[dict[str, Any]], dataset: str, sha: str, delivered: datetime, curated: Path
) -> str:
    """``unchanged`` (already landed), ``new`` (becomes current) or ``older`` (history only)."""
    current = current_version(versions, dataset)
    if any(v["dataset"] == dataset and v["sha256"] == sha for v in versions):
        # Committed but the writer died before curated/: this retry finishes the job (and
        # announces it, which the dead run could not).
        repair = current is not None and current["sha256"] == sha
        if repair and current_file_version(curated) != current["version"]:
            return "new"
        return "unchanged"
    if current is not None and current["delivered_at"] > delivered:
        return "older"
    return "new"


def _sync_curated(
    lake_root: Path,
    dataset: str,
    macro: str,
    period: str,
    versions: list[dict[str, Any]],
) -> bool:
    """Make ``curated/`` hold the current version (repairs a crash after the commit)."""
    current = current_version(versions, dataset)
    if current is None:
        return False
    curated_file = lake_root / partition_dir("curated", dataset, macro, period) / CURATED_FILE_NAME
    if current_file_version(curated_file) == current["version"]:
        return False
    history_file = (
        lake_root
        / partition_dir("history", dataset, macro, period)
        / f"{current['version']}.parquet"
    )
    _atomic_write(pq.read_table(history_file), curated_file)
    return True


def land(
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    lake_root: Path,
    run_id: str,
    now: datetime | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Land staged tables: history, then the catalog (commit), then curated copies.

    ``force`` (reprocessing after a parser fix) lands a sha256 that is already there again:
    its history file is rewritten with the new parse (``reprocessed``) and, when it is the
    current version, so is curated/.

    Returns:
        A small dict: ``changed`` (any partition got a new current version), ``outcome`` per
        dataset, ``rows`` and the catalog file.
    """
    macro = conf["macroprocesso_slug"]
    period = conf["periodicidade_date"]
    # Two landings on one partition never interleave, whichever DAG or process runs them.
    with _partition_lock(lake_root, macro, period):
        return _land_locked(
            staged_tables,
            conf,
            download,
            lake_root=lake_root,
            run_id=run_id,
            now=now,
            force=force,
        )


@contextlib.contextmanager
def _partition_lock(lake_root: Path, macro: str, period: str) -> Iterator[None]:
    lock_dir = lake_root / "_locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{macro}__{period}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _land_locked(
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    lake_root: Path,
    run_id: str,
    now: datetime | None,
    force: bool,
) -> dict[str, Any]:
    ingested_at = now or datetime.now(UTC)
    delivered = delivered_at(conf, ingested_at)
    macro = conf["macroprocesso_slug"]
    period = conf["periodicidade_date"]
    sha = download["sha256"]
    catalog_rows: list[dict[str, Any]] = []
    datasets: list[dict[str, Any]] = []
    versions = _partition_versions(lake_root, macro, period)
    for index, staged in enumerate(staged_tables):
        if index:
            _crash_point("between_datasets")
        dataset = dataset_name(conf["dataset"], staged.name)
        curated_rel = partition_dir("curated", dataset, macro, period) / CURATED_FILE_NAME
        outcome = _decide(versions, dataset, sha, delivered, lake_root / curated_rel)
        committed = [v for v in versions if v["dataset"] == dataset and v["sha256"] == sha]
        if force and outcome == "unchanged":
            outcome = "reprocessed"
        row_delivered = delivered
        if outcome == "reprocessed":
            # A new parse of the same bytes is a new version file: the one the catalog points
            # at stays intact until this landing's catalog file commits. It keeps the
            # delivery instant of the bytes it re-reads, so delivery order is unchanged.
            version = f"{sha}-r{ingested_at:%Y%m%dT%H%M%S%f}"
            row_delivered = max(v["delivered_at"] for v in committed)
        elif committed:
            version = max(committed, key=lambda v: v["ingested_at"])["version"]
        else:
            version = sha
        history_rel = partition_dir("history", dataset, macro, period) / f"{version}.parquet"
        history_file = lake_root / history_rel
        if outcome != "unchanged" and not history_file.exists():
            table = _with_lineage(
                pq.read_table(staged.path),
                conf,
                staged=staged,
                download=download,
                run_id=run_id,
                delivered=row_delivered,
                ingested_at=ingested_at,
                version=version,
            )
            metadata = dict(table.schema.metadata or {})
            metadata[SHA_METADATA_KEY] = sha.encode()
            metadata[VERSION_METADATA_KEY] = version.encode()
            metadata[DELIVERED_METADATA_KEY] = row_delivered.isoformat().encode()
            metadata[b"sintegre.original_columns"] = json.dumps(
                staged.original_columns, ensure_ascii=False
            ).encode()
            _atomic_write(table.replace_schema_metadata(metadata), history_file)
        datasets.append(
            {
                "dataset": dataset,
                "rows": staged.rows,
                "outcome": outcome,
                "changed": outcome in ("new", "reprocessed"),
                "version": version,
            }
        )
        catalog_rows.append(
            _catalog_row(
                conf,
                download,
                staged,
                dataset,
                run_id,
                row_delivered,
                ingested_at,
                outcome,
                curated=str(curated_rel),
                history=str(history_rel),
                version=version,
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
                delivered,
                ingested_at,
                "raw_only",
                curated=None,
                history=None,
                version=None,
            )
        )
    _crash_point("after_history")
    catalog_file = (
        lake_root
        / PurePosixPath(
            "catalog", "ingestions", f"macroprocesso={macro}", f"periodicidade={period}"
        )
        / f"{ingested_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.parquet"
    )
    _atomic_write(pa.Table.from_pylist(catalog_rows, schema=CATALOG_SCHEMA), catalog_file)
    _crash_point("after_catalog")
    # The partition's versions now: what was read before, plus what this landing committed.
    versions += [row for row in catalog_rows if row["outcome"] in VERSION_OUTCOMES]
    for entry in datasets:
        # Changed = this landing's version is now the current one (a reprocess of a superseded
        # version rewrites history, not what readers see).
        current = current_version(versions, entry["dataset"])
        version = entry.pop("version")
        entry["changed"] = bool(
            entry["changed"] and current is not None and current["version"] == version
        )
        # The history file is the exact version: copy it (atomically) as the current one.
        _sync_curated(
            lake_root,
            entry["dataset"],
            macro,
            period,
            versions,
        )
    return {
        "changed": any(d["changed"] for d in datasets),
        # Nothing new at all: every table was already landed (a raw-only PDF is not that).
        "unchanged": bool(datasets) and all(d["outcome"] == "unchanged" for d in datasets),
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
    delivered: datetime,
    ingested_at: datetime,
    outcome: str,
    *,
    curated: str | None,
    history: str | None,
    version: str | None,
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
        "version": version,
        "rows": staged.rows if staged else 0,
        "original_columns": json.dumps(
            staged.original_columns if staged else [], ensure_ascii=False
        ),
        "outcome": outcome,
        "changed": outcome in ("new", "reprocessed"),
        "raw_path": download["raw_path"],
        "curated_path": curated,
        "history_path": history,
        "dag_run_id": run_id,
        "delivered_at": delivered,
        "ingested_at": ingested_at,
    }
