"""Date and date-time notations of ONS text: ``dd/mm/yyyy``, ISO, ISO with an offset.

Arrow's casts are strict (``2023-02-29`` is rejected), which is why Brazilian
``dd/mm/yyyy`` values are rewritten to ISO (:func:`br_to_iso`) before casting instead of
going through ``strptime`` (Arrow's ``strptime`` silently rolls ``29/02/2023`` over to
1 March).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sintegre.readers.text.matching import all_match

__all__ = [
    "BR_DATE",
    "BR_DATETIME",
    "ISO_DATE",
    "ISO_DATETIME",
    "ISO_DATETIME_TZ",
    "TEMPORALS",
    "TIMESTAMP_TYPE",
    "TemporalFormat",
    "br_to_iso",
]

TIMESTAMP_TYPE = pa.timestamp("us")
"""The Arrow type of date-times without an offset."""

BR_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
BR_DATETIME = r"^\d{1,2}/\d{1,2}/\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
ISO_DATETIME_TZ = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)


@dataclass(frozen=True)
class TemporalFormat:
    """One way of writing dates or date-times.

    Attributes:
        pattern: Pattern every value in this notation matches.
        target: The Arrow type values are cast to.
        brazilian: Day first (``dd/mm/yyyy``): rewritten to ISO before the cast.
    """

    pattern: str
    target: pa.DataType
    brazilian: bool


TEMPORALS = (
    TemporalFormat(BR_DATE, pa.date32(), True),
    TemporalFormat(ISO_DATE, pa.date32(), False),
    TemporalFormat(BR_DATETIME, TIMESTAMP_TYPE, True),
    TemporalFormat(ISO_DATETIME, TIMESTAMP_TYPE, False),
    TemporalFormat(ISO_DATETIME_TZ, pa.timestamp("us", tz="UTC"), False),
)
"""The notations tried, in order: the first one every value of a column matches decides."""


def br_to_iso(array: pa.Array[Any], present: pa.Array[Any]) -> pa.Array[Any]:
    """Rewrite ``d/m/yyyy[ h:mm[:ss]]`` as ``yyyy-mm-dd[ hh:mm[:ss]]``.

    The strict ISO cast then checks the date; ONS occasionally leaves days, months and hours
    unpadded, which the cast refuses, so they are padded first.

    Args:
        array: The cells (nulls allowed).
        present: The same cells without nulls (to check whether padding is needed).

    Returns:
        The cells in ISO order.
    """
    if not all_match(present, r"^\d{2}/\d{2}/\d{4}(?:$|[ T]\d{2}:)"):
        array = pc.replace_substring_regex(array, r"^(\d)/", r"0\1/")
        array = pc.replace_substring_regex(array, r"^(\d\d)/(\d)/", r"\1/0\2/")
        array = pc.replace_substring_regex(array, r"[ T](\d):", r" 0\1:")
    return pc.replace_substring_regex(array, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\2-\1")
