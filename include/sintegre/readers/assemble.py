"""Turn the leaves of a delivery into tables with names that stay the same every delivery.

A delivery's leaves (CSV members, workbook sheets) carry dates, revisions, basins and
subsystems in their names: ``Carga_Mensal_11_2026_SE.xlsx``, a sheet per basin, one CSV per
subsystem. Naming tables after them would create a new dataset every month. Here:

- a leaf matching a catalogued :class:`~sintegre.catalog.spec.TableSpec` lands in that
  table, the spec's ``extract`` groups becoming columns;
- an uncatalogued leaf is named from its member or sheet name with dates, numbers and month
  names removed, and leaves of the same layout under the same parent (sheets of one workbook,
  files of one folder) are one table;
- every leaf from inside an archive or a workbook keeps where it came from in the
  ``source_member`` column (and ``sheet`` for sheets), so nothing is lost by merging.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sintegre.catalog.spec import TableSpec
from sintegre.core.slugs import slugify
from sintegre.readers.checks import check_columns, implausible_counts
from sintegre.readers.model import ParsedTable, staged_writer

__all__ = ["SOURCE_COLUMNS", "assemble", "stable_name"]

SOURCE_COLUMNS = ("source_member", "sheet")
"""Columns the assembly adds to tables read from archive members or sheets."""

_MONTHS = frozenset(
    [
        "janeiro",
        "fevereiro",
        "marco",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
        "jan",
        "fev",
        "mar",
        "abr",
        "mai",
        "jun",
        "jul",
        "ago",
        "set",
        "out",
        "nov",
        "dez",
    ]
)
# Revision and week markers ONS puts next to dates: RV0, REV2, rev3, sem1, pmo is kept.
_NUMBERED = re.compile(r"(?:rv|rev|revisao|sem|semana)?\d+[a-z]?")
_BATCH_ROWS = 256 * 1024


def stable_name(text: str) -> str:
    """Slug of a member or sheet name without its dates, numbers and month names.

    ``"Carga_Mensal_11_2026_SE"`` → ``"carga_mensal_se"``; ``"RV2_PMO_Agosto_2025"`` →
    ``"pmo"``; ``"Diária_6"`` → ``"diaria"``.

    Args:
        text: A file stem or sheet name.

    Returns:
        The stable slug, ``""`` when nothing stable is left.
    """
    slug = slugify(text, fallback="")
    tokens = [token for token in slug.split("_") if token]
    kept = [
        token
        for token in tokens
        if not _NUMBERED.fullmatch(token) and token not in _MONTHS and not token.isdigit()
    ]
    return "_".join(kept)


@dataclass
class _Leaf:
    parsed: ParsedTable
    full_path: str  # where in the delivery: "" (the file itself), "dir/x.csv", "book.xlsx/Sheet"
    match_path: str  # what specs match: full_path, or the file's own name for a plain file
    spec: TableSpec | None
    name: str = ""
    extracted: dict[str, str | None] | None = None


def assemble(
    leaves: Sequence[ParsedTable],
    specs: Sequence[TableSpec],
    *,
    file_name: str = "",
    work_dir: Path | None = None,
) -> list[ParsedTable]:
    """Name and merge a delivery's leaf tables.

    Args:
        leaves: Tables as the readers produced them; ``source_member`` is the path inside the
            delivery (``""`` for a plain file).
        specs: The product's table specs (empty for an uncatalogued product).
        file_name: The delivered file's name: what specs match for a plain (non-archive,
            non-workbook) file.
        work_dir: Where merged streamed tables are written (required only when a leaf has a
            ``path`` and must be rewritten).

    Returns:
        One table per stable name, in first-seen order. A single uncatalogued table is
        named ``""`` (the dataset is the product itself).
    """
    items = []
    for leaf in leaves:
        match_path = leaf.source_member or file_name
        items.append(_Leaf(leaf, leaf.source_member, match_path, _spec_for(specs, match_path)))
    for item in items:
        if item.spec is not None:
            item.name = item.spec.name
            if item.spec.extract is not None:
                match = item.spec.extract.search(item.match_path)
                found = match.groupdict() if match else {}
                item.extracted = {key: found.get(key) for key in item.spec.extract.groupindex}
    generic = [item for item in items if item.spec is None]
    _name_generic(generic)
    # An uncatalogued leaf of a catalogued product never joins a catalogued table, even when
    # its stable name happens to be the same: it is its own dataset, flagged as drift.
    catalogued_names = {spec.name for spec in specs}
    for item in generic:
        if item.name in catalogued_names:
            item.name = f"{item.name or 'table'}_extra"

    groups: dict[str, list[_Leaf]] = {}
    for item in items:
        groups.setdefault(item.name, []).append(item)
    if not specs and len(groups) == 1:
        only = next(iter(groups.values()))
        for item in only:
            item.name = ""
        groups = {"": only}
    merged = [_merge(name, members, work_dir) for name, members in groups.items()]
    if specs:
        merged = [
            replace(
                table,
                catalogued=False,
                drift={
                    "missing": [],
                    "unexpected": [],
                    "uncatalogued": [item.full_path or item.match_path for item in members],
                },
            )
            if members[0].spec is None
            else replace(table, catalogued=True)
            for table, members in zip(merged, groups.values(), strict=True)
        ]
    return merged


def _spec_for(specs: Sequence[TableSpec], full_path: str) -> TableSpec | None:
    return next((spec for spec in specs if not spec.raw and spec.matches(full_path)), None)


def _parent_and_leaf(item: _Leaf) -> tuple[str, str]:
    path = PurePosixPath(item.full_path) if item.full_path else PurePosixPath("")
    if item.parsed.sheet:
        book = str(path.parent) if str(path.parent) != "." else ""
        return book, item.parsed.sheet
    parent = str(path.parent) if str(path.parent) != "." else ""
    return parent, path.stem


def _name_generic(items: list[_Leaf]) -> None:
    """Name uncatalogued leaves; leaves of one layout under one parent share a name."""
    layouts: dict[tuple[str, tuple[str, ...]], list[_Leaf]] = {}
    for item in items:
        parent, _ = _parent_and_leaf(item)
        layouts.setdefault((parent, tuple(item.parsed.table.column_names)), []).append(item)
    for (parent, _), members in layouts.items():
        keys = [stable_name(_parent_and_leaf(item)[1]) for item in members]
        parent_key = stable_name(PurePosixPath(parent).stem) if parent else ""
        if len(set(keys)) == 1:
            key = keys[0]
            name = (
                "_".join(part for part in (parent_key, key) if part)
                if members[0].parsed.sheet
                else key
            )
        else:
            common = _common_prefix([key.split("_") for key in keys])
            name = "_".join(common) or parent_key
        for item in members:
            item.name = name or "table"


def _common_prefix(token_lists: list[list[str]]) -> list[str]:
    prefix: list[str] = []
    for tokens in zip(*token_lists, strict=False):
        if len(set(tokens)) != 1 or not tokens[0]:
            break
        prefix.append(tokens[0])
    return prefix


def _extra_columns(
    item: _Leaf, extract_names: list[str], with_source: bool
) -> dict[str, str | None]:
    extra: dict[str, str | None] = {}
    if with_source:
        extra["source_member"] = item.full_path
        extra["sheet"] = item.parsed.sheet or None
    for key in extract_names:
        extra[key] = (item.extracted or {}).get(key)
    return extra


def _merge(name: str, members: list[_Leaf], work_dir: Path | None) -> ParsedTable:
    spec = members[0].spec
    extract_names = list(spec.extract.groupindex) if spec and spec.extract else []
    with_source = any(item.full_path for item in members)
    with_sheet = any(item.parsed.sheet for item in members)
    first = members[0].parsed

    def extras(item: _Leaf) -> dict[str, str | None]:
        extra = _extra_columns(item, extract_names, with_source)
        if not with_sheet:
            extra.pop("sheet", None)
        # A column the file itself has wins over an added one of the same name.
        return {k: v for k, v in extra.items() if k not in item.parsed.table.column_names}

    originals = _merged_originals(members)
    source_member = _common_source(members)
    drift = _drift(spec, originals[0], set(extract_names) | set(SOURCE_COLUMNS))

    if any(item.parsed.path is not None for item in members):
        if work_dir is None:
            raise ValueError("a streamed table needs a work_dir to be merged")
        return _merge_streamed(name, members, extras, work_dir, originals, source_member, drift)

    tables = [_with_constants(item.parsed.table, extras(item)) for item in members]
    table = _widen_to_catalog(_concat(tables), spec)
    if spec is not None:
        check_columns(table.schema, spec, _where(members), table)
    return ParsedTable(
        name=name,
        table=table,
        source_member=source_member,
        original_columns=_originals_for(table.column_names, originals[1]),
        sheet=first.sheet if len(members) == 1 else "",
        drift=drift,
        implausible=implausible_counts(spec, table=table) if spec is not None else None,
    )


def _where(members: list[_Leaf]) -> str:
    paths = [item.full_path or item.match_path for item in members]
    shown = ", ".join(repr(p) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _common_source(members: list[_Leaf]) -> str:
    if len(members) == 1:
        return members[0].full_path
    parts = _common_prefix([item.full_path.split("/") for item in members])
    return "/".join(parts)


def _merged_originals(members: list[_Leaf]) -> tuple[list[str], dict[str, str]]:
    """Column names in first-seen order, and each column's original header."""
    order: list[str] = []
    original: dict[str, str] = {}
    for item in members:
        headers = item.parsed.original_columns
        for index, column in enumerate(item.parsed.table.column_names):
            if column not in original:
                order.append(column)
                original[column] = headers[index] if index < len(headers) else ""
    return order, original


