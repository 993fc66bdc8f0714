"""Units, descriptions and the product's full name written into the Parquet schema.

An analyst opening ``acomph`` in DuckDB, pyarrow or Polars sees the unit of ``natural_m3s`` in
the column's metadata (``unit``: ``m³/s``) and the product's full name in the file's metadata,
without the catalog at hand. The lake copies the staged schema's metadata into history and
curated files, so annotating the staged table is enough.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from sintegre.catalog.spec import TableSpec

__all__ = ["annotate"]


def annotate(
    table: pa.Table,
    spec: TableSpec | None,
    *,
    product_id: int,
    product_name: str,
    dataset: str,
    evidence: str = "",
) -> pa.Table:
    """The same table with column units/descriptions and product metadata attached.

    Args:
        table: A parsed table.
        spec: Its catalog table (``None`` for an uncatalogued leaf: product metadata only).
        product_id: The catalog id.
        product_name: The product's full name as ONS sends it.
        dataset: The lake dataset.
        evidence: What the layout was checked against.
    """
    columns = {c.name: c for c in spec.columns} if spec is not None else {}
    fields = []
    for field in table.schema:
        column = columns.get(field.name)
        extra: dict[bytes, bytes] = {}
        if column is not None:
            if column.unit:
                extra[b"unit"] = column.unit.encode()
            if column.description:
                extra[b"description"] = column.description.encode()
            if column.range is not None:
                extra[b"plausible_range"] = repr(list(column.range)).encode()
        if extra:
            field = field.with_metadata(_arrow_metadata({**(field.metadata or {}), **extra}))
        fields.append(field)
    metadata: dict[bytes, bytes] = {
        **(table.schema.metadata or {}),
        b"sintegre.product_id": str(product_id).encode(),
        b"sintegre.product": product_name.encode(),
        b"sintegre.dataset": dataset.encode(),
    }
    if spec is not None and spec.description:
        metadata[b"sintegre.table_description"] = spec.description.encode()
    if evidence:
        metadata[b"sintegre.layout_evidence"] = evidence.encode()
    return table.cast(pa.schema(fields, metadata=_arrow_metadata(metadata)))


def _arrow_metadata(metadata: Mapping[bytes, bytes]) -> dict[bytes | str, bytes | str]:
    """The metadata as pyarrow's stubs type it (a dict with str or bytes keys and values)."""
    return dict(metadata.items())
