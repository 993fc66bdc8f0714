"""CSV and TXT product files: encoding, delimiter, header and typed columns.

ONS text files come in a handful of shapes: ``;``-separated latin-1 files with decimal
commas (most of SINtegre), ``,``-separated UTF-8 exports, ``|`` files without a header
and whitespace-aligned TXT files such as the ``psat_ddmmyyyy.txt`` precipitation files
(basin code, latitude, longitude, millimetres, no header).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import charset_normalizer
import pyarrow as pa

from sintegre.readers.columns import DecimalStyle, build_table, infer_text_column, looks_like_data
from sintegre.readers.detect import HEAD_BYTES, looks_binary
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.model import ParsedTable

__all__ = ["WHITESPACE", "decode_text", "read_delimited", "sniff_delimiter"]

WHITESPACE = " "
"""Pseudo-delimiter for files aligned with runs of spaces."""

_DELIMITERS = (";", ",", "|", "\t")
_SAMPLE_LINES = 50
_MIN_CONSISTENCY = 0.6
_MAX_TITLE_ROWS = 10

# Encodings charset-normalizer may choose from. Left unrestricted it labels latin-1
# Portuguese as cp1250 or cp1006 and turns "Observação" into "Observaçăo"; these are the
# encodings Brazilian files actually use (cp850 = DOS-era exports, UTF-16 = Excel
# "Unicode text").
_CANDIDATE_ENCODINGS = ["utf_8", "utf_16", "utf_32", "cp1252", "latin_1", "cp850"]

_STYLE_BY_DELIMITER: dict[str, DecimalStyle] = {";": "comma", ",": "point"}


def decode_text(data: bytes, label: str) -> str:
    """Decode a text file the way ONS files need.

    Strict UTF-8 (with or without BOM) first, because it never decodes non-UTF-8 text by
    accident; then charset-normalizer among plausible Brazilian encodings; then latin-1,
    which ONS uses inside its ZIPs and which decodes any byte.

    Args:
        data: The whole file.
        label: File description for error messages.

    Returns:
        The text, without a byte-order mark.

    Raises:
        UnsupportedFormatError: The bytes are binary, not text in any encoding.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = charset_normalizer.from_bytes(data, cp_isolation=_CANDIDATE_ENCODINGS).best()
    if match is not None:
        return str(match).lstrip("\ufeff")
    if looks_binary(data[:HEAD_BYTES]):
        raise UnsupportedFormatError(
            f"{label}: the file is binary and not a format the readers know "
            "(expected CSV/TXT, XLSX/XLS, ZIP or PDF)"
        )
    return data.decode("latin-1")


def sniff_delimiter(lines: list[str]) -> str | None:
    """Pick the delimiter that splits the sample lines most consistently.

    Args:
        lines: The first non-blank lines of the file.

    Returns:
        One of ``;``, ``,``, ``|``, tab, :data:`WHITESPACE`, or None for a single column.
    """
    if not lines:
        return None
    best: tuple[float, int, int] | None = None
    best_delimiter: str | None = None
    for order, delimiter in enumerate(_DELIMITERS):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        mode, consistency = _mode(counts)
        if mode < 2:
            continue
        # Consistency first: in a ';' file with decimal commas the ',' also splits the
        # data lines evenly, but never the header line.
        key = (round(consistency, 2), mode, -order)
        if best is None or key > best:
            best, best_delimiter = key, delimiter
    if best is not None and best[0] >= _MIN_CONSISTENCY:
        return best_delimiter
    mode, consistency = _mode([len(line.split()) for line in lines])
    if mode >= 2 and consistency >= _MIN_CONSISTENCY:
        return WHITESPACE
    return best_delimiter


