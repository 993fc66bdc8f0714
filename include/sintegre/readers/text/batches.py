"""The data rows of a text file, in chunks of raw string columns, as a stream plan says.

The streaming reader (:mod:`~sintegre.readers.text.streaming`) decides a
:class:`StreamPlan` from the file's first megabytes and reads the rest through
:func:`read_batches`: Arrow's streaming CSV reader for regular delimited files (their cells
split as bytes and decoded per column by :mod:`~sintegre.readers.text.transcode`), the csv
module for ragged, whitespace-aligned, one-column and fixed-width files. When the file turns
out not to be what the plan says, the batches raise a signal the streaming reader answers by
changing the plan: :class:`ArrowGaveUp`, :class:`Wider`,
:class:`~sintegre.readers.text.transcode.BadEncoding`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sintegre.catalog.spec import ParseSpec
from sintegre.readers.text.delimited import filled_rows
from sintegre.readers.text.fixedwidth import slice_fields
from sintegre.readers.text.inference import TextType
from sintegre.readers.text.layout import WHITESPACE, TextLayout, split_whitespace
from sintegre.readers.text.transcode import BadEncoding, column_decoder

__all__ = ["WORKERS", "ArrowGaveUp", "StreamPlan", "Wider", "read_batches", "string_columns"]

WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Threads decoding and converting a chunk's columns (Arrow's kernels release the GIL)."""


class ArrowGaveUp(Exception):
    """Arrow's reader cannot read the rows as laid out (ragged rows): use the csv module."""


class Wider(Exception):
    """A row has more fields than the columns decided so far."""

    def __init__(self, width: int) -> None:
        """Remember the row's width.

        Args:
            width: The number of fields of the widest row seen.
        """
        super().__init__(width)
        self.width = width


@dataclass(frozen=True)
class StreamPlan:
    """How a text file is read in chunks, decided from its head (and revised while reading).

    Attributes:
        encoding: The file's codec.
        layout: Delimiter, decimal style, headers and first data row.
        width: Number of columns.
        types: One decided type per column.
        use_arrow: Split the rows with Arrow's streaming CSV reader (else the csv module).
    """

    encoding: str
    layout: TextLayout
    width: int
    types: tuple[TextType, ...]
    use_arrow: bool


