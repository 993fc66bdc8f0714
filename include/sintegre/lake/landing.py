"""Land parsed tables in the Parquet lake: atomic, idempotent, every version kept.

Layout (see ARCHITECTURE.md)::

    raw/<dataset>/<yyyy>/<mm>/<sha256>/<file>                                  every original
    history/<dataset>/macroprocesso=<slug>/periodicidade=<date>/<sha256>.parquet   every version
    catalog/delta/                  ONE Delta Lake table, a row per landed table (append-only)
    curated/<dataset>/macroprocesso=<slug>/periodicidade=<date>/data.parquet      current copy

A landing commits in three steps, each file written aside and renamed into place:

1. every table's version goes to ``history/`` (immutable, named by the source sha256);
2. ONE Delta commit appends the whole delivery's rows to the catalog table
   (``sintegre.lake.delta_catalog``): this is the commit point. The views (``sintegre.lake.views``)
   compute the current version of each partition from the catalog, so a crash before it
   leaves the old version visible everywhere, and after it the new one;
3. ``curated/`` copies are replaced for the partitions where this delivery is the newest, for
   readers that want plain files (pyarrow, Polars); a crash here is repaired by the retry.

Content decides: a sha256 already landed for a dataset and partition rewrites nothing
(``unchanged``); a new sha256 becomes current only when its delivery (the token's ``nbf``) is
newer than the current one's; an older delivery re-run late goes to ``history/`` only.
Partition values of history/ and curated/ live in the path only (hive style), never as file
columns; the catalog table has them as real columns (``macroprocesso``, ``periodicidade``,
``periodo_mes``), its partitions being (macroprocesso, periodo_mes).

The lake is a local folder or an S3 prefix (``LAKE_URI``, see ``sintegre.lake.storage``): every
write
goes through :class:`sintegre.lake.storage.LakeStore`, which publishes a file whole or not at all.
History files are written by record batches and curated copies are file copies (server-side
on S3), so landing a table of any size needs memory for one batch, not for the table.

Two landings on one partition never interleave: Delta serialises commits, but two appends never
conflict, so two landings could both decide ``new`` from the same read and ``curated/`` end
with the older copy; the read-decide-write is held under a partition lock. On the local disk
a ``flock`` per partition does it. Object storage has no locks: a PostgreSQL advisory lock (on
the inbox database, ``SINTEGRE_INBOX_URL``) does it there, and without PostgreSQL the landing
refuses to run unless ``SINTEGRE_LAKE_LOCK=none`` says something else already serialises them
(the DAGs' ``land`` tasks run with ``max_active_tis_per_dag=1``, which serialises one DAG's
landings, not two DAGs').
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.decision import (
    CHANGING_OUTCOMES,
    VERSION_OUTCOMES,
    current_version,
    decide,
    partition_versions,
)
from sintegre.lake.layout import (
    BATCH_BYTES,
    BATCH_ROWS,
    CURATED_FILE_NAME,
    DELIVERED_METADATA_KEY,
    LINEAGE_COLUMNS,
    SHA_METADATA_KEY,
    VERSION_METADATA_KEY,
    StagedTable,
    current_file_version,
    dataset_name,
    delivered_at,
    partition_dir,
)
from sintegre.lake.locks import partition_lock
from sintegre.lake.storage import LakeStore, LakeStoreError, open_store

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from sintegre.core.settings import Settings

CRASH_ENV = "SINTEGRE_LAKE_CRASH_AT"
#: Rows of a history file's first batch probed for nearly unique columns.
_DICTIONARY_PROBE_ROWS = 8192


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(70)


def _lineage_values(
    conf: dict[str, Any],
    *,
    staged: StagedTable,
    download: dict[str, Any],
    run_id: str,
    delivered: datetime,
    ingested_at: datetime,
    version: str,
) -> list[tuple[str, Any, pa.DataType]]:
    """The lineage columns' (name, value, type): one constant per column for a whole file."""
    final_date = datetime.fromisoformat(conf["periodicidade_final_date"]).date()
    return [
        ("src_product", conf.get("nome"), pa.string()),
        ("src_product_id", conf.get("product_id"), pa.int64()),
        ("src_notification_id", conf.get("notification_id"), pa.string()),
        ("src_processo", conf.get("processo"), pa.string()),
        ("src_macroprocesso", conf.get("macroProcesso"), pa.string()),
        ("src_data_produto", conf.get("dataProduto"), pa.string()),
        ("src_file", download["file_name"], pa.string()),
        ("src_member", staged.source_member or None, pa.string()),
        ("src_sha256", download["sha256"], pa.string()),
        ("src_version", version, pa.string()),
        ("granularity", conf.get("granularity"), pa.string()),
        ("periodicidade_final", final_date, pa.date32()),
        ("delivered_at", delivered, pa.timestamp("us", tz="UTC")),
        ("ingested_at", ingested_at, pa.timestamp("us", tz="UTC")),
        ("dag_run_id", run_id, pa.string()),
    ]


