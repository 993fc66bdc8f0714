"""The catalog table's live files read straight from the tail of its Delta log.

A version decision needs the data files of one (macroprocesso, month) partition in the
table's newest version. delta-rs builds a whole snapshot for that: on S3 the last
checkpoint's footer is read four times (two requests each) plus its columns, 13 requests in
all (measured on moto, 1M deliveries: ~31-47 ms of a ~45-55 ms decision). The log's tail,
read here, is the same state in 4 GETs (no HEAD, no listing) in two rounds:

1. ``_delta_log/_last_checkpoint``: the version ``C`` of the last checkpoint and its size;
2. that checkpoint whole (one GET: its size is known) and, at the same time, the commits
   ``C+1`` and ``C+2`` (``delta.checkpointInterval=2`` leaves at most one after a
   checkpoint); when both exist, the next two, and so on until one is missing.

Commits are numbered without gaps and each is written only if absent (the writer saw the one
before it), so the first missing number ends the log: the newest version, never an older
one. The checkpoint's active files, then each commit's ``add`` and ``remove`` in order, are
the version's files (the Delta protocol's own replay).

Anything this reader does not fully understand sends the caller back to delta-rs (None),
never to a guess: no ``_last_checkpoint`` (a new table), a multi-part or V2 checkpoint, a
reader protocol above 1 without only known features, column mapping, deletion vectors, other
partition columns, a commit longer than :data:`COMMIT_READ_BYTES`, a file whose bytes differ
from the size announced. And a log whose newest commit is older than the log retention
(``delta.logRetentionDuration``) less :data:`RETENTION_MARGIN_S`: only then could log
cleanup have removed the commit after a stale ``_last_checkpoint``'s and left a later one.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sintegre.lake.delta_catalog import PARTITION_BY, TABLE_KEY, exact_range, file_entry
from sintegre.lake.storage import LakeStore

__all__ = ["COMMIT_READ_BYTES", "RETENTION_MARGIN_S", "partition_files", "retention_seconds"]

log = logging.getLogger(__name__)

#: A commit (or ``_last_checkpoint``) is read as one range of this many bytes: S3 answers
#: with the whole object when it is shorter. A read that fills the range may be a prefix of a
#: longer object: then delta-rs reads the log instead (a landing's commit is ~1 KB, a
#: compaction's ~100 KB at 1M deliveries).
COMMIT_READ_BYTES = 4 << 20
#: Commits asked for in each round after the checkpoint (see the module's note).
PROBE = 2
#: Seconds kept between the log retention and the newest commit's age (clock skew).
RETENTION_MARGIN_S = 3600.0
#: Delta's default ``delta.logRetentionDuration``: 30 days.
DEFAULT_RETENTION_S = 30 * 86_400.0
#: Reader features whose meaning changes nothing for a reader of whole files.
KNOWN_READER_FEATURES = frozenset({"timestampNtz", "vacuumProtocolCheck"})
_UNITS = {
    "nanosecond": 1e-9,
    "microsecond": 1e-6,
    "millisecond": 1e-3,
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": 86_400.0,
    "week": 604_800.0,
}
_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s*([a-z]+?)s?\s*$", re.IGNORECASE)


class _Unsupported(Exception):
    """This log is for delta-rs to read (see the module's note)."""


def _now_s() -> float:
    return time.time()


def partition_files(
    store: LakeStore,
    partition: Mapping[str, str],
    stats: Mapping[str, pa.DataType],
) -> list[dict[str, Any]] | None:
    """The newest version's data files of one partition, as ``delta_catalog``'s entries
    (key in the lake, size, partition values, the exact ranges of the ``stats`` columns, a
    date or a string each); None: read the log with delta-rs instead (see the module's
    note)."""
    try:
        return _partition_files(store, partition, stats)
    except (_Unsupported, ValueError, KeyError, TypeError) as reason:
        # ValueError: a commit or checkpoint that does not parse (pyarrow's errors too).
        # delta-rs reads the same log next: it answers, or raises its own error.
        log.debug("catalog log tail left to delta-rs: %r", reason)
        return None


def _partition_files(
    store: LakeStore,
    partition: Mapping[str, str],
    stats: Mapping[str, pa.DataType],
) -> list[dict[str, Any]]:
    read = _reader(store)
    [pointer] = read({"_delta_log/_last_checkpoint": None}).values()
    if pointer is None:
        raise _Unsupported("no _last_checkpoint: a new table, for delta-rs")
    try:
        last = json.loads(pointer)
        version = int(last["version"])
        size = int(last["sizeInBytes"])
    except (KeyError, TypeError, ValueError) as error:
        raise _Unsupported("no usable _last_checkpoint") from error
    if last.get("parts") or last.get("v2Checkpoint"):
        raise _Unsupported("a multi-part or V2 checkpoint")
    checkpoint = f"_delta_log/{version:020d}.checkpoint.parquet"
    wanted: dict[str, int | None] = {checkpoint: size}
    files: dict[str, dict[str, Any]] = {}
    state: dict[str, Any] = {"newest_ms": 0, "metadata": None}
    next_version = version + 1
    while True:
        probes = [f"_delta_log/{v:020d}.json" for v in range(next_version, next_version + PROBE)]
        got = read({**wanted, **dict.fromkeys(probes)})
        if checkpoint in wanted:
            _replay_checkpoint(got[checkpoint], files, state)
            wanted = {}
        found = 0
        for path in probes:
            data = got[path]
            if data is None:
                break
            _replay_commit(data, files, state)
            found += 1
        if any(got[path] is not None for path in probes[found:]):
            raise _Unsupported("a gap in the commits' numbers")
        next_version += found
        if found < PROBE:
            break
    _check_fresh(state)
    return _entries(files, partition, stats)


def _reader(store: LakeStore) -> Callable[[dict[str, int | None]], dict[str, bytes | None]]:
    """``read({path: size or None})``: each path of the table read in one request, all at
    once; None for a path that does not exist (a known size must match exactly, an unknown
    one is read as a range of :data:`COMMIT_READ_BYTES`)."""
    if store.is_local:
        root = store.local_path(TABLE_KEY)

        def read_local(paths: dict[str, int | None]) -> dict[str, bytes | None]:
            out: dict[str, bytes | None] = {}
            for path, size in paths.items():
                try:
                    data = (root / path).read_bytes()
                except FileNotFoundError:
                    out[path] = None
                    continue
                out[path] = _checked(path, data, size)
            return out

        return read_local

    from deltalake.fs import DeltaStorageHandler

    uri = store.uri_for(TABLE_KEY)
    options = store.delta_storage_options

    def read_s3(paths: dict[str, int | None]) -> dict[str, bytes | None]:
        # The handler reads a path of known size with one ranged GET and no HEAD.
        sizes = {path: size or COMMIT_READ_BYTES for path, size in paths.items()}
        handler = DeltaStorageHandler(uri, options=options, known_sizes=sizes)

        def one(path: str) -> bytes | None:
            try:
                with handler.open_input_file(path) as handle:
                    data = handle.read()
            except FileNotFoundError:
                return None
            return _checked(path, data, paths[path])

        if len(paths) == 1:
            return {path: one(path) for path in paths}
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            return dict(zip(paths, pool.map(one, paths), strict=True))

    return read_s3


def _checked(path: str, data: bytes, size: int | None) -> bytes:
    if size is None:
        if len(data) >= COMMIT_READ_BYTES:
            raise _Unsupported(f"{path}: longer than {COMMIT_READ_BYTES} bytes")
    elif len(data) != size:
        raise _Unsupported(f"{path}: {len(data)} bytes where {size} were announced")
    return data


def _check_protocol(protocol: Mapping[str, Any]) -> None:
    reader = int(protocol.get("minReaderVersion") or 1)
    features = set(protocol.get("readerFeatures") or ())
    if reader == 1 or (reader == 3 and features <= KNOWN_READER_FEATURES):
        return
    raise _Unsupported(f"reader protocol {reader} {sorted(features)}")


def _check_metadata(metadata: Mapping[str, Any], state: dict[str, Any]) -> None:
    configuration = dict(metadata.get("configuration") or {})
    if configuration.get("delta.columnMapping.mode", "none") != "none":
        raise _Unsupported("column mapping")
    if tuple(metadata.get("partitionColumns") or ()) != PARTITION_BY:
        raise _Unsupported("other partition columns")
    state["metadata"] = configuration


def _replay_checkpoint(data: bytes | None, files: dict[str, Any], state: dict[str, Any]) -> None:
    """The checkpoint's active files (``add``), protocol and metadata."""
    if data is None:
        raise _Unsupported("the last checkpoint is gone")
    parquet = pq.ParquetFile(pa.BufferReader(data))
    names = set(parquet.schema_arrow.names)
    if "sidecar" in names:
        sidecars = parquet.read(columns=["sidecar"]).column("sidecar")
        if sidecars.null_count != len(sidecars):
            raise _Unsupported("a checkpoint with sidecars")
    table = parquet.read(columns=["add", "protocol", "metaData"])
    for protocol in _rows(table, "protocol"):
        _check_protocol(protocol)
    for metadata in _rows(table, "metaData"):
        # Arrow maps come as lists of (key, value) pairs.
        metadata["configuration"] = dict(metadata.get("configuration") or [])
        _check_metadata(metadata, state)
    for add in _rows(table, "add"):
        add["partitionValues"] = dict(add.get("partitionValues") or [])
        _add(add, files, state)


def _rows(table: pa.Table, name: str) -> list[dict[str, Any]]:
    """The non-null values of a struct column, as dicts."""
    return [row for row in table.column(name).drop_null().to_pylist() if row is not None]


def _replay_commit(data: bytes, files: dict[str, Any], state: dict[str, Any]) -> None:
    """One commit's actions, in order."""
    for line in data.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        if "add" in action:
            _add(action["add"], files, state)
        elif "remove" in action:
            files.pop(action["remove"]["path"], None)
        elif "protocol" in action:
            _check_protocol(action["protocol"])
        elif "metaData" in action:
            _check_metadata(action["metaData"], state)
        elif "commitInfo" in action:
            stamp = action["commitInfo"].get("timestamp")
            if isinstance(stamp, int):
                state["newest_ms"] = max(state["newest_ms"], stamp)
        elif "sidecar" in action or "checkpointMetadata" in action:
            raise _Unsupported("V2 checkpoint actions in a commit")
        # txn, domainMetadata, cdc: nothing a reader of the active files needs.


def _add(add: Mapping[str, Any], files: dict[str, Any], state: dict[str, Any]) -> None:
    if add.get("deletionVector"):
        raise _Unsupported("deletion vectors")
    files[add["path"]] = add
    stamp = add.get("modificationTime")
    if isinstance(stamp, int):
        state["newest_ms"] = max(state["newest_ms"], stamp)


def retention_seconds(value: str | None) -> float:
    """``delta.logRetentionDuration`` in seconds (``interval 7 days``, ``interval 463
    seconds``); Delta's default when unset.

    Raises:
        ValueError: A value this reader cannot read.
    """
    if value is None:
        return DEFAULT_RETENTION_S
    match = _INTERVAL.match(value)
    if match is None or match[2].lower() not in _UNITS:
        raise ValueError(f"unreadable interval {value!r}")
    return int(match[1]) * _UNITS[match[2].lower()]


def _check_fresh(state: dict[str, Any]) -> None:
    """The newest commit is young enough that no commit after it can have been cleaned up
    (the newest file or commit time is a lower bound of its time)."""
    if state["metadata"] is None:
        raise _Unsupported("no metadata in the checkpoint")
    try:
        retention = retention_seconds(state["metadata"].get("delta.logRetentionDuration"))
    except ValueError as error:
        raise _Unsupported(str(error)) from error
    margin = min(RETENTION_MARGIN_S, retention / 2)
    if state["newest_ms"] / 1000 < _now_s() - (retention - margin):
        raise _Unsupported("the newest commit is older than the log retention")


def _entries(
    files: dict[str, dict[str, Any]],
    partition: Mapping[str, str],
    stats: Mapping[str, pa.DataType],
) -> list[dict[str, Any]]:
    entries = []
    for path, add in files.items():
        values = add.get("partitionValues") or {}
        if any(values.get(name) != value for name, value in partition.items()):
            continue
        entries.append(file_entry(path, int(add["size"]), values, _ranges(add.get("stats"), stats)))
    return entries


def _ranges(text: str | None, types: Mapping[str, pa.DataType]) -> dict[str, tuple[Any, Any]]:
    """Each column's exact (min, max) from an add action's JSON statistics (the rule of
    ``delta_catalog.exact_range``; dates are ISO strings there)."""
    if not text:
        return {}
    stats = json.loads(text)
    low_values = stats.get("minValues") or {}
    high_values = stats.get("maxValues") or {}
    nulls = stats.get("nullCount") or {}
    ranges: dict[str, tuple[Any, Any]] = {}
    for name, type_ in types.items():
        low, high = low_values.get(name), high_values.get(name)
        if not isinstance(low, str) or not isinstance(high, str):
            continue
        if pa.types.is_date(type_):
            low, high = datetime.date.fromisoformat(low), datetime.date.fromisoformat(high)
        elif not pa.types.is_string(type_):
            continue
        found = exact_range(low, high, nulls.get(name))
        if found is not None:
            ranges[name] = found
    return ranges