def read_delimited(path: Path, label: str) -> ParsedTable:
    """Read a CSV/TXT file into one typed table.

    Args:
        path: The file on disk.
        label: File description for error messages.

    Returns:
        The table, with ``name=""`` and ``source_member=""`` (callers fill them in).

    Raises:
        ParseError: The file is empty.
        UnsupportedFormatError: The file is binary.
    """
    data = path.read_bytes()
    text = decode_text(data, label)
    if not text.strip():
        raise ParseError(f"{label}: the file is empty (no header and no data)")
    sample = _first_lines(text, _SAMPLE_LINES)
    delimiter = sniff_delimiter(sample)
    style = _STYLE_BY_DELIMITER.get(delimiter or "", "auto")

    rows = _rows(text, delimiter, sample)
    first = _next_row(rows)
    if first is None:
        raise ParseError(f"{label}: the file has no rows")
    if delimiter is not None:
        first = _skip_title_rows(first, rows)
    lookahead = _next_row(rows)
    if _has_header(first, lookahead):
        headers, pending = [cell.strip() for cell in first], [lookahead]
    else:
        headers, pending = [""] * len(first), [first, lookahead]

    columns = _collect_columns(headers, _chain(pending, rows))
    headers = headers + [""] * (len(columns) - len(headers))
    keep = [
        index
        for index, (header, values) in enumerate(zip(headers, columns, strict=True))
        if header or any(value for value in values)
    ]
    original = [headers[index] for index in keep]
    typed = [infer_text_column(pa.array(columns[index], type=pa.string()), style) for index in keep]
    table = build_table(original, typed)
    return ParsedTable(name="", table=table, source_member="", original_columns=original)


def _mode(counts: list[int]) -> tuple[int, float]:
    if not counts:
        return 0, 0.0
    value, frequency = Counter(counts).most_common(1)[0]
    return value, frequency / len(counts)


def _first_lines(text: str, limit: int) -> list[str]:
    lines: list[str] = []
    for line in io.StringIO(text):
        if line.strip():
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= limit:
                break
    return lines


def _rows(text: str, delimiter: str | None, sample: list[str]) -> Iterator[list[str]]:
    if delimiter is None:
        return ([line] for line in io.StringIO(text) if line.strip())
    if delimiter == WHITESPACE:
        width, _ = _mode([len(line.split()) for line in sample])
        return (_split_whitespace(line, width) for line in io.StringIO(text) if line.strip())
    # newline="" keeps CRLF inside quoted fields intact; the csv module handles line ends.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return (row for row in reader if any(cell.strip() for cell in row))


def _split_whitespace(line: str, width: int) -> list[str]:
    tokens = line.split()
    if len(tokens) > width > 0:
        # Names with spaces ("Sao Francisco -9.4 -40.5 12.0"): the numbers are at the end.
        extra = len(tokens) - width + 1
        tokens = [" ".join(tokens[:extra]), *tokens[extra:]]
    return tokens


def _next_row(rows: Iterator[list[str]]) -> list[str] | None:
    return next(rows, None)


def _chain(pending: list[list[str] | None], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in pending:
        if row is not None:
            yield row
    yield from rows


def _skip_title_rows(first: list[str], rows: Iterator[list[str]]) -> list[str]:
    # A report title above the header ("Previsão de carga - 01/03/2024") is one filled
    # field on an otherwise delimited line; the header is the first line with two.
    skipped = 0
    current: list[str] | None = first
    while current is not None and skipped < _MAX_TITLE_ROWS:
        if sum(1 for cell in current if cell.strip()) >= 2:
            return current
        skipped += 1
        current = _next_row(rows)
    return first if current is None else current


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


def _collect_columns(headers: list[str], rows: Iterable[list[str]]) -> list[list[str | None]]:
    columns: list[list[str | None]] = [[] for _ in headers]
    for count, row in enumerate(rows):
        if len(row) > len(columns):
            # Ragged rows (typically a trailing ';' on data lines only) widen the table;
            # empty extra columns are dropped by the caller.
            columns.extend([None] * count for _ in range(len(row) - len(columns)))
        for index, column in enumerate(columns):
            column.append(row[index] if index < len(row) else None)
    return columns
