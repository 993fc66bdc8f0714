"""Fixed-width text files, read with the layout the catalog gives.

The precipitation forecasts of the ECMWF, ETA and GEFS models (products 551, 549, 550)
are ``.dat`` files aligned in columns: basin code, latitude, longitude and one column per
forecast day. Runs of spaces would split them too, until a field fills its whole width and
touches its neighbour (``-10.25-45.50``); only character positions are reliable, so the
catalog writes them down as :class:`~sintegre.catalog.spec.FixedWidthField` ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sintegre.catalog.spec import FixedWidthField, ParseSpec
from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable
from sintegre.readers.text.encodings import decode_text
from sintegre.readers.text.headers import select_columns
from sintegre.readers.text.inference import infer_text_column, normalize_text

__all__ = ["fixed_width_headers", "naming_spec", "read_fixed_width", "slice_fields"]


def read_fixed_width(path: Path, label: str, spec: ParseSpec) -> ParsedTable:
    """Read a fixed-width text file into one typed table.

    Blank lines are skipped; ``skip_rows`` drops lines above the data; with
    ``header=True`` the first remaining line is a header whose slices become the
    original column names (the output names are always the fields' names). Numbers use
    the spec's ``decimal`` (``auto`` reads ``1.5`` as one and a half).

    Args:
        path: The file on disk.
        label: File description for error messages.
        spec: The catalog's overrides; ``spec.fixed_width`` must not be empty.

    Returns:
        The table, with ``name=""`` and ``source_member=""``.

    Raises:
        ParseError: The file is empty or the layout is invalid.
        UnsupportedFormatError: The file is binary.
    """
    _check_layout(spec.fixed_width, label)
    text = decode_text(path.read_bytes(), label, spec.encoding)
    lines = text.splitlines()[spec.skip_rows or 0 :]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ParseError(f"{label}: the file is empty (no header and no data)")
    headers = fixed_width_headers(lines[0] if spec.header else None, spec)
    if spec.header:
        lines = lines[1:]
    columns = [
        normalize_text(column)
        for column in slice_fields(pa.array(lines, pa.string()), spec.fixed_width)
    ]
    keep, names, as_text = select_columns(
        headers, [column.null_count < len(column) for column in columns], naming_spec(spec)
    )
    decimal = spec.decimal
    typed = [
        columns[index] if text_only else infer_text_column(columns[index], decimal, booleans=True)
        for index, text_only in zip(keep, as_text, strict=True)
    ]
    return ParsedTable(
        name="",
        table=pa.Table.from_arrays(typed, names=names),
        source_member="",
        original_columns=[headers[index] for index in keep],
    )


def naming_spec(spec: ParseSpec) -> ParseSpec:
    """The spec :func:`~sintegre.readers.text.headers.select_columns` names fields with.

    Args:
        spec: A fixed-width spec.

    Returns:
        A spec whose ``column_names`` are the fields' names, keeping ``text_columns``.
    """
    return ParseSpec(
        column_names=tuple(f.name for f in spec.fixed_width), text_columns=spec.text_columns
    )


def fixed_width_headers(line: str | None, spec: ParseSpec) -> list[str]:
    """Original headers of a fixed-width file: slices of its header line, or ``""``.

    Args:
        line: The header line (``None`` when ``spec.header`` is not True).
        spec: A fixed-width spec.

    Returns:
        One header per field.
    """
    if line is None or not spec.header:
        return [""] * len(spec.fixed_width)
    return [line[f.start : f.end].strip() for f in spec.fixed_width]


def slice_fields(lines: pa.Array[Any], fields: Sequence[FixedWidthField]) -> list[pa.Array[Any]]:
    """Cut every line into the layout's fields (vectorised, no Python loop per line).

    Args:
        lines: One string per line, without line ends.
        fields: The layout.

    Returns:
        One string array per field; a line shorter than a field gives ``""`` there.
    """
    lines = pc.utf8_rtrim(lines, characters="\r\n")
    return [pc.utf8_slice_codeunits(lines, start=f.start, stop=f.end) for f in fields]


def _check_layout(fields: Sequence[FixedWidthField], label: str) -> None:
    if not fields:
        raise ParseError(f"{label}: the catalog gives no fixed-width fields")
    for f in fields:
        if f.start < 0 or f.end <= f.start:
            raise ParseError(
                f"{label}: fixed-width field {f.name!r} has an empty range {f.start}..{f.end}"
            )
