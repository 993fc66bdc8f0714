"""Column naming and type inference shared by the text and spreadsheet readers.

Text values are typed with vectorised Arrow kernels (regular expressions decide, casts
convert), so a file of hundreds of thousands of rows is typed without a Python loop per
cell. Arrow's casts are strict (``2023-02-29`` is rejected), which is why Brazilian
``dd/mm/yyyy`` values are rewritten to ISO before casting instead of going through
``strptime`` (Arrow's ``strptime`` silently rolls ``29/02/2023`` over to 1 March).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from sintegre.slugs import slugify

__all__ = [
    "DecimalStyle",
    "build_table",
    "cell_to_text",
    "column_names",
    "infer_python_column",
    "infer_text_column",
    "looks_like_data",
]

DecimalStyle = Literal["comma", "point", "auto"]
"""How numbers are written: ``comma`` = ``1.234,56`` (``;`` files), ``point`` =
``1,234.56`` / ``1234.56`` (``,`` files), ``auto`` = try point first, then comma."""

TIMESTAMP_TYPE = pa.timestamp("us")
_NULL_STRING = pa.scalar(None, pa.string())
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PRECHECK_ROWS = 1000


@dataclass(frozen=True)
class _NumberDialect:
    integer: str
    number: str
    thousands: str
    decimal: str


# Brazilian convention used by ONS ';' files: '.' groups thousands, ',' is the decimal mark.
_COMMA = _NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d*)?|,\d+)$",
    thousands=".",
    decimal=",",
)
# ',' files: the decimal mark is '.', and a quoted "1,234.5" may carry ',' thousands.
_POINT = _NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands=",",
    decimal=".",
)
# Whitespace/pipe/tab files and spreadsheet text cells: plain numbers, no grouping, so
# "1.234" stays 1.234 rather than becoming 1234.
_PLAIN = _NumberDialect(
    integer=r"^[+-]?\d+$",
    number=r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands="",
    decimal=".",
)
_DIALECTS: dict[str, tuple[_NumberDialect, ...]] = {
    # A ';' file may still use '.' decimals (no grouping); only then does "1.5" mean 1.5.
    "comma": (_COMMA, _PLAIN),
    "point": (_POINT,),
    "auto": (_PLAIN, _COMMA),
}

_BR_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
_BR_DATETIME = r"^\d{1,2}/\d{1,2}/\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
_ISO_DATETIME_TZ = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)

_DATA_LIKE = [
    re.compile(pattern)
    for pattern in (
        _COMMA.number,
        _POINT.number,
        _PLAIN.number,
        _BR_DATETIME,
        _ISO_DATETIME,
        _ISO_DATETIME_TZ,
    )
]


def column_names(headers: Sequence[str]) -> list[str]:
    """Slug every header and make the slugs unique.

    Args:
        headers: Header texts in file order; empty or symbol-only headers are allowed.

    Returns:
        ``slugify(header, fallback=f"col_{i}")`` (``i`` counted from 1), with ``_2``,
        ``_3``... appended to repeated slugs.
    """
    names: list[str] = []
    used: set[str] = set()
    for index, header in enumerate(headers, start=1):
        base = slugify(header, fallback=f"col_{index}")
        name, counter = base, 2
        while name in used:
            name, counter = f"{base}_{counter}", counter + 1
        used.add(name)
        names.append(name)
    return names


def looks_like_data(value: str) -> bool:
    """Tell whether a header candidate is really a data value (a number or a date).

    Args:
        value: One field of the first line or row.

    Returns:
        True for numbers in any of the supported notations and for dates/date-times.
    """
    text = value.strip()
    return bool(text) and any(pattern.match(text) for pattern in _DATA_LIKE)


def build_table(headers: Sequence[str], columns: Sequence[pa.Array]) -> pa.Table:
    """Assemble an Arrow table with slugged, de-duplicated column names.

    Args:
        headers: Original header texts, one per column.
        columns: Typed columns, all of the same length.

    Returns:
        The table; its column order is the order of ``headers``.
    """
    return pa.Table.from_arrays(list(columns), names=column_names(headers))


def infer_text_column(values: pa.Array | Sequence[str | None], decimal: DecimalStyle) -> pa.Array:
    """Type a column of text values.

    Values are trimmed and empty strings become null. The column becomes ``int64`` when
    every value is an integer, ``double`` when every value is a number, ``date32`` for
    ``dd/mm/yyyy`` / ``yyyy-mm-dd``, ``timestamp[us]`` for date-times (``timestamp[us,
    tz=UTC]`` when every value carries an offset) and stays ``string`` otherwise,
    including when it is entirely empty. Booleans are never inferred.

    Args:
        values: The raw cells, as an Arrow string array or a sequence of strings.
        decimal: How numbers are written in this file.

    Returns:
        The typed Arrow array.
    """
    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    array = pc.utf8_trim_whitespace(array)
    array = pc.if_else(pc.equal(array, ""), _NULL_STRING, array)
    present = array.drop_null()
    if len(present) == 0:
        return array
    for dialect in _DIALECTS[decimal]:
        typed = _as_number(array, present, dialect)
        if typed is not None:
            return typed
    typed = _as_temporal(array, present)
    return typed if typed is not None else array


def infer_python_column(values: Sequence[object], decimal: DecimalStyle = "auto") -> pa.Array:
    """Type a column of spreadsheet cells (calamine values).

    Calamine already types cells: numbers arrive as ``float`` (also for integers),
    dates as ``date`` or ``datetime``. Numeric columns whose values are all integral
    become ``int64``; uniform date or date-time columns keep their type; text-only
    columns go through :func:`infer_text_column` (ONS often types numbers and dates as
    text in its sheets); mixed columns are rendered as text and inferred the same way.

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
        return value  # type: ignore[return-value]
    assert isinstance(value, dt.date)
    return dt.datetime(value.year, value.month, value.day)


