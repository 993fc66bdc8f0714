"""Where the table is in a text file: delimiter, decimal style, header rows, first data row.

ONS text files come in a handful of shapes: ``;``-separated latin-1 files with decimal
commas (most of SINtegre), ``,``-separated UTF-8 exports, ``|`` files without a header
and whitespace-aligned TXT files such as the ``psat_ddmmyyyy.txt`` precipitation files
(basin name, latitude, longitude, millimetres, no header), sometimes below a report title
or a header of several rows. :func:`find_layout` guesses all of it from the text unless the
catalog's :class:`~sintegre.catalog.spec.ParseSpec` says otherwise; the whole-file reader
(:mod:`~sintegre.readers.text.delimited`) and the streaming one
(:mod:`~sintegre.readers.text.streaming`) both start from it.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from sintegre.catalog.spec import DELIMITER_NAMES, ParseSpec
from sintegre.readers.errors import ParseError
from sintegre.readers.text.headers import looks_like_data
from sintegre.readers.text.numbers import DecimalStyle

__all__ = [
    "SAMPLE_LINES",
    "WHITESPACE",
    "NumberedRow",
    "TextLayout",
    "chain_rows",
    "find_layout",
    "first_lines",
    "offset_of_line",
    "sniff_delimiter",
    "split_whitespace",
]

WHITESPACE = " "
"""Pseudo-delimiter for files aligned with runs of spaces."""

SAMPLE_LINES = 50
"""Non-blank lines the delimiter is guessed from."""

NumberedRow = tuple[int, list[str]]
"""A row as ``(lines before it, fields)``."""

_DELIMITERS = (";", ",", "|", "\t")
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
    first_data: NumberedRow | None
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


def find_layout(text: str, label: str, spec: ParseSpec) -> tuple[TextLayout, Iterator[NumberedRow]]:
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
    sample = first_lines(_drop_lines(text, spec.skip_rows or 0), SAMPLE_LINES)
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
    return layout, chain_rows(pending[1:], rows)


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


def offset_of_line(text: str, line: int) -> int:
    """The character offset where a line starts.

    Args:
        text: The text.
        line: Lines before it.

    Returns:
        The offset; ``len(text)`` when the text has fewer lines.
    """
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def first_lines(text: str, limit: int) -> list[str]:
    """The first non-blank lines of a text, from its first 256 KiB.

    Args:
        text: The text.
        limit: At most this many lines.

    Returns:
        The lines, without one probably cut in the middle by the 256 KiB limit.
    """
    head = text[:_SAMPLE_CHARS]
    lines = head.splitlines()
    if len(head) < len(text) and len(lines) > 1:
        lines.pop()  # probably cut in the middle
    return [line for line in lines if line.strip()][:limit]


def chain_rows(pending: list[NumberedRow], rows: Iterator[NumberedRow]) -> Iterator[NumberedRow]:
    """Rows already taken from an iterator, then the rest of it.

    Args:
        pending: Rows read ahead.
        rows: The iterator they were read from.

    Yields:
        ``pending``, then ``rows``.
    """
    yield from pending
    yield from rows


def _spec_delimiter(spec: ParseSpec) -> str | None:
    assert spec.delimiter is not None
    name = spec.delimiter
    if name in DELIMITER_NAMES.values():
        return name  # ";", ",", "|", tab, or " " for runs of whitespace
    delimiter = DELIMITER_NAMES.get(name.strip().lower())
    if delimiter is None:
        raise ParseError(f"unknown delimiter {spec.delimiter!r} in the catalog")
    return delimiter


def _mode(counts: list[int]) -> tuple[int, float]:
    if not counts:
        return 0, 0.0
    value, frequency = Counter(counts).most_common(1)[0]
    return value, frequency / len(counts)


def _drop_lines(text: str, count: int) -> str:
    return text[offset_of_line(text, count) :] if count else text


def _numbered_rows(text: str, delimiter: str | None, width: int) -> Iterator[NumberedRow]:
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


def _skip_title_rows(first: NumberedRow, rows: Iterator[NumberedRow]) -> NumberedRow:
    # A report title above the header ("Previsão de carga - 01/03/2024") is one filled
    # field on an otherwise delimited line; the header is the first line with two.
    current: NumberedRow | None = first
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
    first: NumberedRow, rows: Iterator[NumberedRow], keyword: str, label: str
) -> NumberedRow:
    wanted = _fold(keyword)
    current: NumberedRow | None = first
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
