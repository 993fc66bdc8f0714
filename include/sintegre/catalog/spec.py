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
from dataclasses import field
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

__all__ = [
    "CONFIG",
    "ColumnSpec",
    "FixedWidthField",
    "ParseSpec",
    "TableSpec",
    "WideLayout",
    "explain",
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

_SNAKE = r"[a-z_][a-z0-9_]*"
_SLUG = r"[a-z][a-z0-9]*(_[a-z0-9]+)*"
#: Every model refuses a key it does not declare: a typo in ``products.yaml`` would otherwise
#: silently change how a product is read.
CONFIG = ConfigDict(extra="forbid")

Snake = Annotated[str, StringConstraints(pattern=rf"^{_SNAKE}$")]
Count = Annotated[int, Strict(), Field(ge=0)]
ColumnType = Literal["int", "float", "date", "datetime", "bool", "string"]
Bound = Annotated[float, Strict()] | None


def _one_or_many(value: object) -> object:
    """A single glob or name may be written without a list; ``None`` is none."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]


def _delimiter(value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, str) or value not in DELIMITER_NAMES:
        raise ValueError(f"must be one of {sorted(DELIMITER_NAMES)}")
    return DELIMITER_NAMES[value]


def _regex(value: object) -> object:
    if value is None or isinstance(value, re.Pattern):
        return value
    try:
        return re.compile(str(value))
    except re.error as error:
        raise ValueError(f"invalid regular expression: {error}") from None


@dataclass(frozen=True, config=CONFIG)
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

    name: Snake
    type: ColumnType | None = None
    unit: str | None = None
    description: str | None = None
    range: tuple[Bound, Bound] | None = None
    required: Annotated[bool, Strict()] = True

    @model_validator(mode="after")
    def _plausible_range(self) -> ColumnSpec:
        if self.range is not None:
            low, high = self.range
            if low is not None and high is not None and low > high:
                raise ValueError(f"range [{low}, {high}] needs low <= high")
            if self.type not in ("int", "float"):
                raise ValueError("range needs a numeric type (int or float)")
        return self


@dataclass(frozen=True, config=CONFIG)
class FixedWidthField:
    """One field of a fixed-width text layout.

    Attributes:
        name: Column name (ASCII snake_case).
        start: First character, 0-based.
        end: One past the last character (Python slice end).
    """

    name: str
    start: Count
    end: int

    @model_validator(mode="after")
    def _not_empty(self) -> FixedWidthField:
        if self.end <= self.start:
            raise ValueError(
                f"fixed-width field {self.name!r} has an empty range {self.start}..{self.end}"
                " (needs 0 <= start < end)"
            )
        return self


@dataclass(frozen=True, config=CONFIG)
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

    block_width: Annotated[int, Strict(), Field(ge=1)]
    leading_columns: Count = 1
    key_row: Count = 0
    key_column: str = "key"


@dataclass(frozen=True, config=CONFIG)
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
    delimiter: Annotated[str | None, BeforeValidator(_delimiter)] = None
    decimal: DecimalConvention = "auto"
    header: Annotated[bool, Strict()] | None = None
    column_names: Names = ()
    fixed_width: tuple[FixedWidthField, ...] = ()
    skip_rows: Count | None = None
    header_keyword: str | None = None
    header_rows: Count = 1
    text_columns: Names = ()
    sheets: Names = ()
    wide: WideLayout | None = None
    layout: str | None = None


@dataclass(frozen=True, config=CONFIG)
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

    name: Annotated[str, StringConstraints(pattern=rf"^({_SNAKE})?$")]
    match: Names
    extract: Annotated[re.Pattern[str] | None, BeforeValidator(_regex)] = None
    parse: ParseSpec = field(default_factory=ParseSpec)
    columns: tuple[ColumnSpec, ...] = ()
    raw: Annotated[bool, Strict()] = False
    dataset: Annotated[str, StringConstraints(pattern=rf"^{_SLUG}$")] | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unnamed(cls, data: object) -> object:
        # In products.yaml a product whose file is one table leaves its table's name out.
        return {"name": "", **data} if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        if not self.match:
            raise ValueError("match needs at least one glob")
        if self.extract is not None:
            groups = list(self.extract.groupindex)
            bad = [group for group in groups if not re.fullmatch(_SNAKE, group)]
            if not groups or bad:
                raise ValueError(f"extract needs named groups in snake_case, got {bad}")
        return self

    def matches(self, source_path: str) -> bool:
        """Tell whether a leaf belongs to this table."""
        return glob_matches(self.match, source_path)


def glob_matches(patterns: Sequence[str], source_path: str) -> bool:
    """Case-insensitive glob match of a source path against any of the patterns."""
    folded = source_path.casefold()
    return any(fnmatch.fnmatchcase(folded, pattern.casefold()) for pattern in patterns)


_TABLE = TypeAdapter(TableSpec)
#: pydantic's wording ("Input should be ...") turned into the catalog's ("... must be ...").
_SHOULD = re.compile(r"^(Input|Value|String|Tuple|List|Dictionary)?\s*should\b")
_PREFIX = re.compile(r"^(Value error|Assertion failed), ")


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
    try:
        return _TABLE.validate_python(raw)
    except ValidationError as error:
        raise ValueError(explain(error, f"{where}{_table_label(raw)}", raw)) from None


def explain(error: ValidationError, where: str, raw: object) -> str:
    """One line per problem of a catalog entry, each naming where it is and what is wrong.

    Args:
        error: What pydantic found.
        where: The entry (file, product id and name).
        raw: The entry as read, to name its tables (``tables[2] (table 'carga')``).

    Returns:
        ``"<where>: <path> <problem>"`` lines; unknown and missing keys grouped per mapping.
    """
    keys: dict[tuple[str, str], list[str]] = {}
    problems: list[str] = []
    for item in error.errors(include_url=False):
        *parents, last = item["loc"] or ("",)
        kind = item["type"]
        if kind in (
            "extra_forbidden",
            "unexpected_keyword_argument",
            "missing",
            "missing_argument",
        ):
            what = "missing" if kind.startswith("missing") else "unknown key(s)"
            keys.setdefault((_place(where, parents, raw), what), []).append(str(last))
            continue
        place = _place(where, [*parents, last] if item["loc"] else [], raw)
        message = _SHOULD.sub("must", _PREFIX.sub("", item["msg"]))
        if kind not in ("value_error", "assertion_error") and not isinstance(
            item["input"], dict | list
        ):
            message += f", got {item['input']!r}"
        joiner = " " if message.startswith(("must", "needs")) and place != where else ": "
        problems.append(f"{place}{joiner}{message}")
    problems += [
        f"{place}: {what} {', '.join(sorted(names))}" for (place, what), names in keys.items()
    ]
    return "; ".join(problems)


def _place(where: str, loc: Sequence[int | str], raw: object) -> str:
    """``where: tables[0] (table 'carga').parse.delimiter`` for a pydantic error location."""
    path, node = "", raw
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if path.endswith(f"tables[{part}]"):
                path += _table_label(node)
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return f"{where}: {path}" if path else where


def _table_label(raw: object) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f" (table {name!r})" if isinstance(name, str) else ""