def _originals_for(columns: list[str], original: dict[str, str]) -> list[str]:
    return [original.get(column, "") for column in columns]


def _drift(
    spec: TableSpec | None, columns: list[str], added: set[str]
) -> dict[str, list[str]] | None:
    if spec is None or not spec.columns:
        return None
    expected = [column.name for column in spec.columns]
    # An optional column (ONS added it later) missing from an older file is not drift; a
    # required one missing is a layout mismatch (sintegre.readers.checks), never drift.
    required = [column.name for column in spec.columns if column.required]
    missing = [column for column in required if column not in columns and column not in added]
    unexpected = [c for c in columns if c not in expected and c not in added]
    if not missing and not unexpected:
        return None
    return {"missing": missing, "unexpected": unexpected}


_CATALOG_TYPES: dict[str, pa.DataType] = {"float": pa.float64(), "string": pa.string()}


def _widen_to_catalog(table: pa.Table, spec: TableSpec | None) -> pa.Table:
    """Cast columns to the catalog's type where that loses nothing (int → float, any → text).

    A day whose values are all whole numbers would otherwise land ``int64`` where the other
    days landed ``double``, and readers of several partitions would see two schemas.
    """
    if spec is None:
        return table
    for column in spec.columns:
        target = _CATALOG_TYPES.get(column.type or "")
        if target is None or column.name not in table.column_names:
            continue
        current = table[column.name].type
        widen = (
            pa.types.is_string(target) or pa.types.is_integer(current) or pa.types.is_null(current)
        )
        if current != target and widen:
            index = table.column_names.index(column.name)
            table = table.set_column(index, column.name, _cast(table[column.name], target))
    return table


