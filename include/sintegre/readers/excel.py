"""Workbooks (XLSX, XLSM, XLSB, ODS and legacy XLS) read with python-calamine.

ONS sheets are made for people: a title and a blank line above the header, sometimes a
"Fonte:" note under the data, often several sheets (one per subsystem or basin). Every
sheet becomes a table; without a parse spec the header is the first row with at least two
filled cells.

A :class:`~sintegre.catalog.spec.ParseSpec` from the catalog can say more: skip a fixed
number of rows, find the header by a keyword (RDH: "APROVEITAMENTO"), read a header of
several rows with merged group cells (RDH, Relatório de Acompanhamento Hidrológico), keep
codes as text (leading zeros), read only some sheets, and reshape a wide layout with one
block of columns per gauge into long form (Acomph).
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum

from sintegre.catalog.spec import ParseSpec, WideLayout, glob_matches
from sintegre.core.slugs import slugify
from sintegre.readers.archive import check_archive
from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable, dedupe_names
from sintegre.readers.text.cells import cell_to_text, infer_python_column
from sintegre.readers.text.headers import build_table, column_names, looks_like_data

__all__ = ["SpecFor", "read_workbook"]

Cell = object
Row = list[Cell]
Merge = tuple[tuple[int, int], tuple[int, int]]

SpecFor = Callable[[str], ParseSpec | bool | None]
"""Given a sheet name, the sheet's parse spec (``None``: generic reading; ``False``: skip the
sheet, the catalog keeps it raw)."""

_GENERIC = ParseSpec()


def read_workbook(path: Path, label: str, spec_for: SpecFor | None = None) -> list[ParsedTable]:
    """Read every non-empty sheet of a workbook.

    Args:
        path: The workbook on disk.
        label: File description for error messages.
        spec_for: Returns the parse spec of a sheet, given its name; ``None`` (or a
            callable returning ``None``) reads the sheet generically. A sheet whose spec
            lists ``sheets`` globs that do not match its name is skipped.

    Returns:
        One table per non-empty sheet read. ``name`` is ``slugify(sheet_name)`` when more
        than one sheet has data and ``""`` otherwise; ``source_member`` and ``sheet`` are
        the sheet name; ``original_columns`` hold the headers as written, the rows of a
        multi-row header joined top to bottom with a space.

    Raises:
        ParseError: The workbook or one of its sheets cannot be read, or a sheet does not
            have the layout its spec describes (keyword not found, no column blocks).
    """
    if zipfile.is_zipfile(path):
        # An XLSX or ODS is a ZIP: a workbook delivered on its own gets the same bomb checks
        # (entries, sizes, ratios) as a member of a ZIP delivery, before calamine inflates it.
        with zipfile.ZipFile(path) as package:
            check_archive(package, label)
    try:
        # By content, never by extension: calamine's from_path picks its parser from the
        # name, so an .xlsx delivered as ACOMPH_….xls (or the reverse) would fail.
        with path.open("rb") as handle:
            workbook = CalamineWorkbook.from_filelike(handle)
    except Exception as error:  # calamine raises several unrelated types for bad files
        raise ParseError(f"{label}: the spreadsheet could not be opened ({error})") from error
    try:
        found: list[tuple[str, ParsedTable]] = []
        for metadata in workbook.sheets_metadata:
            if metadata.typ is not SheetTypeEnum.WorkSheet:
                continue  # chart and macro sheets hold no cells
            choice = spec_for(metadata.name) if spec_for is not None else None
            if choice is False:
                continue  # kept raw by the catalog (a cover sheet, notes)
            spec = choice if isinstance(choice, ParseSpec) else None
            if spec is not None and spec.sheets and not glob_matches(spec.sheets, metadata.name):
                continue
            where = f"{label} sheet {metadata.name!r}"
            try:
                sheet = workbook.get_sheet_by_name(metadata.name)
            except Exception as error:
                raise ParseError(f"{where}: the sheet could not be read ({error})") from error
            _check_cell_budget(sheet, where)
            try:
                # Absolute coordinates (no skipped leading area), so that skip_rows counts
                # the rows a person sees and merged ranges line up with the cells.
                # A fresh list of lists of cell values, only read from here on.
                rows = cast(list[Row], sheet.to_python(skip_empty_area=False))
            except Exception as error:
                raise ParseError(f"{where}: the sheet could not be read ({error})") from error
            parsed: ParsedTable | None
            if spec is not None and spec.layout:
                parsed = _layout_table(path, rows, spec.layout, metadata.name, where)
            else:
                parsed = _sheet_table(rows, _merges(sheet), spec or _GENERIC, metadata.name, where)
            if parsed is not None:
                found.append((metadata.name, parsed))
    finally:
        workbook.close()

    several = len(found) > 1
    tables: list[ParsedTable] = []
    for position, (sheet_name, parsed) in enumerate(found, start=1):
        name = slugify(sheet_name, fallback=f"sheet_{position}") if several else ""
        tables.append(
            ParsedTable(
                name=name,
                table=parsed.table,
                source_member=sheet_name,
                original_columns=parsed.original_columns,
                sheet=sheet_name,
            )
        )
    return dedupe_names(tables)


#: Cells a sheet's rectangle (from A1 to its last used cell) may span. The readers build the
#: whole rectangle, so one stray cell at column XFD of a 2,000-row sheet would cost 32 M cells
#: (17 s and 1.6 GB); ONS's largest sheets hold well under a million.
MAX_SHEET_CELLS = 8_000_000


def _check_cell_budget(sheet: CalamineSheet, where: str) -> None:
    end = sheet.end
    if end is None:
        return
    rows, columns = end[0] + 1, end[1] + 1
    if rows * columns > MAX_SHEET_CELLS:
        raise ParseError(
            f"{where}: the sheet spans {rows:,} rows x {columns:,} columns "
            f"({rows * columns:,} cells), more than the {MAX_SHEET_CELLS:,}-cell budget "
            "(a stray cell far from the table, or a hostile file); nothing was read"
        )


def _layout_table(path: Path, rows: list[Row], layout: str, sheet: str, where: str) -> ParsedTable:
    """A sheet read by its catalogued dedicated reader (strict: mismatches raise)."""
    from sintegre.readers.layouts import LayoutSource, read_layout

    source = LayoutSource(path=path, label=where, member=sheet, sheet=sheet, rows=rows)
    table = read_layout(layout, source)
    return ParsedTable(
        name="", table=table, source_member=sheet, original_columns=list(table.column_names)
    )


# --------------------------------------------------------------------------- cells


def _is_empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _filled(row: Sequence[Cell]) -> int:
    return sum(1 for cell in row if not _is_empty(cell))


def _has_value(row: Sequence[Cell]) -> bool:
    # Hot path (every row of the sheet): calamine gives "" for an empty cell, and data rows
    # usually have their first cell filled, so this returns after one or two cells.
    for cell in row:
        if cell == "" or cell is None or (isinstance(cell, str) and cell.isspace()):
            continue
        return True
    return False


def _has_value_cell(cell: Cell) -> bool:
    return not _is_empty(cell)


def _text(cell: Cell) -> str:
    return "" if _is_empty(cell) else cell_to_text(cell).strip()


def _fold(text: str) -> str:
    # Case- and accent-insensitive comparison: "Aproveitamento" finds "APROVEITAMENTO",
    # "Código" finds "CODIGO" (ONS is not consistent about either).
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _merges(sheet: CalamineSheet) -> list[Merge] | None:
    try:
        return sheet.merged_cell_ranges  # None for ODS: calamine only knows XLSX/XLS merges
    except Exception:
        return None


# --------------------------------------------------------------------------- layout


@dataclass
class _Layout:
    header: list[Row]  # the header rows, as cells (empty list: no header)
    header_start: int  # absolute index of the first header row
    data: list[Row]


def _locate(rows: list[Row], spec: ParseSpec, where: str) -> _Layout | None:
    start = spec.skip_rows or 0
    candidates = [index for index in range(start, len(rows)) if _has_value(rows[index])]
    if not candidates:
        return None
    if spec.header is False:
        return _Layout([], candidates[0], [rows[index] for index in candidates])
    if spec.header_keyword:
        wanted = _fold(spec.header_keyword.strip())
        header_index = next(
            (
                index
                for index in candidates
                if any(wanted in _fold(_text(cell)) for cell in rows[index])
            ),
            None,
        )
        if header_index is None:
            raise ParseError(
                f"{where}: the header row was not found: no cell contains "
                f"{spec.header_keyword!r} (the layout of the sheet has changed?)"
            )
    elif spec.skip_rows is not None:
        header_index = candidates[0]
    else:
        # Title rows hold one cell (often merged across the table); the header is the
        # first row with at least two.
        header_index = next((i for i in candidates if _filled(rows[i]) >= 2), candidates[0])
    count = max(spec.header_rows, 1)
    header = [
        rows[index] if index < len(rows) else []
        for index in range(header_index, header_index + count)
    ]
    data = [row for row in rows[header_index + count :] if _has_value(row)]
    return _Layout(header, header_index, data)


def _header_texts(layout: _Layout, width: int, merges: list[Merge] | None) -> list[list[str]]:
    texts = [[_text(row[c]) if c < len(row) else "" for c in range(width)] for row in layout.header]
    if len(texts) < 2:
        return texts
    first, last = layout.header_start, layout.header_start + len(texts)
    in_header = [m for m in merges or [] if first <= m[0][0] < last]
    if in_header:
        # XLSX/XLS report their merged ranges: carry each group title across its span
        # only (a vertical merge such as "APROVEITAMENTO" over three rows is not repeated).
        for (top, left), (_, right) in in_header:
            line = texts[top - first]
            for column in range(left + 1, min(right + 1, width)):
                if not line[column]:
                    line[column] = line[left]
        return texts
    # ODS (or a header "merged" by leaving cells blank): calamine gives the value then
    # empty cells. Forward-fill the upper rows, but never across a group boundary of a
    # row above, so "NATURAL" does not spill from "VAZÕES" into "ARMAZENAMENTO".
    original = [list(line) for line in texts]
    for level in range(len(texts) - 1):
        line = texts[level]
        for column in range(1, width):
            starts_group = any(original[upper][column] for upper in range(level))
            if not line[column] and not starts_group:
                line[column] = line[column - 1]
    return texts


def _join(parts: Sequence[str]) -> str:
    joined: list[str] = []
    for part in parts:
        if part and (not joined or joined[-1] != part):
            joined.append(part)
    return " ".join(joined)


def _sheet_table(
    rows: list[Row],
    merges: list[Merge] | None,
    spec: ParseSpec,
    sheet_name: str,
    where: str,
) -> ParsedTable | None:
    layout = _locate(rows, spec, where)
    if layout is None:
        return None
    data = layout.data
    width = max([len(row) for row in layout.header] + [len(row) for row in data])
    if width >= 2:
        data = _drop_footnotes(data)
    headers = _header_texts(layout, width, merges)
    joined = [_join([line[c] for line in headers]) for c in range(width)]
    for position, name in enumerate(spec.column_names[:width]):
        joined[position] = name
    if any(len(row) != width for row in data):
        data = [[*row, *([None] * (width - len(row)))] for row in data]
    by_column: list[Sequence[Cell]] = list(zip(*data, strict=True)) if data else [()] * width
    # Columns with neither a header nor a value are formatting leftovers.
    used = [c for c in range(width) if joined[c] or any(map(_has_value_cell, by_column[c]))]
    if not used:
        return None
    if spec.wide is not None:
        # Blocks are positional: keep empty columns inside the table, trim only the sides.
        keep = list(range(used[0], used[-1] + 1))
        original, values = _reshape(data, headers, joined, keep, spec.wide, where)
    else:
        original = [joined[c] for c in used]
        values = [list(by_column[c]) for c in used]
    names = column_names(original)
    text_wanted = {name.casefold() for name in spec.text_columns}
    typed = [
        _as_text(column)
        if name in text_wanted or header.casefold() in text_wanted
        else infer_python_column(column, spec.decimal)
        for name, header, column in zip(names, original, values, strict=True)
    ]
    return ParsedTable(
        name="",
        table=build_table(original, typed),
        source_member=sheet_name,
        original_columns=original,
    )


def _reshape(
    data: list[Row],
    headers: list[list[str]],
    joined: list[str],
    keep: list[int],
    wide: WideLayout,
    where: str,
) -> tuple[list[str], list[list[Cell]]]:
    """Turn one block of columns per entity into one row per (data row, entity)."""
    if wide.block_width < 1 or wide.leading_columns < 0:
        raise ParseError(f"{where}: the wide layout needs a block width of at least 1")
    if not 0 <= wide.key_row < max(len(headers), 1):
        raise ParseError(
            f"{where}: the wide layout's key row {wide.key_row} is not one of the "
            f"{len(headers)} header rows"
        )
    leading, rest = keep[: wide.leading_columns], keep[wide.leading_columns :]
    blocks = [rest[i : i + wide.block_width] for i in range(0, len(rest), wide.block_width)]
    if not blocks:
        raise ParseError(
            f"{where}: no column blocks after the {wide.leading_columns} leading columns"
        )
    key_line = headers[wide.key_row] if headers else []
    measure_line = headers[-1] if headers else []
    first = blocks[0]
    measures = [measure_line[c] if c < len(measure_line) else "" for c in first]
    measures += [""] * (wide.block_width - len(measures))

    lead_values: list[list[Cell]] = [[] for _ in leading]
    keys: list[Cell] = []
    measure_values: list[list[Cell]] = [[] for _ in range(wide.block_width)]
    # The key is the block's first filled cell on the key row: with merges it is the
    # first cell; without, ONS sometimes centres the code over the block.
    for block in blocks:
        key = next((key_line[c] for c in block if c < len(key_line) and key_line[c]), None)
        for row in data:
            cells = [row[c] if c < len(row) else None for c in block]
            if all(_is_empty(cell) for cell in cells):
                continue  # the gauge has no value that day (or the block is padding)
            for target, column in zip(lead_values, leading, strict=True):
                target.append(row[column] if column < len(row) else None)
            keys.append(key)
            for position in range(wide.block_width):
                measure_values[position].append(cells[position] if position < len(cells) else None)
    original = [joined[c] for c in leading] + [wide.key_column] + measures
    return original, [*lead_values, keys, *measure_values]


def _as_text(values: Sequence[Cell]) -> pa.Array[Any]:
    # Codes such as "006" keep their zeros; numeric cells are shown as a person sees them.
    return pa.array(
        [None if _is_empty(v) else cell_to_text(v).strip() for v in values], pa.string()
    )


def _drop_footnotes(data: list[Row]) -> list[Row]:
    # ONS sheets end with notes such as "Fonte: ONS" or "(*) Dados preliminares": a
    # single text cell under a multi-column table. Left in, they would turn the first
    # column (usually the dates) into text.
    end = len(data)
    while end > 0:
        cells = [cell for cell in data[end - 1] if not _is_empty(cell)]
        note = len(cells) == 1 and isinstance(cells[0], str) and not looks_like_data(cells[0])
        if note and end > 1:
            end -= 1
            continue
        break
    return data[:end]
