"""Big text files to Parquet with bounded memory.

:func:`~sintegre.readers.delimited.read_delimited` holds a whole file (bytes, text and
columns) in memory, several times its size. Some ONS exports are hundreds of megabytes, so
:func:`stream_delimited_to_parquet` converts them chunk by chunk instead, with the same
result (names, types, values) as ``read_delimited`` would give:

1. The first megabytes decide the encoding, the delimiter, the header and a type for
   every column, exactly as ``read_delimited`` decides them on a whole file.
2. The file is parsed in chunks of ``chunk_bytes`` (Arrow's streaming CSV reader, which
   transcodes latin-1/cp1252 to UTF-8 block by block; the csv module for ragged,
   whitespace-aligned and fixed-width files), every chunk converted to the decided types
   and appended to a Parquet file.
3. A chunk may not fit a type decided from the sample: a text value in a numeric
   column after row 200 000, decimals in a column that started with integers. No value
   is ever dropped or nulled: the Parquet file is abandoned, one typing pass over the
   whole file decides the types as ``read_delimited`` would (numbers, else text), and a
   second writing pass uses them. Memory stays bounded by the chunk size throughout.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sintegre.catalog.spec import ParseSpec
from sintegre.readers.columns import (
    DecimalStyle,
    TextType,
    TextTypeMismatch,
    TextTypeTracker,
    convert_text_column,
    normalize_text,
)
from sintegre.readers.delimited import (
    WHITESPACE,
    TextLayout,
    filled_rows,
    find_layout,
    select_columns,
    split_whitespace,
)
from sintegre.readers.detect import HEAD_BYTES, looks_binary
from sintegre.readers.encodings import LENIENT_CP1252, detect_encoding, resolve_encoding
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.fixedwidth import fixed_width_headers, naming_spec, slice_fields
from sintegre.readers.model import ParsedTable

__all__ = ["SAMPLE_BYTES", "stream_delimited_to_parquet"]

SAMPLE_BYTES = 1 << 20
"""How much of the file decides the encoding, layout and first-guess types."""

_MAX_ATTEMPTS = 8
_SAMPLE_ROWS = 20_000
#: Rows per Parquet row group written (small read blocks are gathered up to this).
_ROW_GROUP_ROWS = 256 * 1024


class _BadEncoding(Exception):
    """The file stops being valid in the encoding chosen from its head."""


class _ArrowGaveUp(Exception):
    """Arrow's reader cannot read the rows as laid out (ragged rows): use the csv module."""


class _Wider(Exception):
    """A row has more fields than the columns decided so far."""

    def __init__(self, width: int) -> None:
        super().__init__(width)
        self.width = width


class _Retype(Exception):
    """A chunk does not fit a column's sampled type: decide the types over the whole file."""


@dataclass(frozen=True)
class _Plan:
    encoding: str
    layout: TextLayout
    width: int
    types: tuple[TextType, ...]
    use_arrow: bool


