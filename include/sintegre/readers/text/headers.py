"""Headers and column names: is a row a header, what the columns are called, which are kept.

Shared by every reader: a header candidate that looks like data (a number, a date) is a
data row (:func:`looks_like_data`); headers become slugged, unique column names
(:func:`column_names`); a text table keeps the columns that have a name or a value, under the
catalog's names where it gives them (:func:`select_columns`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from sintegre.catalog.spec import ParseSpec
from sintegre.core.slugs import slugify
from sintegre.readers.text.dates import BR_DATETIME, ISO_DATETIME, ISO_DATETIME_TZ
from sintegre.readers.text.numbers import COMMA, PLAIN, POINT

__all__ = ["build_table", "column_names", "looks_like_data", "select_columns"]

_DATA_LIKE = [
    re.compile(pattern)
    for pattern in (
        COMMA.number,
        POINT.number,
        PLAIN.number,
        BR_DATETIME,
        ISO_DATETIME,
        ISO_DATETIME_TZ,
    )
]


def looks_like_data(value: str) -> bool:
    """Tell whether a header candidate is really a data value (a number or a date).

    Args:
        value: One field of the first line or row.

    Returns:
        True for numbers in any of the supported notations and for dates/date-times.
    """
    text = value.strip()
    return bool(text) and any(pattern.match(text) for pattern in _DATA_LIKE)


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


def build_table(headers: Sequence[str], columns: Sequence[pa.Array[Any]]) -> pa.Table:
    """Assemble an Arrow table with slugged, de-duplicated column names.

    Args:
        headers: Original header texts, one per column.
        columns: Typed columns, all of the same length.

    Returns:
        The table; its column order is the order of ``headers``.
    """
    return pa.Table.from_arrays(list(columns), names=column_names(headers))


def select_columns(
    headers: list[str], has_values: list[bool], spec: ParseSpec
) -> tuple[list[int], list[str], list[bool]]:
    """Decide which columns a text table keeps, their names and which stay text.

    A column is kept when it has a header, a catalog name or any value (a trailing ``;``
    makes an empty, unnamed column). Names are the catalog's ``column_names`` where given,
    else the slugged headers (``col_<n>`` when empty), made unique.

    Args:
        headers: Original headers, one per column (``""`` for none).
        has_values: Whether each column holds any non-blank cell.
        spec: The catalog's overrides.

    Returns:
        Kept column indexes, their output names and, per kept column, whether it must
        stay text (``text_columns``, matched by output name or original header).
    """
    given = list(spec.column_names)
    keep = [
        index
        for index, (header, filled) in enumerate(zip(headers, has_values, strict=True))
        if header or index < len(given) or filled
    ]
    labels = [given[index] if index < len(given) else headers[index] for index in keep]
    names = column_names(labels)
    wanted = {name.strip().casefold() for name in spec.text_columns}
    text = [
        name.casefold() in wanted or headers[index].strip().casefold() in wanted
        for name, index in zip(names, keep, strict=True)
    ]
    return keep, names, text
