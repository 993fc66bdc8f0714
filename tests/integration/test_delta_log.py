"""The catalog table's files read from the tail of its Delta log (``sintegre.lake.delta_log``):
the same files as delta-rs's snapshot after appends, checkpoints and compactions, and None
(delta-rs reads the log) whenever the log is one it does not fully understand."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sintegre.lake import decision as lake_decision
from sintegre.lake import delta_catalog, delta_log
from sintegre.lake.maintenance import maintain_catalog
from sintegre.lake.storage import LakeStore, open_store

T0 = datetime(2025, 4, 1, tzinfo=UTC)
PARTITIONS = [("m", "2025-03"), ("m", "2025-04"), ("o", "2025-04")]


def _append(store: LakeStore, macro: str, day: str, label: str, dataset: str = "carga") -> None:
    row = {
        "ingestion_id": f"i-{label}",
        "dataset": dataset,
        "sha256": f"{label:0>64}",
        "version": f"{label:0>64}",
        "outcome": "new",
        "delivered_at": T0,
        "ingested_at": T0,
    }
    delta_catalog.append(store, delta_catalog.to_arrow([row], macro, day))


def _tail(store: LakeStore, macro: str, month: str) -> list[dict[str, Any]] | None:
    partition = {"macroprocesso": macro, "periodo_mes": month}
    found = delta_catalog._tail_entries(store, partition)
    return None if found is None else sorted(found, key=lambda entry: entry["key"])


def _reference(store: LakeStore, macro: str, month: str) -> list[dict[str, Any]]:
    """delta-rs's snapshot of the newest version, filtered the same way."""
    partition = {"macroprocesso": macro, "periodo_mes": month}
    entries = delta_catalog._entries_of(delta_catalog.open_table(store), partition)
    return sorted(entries, key=lambda entry: entry["key"])


def _log(store: LakeStore) -> Path:
    return store.local_path(f"{delta_catalog.TABLE_KEY}/_delta_log")


def _same_as_delta_rs(store: LakeStore) -> None:
    for macro, month in PARTITIONS:
        assert _tail(store, macro, month) == _reference(store, macro, month)


def test_the_log_tail_names_the_files_delta_rs_names(tmp_path: Path) -> None:
    """After every commit (one JSON after a checkpoint, or none), a compaction that removes
    files and adds one, and a partition's statistics (dates as dates, datasets as strings)."""
    store = open_store(tmp_path / "lake")
    _append(store, "m", "2025-04-29", "a")
    # Version 0 and no checkpoint yet: delta-rs reads the log.
    assert _tail(store, "m", "2025-04") is None
    assert [v["ingestion_id"] for v in lake_decision.partition_versions(store, "m", "2025-04-29")]
    days = ["2025-04-29", "2025-04-30", "2025-03-02", "2025-04-29", "2025-04-01"]
    for i, day in enumerate(days):
        _append(store, "m" if i % 2 else "o", day, f"b{i}", dataset=f"ds{i % 3}")
        _same_as_delta_rs(store)
    maintain_catalog(store)  # compaction (removes and adds) and a checkpoint
    _same_as_delta_rs(store)
    replayed = []
    for i in range(2):
        # A compaction's removes replayed from its commit (one of the two has no checkpoint
        # of its own: ``delta.checkpointInterval=2``).
        _append(store, "m", "2025-04-02", f"r{i}")
        _append(store, "m", "2025-04-03", f"q{i}")
        delta_catalog.open_table(store).optimize.compact()
        replayed.append(_removes_after_checkpoint(store))
        _same_as_delta_rs(store)
        _append(store, "o", "2025-04-03", f"p{i}")
        _same_as_delta_rs(store)
    for i, day in enumerate(days):
        _append(store, "m", day, f"c{i}")
        _same_as_delta_rs(store)
    [first, *_] = _tail(store, "m", "2025-04") or [{}]
    assert first["ranges"]["periodicidade"][0].isoformat().startswith("2025-04")
    assert isinstance(first["ranges"]["dataset"][0], str)
    rows = lake_decision.partition_versions(store, "m", "2025-04-29", ["carga"])
    assert sorted(v["ingestion_id"] for v in rows) == ["i-a", "i-c0", "i-c3"]
    assert any(replayed)


