"""Big text files to Parquet with bounded memory.

:func:`~sintegre.readers.text.delimited.read_delimited` holds a whole file (bytes, text and
columns) in memory, several times its size. Some ONS exports are hundreds of megabytes, so
:func:`stream_delimited_to_parquet` converts them chunk by chunk instead, with the same
result (names, types, values) as ``read_delimited`` would give:

1. The first megabytes decide the encoding, the delimiter, the header and a type for
   every column, exactly as ``read_delimited`` decides them on a whole file.
2. The file is parsed in chunks of ``chunk_bytes`` (:mod:`~sintegre.readers.text.batches`:
   Arrow's streaming CSV reader, its cells decoded column by column; the csv module for
   ragged, whitespace-aligned and fixed-width files), every chunk converted to the decided
   types and appended to a Parquet file.
3. A chunk may not fit a type decided from the sample: a text value in a numeric
   column after row 200 000, decimals in a column that started with integers. No value
   is ever dropped or nulled: the Parquet file is abandoned, one typing pass over the
   whole file decides the types as ``read_delimited`` would (numbers, else text), and a
   second writing pass uses them. Memory stays bounded by the chunk size throughout.
"""

from __future__ import annotations

import codecs
import itertools
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from sintegre.catalog.spec import ParseSpec
from sintegre.readers.detect import HEAD_BYTES, looks_binary
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.model import ParsedTable, staged_writer
from sintegre.readers.text.batches import (
    WORKERS,
    ArrowGaveUp,
    StreamPlan,
    Wider,
    read_batches,
    string_columns,
)
from sintegre.readers.text.encodings import LENIENT_CP1252, detect_encoding, resolve_encoding
from sintegre.readers.text.fixedwidth import fixed_width_headers, naming_spec, slice_fields
from sintegre.readers.text.headers import select_columns
from sintegre.readers.text.inference import (
    STRING_TYPE,
    TextType,
    TextTypeMismatch,
    TextTypeTracker,
    convert_text_column,
    normalize_text,
)
from sintegre.readers.text.layout import WHITESPACE, TextLayout, find_layout
from sintegre.readers.text.numbers import DecimalStyle
from sintegre.readers.text.transcode import BadEncoding

__all__ = ["SAMPLE_BYTES", "stream_delimited_to_parquet"]

SAMPLE_BYTES = 1 << 20
"""How much of the file decides the encoding, layout and first-guess types."""

_MAX_ATTEMPTS = 8
_SAMPLE_ROWS = 20_000
#: Rows per Parquet row group written (small read blocks are gathered up to this).
_ROW_GROUP_ROWS = 256 * 1024


class _Retype(Exception):
    """A chunk does not fit a column's sampled type: decide the types over the whole file."""


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
        except ArrowGaveUp:
            plan = replace(plan, use_arrow=False)
        except Wider as wider:
            extra = (TextType("string", tentative=True),) * (wider.width - plan.width)
            plan = replace(plan, width=wider.width, types=plan.types + extra)
        except BadEncoding as error:
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


def _initial_plan(sample: str, encoding: str, label: str, spec: ParseSpec) -> StreamPlan:
    if spec.fixed_width:
        lines = [line for line in sample.splitlines()[spec.skip_rows or 0 :] if line.strip()]
        header_line = lines[0] if spec.header and lines else None
        layout = TextLayout(None, spec.decimal, fixed_width_headers(header_line, spec), None)
        data = lines[1:] if header_line is not None else lines
        sliced = slice_fields(pa.array(data[:_SAMPLE_ROWS], pa.string()), spec.fixed_width)
        types = tuple(_sample_type(normalize_text(column), spec.decimal) for column in sliced)
        return StreamPlan(encoding, layout, len(spec.fixed_width), types, False)
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
    columns = [normalize_text(column) for column in string_columns(rows, width)]
    sampled = [_sample_type(column, layout.decimal) for column in columns]
    use_arrow = layout.delimiter not in (None, WHITESPACE) and bool(rows)
    return StreamPlan(encoding, layout, width, tuple(sampled), use_arrow)


def _sample_type(column: pa.Array[Any], decimal: DecimalStyle) -> TextType:
    tracker = TextTypeTracker(decimal, booleans=True)
    tracker.update(column, exhaustive=False)
    return tracker.decision()


def _headers(plan: StreamPlan) -> list[str]:
    headers = list(plan.layout.headers)
    return headers + [""] * (plan.width - len(headers))


def _write(
    path: Path, label: str, out_path: Path, spec: ParseSpec, plan: StreamPlan, chunk_bytes: int
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
        STRING_TYPE if text else plan.types[index]
        for index, text in zip(keep, as_text, strict=True)
    ]
    schema = pa.schema([pa.field(name, t.arrow_type) for name, t in zip(names, types, strict=True)])

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with (
            staged_writer(tmp, schema) as writer,
            ThreadPoolExecutor(max_workers=WORKERS) as pool,
        ):
            pending: list[pa.Table] = []
            pending_rows = 0
            for batch in read_batches(path, label, spec, plan, chunk_bytes):
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


def _convert(column: pa.Array[Any], text_type: TextType) -> pa.Array[Any]:
    return convert_text_column(normalize_text(column), text_type)


def _type_whole_file(
    path: Path, label: str, spec: ParseSpec, plan: StreamPlan, chunk_bytes: int
) -> tuple[TextType, ...]:
    trackers = [TextTypeTracker(plan.layout.decimal, booleans=True) for _ in range(plan.width)]
    for batch in read_batches(path, label, spec, plan, chunk_bytes):
        for tracker, column in zip(trackers, batch, strict=True):
            tracker.update(normalize_text(column))
    return tuple(
        replace(tracker.decision(), tentative=False) if tracker.has_values else tracker.decision()
        for tracker in trackers
    )
