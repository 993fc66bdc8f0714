"""Parse specs: the catalog's per-table overrides of the generic readers.

The generic readers guess (encoding, delimiter, header row, types). Most ONS files are read
right that way, but some are not guessable: headerless ``|`` files need column names, the
``.dat`` precipitation forecasts are fixed width, RDH's header is found by a keyword and spans
three rows, Acomph repeats a gauge block every 8 columns, station codes keep their leading
zeros. ``products.yaml`` writes those facts down per table; this module holds their typed form.

A spec is matched against a *source path*: the path of a leaf inside the delivery, e.g.
``"CARGA_SE.csv"``, ``"Blocos_2025-09-07/CARGA_SE.csv"`` (ZIP member), ``"Sheet 1"`` (a sheet
of the downloaded workbook) or ``"dados.zip/book.xlsx/Diária_6"`` (a sheet inside nested ZIPs).
Globs are matched case-insensitively with :func:`fnmatch.fnmatchcase` on the casefolded path,
and ``**`` is not special (``*`` already crosses ``/``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ColumnSpec",
    "FixedWidthField",
    "ParseSpec",
    "TableSpec",
    "WideLayout",
    "glob_matches",
    "table_spec_from_mapping",
]

DecimalConvention = Literal["auto", "comma", "point"]
DELIMITER_NAMES = {
    ";": ";",
    ",": ",",
    "|": "|",
    "tab": "\t",
    "\t": "\t",
    "whitespace": " ",
    " ": " ",
}


@dataclass(frozen=True)
class ColumnSpec:
    """A column a catalogued table is expected to have.

    Attributes:
        name: The ASCII snake_case column name the readers produce.
        type: Expected logical type: ``int``, ``float``, ``date``, ``datetime``, ``bool`` or
            ``string``; ``None`` when not stated.
        unit: Unit of the values (``MWmed``, ``m³/s``, ``mm``, ``%``...), for people.
        description: What the column means, for people.
        range: Plausible ``[low, high]`` (either end ``None`` for open) where physics gives
            one: values outside land but are counted and flagged on the delivery, so a unit
            or column mix-up shows the day it happens.
        required: A file without this column does not fit the layout (layout mismatch);
            ``False`` for columns ONS added later (older files lack them).
    """

    name: str
    type: str | None = None
    unit: str | None = None
    description: str | None = None
    range: tuple[float | None, float | None] | None = None
    required: bool = True


@dataclass(frozen=True)
class FixedWidthField:
    """One field of a fixed-width text layout.

    Attributes:
        name: Column name (ASCII snake_case).
        start: First character, 0-based.
        end: One past the last character (Python slice end).
    """

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class WideLayout:
    """A wide sheet with one block of columns per entity, reshaped to long form.

    Acomph: after the date column, every gauge ("posto") takes ``block_width`` (8) columns;
    the gauge code stands in the first cell of its block on the header row ``key_row``; the
    measure names are on the last header row. Long form: one row per (date, gauge) with
    ``key_column`` holding the code and one column per measure.

    Attributes:
        block_width: Columns per entity block.
        leading_columns: Columns before the first block, repeated on every long row.
        key_row: Index (0-based, within the header rows) of the row holding each block's key.
        key_column: Name of the column that receives the block key.
    """

    block_width: int
    leading_columns: int = 1
    key_row: int = 0
    key_column: str = "key"


@dataclass(frozen=True)
class ParseSpec:
    """Overrides of the generic readers for one table. Every field defaults to "guess".

    Attributes:
        encoding: Text encoding to use instead of UTF-8-then-cp1252 detection.
        delimiter: ``;``, ``,``, ``|``, ``\\t`` or ``" "`` (runs of whitespace).
        decimal: ``comma`` (``1.234,5``), ``point`` (``1,234.5``) or ``auto``.
        header: ``False`` for files without a header row, ``None`` to detect.
        column_names: Names for a headerless file's columns, in order.
        fixed_width: Field layout of a fixed-width text file (implies no delimiter).
        skip_rows: Rows (text lines or sheet rows) to drop above the header; ``None`` to
            detect title rows.
        header_keyword: The header row is the first row with a cell containing this text
            (case- and accent-insensitive); rows above it are titles.
        header_rows: Number of header rows, joined top to bottom with a space after merged
            cells are carried across.
        text_columns: Columns kept as text whatever they look like (codes with leading
            zeros), by output name or original header.
        sheets: Sheet-name globs to read in a workbook; empty for every sheet.
        wide: Reshape a wide layout to long form.
        layout: A dedicated reader of :mod:`sintegre.readers.layouts` (by name) instead of
            the generic ones; the other fields are then ignored.
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: DecimalConvention = "auto"
    header: bool | None = None
    column_names: tuple[str, ...] = ()
    fixed_width: tuple[FixedWidthField, ...] = ()
    skip_rows: int | None = None
    header_keyword: str | None = None
    header_rows: int = 1
    text_columns: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()
    wide: WideLayout | None = None
    layout: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """One table of a catalogued product.

    Attributes:
        name: The table's stable name (``""`` for a product whose file is one table); the
            dataset is ``<product dataset>__<name>``.
        match: Source-path globs (see the module docstring) of the leaves that belong to it.
            Every matching leaf of a delivery lands in this one table.
        extract: A regular expression searched in the source path whose named groups
            become columns (dates, revisions, basins, subsystems in member or sheet names).
        parse: Reader overrides.
        columns: Expected columns, for drift reports and documentation.
        raw: Members kept raw only (model decks): matched, never parsed.
        dataset: The lake dataset this table lands in, chosen once and stable (short enough
            to type in a query: ``acomph``, ``dessem_carga``); ``None`` for the historical
            ``<product dataset>__<name>``.
        description: What the table holds, for people (README, ``make inspect-file``).
    """

    name: str
    match: tuple[str, ...]
    extract: re.Pattern[str] | None = None
    parse: ParseSpec = field(default_factory=ParseSpec)
    columns: tuple[ColumnSpec, ...] = ()
    raw: bool = False
    dataset: str | None = None
    description: str | None = None

    def matches(self, source_path: str) -> bool:
        """Tell whether a leaf belongs to this table."""
        return glob_matches(self.match, source_path)


