"""CSV and TXT product files: delimiter, header and typed columns (encodings: ``encodings``).

ONS text files come in a handful of shapes: ``;``-separated latin-1 files with decimal
commas (most of SINtegre), ``,``-separated UTF-8 exports, ``|`` files without a header
and whitespace-aligned TXT files such as the ``psat_ddmmyyyy.txt`` precipitation files
(basin name, latitude, longitude, millimetres, no header). Fixed-width ``.dat`` files are
read by :mod:`sintegre.readers.fixedwidth` when the catalog gives their layout.

Everything is guessed unless the catalog's :class:`~sintegre.catalog.spec.ParseSpec` says
otherwise; :mod:`sintegre.readers.streaming` applies the same rules to files too big to
hold in memory, through the helpers shared here (:func:`find_layout`, :func:`select_columns`).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sintegre.catalog.spec import DELIMITER_NAMES, ParseSpec
from sintegre.readers.columns import (
    DecimalStyle,
    column_names,
    infer_text_column,
    looks_like_data,
    normalize_text,
)
from sintegre.readers.encodings import (
    decode_text,
    resolve_encoding,
)
from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable

if TYPE_CHECKING:
    pass

__all__ = [
    "WHITESPACE",
    "TextLayout",
    "find_layout",
    "read_delimited",
    "resolve_encoding",
    "select_columns",
    "sniff_delimiter",
]

WHITESPACE = " "
"""Pseudo-delimiter for files aligned with runs of spaces."""

_DELIMITERS = (";", ",", "|", "\t")
_SAMPLE_LINES = 50
_SAMPLE_CHARS = 256 * 1024
_MIN_CONSISTENCY = 0.6
_MAX_TITLE_ROWS = 10

_STYLE_BY_DELIMITER: dict[str, DecimalStyle] = {";": "comma", ",": "point"}


@dataclass(frozen=True)
class TextLayout:
    """Where the table is in a text file and how its rows split.

    Attributes:
        delimiter: Field separator, :data:`WHITESPACE`, or None for one column per line.
        decimal: Number notation of the file.
        headers: Original header texts (``""`` where none), possibly shorter than the rows.
        first_data: ``(lines before it, fields)`` of the first data row, or None when the
            file has no data rows.
        whitespace_width: Fields per line of a whitespace-aligned file (the sample's mode).
    """

    delimiter: str | None
    decimal: DecimalStyle
    headers: list[str]
    first_data: tuple[int, list[str]] | None
    whitespace_width: int = 0


def sniff_delimiter(lines: list[str]) -> str | None:
    """Pick the delimiter that splits the sample lines most consistently.

    Candidates are ranked by coverage (share of lines it splits into two or more
    fields), then consistency (share of lines with the most common field count), then
    field count. Coverage comes first because in a ``;`` file with decimal commas the
    ``,`` also splits the data lines, evenly, but never the header line.

    Args:
        lines: The first non-blank lines of the file.

    Returns:
        One of ``;``, ``,``, ``|``, tab, :data:`WHITESPACE`, or None for a single column.
    """
    if not lines:
        return None
    best: tuple[float, float, int, int] | None = None
    best_delimiter: str | None = None
    for order, delimiter in enumerate(_DELIMITERS):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        coverage = sum(1 for count in counts if count >= 2) / len(counts)
        mode, consistency = _mode(counts)
        if coverage == 0:
            continue
        key = (round(coverage, 2), round(consistency, 2), mode, -order)
        if best is None or key > best:
            best, best_delimiter = key, delimiter
    if best is not None and best[0] >= _MIN_CONSISTENCY:
        return best_delimiter
    mode, consistency = _mode([len(line.split()) for line in lines])
    if mode >= 2 and consistency >= _MIN_CONSISTENCY:
        return WHITESPACE
    return None  # free text with the odd comma: one column beats a shredded table


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
        from sintegre.readers.fixedwidth import read_fixed_width

        return read_fixed_width(path, label, spec)
    text = decode_text(path.read_bytes(), label, spec.encoding)
    if not text.strip():
        raise ParseError(f"{label}: the file is empty (no header and no data)")
    try:
        return _parse_text(text, label, spec)
    except csv.Error as error:  # NUL bytes, fields over the csv module's size limit
        raise ParseError(f"{label}: the text is not a readable CSV/TXT table ({error})") from error


def find_layout(
    text: str, label: str, spec: ParseSpec
) -> tuple[TextLayout, Iterator[tuple[int, list[str]]]]:
    """Find the delimiter, the header and the first data row of a text.

    Args:
        text: The decoded file (or, for streaming, its first megabytes cut at a line end).
        label: File description for error messages.
        spec: The catalog's overrides.

    Returns:
        The layout and an iterator over the data rows after the first one, as
        ``(lines before the row, fields)``.

    Raises:
        ParseError: No rows, or the catalog's header keyword is on no row.
    """
    sample = _first_lines(_drop_lines(text, spec.skip_rows or 0), _SAMPLE_LINES)
    delimiter = _spec_delimiter(spec) if spec.delimiter else sniff_delimiter(sample)
    decimal: DecimalStyle = (
        spec.decimal if spec.decimal != "auto" else _STYLE_BY_DELIMITER.get(delimiter or "", "auto")
    )
    width = _mode([len(line.split()) for line in sample])[0] if delimiter == WHITESPACE else 0
    rows = _numbered_rows(text, delimiter, width)
    if spec.skip_rows:
        skip = spec.skip_rows
        rows = (row for row in rows if row[0] >= skip)
    first = next(rows, None)
    if first is None:
        raise ParseError(f"{label}: the file has no rows")
    if spec.header_keyword:
        first = _keyword_row(first, rows, spec.header_keyword, label)
    elif spec.skip_rows is None and delimiter is not None:
        first = _skip_title_rows(first, rows)
    lookahead = next(rows, None)
    if spec.header is None and not spec.header_keyword:
        has_header = _has_header(first[1], None if lookahead is None else lookahead[1])
    else:
        has_header = spec.header is not False
    pending = [row for row in (first, lookahead) if row is not None]
    headers: list[str] = []
    if has_header:
        block = [pending.pop(0)[1]]
        while len(block) < max(spec.header_rows, 1):
            extra = pending.pop(0) if pending else next(rows, None)
            if extra is None:
                break
            block.append(extra[1])
        headers = _join_header_rows(block)
        if not pending:
            nxt = next(rows, None)
            pending = [] if nxt is None else [nxt]
    first_data = pending[0] if pending else None
    layout = TextLayout(delimiter, decimal, headers, first_data, width)
    return layout, _chain(pending[1:], rows)


def select_columns(
    headers: list[str], has_values: list[bool], spec: ParseSpec
) -> tuple[list[int], list[str], list[bool]]:
    """Decide which columns a table keeps, their names and which stay text.

    A column is kept when it has a header, a catalog name or any value (a trailing ``;``
    makes an empty, unnamed column). Names are the catalog's ``column_names`` where given,
    else the slugged headers (``col_<n>`` when empty), made unique.

    Args:
        headers: Original headers, one per column (``""`` for none).
        has_values: Whether each column holds any non-blank cell.
        spec: The catalog's overrides.

    Returns:
        Kept column indexes, their output names and, per kept column, whether it must
        stay text (``text_columns``, matched by output name or original header).
    """
    given = list(spec.column_names)
    keep = [
        index
        for index, (header, filled) in enumerate(zip(headers, has_values, strict=True))
        if header or index < len(given) or filled
    ]
    labels = [given[index] if index < len(given) else headers[index] for index in keep]
    names = column_names(labels)
    wanted = {name.strip().casefold() for name in spec.text_columns}
    text = [
        name.casefold() in wanted or headers[index].strip().casefold() in wanted
        for name, index in zip(names, keep, strict=True)
    ]
    return keep, names, text


def _parse_text(text: str, label: str, spec: ParseSpec) -> ParsedTable:
    layout, rest = find_layout(text, label, spec)
    headers = list(layout.headers)
    pending = [] if layout.first_data is None else [layout.first_data]
    columns: list[pa.Array[Any]] | None = None
    if layout.delimiter not in (None, WHITESPACE) and pending:
        assert layout.delimiter is not None
        sample = _first_lines(text[_offset_of_line(text, pending[0][0]) :], _SAMPLE_LINES)
        columns = _arrow_columns(text, layout.delimiter, pending[0], len(headers), sample)
    if columns is None:
        columns = [
            pa.array(values, type=pa.string())
            for values in _collect_columns(len(headers), (row for _, row in _chain(pending, rest)))
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


def _spec_delimiter(spec: ParseSpec) -> str | None:
    assert spec.delimiter is not None
    name = spec.delimiter
    if name in DELIMITER_NAMES.values():
        return name  # ";", ",", "|", tab, or " " for runs of whitespace
    delimiter = DELIMITER_NAMES.get(name.strip().lower())
    if delimiter is None:
        raise ParseError(f"unknown delimiter {spec.delimiter!r} in the catalog")
    return delimiter


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


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
    """Mask of the rows with at least one non-blank cell."""
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


def _mode(counts: list[int]) -> tuple[int, float]:
    if not counts:
        return 0, 0.0
    value, frequency = Counter(counts).most_common(1)[0]
    return value, frequency / len(counts)


def _drop_lines(text: str, count: int) -> str:
    return text[_offset_of_line(text, count) :] if count else text


def _first_lines(text: str, limit: int) -> list[str]:
    head = text[:_SAMPLE_CHARS]
    lines = head.splitlines()
    if len(head) < len(text) and len(lines) > 1:
        lines.pop()  # probably cut in the middle
    return [line for line in lines if line.strip()][:limit]


def _numbered_rows(text: str, delimiter: str | None, width: int) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(lines before the row, fields)`` for every non-blank row."""
    if delimiter is None or delimiter == WHITESPACE:
        for number, line in enumerate(io.StringIO(text)):
            if line.strip():
                yield (
                    number,
                    [line.rstrip("\r\n")] if delimiter is None else split_whitespace(line, width),
                )
        return
    # newline="" keeps CRLF inside quoted fields intact; the csv module handles line ends.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    before = 0
    for row in reader:
        if any(cell.strip() for cell in row):
            yield before, row
        before = reader.line_num


def split_whitespace(line: str, width: int) -> list[str]:
    """Split a whitespace-aligned line into ``width`` fields.

    Args:
        line: One line of the file.
        width: The usual number of fields per line.

    Returns:
        The fields; extra leading tokens are joined into the first field, because basin
        names carry spaces ("Sao Francisco -9.4 -40.5 12.0") and the numbers are at the end.
    """
    tokens = line.split()
    if len(tokens) > width > 0:
        extra = len(tokens) - width + 1
        tokens = [" ".join(tokens[:extra]), *tokens[extra:]]
    return tokens


def _chain(
    pending: list[tuple[int, list[str]]], rows: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield from pending
    yield from rows


def _skip_title_rows(
    first: tuple[int, list[str]], rows: Iterator[tuple[int, list[str]]]
) -> tuple[int, list[str]]:
    # A report title above the header ("Previsão de carga - 01/03/2024") is one filled
    # field on an otherwise delimited line; the header is the first line with two.
    current: tuple[int, list[str]] | None = first
    for _ in range(_MAX_TITLE_ROWS):
        if current is None:
            return first
        if sum(1 for cell in current[1] if cell.strip()) >= 2:
            return current
        current = next(rows, None)
    return first


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _keyword_row(
    first: tuple[int, list[str]],
    rows: Iterator[tuple[int, list[str]]],
    keyword: str,
    label: str,
) -> tuple[int, list[str]]:
    wanted = _fold(keyword)
    current: tuple[int, list[str]] | None = first
    while current is not None:
        if any(wanted in _fold(cell) for cell in current[1]):
            return current
        current = next(rows, None)
    raise ParseError(f'{label}: no header row contains "{keyword}" (the catalog\'s header keyword)')


def _join_header_rows(block: list[list[str]]) -> list[str]:
    if len(block) == 1:
        return [cell.strip() for cell in block[0]]
    width = max(len(row) for row in block)
    filled: list[list[str]] = []
    for depth, row in enumerate(block):
        cells = [cell.strip() for cell in row] + [""] * (width - len(row))
        if depth < len(block) - 1:
            # Upper header rows label a group of columns once (merged cells in the source
            # sheet): carry each label right until the next one.
            for index in range(1, width):
                cells[index] = cells[index] or cells[index - 1]
        filled.append(cells)
    return [" ".join(part for part in column if part) for column in zip(*filled, strict=True)]


def _has_header(first: list[str], second: list[str] | None) -> bool:
    filled = [cell.strip() for cell in first if cell.strip()]
    data_like = [looks_like_data(cell) for cell in filled]
    if all(data_like):
        return False
    if sum(data_like) * 2 <= len(filled):
        return True
    if second is None:
        return False
    # Mostly numeric first line: headerless only if it has the same shape as the next
    # line. A header such as "Ano;1;2;...;12" has text where its data has numbers.
    return any(
        looks_like_data(a) != looks_like_data(b)
        for a, b in zip(first, second, strict=False)
        if a.strip() and b.strip()
    )


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
