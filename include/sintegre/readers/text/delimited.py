"""CSV and TXT product files, read whole into one typed table.

The file is decoded (:mod:`~sintegre.readers.text.encodings`), its layout found
(:mod:`~sintegre.readers.text.layout`), its rows split by Arrow's CSV reader (the csv module
for ragged, whitespace-aligned and one-column files), and every column typed
(:mod:`~sintegre.readers.text.inference`). Fixed-width ``.dat`` files are read by
:mod:`~sintegre.readers.text.fixedwidth` when the catalog gives their layout; files too big
to hold in memory go through :mod:`~sintegre.readers.text.streaming`, with the same result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sintegre.catalog.spec import ParseSpec
from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable
from sintegre.readers.text.encodings import decode_text
from sintegre.readers.text.fixedwidth import read_fixed_width
from sintegre.readers.text.headers import select_columns
from sintegre.readers.text.inference import infer_text_column, normalize_text
from sintegre.readers.text.layout import (
    SAMPLE_LINES,
    WHITESPACE,
    chain_rows,
    find_layout,
    first_lines,
    offset_of_line,
)

__all__ = ["filled_rows", "read_delimited"]


def read_delimited(path: Path, label: str, spec: ParseSpec | None = None) -> ParsedTable:
    """Read a CSV/TXT file into one typed table.

    Args:
        path: The file on disk.
        label: File description for error messages.
        spec: The catalog's overrides (encoding, delimiter, decimal, header, column names,
            skipped rows, header keyword, text columns, fixed-width layout); None to guess.

    Returns:
        The table, with ``name=""`` and ``source_member=""`` (callers fill them in).

    Raises:
        ParseError: The file is empty, has no header where the catalog says, or is not
            valid in the catalog's encoding.
        UnsupportedFormatError: The file is binary.
    """
    spec = spec or ParseSpec()
    if spec.fixed_width:
        return read_fixed_width(path, label, spec)
    text = decode_text(path.read_bytes(), label, spec.encoding)
    if not text.strip():
        raise ParseError(f"{label}: the file is empty (no header and no data)")
    try:
        return _parse_text(text, label, spec)
    except csv.Error as error:  # NUL bytes, fields over the csv module's size limit
        raise ParseError(f"{label}: the text is not a readable CSV/TXT table ({error})") from error


def _parse_text(text: str, label: str, spec: ParseSpec) -> ParsedTable:
    layout, rest = find_layout(text, label, spec)
    headers = list(layout.headers)
    pending = [] if layout.first_data is None else [layout.first_data]
    columns: list[pa.Array[Any]] | None = None
    if layout.delimiter not in (None, WHITESPACE) and pending:
        assert layout.delimiter is not None
        sample = first_lines(text[offset_of_line(text, pending[0][0]) :], SAMPLE_LINES)
        columns = _arrow_columns(text, layout.delimiter, pending[0], len(headers), sample)
    if columns is None:
        columns = [
            pa.array(values, type=pa.string())
            for values in _collect_columns(
                len(headers), (row for _, row in chain_rows(pending, rest))
            )
        ]
    width = max(len(columns), len(headers))
    headers = headers + [""] * (width - len(headers))
    rows = len(columns[0]) if columns else 0
    columns = columns + [pa.nulls(rows, pa.string())] * (width - len(columns))
    normalized = [normalize_text(column) for column in columns]
    has_values = [column.null_count < len(column) for column in normalized]
    keep, names, as_text = select_columns(headers, has_values, spec)
    typed = [
        normalized[index]
        if text_only
        else infer_text_column(normalized[index], layout.decimal, booleans=True)
        for index, text_only in zip(keep, as_text, strict=True)
    ]
    table = pa.Table.from_arrays(typed, names=names)
    return ParsedTable(
        name="", table=table, source_member="", original_columns=[headers[i] for i in keep]
    )


def _arrow_columns(
    text: str,
    delimiter: str,
    first_data: tuple[int, list[str]],
    header_width: int,
    sample: list[str],
) -> list[pa.Array[Any]] | None:
    """Parse the data rows with Arrow's CSV reader (fast, compact), or None to fall back.

    Arrow needs every row to have the same number of fields; ragged files (a trailing
    ``;`` on some lines only) make it fail and go through the csv module instead.
    """
    start_line, first_row = first_data
    width = max([header_width, *(len(row) for row in csv.reader(sample, delimiter=delimiter))])
    names = [f"f{index}" for index in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=start_line, column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    padded_first = first_row + [""] * (width - len(first_row))
    if table.num_rows == 0 or [column[0].as_py() for column in table.columns] != padded_first:
        return None  # the two parsers disagree on where the data starts: trust csv
    table = table.filter(filled_rows(table.columns))  # rows such as ";;;;" carry nothing
    return [column.combine_chunks() for column in table.columns]


def filled_rows(columns: list[pa.ChunkedArray[Any]] | list[pa.Array[Any]]) -> pa.Array[Any]:
    """Mask of the rows with at least one non-blank cell (``;;;;`` rows carry nothing).

    Args:
        columns: The raw string columns of a table or a batch, at least one.

    Returns:
        A boolean array, True for the rows to keep.
    """
    keep = None
    for column in columns:
        blank = pc.not_equal(pc.utf8_trim_whitespace(column), "")  # type: ignore[call-overload]  # pyarrow-stubs: compute takes Python scalars
        filled = pc.fill_null(blank, False)
        keep = filled if keep is None else pc.or_(keep, filled)
        if pc.all(keep).as_py():
            break  # usually the first column (a date, a code) is filled on every row
    assert keep is not None, "no columns"
    mask: pa.Array[Any] = keep
    return mask


def _collect_columns(width: int, rows: Iterable[list[str]]) -> list[list[str | None]]:
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for count, row in enumerate(rows):
        if len(row) > len(columns):
            # Ragged rows (typically a trailing ';' on data lines only) widen the table;
            # empty extra columns are dropped by the caller.
            columns.extend([None] * count for _ in range(len(row) - len(columns)))
        for index, column in enumerate(columns):
            column.append(row[index] if index < len(row) else None)
    return columns
