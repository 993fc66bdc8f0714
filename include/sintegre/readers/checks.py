"""The catalog's promises about a table, checked before anything lands.

A catalogued table must have every required column, and a column the catalog calls a number
or a date must hold numbers or dates: a generic reader that fell back to text for a numeric
column (a label where a number should be, a column shifted by one) means the layout moved,
and landing it would put wrong values in the lake. Such a table raises
:class:`~sintegre.readers.errors.LayoutMismatch`.

Plausibility is softer: values outside a column's catalogued ``range`` (a negative flow, 900 mm
of rain in a day) land, but are counted per column so that the delivery is flagged in the lake
catalog, the inbox and the status page the day a unit or a column gets mixed up.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sintegre.catalog.spec import ColumnSpec, TableSpec
from sintegre.readers.errors import LayoutMismatch

__all__ = ["check_columns", "implausible_counts"]

_BATCH_ROWS = 256 * 1024


def _accepts(column: ColumnSpec, actual: pa.DataType) -> bool:
    if pa.types.is_null(actual) or column.type in (None, "string"):
        return True
    if column.type == "int":
        return pa.types.is_integer(actual)
    if column.type == "float":
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if column.type == "date":
        return pa.types.is_date(actual) or pa.types.is_timestamp(actual)
    if column.type == "datetime":
        return pa.types.is_timestamp(actual)
    if column.type == "bool":
        return pa.types.is_boolean(actual)
    return True


def _sample(table: pa.Table | None, name: str) -> str:
    if table is None or name not in table.column_names:
        return ""
    values = [v for v in table[name].drop_null().slice(0, 3).to_pylist()]
    return f" (first values {values!r})" if values else ""


def check_columns(
    schema: pa.Schema, spec: TableSpec, where: str, table: pa.Table | None = None
) -> None:
    """Refuse a table that misses a required column or holds text where numbers belong.

    Args:
        schema: The table's schema (after widening to the catalog's types).
        spec: The catalog table.
        where: The file, member or sheet, for the message.
        table: The rows, when in memory, to show a sample of an offending column.

    Raises:
        LayoutMismatch: Naming the column, the type expected and what was found.
    """
    if spec.parse.layout is None and not spec.columns:
        return
    names = set(schema.names)
    missing = [c.name for c in spec.columns if c.required and c.name not in names]
    if missing:
        raise LayoutMismatch(
            where,
            f"the catalogued column(s) {missing}",
            f"columns {sorted(names)}",
            table=spec.name or None,
        )
    for column in spec.columns:
        if column.name not in names:
            continue
        actual = schema.field(column.name).type
        if not _accepts(column, actual):
            raise LayoutMismatch(
                where,
                f"column {column.name!r} as {column.type}",
                f"{actual}{_sample(table, column.name)}",
                table=spec.name or None,
            )


def implausible_counts(
    spec: TableSpec, table: pa.Table | None = None, path: Path | None = None
) -> dict[str, int] | None:
    """Values outside each column's catalogued ``range``, per column; ``None`` when none.

    Args:
        spec: The catalog table.
        table: The rows in memory, or
        path: a Parquet file holding them (read column by column, batch by batch).
    """
    ranged = [c for c in spec.columns if c.range is not None]
    if not ranged:
        return None
    counts: dict[str, int] = {}
    for column in ranged:
        for chunk in _chunks(column.name, table, path):
            if not (pa.types.is_integer(chunk.type) or pa.types.is_floating(chunk.type)):
                continue
            low, high = column.range or (None, None)
            outside: pa.Array[Any] = (
                pa.array([False] * len(chunk)) if len(chunk) else pa.array([], pa.bool_())
            )
            if low is not None:
                outside = pc.or_(outside, pc.less(chunk, low))  # type: ignore[call-overload]  # pyarrow-stubs: compute takes Python scalars
            if high is not None:
                outside = pc.or_(outside, pc.greater(chunk, high))  # type: ignore[call-overload]  # pyarrow-stubs: compute takes Python scalars
            filled: pa.Array[Any] = pc.fill_null(outside, False)  # type: ignore[arg-type]  # pyarrow-stubs: compute takes Python scalars
            bad = pc.sum(filled).as_py() or 0
            if bad:
                counts[column.name] = counts.get(column.name, 0) + int(bad)
    return counts or None


def _chunks(name: str, table: pa.Table | None, path: Path | None) -> Iterable[pa.Array[Any]]:
    if table is not None:
        if name in table.column_names:
            yield from table[name].chunks
        return
    if path is None:
        return
    parquet = pq.ParquetFile(path)
    if name not in parquet.schema_arrow.names:
        return
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=[name]):
        yield batch.column(0)