def glob_matches(patterns: Sequence[str], source_path: str) -> bool:
    """Case-insensitive glob match of a source path against any of the patterns."""
    folded = source_path.casefold()
    return any(fnmatch.fnmatchcase(folded, pattern.casefold()) for pattern in patterns)


_PARSE_KEYS = frozenset(ParseSpec.__dataclass_fields__)
_TABLE_KEYS = frozenset(
    {"name", "match", "extract", "parse", "columns", "raw", "dataset", "description"}
)
_COLUMN_KEYS = frozenset({"name", "type", "unit", "description", "range", "required"})
_COLUMN_TYPES = frozenset({"int", "float", "date", "datetime", "bool", "string"})
_SNAKE = re.compile(r"[a-z_][a-z0-9_]*")


def table_spec_from_mapping(raw: object, where: str) -> TableSpec:
    """Build a :class:`TableSpec` from one ``tables:`` entry of ``products.yaml``.

    Args:
        raw: The YAML mapping.
        where: Location for error messages (file, product, entry).

    Returns:
        The validated spec.

    Raises:
        ValueError: On an unknown key, a wrong type or an invalid regular expression; the
            message names the entry and the key, because a typo here silently changes
            how a product is read.
    """
    mapping = _mapping(raw, where)
    _known(mapping, _TABLE_KEYS, where)
    name = mapping.get("name", "")
    if not isinstance(name, str) or (name and not _SNAKE.fullmatch(name)):
        raise ValueError(f"{where}: name must be a snake_case string or empty, got {name!r}")
    where = f"{where} (table {name!r})"
    match = _strings(mapping.get("match"), f"{where}.match")
    if not match:
        raise ValueError(f"{where}: match needs at least one glob")
    extract = None
    if mapping.get("extract") is not None:
        try:
            extract = re.compile(str(mapping["extract"]))
        except re.error as error:
            raise ValueError(f"{where}.extract: invalid regular expression: {error}") from None
        bad = [group for group in extract.groupindex if not _SNAKE.fullmatch(group)]
        if not extract.groupindex or bad:
            raise ValueError(f"{where}.extract: needs named groups in snake_case, got {bad}")
    columns = tuple(
        _column(entry, f"{where}.columns[{index}]")
        for index, entry in enumerate(mapping.get("columns") or [])
    )
    raw_only = mapping.get("raw", False)
    if not isinstance(raw_only, bool):
        raise ValueError(f"{where}.raw must be true or false")
    dataset = mapping.get("dataset")
    if dataset is not None and not (
        isinstance(dataset, str) and re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", dataset)
    ):
        raise ValueError(f"{where}.dataset must be a lowercase slug, got {dataset!r}")
    description = mapping.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError(f"{where}.description must be text")
    return TableSpec(
        name=name,
        match=match,
        extract=extract,
        parse=_parse(mapping.get("parse") or {}, f"{where}.parse"),
        columns=columns,
        raw=raw_only,
        dataset=dataset,
        description=description,
    )