def stream_delimited_to_parquet(
    path: Path,
    label: str,
    out_path: Path,
    spec: ParseSpec | None = None,
    chunk_bytes: int = 64 << 20,
) -> ParsedTable:
    """Convert a large CSV/TXT file to a Parquet file without holding it in memory.

    Args:
        path: The text file.
        label: File description for error messages.
        out_path: The Parquet file to write (replaced atomically; parent created).
        spec: The catalog's overrides, as for ``read_delimited``.
        chunk_bytes: Size of the chunks parsed at once; memory use is a small multiple.

    Returns:
        A table with ``path=out_path`` whose ``table`` is empty but has the final schema;
        names, types and ``original_columns`` are those ``read_delimited`` gives.

    Raises:
        ParseError: The file is empty or not valid in the catalog's encoding.
        UnsupportedFormatError: The file is binary.
    """
    spec = spec or ParseSpec()
    path, out_path = Path(path), Path(out_path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    complete = len(head) == size
    if spec.encoding:
        encoding = resolve_encoding(spec.encoding)
        wide = encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32"))
        if not wide and looks_binary(head[:HEAD_BYTES]):
            raise UnsupportedFormatError(f"{label}: the file is binary, not {spec.encoding} text")
    else:
        encoding = detect_encoding(head, label, complete=complete)
    sample = _decode_sample(head, encoding, complete, label, spec)
    if not sample.strip():
        raise ParseError(f"{label}: the file is empty (no header and no data)")

    plan = _initial_plan(sample, encoding, label, spec)
    for _ in range(_MAX_ATTEMPTS):
        try:
            return _write(path, label, out_path, spec, plan, chunk_bytes)
        except _ArrowGaveUp:
            plan = replace(plan, use_arrow=False)
        except _Wider as wider:
            extra = (TextType("string", tentative=True),) * (wider.width - plan.width)
            plan = replace(plan, width=wider.width, types=plan.types + extra)
        except _BadEncoding as error:
            if spec.encoding or plan.encoding == LENIENT_CP1252:
                raise ParseError(
                    f"{label}: the text is not valid {spec.encoding or plan.encoding} ({error})"
                ) from error
            # Valid UTF-8 in the first megabytes, latin-1 later: the whole file is cp1252.
            plan = _initial_plan(
                _decode_sample(head, LENIENT_CP1252, complete, label, spec),
                LENIENT_CP1252,
                label,
                spec,
            )
        except _Retype:
            plan = replace(plan, types=_type_whole_file(path, label, spec, plan, chunk_bytes))
    raise ParseError(f"{label}: the file's layout kept changing while streaming it")


def _decode_sample(head: bytes, encoding: str, complete: bool, label: str, spec: ParseSpec) -> str:
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeDecodeError as error:
        raise ParseError(
            f"{label}: the text is not valid {spec.encoding or encoding} "
            f"(byte {error.start}: {error.reason}); check the encoding in the catalog"
        ) from error
    except LookupError as error:
        raise ParseError(f"{label}: unknown text encoding {encoding!r} in the catalog") from error
    text = text.lstrip("\ufeff")
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else text
    return text


def _initial_plan(sample: str, encoding: str, label: str, spec: ParseSpec) -> _Plan:
    if spec.fixed_width:
        lines = [line for line in sample.splitlines()[spec.skip_rows or 0 :] if line.strip()]
        header_line = lines[0] if spec.header and lines else None
        layout = TextLayout(None, spec.decimal, fixed_width_headers(header_line, spec), None)
        data = lines[1:] if header_line is not None else lines
        sliced = slice_fields(pa.array(data[:_SAMPLE_ROWS], pa.string()), spec.fixed_width)
        types = tuple(_sample_type(normalize_text(column), spec.decimal) for column in sliced)
        return _Plan(encoding, layout, len(spec.fixed_width), types, False)
    layout, rest = find_layout(sample, label, spec)
    if layout.first_data is None:
        # No data row in the sample: none at all when it is the whole file; otherwise
        # (a header of a megabyte?) data would start after the sample's lines.
        layout = replace(layout, first_data=(sample.count("\n"), []))
        rows: list[list[str]] = []
    else:
        rows = [layout.first_data[1]]
        rows += [row for _, row in itertools.islice(rest, _SAMPLE_ROWS)]
    width = max([len(layout.headers), *(len(row) for row in rows)])
    columns = [normalize_text(column) for column in _columns(rows, width)]
    sampled = [_sample_type(column, layout.decimal) for column in columns]
    use_arrow = layout.delimiter not in (None, WHITESPACE) and bool(rows)
    return _Plan(encoding, layout, width, tuple(sampled), use_arrow)


def _sample_type(column: pa.Array[Any], decimal: DecimalStyle) -> TextType:
    tracker = TextTypeTracker(decimal, booleans=True)
    tracker.update(column, exhaustive=False)
    return tracker.decision()


def _headers(plan: _Plan) -> list[str]:
    headers = list(plan.layout.headers)
    return headers + [""] * (plan.width - len(headers))


def _write(
    path: Path, label: str, out_path: Path, spec: ParseSpec, plan: _Plan, chunk_bytes: int
) -> ParsedTable:
    headers = _headers(plan)
    naming = naming_spec(spec) if spec.fixed_width else spec
    trackers = {
        index: TextTypeTracker(plan.layout.decimal, booleans=True)
        for index, text_type in enumerate(plan.types)
        if text_type.tentative
    }
    has_values = [not text_type.tentative for text_type in plan.types]
    keep, names, as_text = select_columns(headers, has_values, naming)
    types = [
        STRING if text else plan.types[index] for index, text in zip(keep, as_text, strict=True)
    ]
    schema = pa.schema([pa.field(name, t.arrow_type) for name, t in zip(names, types, strict=True)])

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with (
            pq.ParquetWriter(tmp, schema) as writer,
            ThreadPoolExecutor(max_workers=_WORKERS) as pool,
        ):
            pending: list[pa.Table] = []
            pending_rows = 0
            for batch in _batches(path, label, spec, plan, chunk_bytes):
                for index, tracker in trackers.items():
                    tracker.update(normalize_text(batch[index]))
                # Arrow's kernels release the GIL: columns convert in parallel.
                jobs = [
                    pool.submit(_convert, batch[index], text_type)
                    for index, text_type in zip(keep, types, strict=True)
                ]
                del batch
                try:
                    arrays = [job.result() for job in jobs]
                except TextTypeMismatch as error:
                    raise _Retype from error
                if arrays and len(arrays[0]):
                    pending.append(pa.Table.from_arrays(arrays, schema=schema))
                    pending_rows += len(arrays[0])
                del arrays, jobs
                if pending_rows >= _ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending))
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending))
            del pending
        # Columns that were empty (or only "S") in the sample are typed by the whole file;
        # an unnamed one that got values after the sample must be kept.
        final = list(plan.types)
        kept = set(keep)
        for index, tracker in trackers.items():
            if tracker.has_values:
                final[index] = replace(tracker.decision(), tentative=False)
        if any(
            final[index].kind != "string" or (tracker.has_values and index not in kept)
            for index, tracker in trackers.items()
        ):
            tmp.unlink(missing_ok=True)
            retyped = replace(plan, types=tuple(final))
            return _write(path, label, out_path, spec, retyped, chunk_bytes)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return ParsedTable(
        name="",
        table=schema.empty_table(),
        source_member="",
        original_columns=[headers[index] for index in keep],
        path=out_path,
    )