def _all_match(present: pa.Array, pattern: str) -> bool:
    # Most candidates fail on the first values; checking a prefix first saves a full
    # regex pass over text columns of large files.
    head = present.slice(0, _PRECHECK_ROWS)
    if not pc.all(pc.match_substring_regex(head, pattern)).as_py():
        return False
    if len(present) <= _PRECHECK_ROWS:
        return True
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())


def _as_number(array: pa.Array, present: pa.Array, dialect: _NumberDialect) -> pa.Array | None:
    if not _all_match(present, dialect.number):
        return None
    plain = pc.replace_substring_regex(array, r"^\+", "")
    if dialect.thousands:
        plain = pc.replace_substring(plain, dialect.thousands, "")
    if _all_match(present, dialect.integer):
        try:
            return pc.cast(plain, pa.int64())
        except pa.ArrowInvalid:
            pass  # beyond int64: fall through to double
    if dialect.decimal != ".":
        plain = pc.replace_substring(plain, dialect.decimal, ".")
    try:
        return pc.cast(plain, pa.float64())
    except pa.ArrowInvalid:
        return None


def _br_to_iso(array: pa.Array, present: pa.Array) -> pa.Array:
    # d/m/yyyy[ h:mm[:ss]] -> yyyy-mm-dd[ hh:mm[:ss]] so the strict ISO cast can check it;
    # ONS occasionally leaves days, months and hours unpadded, which the cast refuses.
    if not _all_match(present, r"^\d{2}/\d{2}/\d{4}(?:$|[ T]\d{2}:)"):
        array = pc.replace_substring_regex(array, r"^(\d)/", r"0\1/")
        array = pc.replace_substring_regex(array, r"^(\d\d)/(\d)/", r"\1/0\2/")
        array = pc.replace_substring_regex(array, r"[ T](\d):", r" 0\1:")
    return pc.replace_substring_regex(array, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\2-\1")


def _as_temporal(array: pa.Array, present: pa.Array) -> pa.Array | None:
    candidates: list[tuple[str, pa.DataType, bool]] = [
        (_BR_DATE, pa.date32(), True),
        (_ISO_DATE, pa.date32(), False),
        (_BR_DATETIME, TIMESTAMP_TYPE, True),
        (_ISO_DATETIME, TIMESTAMP_TYPE, False),
        (_ISO_DATETIME_TZ, pa.timestamp("us", tz="UTC"), False),
    ]
    for pattern, target, brazilian in candidates:
        if not _all_match(present, pattern):
            continue
        iso = _br_to_iso(array, present) if brazilian else array
        try:
            return pc.cast(iso, target)
        except pa.ArrowInvalid:
            return None  # an impossible date such as 31/04: keep the text
    return None