def read_batches(
    path: Path, label: str, spec: ParseSpec, plan: StreamPlan, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    """Yield the data rows in chunks, as ``plan.width`` raw string columns.

    Args:
        path: The text file.
        label: File description for error messages.
        spec: The catalog's overrides (fixed-width layout, header).
        plan: The stream plan.
        chunk_bytes: About how much text each chunk holds.

    Yields:
        One list of ``plan.width`` string arrays per chunk, blank rows left out.

    Raises:
        ArrowGaveUp: Arrow cannot read the rows as the plan lays them out.
        Wider: A row has more fields than ``plan.width``.
        BadEncoding: The bytes are not valid in ``plan.encoding``.
    """
    if plan.use_arrow:
        yield from _arrow_batches(path, plan, chunk_bytes)
    else:
        yield from _python_batches(path, spec, plan, chunk_bytes)


def _arrow_batches(path: Path, plan: StreamPlan, chunk_bytes: int) -> Iterator[list[pa.Array[Any]]]:
    layout = plan.layout
    assert layout.delimiter is not None and layout.first_data is not None
    start_line, first_row = layout.first_data
    names = [f"f{index}" for index in range(plan.width)]
    # UTF-8 and single-byte files (cp1252, latin-1, cp850) are split as raw bytes and each
    # column is decoded on its own (transcode.column_decoder), which is much cheaper than
    # Arrow transcoding the whole file through a Python codec; UTF-16/32 still go that way.
    decode = column_decoder(plan.encoding)
    encoding = "utf8" if decode is not None else plan.encoding
    cell_type = pa.binary() if decode is not None else pa.string()
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                skip_rows=start_line,
                column_names=names,
                # Arrow reads up to 32 blocks ahead of the consumer (1 GB queued for a 1 GB
                # file with 64 MB blocks): blocks of 1/64 chunk bound that to half a chunk
                # (blocks of 1/16 held two chunks, ~130 MB of a 1 GB file's peak); they are
                # gathered to 1/16 chunk before converting, which costs per batch.
                block_size=_block_bytes(chunk_bytes),
                use_threads=False,
                encoding=encoding,
            ),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, cell_type),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as error:
        raise _classify(error) from error
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from _decoded_batches(
            _gathered(reader, max(chunk_bytes // 16, _block_bytes(chunk_bytes))),
            decode,
            pool,
            first_row,
            plan.width,
        )


def _block_bytes(chunk_bytes: int) -> int:
    return max(chunk_bytes // 64, 1 << 16)


def _gathered(reader: pacsv.CSVStreamingReader, target: int) -> Iterator[pa.RecordBatch]:
    """The reader's batches, concatenated up to about ``target`` bytes each."""
    gathered: list[pa.RecordBatch] = []
    size = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _classify(error) from error
        if not batch.num_rows:
            continue
        gathered.append(batch)
        size += batch.nbytes
        if size >= target:
            yield _concatenated(gathered)
            gathered, size = [], 0
    if gathered:
        yield _concatenated(gathered)


def _concatenated(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _decoded_batches(
    batches: Iterator[pa.RecordBatch],
    decode: Callable[[pa.Array[Any]], pa.Array[Any]] | None,
    pool: ThreadPoolExecutor,
    first_row: list[str],
    width: int,
) -> Iterator[list[pa.Array[Any]]]:
    first = True
    for batch in batches:
        columns = list(batch.columns)
        del batch
        if decode is not None:
            columns = list(pool.map(decode, columns))
        if first:
            padded = first_row + [""] * (width - len(first_row))
            if [column[0].as_py() for column in columns] != padded:
                raise ArrowGaveUp  # the two parsers disagree on where the data starts
            first = False
        mask = filled_rows(columns)
        if not pc.all(mask).as_py():  # copy only when there are blank rows to drop
            columns = [column.filter(mask) for column in columns]
        yield columns


def _classify(error: Exception) -> Exception:
    if isinstance(error, UnicodeDecodeError) or "utf8" in str(error).lower():
        return BadEncoding(str(error))
    return ArrowGaveUp(str(error))


def _python_batches(
    path: Path, spec: ParseSpec, plan: StreamPlan, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    layout = plan.layout
    start = 0 if layout.first_data is None else layout.first_data[0]
    if spec.fixed_width:
        start = spec.skip_rows or 0
    try:
        with path.open(encoding=plan.encoding, newline="") as handle:
            if spec.fixed_width:
                yield from _fixed_width_batches(handle, spec, start, chunk_bytes)
            elif layout.delimiter in (None, WHITESPACE):
                yield from _line_batches(handle, plan, start, chunk_bytes)
            else:
                yield from _csv_batches(handle, plan, start, chunk_bytes)
    except UnicodeDecodeError as error:
        raise BadEncoding(str(error)) from error


def string_columns(rows: list[list[str]], width: int) -> list[pa.Array[Any]]:
    """Turn rows of fields into string columns, short rows padded with nulls.

    Args:
        rows: The rows' fields.
        width: The number of columns.

    Returns:
        ``width`` string arrays.

    Raises:
        Wider: A row has more than ``width`` fields.
    """
    if not rows:
        return [pa.array([], pa.string()) for _ in range(width)]
    longest = max(map(len, rows))
    if longest > width:
        raise Wider(longest)
    padded = [row if len(row) == width else row + [None] * (width - len(row)) for row in rows]
    return [pa.array(column, pa.string()) for column in zip(*padded, strict=True)]


def _csv_batches(
    handle: Iterable[str], plan: StreamPlan, start: int, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    assert plan.layout.delimiter is not None
    reader = csv.reader(handle, delimiter=plan.layout.delimiter)
    rows: list[list[str]] = []
    size, before = 0, 0
    for row in reader:
        line_before, before = before, reader.line_num
        if line_before < start:
            continue
        joined = "".join(row)
        if not joined.strip():
            continue
        rows.append(row)
        size += len(joined) + len(row)
        if size >= chunk_bytes:
            yield string_columns(rows, plan.width)
            rows, size = [], 0
    if rows:
        yield string_columns(rows, plan.width)


def _line_batches(
    handle: Iterable[str], plan: StreamPlan, start: int, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    whitespace = plan.layout.delimiter == WHITESPACE
    rows: list[list[str]] = []
    size = 0
    for number, line in enumerate(handle):
        if number < start or not line.strip():
            continue
        text = line.rstrip("\r\n")
        rows.append(split_whitespace(text, plan.layout.whitespace_width) if whitespace else [text])
        size += len(text)
        if size >= chunk_bytes:
            yield string_columns(rows, plan.width)
            rows, size = [], 0
    if rows:
        yield string_columns(rows, plan.width)


def _fixed_width_batches(
    handle: Iterable[str], spec: ParseSpec, start: int, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    lines: list[str] = []
    size = 0
    header_pending = bool(spec.header)
    for number, line in enumerate(handle):
        if number < start or not line.strip():
            continue
        if header_pending:
            header_pending = False
            continue
        lines.append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield slice_fields(pa.array(lines, pa.string()), spec.fixed_width)
            lines, size = [], 0
    if lines:
        yield slice_fields(pa.array(lines, pa.string()), spec.fixed_width)