STRING = TextType("string")
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _convert(column: pa.Array[Any], text_type: TextType) -> pa.Array[Any]:
    return convert_text_column(normalize_text(column), text_type)


def _type_whole_file(
    path: Path, label: str, spec: ParseSpec, plan: _Plan, chunk_bytes: int
) -> tuple[TextType, ...]:
    trackers = [TextTypeTracker(plan.layout.decimal, booleans=True) for _ in range(plan.width)]
    for batch in _batches(path, label, spec, plan, chunk_bytes):
        for tracker, column in zip(trackers, batch, strict=True):
            tracker.update(normalize_text(column))
    return tuple(
        replace(tracker.decision(), tentative=False) if tracker.has_values else tracker.decision()
        for tracker in trackers
    )


def _batches(
    path: Path, label: str, spec: ParseSpec, plan: _Plan, chunk_bytes: int
) -> Iterator[list[pa.Array[Any]]]:
    """Yield the data rows in chunks, as ``plan.width`` raw string columns."""
    if plan.use_arrow:
        yield from _arrow_batches(path, plan, chunk_bytes)
    else:
        yield from _python_batches(path, spec, plan, chunk_bytes)


def _arrow_batches(path: Path, plan: _Plan, chunk_bytes: int) -> Iterator[list[pa.Array[Any]]]:
    layout = plan.layout
    assert layout.delimiter is not None and layout.first_data is not None
    start_line, first_row = layout.first_data
    names = [f"f{index}" for index in range(plan.width)]
    # UTF-8 and single-byte files (cp1252, latin-1, cp850) are split as raw bytes and each
    # column is decoded on its own (:func:`_decoder`), which is much cheaper than Arrow
    # transcoding the whole file through a Python codec; UTF-16/32 still go that way.
    decode = _decoder(plan.encoding)
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
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
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
                raise _ArrowGaveUp  # the two parsers disagree on where the data starts
            first = False
        mask = filled_rows(columns)
        if not pc.all(mask).as_py():  # copy only when there are blank rows to drop
            columns = [column.filter(mask) for column in columns]
        yield columns


def _decoder(encoding: str) -> Callable[[pa.Array[Any]], pa.Array[Any]] | None:
    """A function decoding one binary column of the file to UTF-8 strings, or None.

    UTF-8 is validated in place. A single-byte code page is decoded by Python's codec in
    one call per column, and the offsets are shifted by the extra UTF-8 bytes of the
    non-ASCII characters (a column without any is reused as is).
    """
    if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8"):
        return _utf8_column
    extra = _extra_utf8_bytes(encoding)
    if extra is None:
        return None

    def decode(column: pa.Array[Any]) -> pa.Array[Any]:
        return _single_byte_column(column, encoding, extra)

    return decode


def _utf8_column(column: pa.Array[Any]) -> pa.Array[Any]:
    try:
        return pc.cast(column, pa.string())
    except pa.ArrowInvalid as error:
        raise _BadEncoding(f"invalid UTF-8 ({error})") from error


@functools.cache
def _extra_utf8_bytes(encoding: str) -> np.ndarray | None:
    # Per byte value: UTF-8 length of its character minus one; None for codecs that are
    # not one character per byte (UTF-16, multi-byte Asian code pages...).
    try:
        chars = bytes(range(256)).decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if len(chars) != 256:
        return None
    return np.array([len(char.encode("utf-8")) - 1 for char in chars], dtype=np.int64)


