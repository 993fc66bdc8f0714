"""Workbooks (XLSX, XLSM, XLSB, ODS and legacy XLS) read with python-calamine.

ONS sheets are made for people: a title and a blank line above the header, sometimes a
"Fonte:" note under the data, often several sheets (one per subsystem or basin). Every
sheet becomes a table; the header is the first row with at least two filled cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from python_calamine import CalamineWorkbook, SheetTypeEnum

from sintegre.readers.columns import build_table, cell_to_text, infer_python_column, looks_like_data
from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable, dedupe_names
from sintegre.slugs import slugify

__all__ = ["read_workbook"]

Cell = object


def read_workbook(path: Path, label: str) -> list[ParsedTable]:
    """Read every non-empty sheet of a workbook.

    Args:
        path: The workbook on disk.
        label: File description for error messages.

    Returns:
        One table per non-empty sheet. ``name`` is ``slugify(sheet_name)`` when more than
        one sheet has data and ``""`` otherwise; ``source_member`` is the sheet name.

    Raises:
        ParseError: The workbook or one of its sheets cannot be read.
    """
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several unrelated types for bad files
        raise ParseError(f"{label}: the spreadsheet could not be opened ({error})") from error
    try:
        found: list[tuple[str, ParsedTable]] = []
        for metadata in workbook.sheets_metadata:
            if metadata.typ is not SheetTypeEnum.WorkSheet:
                continue  # chart and macro sheets hold no cells
            try:
                rows = [list(row) for row in workbook.get_sheet_by_name(metadata.name).iter_rows()]
            except Exception as error:
                raise ParseError(
                    f"{label}: sheet {metadata.name!r} could not be read ({error})"
                ) from error
            parsed = _sheet_table(rows, metadata.name)
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
            )
        )
    return dedupe_names(tables)


def _filled(row: Sequence[Cell]) -> int:
    return sum(1 for cell in row if not _is_empty(cell))


def _is_empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _sheet_table(rows: list[list[Cell]], sheet_name: str) -> ParsedTable | None:
    non_empty = [index for index, row in enumerate(rows) if _filled(row)]
    if not non_empty:
        return None
    header_index = next((index for index in non_empty if _filled(rows[index]) >= 2), non_empty[0])
    header_row = rows[header_index]
    data = [row for row in rows[header_index + 1 :] if _filled(row)]
    width = max([len(header_row), *(len(row) for row in data)])
    if width >= 2:
        data = _drop_footnotes(data)

    headers = [
        ""
        if index >= len(header_row) or _is_empty(header_row[index])
        else cell_to_text(header_row[index]).strip()
        for index in range(width)
    ]
    columns = [[row[index] if index < len(row) else None for row in data] for index in range(width)]
    # Formatting often extends the used range past the data: columns with neither a
    # header nor a value are not part of the table.
    keep = [
        index
        for index in range(width)
        if headers[index] or any(not _is_empty(c) for c in columns[index])
    ]
    original = [headers[index] for index in keep]
    typed = [infer_python_column(columns[index]) for index in keep]
    return ParsedTable(
        name="",
        table=build_table(original, typed),
        source_member=sheet_name,
        original_columns=original,
    )


def _drop_footnotes(data: list[list[Cell]]) -> list[list[Cell]]:
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