@contextlib.contextmanager
def _open_staged(store: LakeStore, path: str) -> Iterator[pa.NativeFile]:
    """A staged file: a key or URI inside the lake (S3 staging), or a local path."""
    key = store.key_of(path)
    if key is None and "://" in path:
        raise LakeStoreError(f"the staged table {path} is neither local nor in {store.uri}")
    with contextlib.ExitStack() as stack:
        # In the lake (S3 staging): one streamed GET into a temporary file, rather than a
        # ranged GET per column chunk while the history file is written.
        local = Path(path).absolute() if key is None else stack.enter_context(store.local_copy(key))
        handle = stack.enter_context(pafs.LocalFileSystem().open_input_file(str(local)))
        yield handle


def _batch_rows(metadata: pq.FileMetaData) -> int:
    """Rows per batch: ``BATCH_ROWS``, fewer when a row is wide (about ``BATCH_BYTES``)."""
    if not metadata.num_rows:
        return BATCH_ROWS
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    row_bytes = max(1, size // metadata.num_rows)
    return max(1024, min(BATCH_ROWS, BATCH_BYTES // row_bytes))


def _write_history(
    store: LakeStore,
    key: str,
    staged: StagedTable,
    lineage: list[tuple[str, Any, pa.DataType]],
    metadata: dict[bytes, bytes],
) -> None:
    """Copy a staged table into history by record batches, adding the lineage to each batch.

    Memory is one batch (``BATCH_ROWS`` rows, fewer for wide rows), whatever the table's size:
    a 1 GB CSV lands with the same footprint as a small one.
    """
    with _open_staged(store, staged.path) as handle:
        # No pre-buffering: it caches the column chunks it read ahead, and the peak grows.
        source = pq.ParquetFile(handle, pre_buffer=False, buffer_size=1 << 20)
        schema = source.schema_arrow
        # Lineage and partition names are ours: a source column with such a name is kept as
        # <name>_data (a file column named like a partition would be overwritten by the path).
        reserved = {*LINEAGE_COLUMNS, "macroprocesso", "periodicidade"}
        fields = [
            field.with_name(f"{field.name}_data") if field.name in reserved else field
            for field in schema
        ]
        fields += [pa.field(name, type_) for name, _, type_ in lineage]
        merged: dict[bytes | str, bytes | str] = {
            key: value for part in (schema.metadata or {}, metadata) for key, value in part.items()
        }
        out_schema = pa.schema(fields, metadata=merged)
        # The lineage constants go to the writer as one-value dictionaries, which it writes
        # as they are instead of hashing every row's copy (a third of the history write).
        # The file must still say the plain types: the Arrow schema is not stored (it would
        # say dictionary), only the metadata, when the Parquet types alone read back as
        # out_schema; otherwise plain constants.
        by_dictionary = _plain_types_survive(out_schema)
        write_schema = out_schema
        if by_dictionary:
            write_schema = pa.schema(
                [*fields[: len(schema)], *(_constant_field(n, v, t) for n, v, t in lineage)]
            )
        constants: dict[int, list[pa.Array[Any]]] = {}
        batch_rows = _batch_rows(source.metadata)
        # Closed before the staged file is: its reading thread is done with the handle.
        with contextlib.closing(
            _read_ahead(source.iter_batches(batch_size=batch_rows, use_threads=False))
        ) as batches:
            first = next(batches, None)
            with store.atomic_path(key) as tmp:
                # zstd, and column statistics where readers prune by them: the file's own columns
                # and ``src_version`` (the views' join key). The other lineage columns are one
                # value per file, and their statistics (a hash of every row's dictionary index)
                # took a quarter of the write: 0.09 s of the 100 MB bench file's 0.40 s.
                with pq.ParquetWriter(
                    tmp,
                    write_schema,
                    compression="zstd",
                    write_statistics=[*(f.name for f in fields[: len(schema)]), "src_version"],
                    store_schema=not by_dictionary,
                    use_dictionary=_dictionary_columns(first, write_schema),  # type: ignore[arg-type]  # pyarrow-stubs narrower than pyarrow
                ) as writer:
                    for batch in itertools.chain([first] if first is not None else [], batches):
                        rows = batch.num_rows
                        if rows not in constants:
                            constants = {
                                rows: [_constant(v, t, rows, by_dictionary) for _, v, t in lineage]
                            }
                        arrays = [*batch.columns, *constants[rows]]
                        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=write_schema))
                    if by_dictionary:
                        writer.add_key_value_metadata(merged)  # type: ignore[arg-type]  # pyarrow-stubs narrower than pyarrow
                _crash_point("mid_file")


def _read_ahead(
    batches: Iterator[pa.RecordBatch],
) -> Generator[pa.RecordBatch, None, None]:
    """``batches``, the next one decoded in a thread while the caller writes this one.

    pyarrow lets go of the GIL to decode and to encode, so the staged file's reading overlaps
    the history file's writing (0.08 s of the 100 MB bench file's 0.40 s). One batch more in
    memory (``BATCH_ROWS`` rows, ~``BATCH_BYTES`` at most).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-read") as pool:
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch


def _dictionary_columns(first: pa.RecordBatch | None, schema: pa.Schema) -> list[str] | bool:
    """The columns worth dictionary-encoding: all but those nearly unique in the first batch.

    A column of distinct values (measurements, codes) only costs a hash per value to end
    with a dictionary as big as the values; plain it is cheaper to write and, zstd'd,
    smaller (the 100 MB bench file's history: 15.6 -> 8.8 MB, 40% less CPU).
    """
    if first is None or first.num_rows < _DICTIONARY_PROBE_ROWS:
        return True
    probe = first.slice(0, _DICTIONARY_PROBE_ROWS)
    unique: set[int] = set()
    # The batch's columns are the schema's first ones (renamed when they clash).
    for index, column in enumerate(probe.columns):
        try:
            if pc.count_distinct(column).as_py() * 2 > len(column):
                unique.add(index)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            continue  # a type without a distinct count: as before
    if not unique:
        return True
    return [name for index, name in enumerate(schema.names) if index not in unique]


def _plain_types_survive(schema: pa.Schema) -> bool:
    """Whether a Parquet file written without the Arrow schema reads back as ``schema``."""
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink, store_schema=False)
    back = pq.read_schema(pa.BufferReader(sink.getvalue()))
    return back.equals(schema.remove_metadata(), check_metadata=True)


def _constant_field(name: str, value: Any, type_: pa.DataType) -> pa.Field[Any]:
    return pa.field(name, type_ if value is None else pa.dictionary(pa.int32(), type_))  # type: ignore[call-overload]  # pyarrow-stubs narrower than pyarrow


def _constant(value: Any, type_: pa.DataType, rows: int, by_dictionary: bool) -> pa.Array[Any]:
    if not by_dictionary:
        return pa.array([value] * rows, type=type_)
    if value is None:
        return pa.nulls(rows, type_)  # type: ignore[call-overload, no-any-return]  # pyarrow-stubs narrower than pyarrow
    indices = pa.array(np.zeros(rows, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], type=type_))  # type: ignore[arg-type]  # pyarrow-stubs narrower than pyarrow


def _sync_curated(
    store: LakeStore,
    dataset: str,
    macro: str,
    period: str,
    versions: list[dict[str, Any]],
) -> bool:
    """Make ``curated/`` hold the current version (repairs a crash after the commit)."""
    current = current_version(versions, dataset)
    if current is None:
        return False
    curated_key = str(partition_dir("curated", dataset, macro, period) / CURATED_FILE_NAME)
    if current_file_version(curated_key, store) == current["version"]:
        return False
    history_key = str(
        partition_dir("history", dataset, macro, period) / f"{current['version']}.parquet"
    )
    # The history file is the exact version: a byte copy (server-side on S3), never a re-read.
    store.copy(history_key, curated_key)
    return True


def land(
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    lake_root: Path | str | LakeStore,
    run_id: str,
    now: datetime | None = None,
    force: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Land staged tables: history, then the catalog (commit), then curated copies.

    ``force`` (reprocessing after a parser fix) lands a sha256 that is already there again:
    its history file is rewritten with the new parse (``reprocessed``) and, when it is the
    current version, so is curated/.

    Args:
        staged_tables: The parse step's tables (local paths, or keys/URIs in the lake).
        conf: The run conf.
        download: The download step's dict (``raw_path``, ``sha256``, ``file_name``).
        lake_root: The lake: a local path, a ``LAKE_URI`` (``s3://bucket/prefix``) or a store.
        run_id: The DAG run id (lineage).
        now: The ingestion instant (tests).
        force: Re-land a sha256 already landed (reprocessing).
        settings: S3 credentials and the lock settings of an object-storage lake; read from
            the environment when omitted and needed.

    Returns:
        A small dict: ``changed`` (any partition got a new current version), ``outcome`` per
        dataset, ``rows`` and ``catalog_version`` (the catalog table's version it committed).

    Raises:
        LakeLockError: An object-storage lake with no way to serialise landings.
    """
    if not isinstance(lake_root, LakeStore) and settings is None and "://" in str(lake_root):
        from sintegre.core.settings import load_settings

        settings = load_settings()
    store = open_store(lake_root, settings)
    macro = conf["macroprocesso_slug"]
    period = conf["periodicidade_date"]
    # Two landings on one partition never interleave, whichever DAG or process runs them.
    with partition_lock(store, macro, period, settings):
        return _land_locked(
            staged_tables,
            conf,
            download,
            store=store,
            run_id=run_id,
            now=now,
            force=force,
        )


def _land_locked(
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    store: LakeStore,
    run_id: str,
    now: datetime | None,
    force: bool,
) -> dict[str, Any]:
    ingested_at = now or datetime.now(UTC)
    delivered = delivered_at(conf, ingested_at)
    # Only this delivery's datasets are decided (a raw-only report decides nothing).
    names = [
        staged.dataset or dataset_name(conf["dataset"], staged.name) for staged in staged_tables
    ]
    # The commit below appends to the catalog table as delta-rs loads it (on S3 ~13 requests):
    # that load runs in the background while the decision reads the log's tail itself
    # (``sintegre.lake.delta_log``, 4 requests), so the decision does not wait for it. Under
    # this partition's lock no other landing of the partition commits in between: the
    # decision's rows are the ones the commit lands on.
    loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-load")
    try:
        return _decide_and_commit(
            loader.submit(catalog_delta.load_for_landing, store),
            staged_tables,
            conf,
            download,
            store=store,
            run_id=run_id,
            ingested_at=ingested_at,
            delivered=delivered,
            names=names,
            force=force,
        )
    finally:
        loader.shutdown(wait=False)


def _decide_and_commit(
    loading: Future[DeltaTable | None],
    staged_tables: list[StagedTable],
    conf: dict[str, Any],
    download: dict[str, Any],
    *,
    store: LakeStore,
    run_id: str,
    ingested_at: datetime,
    delivered: datetime,
    names: list[str],
    force: bool,
) -> dict[str, Any]:
    """Decide each dataset's outcome, write its history file, commit the catalog rows (the
    commit point), then bring ``curated/`` up to date; ``loading``: the table the commit
    appends to, loading in the background meanwhile."""
    macro = conf["macroprocesso_slug"]
    period = conf["periodicidade_date"]
    sha = download["sha256"]
    catalog_rows: list[dict[str, Any]] = []
    datasets: list[dict[str, Any]] = []
    versions = partition_versions(store, macro, period, names) if names else []
    for index, staged in enumerate(staged_tables):
        if index:
            _crash_point("between_datasets")
        dataset = staged.dataset or dataset_name(conf["dataset"], staged.name)
        curated_rel = partition_dir("curated", dataset, macro, period) / CURATED_FILE_NAME
        outcome = decide(versions, dataset, sha, delivered, store, str(curated_rel))
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
        if outcome != "unchanged" and not store.exists(str(history_rel)):
            metadata = {
                SHA_METADATA_KEY: sha.encode(),
                VERSION_METADATA_KEY: version.encode(),
                DELIVERED_METADATA_KEY: row_delivered.isoformat().encode(),
                b"sintegre.original_columns": json.dumps(
                    staged.original_columns, ensure_ascii=False
                ).encode(),
            }
            lineage = _lineage_values(
                conf,
                staged=staged,
                download=download,
                run_id=run_id,
                delivered=row_delivered,
                ingested_at=ingested_at,
                version=version,
            )
            _write_history(store, str(history_rel), staged, lineage, metadata)
        datasets.append(
            {
                "dataset": dataset,
                "rows": staged.rows,
                "outcome": outcome,
                "changed": outcome in CHANGING_OUTCOMES,
                "version": version,
                # Only when the columns differ from the catalog: the forwarder shows it.
                **({"drift": staged.drift} if staged.drift else {}),
                **({"implausible": staged.implausible} if staged.implausible else {}),
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
    # The commit point: one Delta commit with the delivery's rows.
    catalog_version = catalog_delta.append(
        store, catalog_delta.to_arrow(catalog_rows, macro, period), loaded=loading.result()
    )
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
            store,
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
        "catalog_version": catalog_version,
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
        "schema_drift": (
            json.dumps(staged.drift, ensure_ascii=False) if staged and staged.drift else None
        ),
        "implausible": (
            json.dumps(staged.implausible, ensure_ascii=False)
            if staged and staged.implausible
            else None
        ),
        "outcome": outcome,
        "changed": outcome in CHANGING_OUTCOMES,
        "raw_path": download["raw_path"],
        "curated_path": curated,
        "history_path": history,
        "dag_run_id": run_id,
        "delivered_at": delivered,
        "ingested_at": ingested_at,
    }