def _removes_after_checkpoint(store: LakeStore) -> bool:
    """Some commit after the last checkpoint removed files (so the replay saw removes)."""
    log = _log(store)
    version = json.loads((log / "_last_checkpoint").read_text())["version"]
    return any(
        '"remove"' in path.read_text()
        for path in log.glob("*.json")
        if int(path.name.split(".")[0]) > version
    )


def test_a_stale_last_checkpoint_still_gives_the_newest_version(tmp_path: Path) -> None:
    """``_last_checkpoint`` naming an older checkpoint (a writer that died between the two
    writes): the commits after it are replayed, up to the newest."""
    store = open_store(tmp_path / "lake")
    for i in range(6):
        _append(store, "m", "2025-04-29", f"s{i}", dataset=f"ds{i}")
    log = _log(store)
    oldest = sorted(log.glob("*.checkpoint.parquet"))[0]
    version = int(oldest.name.split(".")[0])
    assert version < delta_catalog.open_table(store).version() - 2
    pointer = {"version": version, "size": 1, "sizeInBytes": oldest.stat().st_size}
    (log / "_last_checkpoint").write_text(json.dumps(pointer))
    entries = _tail(store, "m", "2025-04")
    assert entries is not None and len(entries) == 6
    assert entries == _reference(store, "m", "2025-04")


def test_a_log_it_does_not_fully_understand_is_left_to_delta_rs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path / "lake")
    for i in range(4):
        _append(store, "m", "2025-04-29", f"u{i}")
    assert _tail(store, "m", "2025-04") is not None
    log = _log(store)
    pointer = json.loads((log / "_last_checkpoint").read_text())

    def decided() -> list[str]:
        rows = lake_decision.partition_versions(store, "m", "2025-04-29")
        return sorted(v["ingestion_id"] for v in rows)

    expected = decided()
    assert expected == [f"i-u{i}" for i in range(4)]

    # Newer than the log retention allows to trust (30 days by default, less an hour).
    monkeypatch.setattr(delta_log, "_now_s", lambda: time.time() + 30 * 86_400)
    assert _tail(store, "m", "2025-04") is None and decided() == expected
    monkeypatch.undo()

    # A commit longer than the range read at once.
    monkeypatch.setattr(delta_log, "COMMIT_READ_BYTES", 16)
    assert _tail(store, "m", "2025-04") is None and decided() == expected
    monkeypatch.undo()

    # A checkpoint whose size differs from the one announced; a multi-part checkpoint.
    for changed in ({"sizeInBytes": pointer["sizeInBytes"] + 1}, {"parts": 2}):
        (log / "_last_checkpoint").write_text(json.dumps({**pointer, **changed}))
        assert _tail(store, "m", "2025-04") is None and decided() == expected
    (log / "_last_checkpoint").write_text(json.dumps(pointer))
    assert _tail(store, "m", "2025-04") is not None

    # A later commit with deletion vectors, or a reader feature it does not know.
    following = log / f"{delta_catalog.open_table(store).version() + 1:020d}.json"
    [added] = [
        json.loads(line)["add"]
        for path in sorted(log.glob("*.json"))[-1:]
        for line in path.read_text().splitlines()
        if '"add"' in line
    ]
    vector = {"storageType": "u", "pathOrInlineDv": "x", "sizeInBytes": 1, "cardinality": 1}
    protocol = {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["deletionVectors"],
        "writerFeatures": ["deletionVectors"],
    }
    for action in ({"add": {**added, "deletionVector": vector}}, {"protocol": protocol}):
        following.write_text(json.dumps(action) + "\n")
        assert _tail(store, "m", "2025-04") is None
    following.unlink()
    assert _tail(store, "m", "2025-04") == _reference(store, "m", "2025-04")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (None, 30 * 86_400),
        ("interval 7 days", 7 * 86_400),
        ("interval 168 hours", 7 * 86_400),
        ("interval 463 seconds", 463),
        ("interval 1 week", 7 * 86_400),
    ],
)
def test_log_retention_intervals(text: str | None, seconds: float) -> None:
    assert delta_log.retention_seconds(text) == seconds


def test_an_unreadable_log_retention_is_an_error() -> None:
    with pytest.raises(ValueError, match="unreadable"):
        delta_log.retention_seconds("forever")
