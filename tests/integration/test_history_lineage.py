"""The history file's lineage columns, written as one-value dictionaries (issue #17).

The landing hands the lineage constants to the Parquet writer as dictionaries (no hashing
of every row's copy) and leaves the Arrow schema out of the file, which would otherwise
say ``dictionary``. These tests land the same staged table both ways and compare what a
reader gets: the schema (types, names, nullability), the file's metadata, every value;
and check that a schema whose types the Parquet types alone would not give back
(``large_string``) is written the plain way, Arrow schema included.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sintegre.lake import landing
from sintegre.lake.landing import land
from sintegre.lake.layout import StagedTable

NOW = datetime(2025, 9, 8, 12, 0, tzinfo=UTC)


def _conf() -> tuple[dict[str, Any], dict[str, Any]]:
    conf = {
        "nome": "Vazões ONS",
        "product_id": 7,
        "notification_id": "n-1",
        "dataset": "vazoes",
        "macroprocesso_slug": "operacao",
        "macroProcesso": "Operação",
        "periodicidade_date": "2025-09-07",
        "periodicidade_final_date": "2025-09-07T23:59:59",
        "granularity": "daily",
        "token_nbf": 1_757_203_200,
    }
    download = {"file_name": "v.csv", "sha256": "ab" * 32, "raw_path": "raw/vazoes/v.csv"}
    return conf, download


def _land(tmp_path: Path, table: pa.Table, name: str) -> Path:
    staged_path = tmp_path / f"{name}.parquet"
    pq.write_table(table, staged_path, row_group_size=3000)
    staged = StagedTable(
        name="",
        path=str(staged_path),
        source_member="",
        original_columns=list(table.column_names),
        rows=table.num_rows,
    )
    conf, download = _conf()
    land([staged], conf, download, lake_root=tmp_path / name, run_id="run-1", now=NOW)
    [history] = (tmp_path / name / "history").rglob("*.parquet")
    return history


def _table(text_type: pa.DataType) -> pa.Table:
    rows = 10_000
    return pa.table(
        {
            "data": pa.array([i % 31 for i in range(rows)], pa.int32()).cast(pa.date32()),
            "nome": pa.array(
                [None if i % 5 == 0 else f"Três {i % 7}" for i in range(rows)], text_type
            ),
            "valor": pa.array([i / 100 for i in range(rows)], pa.float64()),
            "src_file": pa.array(["clash"] * rows),  # kept as src_file_data
        }
    )


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string()])
def test_history_reads_back_as_the_plain_writer_gives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_type: pa.DataType
) -> None:
    table = _table(text_type)
    fast = pq.ParquetFile(_land(tmp_path, table, "fast"))
    with monkeypatch.context() as patched:
        patched.setattr(landing, "_plain_types_survive", lambda schema: False)
        plain = pq.ParquetFile(_land(tmp_path, table, "plain"))
    assert fast.schema_arrow.equals(plain.schema_arrow, check_metadata=True)
    assert fast.read().equals(plain.read())
    assert fast.metadata.num_rows == plain.metadata.num_rows == table.num_rows
    # Statistics where readers prune by them: the file's own columns and src_version (the
    # views' join key); not the other lineage columns, one value per file (a quarter of the
    # write's time went into them).
    with_stats = {
        fast.metadata.row_group(0).column(index).path_in_schema
        for index in range(fast.metadata.num_columns)
        if fast.metadata.row_group(0).column(index).is_stats_set
    }
    assert with_stats == {"data", "nome", "valor", "src_file_data", "src_version"}
    for index in range(fast.metadata.num_columns):
        name = fast.metadata.row_group(0).column(index).path_in_schema
        stats = fast.metadata.row_group(0).column(index).statistics
        expected = plain.metadata.row_group(0).column(index).statistics
        assert (stats is None) == (expected is None), name
        if stats is not None and expected.has_min_max:
            assert (stats.min, stats.max) == (expected.min, expected.max), name
    stored_arrow_schema = b"ARROW:schema" in (fast.metadata.metadata or {})
    assert stored_arrow_schema == (text_type == pa.large_string())


def test_the_read_ahead_keeps_order_raises_the_readers_error_and_closes_cleanly() -> None:
    """The history write decodes the next batch in a thread (``landing._read_ahead``): every
    batch in order, a failed read raised to the writer, and closing it early waits for the
    read in flight (the staged file is closed next)."""
    import contextlib
    import threading

    batches = [pa.record_batch({"n": [i]}) for i in range(5)]
    assert [b["n"][0].as_py() for b in landing._read_ahead(iter(batches))] == list(range(5))

    def failing() -> Iterator[pa.RecordBatch]:
        yield batches[0]
        raise OSError("the staged file went away")

    with pytest.raises(OSError, match="went away"):
        list(landing._read_ahead(failing()))

    reading = threading.Event()
    finished = threading.Event()

    def slow() -> Iterator[pa.RecordBatch]:
        yield batches[0]
        reading.set()
        finished.wait(0.2)
        finished.set()
        yield batches[1]

    with contextlib.closing(landing._read_ahead(slow())) as ahead:
        next(ahead)
        assert reading.wait(5)
    assert finished.is_set()  # closed only once the read in flight was done