def _mapping(raw: object, where: str) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _known(mapping: dict[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in mapping.keys() - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def _column(raw: object, where: str) -> ColumnSpec:
    mapping = _mapping(raw, where)
    _known(mapping, _COLUMN_KEYS, where)
    name = mapping.get("name")
    if not isinstance(name, str) or not _SNAKE.fullmatch(name):
        raise ValueError(f"{where}: name must be ASCII snake_case, got {name!r}")
    column_type = mapping.get("type")
    if column_type is not None and column_type not in _COLUMN_TYPES:
        raise ValueError(f"{where}: type must be one of {sorted(_COLUMN_TYPES)}")
    unit, description = mapping.get("unit"), mapping.get("description")
    bounds = mapping.get("range")
    plausible: tuple[float | None, float | None] | None = None
    if bounds is not None:
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(
                b is None or (isinstance(b, int | float) and not isinstance(b, bool))
                for b in bounds
            )
            or (bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1])
        ):
            raise ValueError(f"{where}.range must be [low, high] (numbers or null, low <= high)")
        if column_type not in ("int", "float"):
            raise ValueError(f"{where}.range needs a numeric type (int or float)")
        plausible = (
            None if bounds[0] is None else float(bounds[0]),
            None if bounds[1] is None else float(bounds[1]),
        )
    required = mapping.get("required", True)
    if not isinstance(required, bool):
        raise ValueError(f"{where}.required must be true or false")
    return ColumnSpec(
        name=name,
        type=column_type,  # type: ignore[arg-type]
        unit=None if unit is None else str(unit),
        description=None if description is None else str(description),
        range=plausible,
        required=required,
    )


def _parse(raw: object, where: str) -> ParseSpec:
    mapping = dict(_mapping(raw, where))
    _known(mapping, _PARSE_KEYS, where)
    values: dict[str, object] = {}
    for key in ("encoding", "header_keyword", "layout"):
        if mapping.get(key) is not None:
            values[key] = str(mapping[key])
    if "delimiter" in mapping:
        delimiter = mapping["delimiter"]
        if delimiter not in DELIMITER_NAMES:
            raise ValueError(f"{where}.delimiter must be one of {sorted(DELIMITER_NAMES)}")
        values["delimiter"] = DELIMITER_NAMES[str(delimiter)]
    if "decimal" in mapping:
        if mapping["decimal"] not in ("auto", "comma", "point"):
            raise ValueError(f"{where}.decimal must be auto, comma or point")
        values["decimal"] = mapping["decimal"]
    if "header" in mapping:
        if mapping["header"] not in (True, False, None):
            raise ValueError(f"{where}.header must be true, false or null")
        values["header"] = mapping["header"]
    for key in ("skip_rows", "header_rows"):
        if key in mapping and mapping[key] is not None:
            number = mapping[key]
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError(f"{where}.{key} must be a non-negative integer")
            values[key] = number
    for key in ("column_names", "text_columns", "sheets"):
        if key in mapping:
            values[key] = _strings(mapping[key], f"{where}.{key}")
    if "fixed_width" in mapping:
        fields = []
        for index, entry in enumerate(mapping["fixed_width"] or []):
            item = _mapping(entry, f"{where}.fixed_width[{index}]")
            _known(item, frozenset({"name", "start", "end"}), f"{where}.fixed_width[{index}]")
            start, end = item.get("start"), item.get("end")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                raise ValueError(f"{where}.fixed_width[{index}]: needs 0 <= start < end")
            fields.append(FixedWidthField(str(item.get("name")), start, end))
        values["fixed_width"] = tuple(fields)
    if mapping.get("wide") is not None:
        item = _mapping(mapping["wide"], f"{where}.wide")
        allowed = frozenset(WideLayout.__dataclass_fields__)
        _known(item, allowed, f"{where}.wide")
        try:
            values["wide"] = WideLayout(**item)  # type: ignore[arg-type]
        except TypeError as error:
            raise ValueError(f"{where}.wide: {error}") from None
    return ParseSpec(**values)  # type: ignore[arg-type]
