"""Spreadsheet cells to typed columns, and to the text a person sees.

Calamine already types a workbook's cells (numbers, dates, text); ONS often types numbers and
dates as text in its sheets, so text-only and mixed columns are rendered as text
(:func:`cell_to_text`) and typed like the cells of a text file
(:func:`~sintegre.readers.text.inference.infer_text_column`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from sintegre.readers.text.dates import TIMESTAMP_TYPE
from sintegre.readers.text.inference import infer_text_column
from sintegre.readers.text.numbers import DecimalStyle

__all__ = ["cell_to_text", "infer_python_column"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def infer_python_column(values: Sequence[object], decimal: DecimalStyle = "auto") -> pa.Array[Any]:
    """Type a column of spreadsheet cells (calamine values).

    Calamine already types cells: numbers arrive as ``float`` (also for integers),
    dates as ``date`` or ``datetime``. Numeric columns whose values are all integral
    become ``int64``; uniform date or date-time columns keep their type; text-only
    columns go through :func:`~sintegre.readers.text.inference.infer_text_column` (ONS
    often types numbers and dates as text in its sheets); mixed columns are rendered as
    text and inferred the same way.

    Args:
        values: The cells of one column, ``""``/``None`` for empty cells.
        decimal: Number notation for cells that hold text.

    Returns:
        The typed Arrow array.
    """
    cells: list[object] = [
        None if value is None or (isinstance(value, str) and not value.strip()) else value
        for value in values
    ]
    present = [value for value in cells if value is not None]
    if not present:
        return pa.array([None] * len(cells), type=pa.string())
    if all(_is_number(value) for value in present):
        numbers: list[float | int | None] = cells  # type: ignore[assignment]
        if all(_is_integral(value) for value in present):
            return pa.array([None if v is None else int(v) for v in numbers], type=pa.int64())
        return pa.array([None if v is None else float(v) for v in numbers], type=pa.float64())
    if all(type(value) is dt.date for value in present):
        return pa.array(cells, type=pa.date32())
    if all(isinstance(value, dt.date) and not getattr(value, "tzinfo", None) for value in present):
        # Date and date-time cells mixed in one column: a date is midnight of that day.
        return pa.array([_as_datetime(value) for value in cells], type=TIMESTAMP_TYPE)
    return infer_text_column([None if v is None else cell_to_text(v) for v in cells], decimal)


def cell_to_text(value: object) -> str:
    """Render a spreadsheet cell as the text a person sees (used for headers and mixed columns).

    Args:
        value: A calamine cell value.

    Returns:
        Integral floats without ``.0``, dates in ISO format, booleans as
        ``true``/``false``, everything else through ``str``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _is_number(value: object) -> bool:
    # bool is an int subclass; an Excel TRUE must not become 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integral(value: object) -> bool:
    if isinstance(value, int):
        return _INT64_MIN <= value <= _INT64_MAX
    assert isinstance(value, float)
    return value.is_integer() and _INT64_MIN <= value <= _INT64_MAX


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    assert isinstance(value, dt.date)
    return dt.datetime(value.year, value.month, value.day)