def _with_constants(table: pa.Table, extra: dict[str, str | None]) -> pa.Table:
    for column, value in extra.items():
        table = table.append_column(column, pa.array([value] * table.num_rows, type=pa.string()))
    return table


def _unified_type(types: list[pa.DataType]) -> pa.DataType:
    distinct = {t for t in types if not pa.types.is_null(t)}
    if not distinct:
        return pa.null()
    if len(distinct) == 1:
        return distinct.pop()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in distinct):
        return pa.float64()
    # Mixed kinds (a date in one sheet, text in another): text keeps every value.
    return pa.string()


def _target_schema(schemas: list[pa.Schema]) -> pa.Schema:
    order: list[str] = []
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for column in schema:
            if column.name not in types:
                order.append(column.name)
                types[column.name] = []
            types[column.name].append(column.type)
    return pa.schema([(name, _unified_type(types[name])) for name in order])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns: list[pa.ChunkedArray[Any] | pa.Array[Any]] = []
    for column in schema:
        if column.name in table.column_names:
            values: pa.ChunkedArray[Any] | pa.Array[Any] = table[column.name]
            if values.type != column.type:
                values = _cast(values, column.type)
            columns.append(values)
        else:
            columns.append(pa.nulls(table.num_rows, type=column.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _cast(
    values: pa.ChunkedArray[Any] | pa.Array[Any], target: pa.DataType
) -> pa.ChunkedArray[Any] | pa.Array[Any]:
    if pa.types.is_string(target) and (
        pa.types.is_date(values.type) or pa.types.is_timestamp(values.type)
    ):
        # ISO text, as a person would write it (not "2025-01-01 00:00:00.000000").
        if pa.types.is_date(values.type):
            return pc.strftime(values, format="%Y-%m-%d")
        return pc.strftime(values, format="%Y-%m-%dT%H:%M:%S")
    return pc.cast(values, target)


def _concat(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    schema = _target_schema([table.schema for table in tables])
    return pa.concat_tables([_conform(table, schema) for table in tables])


def _merge_streamed(
    name: str,
    members: list[_Leaf],
    extras: Callable[[_Leaf], dict[str, str | None]],
    work_dir: Path,
    originals: tuple[list[str], dict[str, str]],
    source_member: str,
    drift: dict[str, list[str]] | None,
) -> ParsedTable:
    """Merge tables when one lives in a Parquet file, batch by batch (bounded memory)."""
    spec = members[0].spec
    if len(members) == 1 and not extras(members[0]):
        only = members[0].parsed
        if spec is not None and only.path is not None:
            check_columns(pq.read_schema(only.path), spec, _where(members))
            implausible = implausible_counts(spec, path=only.path)
            return replace(only, name=name, drift=drift, implausible=implausible)
        return replace(only, name=name, drift=drift)
    schemas = []
    for item in members:
        schema = pq.read_schema(item.parsed.path) if item.parsed.path else item.parsed.table.schema
        for column in extras(item):
            schema = schema.append(pa.field(column, pa.string()))
        schemas.append(schema)
    target = _target_schema(schemas)
    work_dir.mkdir(parents=True, exist_ok=True)
    out = (
        work_dir
        / f"merged-{slugify(name, fallback='table')}-{len(list(work_dir.iterdir()))}.parquet"
    )
    with staged_writer(out, target) as writer:
        for item in members:
            extra = extras(item)
            batches = (
                pq.ParquetFile(item.parsed.path).iter_batches(batch_size=_BATCH_ROWS)
                if item.parsed.path
                else item.parsed.table.to_batches(max_chunksize=_BATCH_ROWS)
            )
            for batch in batches:
                table = _with_constants(pa.Table.from_batches([batch]), extra)
                writer.write_table(_conform(table, target))
    if spec is not None:
        check_columns(target, spec, _where(members))
    return ParsedTable(
        name=name,
        table=target.empty_table(),
        source_member=source_member,
        original_columns=_originals_for(target.names, originals[1]),
        path=out,
        drift=drift,
        implausible=implausible_counts(spec, path=out) if spec is not None else None,
    )
