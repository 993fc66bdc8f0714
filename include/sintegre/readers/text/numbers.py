"""Number notations of ONS text: decimal commas, thousands separators, plain numbers.

A ``;`` file writes ``1.234,56`` (Brazilian: ``.`` groups thousands, ``,`` is the decimal
mark), a ``,`` file writes ``1,234.56`` or ``1234.56``, and whitespace-aligned files and
spreadsheet text cells write plain ``1234.56``. Each notation is a :class:`NumberDialect`:
the patterns that recognise its integers and numbers, and how to turn its text into the
plain ``1234.56`` that Arrow's casts read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "COMMA",
    "DIALECTS",
    "PLAIN",
    "POINT",
    "DecimalStyle",
    "NumberDialect",
    "point_decimal",
    "strip_number",
]

DecimalStyle = Literal["comma", "point", "auto"]
"""How numbers are written: ``comma`` = ``1.234,56`` (``;`` files), ``point`` =
``1,234.56`` / ``1234.56`` (``,`` files), ``auto`` = try point first, then comma."""


@dataclass(frozen=True)
class NumberDialect:
    """One way of writing numbers.

    Attributes:
        integer: Pattern every integer in this notation matches.
        number: Pattern every number (integer or decimal) in this notation matches.
        thousands: The thousands separator (``""`` for none).
        decimal: The decimal mark.
    """

    integer: str
    number: str
    thousands: str
    decimal: str


COMMA = NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d*)?|,\d+)$",
    thousands=".",
    decimal=",",
)
"""Brazilian convention used by ONS ``;`` files: ``.`` groups thousands, ``,`` is the decimal
mark."""

POINT = NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands=",",
    decimal=".",
)
"""``,`` files: the decimal mark is ``.``, and a quoted ``"1,234.5"`` may carry ``,``
thousands."""

PLAIN = NumberDialect(
    integer=r"^[+-]?\d+$",
    number=r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands="",
    decimal=".",
)
"""Whitespace/pipe/tab files and spreadsheet text cells: plain numbers, no grouping, so
``1.234`` stays 1.234 rather than becoming 1234."""

DIALECTS: dict[str, tuple[NumberDialect, ...]] = {
    # A ';' file may still use '.' decimals (no grouping); only then does "1.5" mean 1.5.
    "comma": (COMMA, PLAIN),
    "point": (POINT,),
    "auto": (PLAIN, COMMA),
}
"""The notations tried, in order, for each :data:`DecimalStyle`."""


def strip_number(values: pa.Array[Any], dialect: NumberDialect) -> pa.Array[Any]:
    """Drop the leading ``+`` signs and the thousands separators.

    Args:
        values: String cells already known to match ``dialect``.
        dialect: Their notation.

    Returns:
        The cells without ``+`` and grouping; an integer is then castable to ``int64``.
    """
    plain = values
    if pc.any(pc.starts_with(values, "+")).as_py():
        plain = pc.replace_substring_regex(values, r"^\+", "")
    if dialect.thousands:
        plain = pc.replace_substring(plain, dialect.thousands, "")
    return plain


def point_decimal(plain: pa.Array[Any], dialect: NumberDialect) -> pa.Array[Any]:
    """Write the decimal mark as ``.``, for Arrow's ``double`` cast.

    Args:
        plain: Cells from :func:`strip_number`.
        dialect: Their notation.

    Returns:
        The cells with ``.`` as the decimal mark.
    """
    if dialect.decimal != ".":
        return pc.replace_substring(plain, dialect.decimal, ".")
    return plain
