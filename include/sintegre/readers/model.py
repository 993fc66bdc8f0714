"""The value object every reader returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

__all__ = ["ParsedTable", "dedupe_names"]


@dataclass(frozen=True)
class ParsedTable:
    """One table found in a product file.

    Attributes:
        name: Table slug, unique within one file; ``""`` when the file holds exactly one
            table.
        table: Typed columns with ASCII snake_case names.
        source_member: Where the table came from: ``""`` for a plain file,
            ``"member/path.csv"`` inside a ZIP, the sheet name for a workbook sheet,
            ``"inner.zip/member.csv"`` for nested archives and ``"book.xlsx/Sheet"`` for a
            sheet of a workbook inside a ZIP.
        original_columns: The headers exactly as written in the file, in the order of
            ``table.column_names``; ``""`` where the file has no header for that column.
    """

    name: str
    table: pa.Table
    source_member: str = ""
    original_columns: list[str] = field(default_factory=list)


def dedupe_names(tables: Sequence[ParsedTable]) -> list[ParsedTable]:
    """Suffix repeated table names with ``_2``, ``_3``...

    Args:
        tables: Tables in file order.

    Returns:
        The same tables, renamed where needed (first occurrence keeps its name).
    """
    used: set[str] = set()
    result: list[ParsedTable] = []
    for table in tables:
        name, counter = table.name, 2
        while name in used:
            name, counter = f"{table.name}_{counter}", counter + 1
        used.add(name)
        if name != table.name:
            table = ParsedTable(name, table.table, table.source_member, table.original_columns)
        result.append(table)
    return result
