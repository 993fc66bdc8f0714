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
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sintegre.readers.columns import DecimalStyle, build_table, infer_text_column, looks_like_data
from sintegre.readers.detect import HEAD_BYTES, looks_binary
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.model import ParsedTable

__all__ = ["WHITESPACE", "decode_text", "read_delimited", "sniff_delimiter"]

WHITESPACE = " "
"""Pseudo-delimiter for files aligned with runs of spaces."""

_DELIMITERS = (";", ",", "|", "\t")
_SAMPLE_LINES = 50
_SAMPLE_CHARS = 256 * 1024
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
    text = decode_text(path.read_bytes(), label)
    if not text.strip():
        raise ParseError(f"{label}: the file is empty (no header and no data)")
    try:
        return _parse_text(text, label)
    except csv.Error as error:  # NUL bytes, fields over the csv module's size limit
        raise ParseError(f"{label}: the text is not a readable CSV/TXT table ({error})") from error


def _parse_text(text: str, label: str) -> ParsedTable:
    sample = _first_lines(text, _SAMPLE_LINES)
    delimiter = sniff_delimiter(sample)
    style = _STYLE_BY_DELIMITER.get(delimiter or "", "auto")

    rows = _numbered_rows(text, delimiter, sample)
    first = next(rows, None)
    if first is None:
        raise ParseError(f"{label}: the file has no rows")
    if delimiter is not None:
        first = _skip_title_rows(first, rows)
    lookahead = next(rows, None)
    if _has_header(first[1], None if lookahead is None else lookahead[1]):
        headers = [cell.strip() for cell in first[1]]
        pending = [] if lookahead is None else [lookahead]
    else:
        headers = [""] * len(first[1])
        pending = [first] if lookahead is None else [first, lookahead]

    columns: list[pa.Array] | None = None
    if delimiter not in (None, WHITESPACE) and pending:
        assert delimiter is not None
        columns = _arrow_columns(text, delimiter, pending[0], len(headers), sample)
    if columns is None:
        columns = [
            pa.array(values, type=pa.string())
            for values in _collect_columns(headers, (row for _, row in _chain(pending, rows)))
        ]
    headers = headers + [""] * (len(columns) - len(headers))
    keep = [
        index
        for index, (header, values) in enumerate(zip(headers, columns, strict=True))
        if header or _has_values(values)
    ]
    original = [headers[index] for index in keep]
    typed = [infer_text_column(columns[index], style) for index in keep]
    table = build_table(original, typed)
    return ParsedTable(name="", table=table, source_member="", original_columns=original)


def _arrow_columns(
    text: str,
    delimiter: str,
    first_data: tuple[int, list[str]],
    header_width: int,
    sample: list[str],
) -> list[pa.Array] | None:
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
    filled = [pc.not_equal(pc.utf8_trim_whitespace(column), "") for column in table.columns]
    keep = filled[0]
    for mask in filled[1:]:
        keep = pc.or_(keep, mask)
    table = table.filter(keep)  # rows such as ";;;;" carry nothing
    return [column.combine_chunks() for column in table.columns]


def _has_values(values: pa.Array) -> bool:
    trimmed = pc.utf8_trim_whitespace(values.drop_null())
    return bool(pc.any(pc.not_equal(trimmed, "")).as_py())


def _mode(counts: list[int]) -> tuple[int, float]:
    if not counts:
        return 0, 0.0
    value, frequency = Counter(counts).most_common(1)[0]
    return value, frequency / len(counts)


def _first_lines(text: str, limit: int) -> list[str]:
    head = text[:_SAMPLE_CHARS]
    lines = head.splitlines()
    if len(head) < len(text) and len(lines) > 1:
        lines.pop()  # probably cut in the middle
    return [line for line in lines if line.strip()][:limit]


def _numbered_rows(
    text: str, delimiter: str | None, sample: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(lines before the row, fields)`` for every non-blank row."""
    if delimiter is None or delimiter == WHITESPACE:
        width, _ = _mode([len(line.split()) for line in sample])
        for number, line in enumerate(io.StringIO(text)):
            if line.strip():
                yield (
                    number,
                    [line.rstrip("\r\n")] if delimiter is None else _split_whitespace(line, width),
                )
        return
    # newline="" keeps CRLF inside quoted fields intact; the csv module handles line ends.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    before = 0
    for row in reader:
        if any(cell.strip() for cell in row):
            yield before, row
        before = reader.line_num


def _split_whitespace(line: str, width: int) -> list[str]:
    tokens = line.split()
    if len(tokens) > width > 0:
        # Names with spaces ("Sao Francisco -9.4 -40.5 12.0"): the numbers are at the end.
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
