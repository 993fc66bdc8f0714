"""Read a product file with its catalogued layout and pick rows out of what was parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sintegre.catalog.products import load_catalog
from sintegre.readers import ParsedTable, read_product_file


def read_product(path: Path, product_id: int, name: str | None = None) -> dict[str, ParsedTable]:
    """``path`` read with the tables the catalog describes for ``product_id``, by table name.

    ``name``: the file name as delivered (default: ``path``'s own name).
    """
    tables = load_catalog().by_id(product_id).tables
    return {t.name: t for t in read_product_file(path, name or path.name, tables=tables)}


def column_types(parsed: ParsedTable) -> dict[str, str]:
    """Column name → Arrow type name (``"double"``, ``"date32[day]"`` ...) of a parsed table."""
    return {field.name: str(field.type) for field in parsed.table.schema}


def rows_where(table: Any, **where: object) -> list[dict[str, Any]]:
    """The rows (dicts) of a ParsedTable or a pyarrow Table whose columns equal ``where``."""
    rows = getattr(table, "table", table).to_pylist()
    return [row for row in rows if all(row[key] == value for key, value in where.items())]


def one_row(table: Any, **where: object) -> dict[str, Any]:
    """The one row matching ``where``; fails when there are none or several."""
    rows = rows_where(table, **where)
    assert len(rows) == 1, (where, len(rows))
    return rows[0]


def row_or_none(table: Any, **where: object) -> dict[str, Any] | None:
    """The row matching ``where``, None when there is none; fails when there are several."""
    rows = rows_where(table, **where)
    assert len(rows) <= 1, rows
    return rows[0] if rows else None