#: Columns at least this long are probed for repeated values (decoded once each).
_DICTIONARY_MIN_ROWS = 4096
_DICTIONARY_PROBE_ROWS = 10_000


def _repetitive(column: pa.Array[Any]) -> bool:
    head = column.slice(0, _DICTIONARY_PROBE_ROWS)
    return pc.count_distinct(head).as_py() * 8 < len(head)


@functools.cache
def _latin1_compatible(encoding: str) -> np.ndarray:
    """Per byte value: the code page decodes it to the same character as latin-1."""
    chars = bytes(range(256)).decode(encoding)
    return np.array([char == chr(code) for code, char in enumerate(chars)], dtype=bool)


def _single_byte_column(
    column: pa.Array[Any], encoding: str, extra: np.ndarray, *, dictionary: bool = True
) -> pa.Array[Any]:
    if column.offset or column.null_count:
        column = pa.concat_arrays([column])  # offset 0; the CSV reader never makes nulls
    if column.null_count:
        decoded = [None if v is None else v.decode(encoding) for v in column.to_pylist()]
        decoded_column: pa.Array[Any] = pa.array(decoded)
        return decoded_column
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[: len(column) + 1]  # type: ignore[call-overload]  # pyarrow-stubs: a pyarrow Buffer is a Python buffer
    if data_buffer is None or offsets[-1] == offsets[0]:
        text_column: pa.Array[Any] = column.cast(pa.string())
        return text_column
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]  # type: ignore[call-overload]  # pyarrow-stubs: a pyarrow Buffer is a Python buffer
    high = np.flatnonzero(data >= 0x80)
    if not len(high):
        return column.cast(pa.string())  # ASCII: already valid UTF-8
    if dictionary and len(column) >= _DICTIONARY_MIN_ROWS and _repetitive(column):
        # Names, flags and remarks repeat: decode each distinct value once, then spread.
        encoded = pc.dictionary_encode(column)
        decoded = _single_byte_column(encoded.dictionary, encoding, extra, dictionary=False)  # type: ignore[assignment, attr-defined]  # pyarrow-stubs narrower than pyarrow
        return pc.take(decoded, encoded.indices)  # type: ignore[attr-defined, call-overload, no-any-return]  # pyarrow-stubs narrower than pyarrow
    # Where the code page agrees with latin-1 on every high byte present (cp1252 text
    # without curly quotes, dashes or the euro sign), CPython's latin-1 codec is a copy.
    latin1 = _latin1_compatible(encoding)[data[high]].all()
    text = codecs.decode(data.tobytes(), "latin-1" if latin1 else encoding).encode("utf-8")
    added = np.cumsum(extra[data[high]])
    relative = (offsets - offsets[0]).astype(np.int64)
    before = np.searchsorted(high, relative, side="left")
    shifted = relative + np.where(before > 0, added[np.maximum(before - 1, 0)], 0)
    assert shifted[-1] == len(text)
    return pa.Array.from_buffers(
        pa.string(),
        len(column),
        [None, pa.py_buffer(shifted.astype(np.int32)), pa.py_buffer(text)],
    )


def _classify(error: Exception) -> Exception:
    if isinstance(error, UnicodeDecodeError) or "utf8" in str(error).lower():
        return _BadEncoding(str(error))
    return _ArrowGaveUp(str(error))


def _python_batches(
    path: Path, spec: ParseSpec, plan: _Plan, chunk_bytes: int
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
        raise _BadEncoding(str(error)) from error


def _columns(rows: list[list[str]], width: int) -> list[pa.Array[Any]]:
    if not rows:
        return [pa.array([], pa.string()) for _ in range(width)]
    longest = max(map(len, rows))
    if longest > width:
        raise _Wider(longest)
    padded = [row if len(row) == width else row + [None] * (width - len(row)) for row in rows]
    return [pa.array(column, pa.string()) for column in zip(*padded, strict=True)]


def _csv_batches(
    handle: Iterable[str], plan: _Plan, start: int, chunk_bytes: int
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
            yield _columns(rows, plan.width)
            rows, size = [], 0
    if rows:
        yield _columns(rows, plan.width)


def _line_batches(
    handle: Iterable[str], plan: _Plan, start: int, chunk_bytes: int
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
            yield _columns(rows, plan.width)
            rows, size = [], 0
    if rows:
        yield _columns(rows, plan.width)


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
