"""The SINtegre product catalog: ids, names and their spellings, and when each usually arrives.

The catalog lives in ``products.yaml`` beside this module. A notification is routed by the
product id in its token (``/Produtos/<id>/``) first and by its ``nome`` second, because ONS
changes display names and spells them inconsistently (trailing dots, en dashes, double spaces,
case, a `` – ONS`` suffix). An unknown product is still accepted elsewhere: :meth:`Catalog.lookup`
returning ``None`` is a normal answer, not an error.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

import pydantic
import yaml
from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

from sintegre.catalog.index import DEFAULT_PATH, ENTRIES_DIR
from sintegre.catalog.spec import CONFIG, Count, TableSpec, explain
from sintegre.core.slugs import slugify, strip_format_characters

BRASILIA = ZoneInfo("America/Sao_Paulo")
# DEFAULT_PATH is products.yaml beside this module; ENTRIES_DIR holds one file per product
# beside it (``products.d/<id>.yaml``, each a ``products:`` list). Defined with the index, which
# a DAG file's parse reads instead of the catalog.

Granularity = Literal["daily", "weekly", "monthly"]
Format = Literal["pdf", "xls", "xlsx", "zip", "txt", "csv", "folder-zip"]
Confidence = Literal["normal", "low"]
GRANULARITIES: tuple[str, ...] = get_args(Granularity)
FORMATS: tuple[str, ...] = get_args(Format)
CONFIDENCES: tuple[str, ...] = get_args(Confidence)

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DAG_PREFIX = "sintegre__"
#: Datasets of products the catalog does not know start with this (``produto_812``).
UNCATALOGUED_PREFIX = "produto_"

# Every dash-like code point a hand-typed or word-processed name may carry, folded to "-".
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"), "-"
)
_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s.,;:!?]+$")
_ONS_SUFFIX = re.compile(r"\s*-\s*ons$")

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _hh_mm(value: object) -> object:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # PyYAML (YAML 1.1) reads an unquoted 09:35 as the base-60 integer 575.
        raise ValueError(f'got the number {value}; quote the time, e.g. "09:35"')
    if not isinstance(value, str) or not (match := _HH_MM.fullmatch(value)):
        raise ValueError(f'expected "HH:MM", got {value!r}')
    return time(int(match[1]), int(match[2]))


Text = Annotated[str, AfterValidator(_not_blank)]
ClockTime = Annotated[time, BeforeValidator(_hh_mm)]
Day = Annotated[int, Strict()]


@pydantic.dataclasses.dataclass(frozen=True, config=CONFIG)
class ArrivalWindow:
    """When a product's notification usually arrives, in Brasília local time.

    Attributes:
        start: Earliest usual arrival time of day.
        end: Latest usual arrival time of day (never before ``start``; a window crossing
            midnight is expressed with ``day_offset`` instead).
        margin_minutes: Grace period after ``end`` before the product counts as late.
        day_offset: Daily products: the notification for day D arrives on D + day_offset.
        weekdays: Weekly products: ISO weekdays (1 = Monday) before the week on which it is sent.
        month_day_range: Monthly products: ``(first, last)`` days relative to the 1st.
        confidence: ``"low"`` when the window is a wide guess rather than observed times.
    """

    start: ClockTime
    end: ClockTime
    margin_minutes: Count
    day_offset: Day = 0
    weekdays: Annotated[tuple[Annotated[Day, Field(ge=1, le=7)], ...], Field(min_length=1)] = ()
    month_day_range: tuple[Day, Day] | None = None
    confidence: Confidence = "normal"

    @pydantic.model_validator(mode="after")
    def _check(self) -> ArrivalWindow:
        if self.end < self.start:
            raise ValueError(f"end {self.end:%H:%M} is before start {self.start:%H:%M}")
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays must be distinct ISO weekdays 1..7")
        # Within ±27 days the range cannot reach past a neighbouring month into the next one.
        if (
            self.month_day_range
            and not -27 <= self.month_day_range[0] <= self.month_day_range[1] <= 27
        ):
            raise ValueError("month_day_range needs -27 <= first <= last <= 27")
        return self


@pydantic.dataclasses.dataclass(frozen=True, config=CONFIG)
class Product:
    """One SINtegre product.

    Attributes:
        id: The stable id from the token's ``/Produtos/<id>/`` path segment.
        name: The display name exactly as ONS sends it in ``nome``.
        aliases: Other spellings seen or documented for the same product.
        processo: ``processo`` as sent.
        macro_processo: ``macroProcesso`` as sent.
        granularity: ``daily``, ``weekly`` or ``monthly``.
        file_pattern: The usual file name, with placeholders.
        format: One of :data:`FORMATS`; ``folder-zip`` is a folder product downloaded as a zip.
        content: A short description of the file's layout.
        arrival: The usual notification window.
        dag_id: The product's Airflow DAG id (stored, so a rename does not move it).
        dataset: The product's lake dataset name (stored, for the same reason).
        tables: The product's tables: which leaves of a delivery (ZIP members, sheets) land
            in which stable table, how to read them and the columns expected. Empty: the
            generic readers decide and :func:`sintegre.readers.assemble` names the tables.
        doc: Free text for the DAG's documentation (what analysts should know).
        evidence: Which real ONS file or long-lived public parser the tables' layouts were
            checked against, and what is still unconfirmed.
    """

    # bool is an int subclass: strict, so "id: yes" does not become product 1.
    id: Annotated[int, Strict(), Field(gt=0)]
    name: Text
    aliases: tuple[Text, ...]
    processo: Text
    macro_processo: Text
    granularity: Granularity
    file_pattern: Text
    format: Format
    content: Text
    arrival: ArrivalWindow
    dag_id: str
    dataset: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$")]
    tables: tuple[TableSpec, ...] = ()
    doc: str = ""
    evidence: Annotated[str, AfterValidator(lambda text: " ".join(text.split()))] = ""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_aliases(cls, data: object) -> object:
        return {"aliases": (), **data} if isinstance(data, dict) else data

    @pydantic.model_validator(mode="after")
    def _check(self) -> Product:
        if self.dag_id != _DAG_PREFIX + self.dataset:
            raise ValueError(f"dag_id {self.dag_id!r} must be {_DAG_PREFIX + self.dataset!r}")
        names = [table.name for table in self.tables if not table.raw]
        if len(set(names)) != len(names):
            raise ValueError(f"table names must be unique, got {names}")
        # Each granularity reads exactly one kind of day rule; a stray one would be ignored.
        window = self.arrival
        weekly, monthly = bool(window.weekdays), window.month_day_range is not None
        needs = {
            "daily": ("no weekdays nor month_day_range", not weekly and not monthly),
            "weekly": (
                "weekdays, and no month_day_range nor day_offset",
                weekly and not monthly and window.day_offset == 0,
            ),
            "monthly": (
                "month_day_range, and no weekdays nor day_offset",
                monthly and not weekly and window.day_offset == 0,
            ),
        }
        rule, ok = needs[self.granularity]
        if not ok:
            raise ValueError(f"arrival: a {self.granularity} product needs {rule}")
        return self

    def table_named(self, name: str) -> TableSpec:
        """The catalogued (not raw-only) table of this name.

        Raises:
            KeyError: No such table.
        """
        for table in self.tables:
            if table.name == name and not table.raw:
                return table
        raise KeyError(f"product {self.id} has no table {name!r}")

    def dataset_of(self, table: TableSpec) -> str:
        """The lake dataset a table of this product lands in (its own, else the historical)."""
        if table.dataset:
            return table.dataset
        return f"{self.dataset}__{table.name}" if table.name else self.dataset

    @property
    def tags(self) -> list[str]:
        """Airflow tags: the macroprocesso and granularity, to filter the DAG list."""
        return [slugify(self.macro_processo, fallback="macroprocesso"), self.granularity]

    def doc_md(self) -> str:
        """Markdown for the DAG's documentation, written from the catalog entry."""
        lines = [
            f"# {self.name}",
            "",
            f"- **Product id**: {self.id} (routes by the token's `/Produtos/{self.id}/`)",
            f"- **Processo / macroProcesso**: {self.processo} / {self.macro_processo}",
            f"- **Granularity**: {self.granularity}; usual arrival {self.arrival.start:%H:%M}"
            f"–{self.arrival.end:%H:%M} Brasília (+{self.arrival.margin_minutes} min grace)",
            f"- **File**: `{self.file_pattern}` ({self.format}): {self.content}",
            f"- **Lake dataset**: `{self.dataset}` (tables `{self.dataset}__<table>`)",
        ]
        if self.aliases:
            lines.append("- **Also spelled**: " + "; ".join(f"`{a}`" for a in self.aliases))
        if self.doc:
            lines += ["", self.doc.strip()]
        if self.tables:
            lines += ["", "## Tables", ""]
            for table in self.tables:
                title = table.name or "(the file itself)"
                how = (
                    "kept raw, not parsed"
                    if table.raw
                    else ", ".join(
                        f"`{c.name}`" + (f" ({c.unit})" if c.unit else "") for c in table.columns
                    )
                )
                lines.append(
                    f"- **{title}** ← `{'`, `'.join(table.match)}`: {how or 'columns as read'}"
                )
        return "\n".join(lines)


def normalise_name(name: str) -> str:
    """Fold a product name so that every observed spelling of it compares equal.

    Folds case and accents (casefold, NFKD, combining marks dropped), every dash to ``-``,
    whitespace runs to one space, trailing punctuation (``.``, ``,``, ``;``, ``:``, ``!``,
    ``?``) and a trailing `` - ONS`` / `` – ONS`` suffix. Brackets are kept: ``"IPDO (…)"``
    ends with a meaningful ``)``.

    Args:
        name: A product name as sent (``nome`` or the token's ``nomeProduto``).

    Returns:
        The folded key, ``""`` when nothing is left.
    """
    # Invisible format characters (zero-width space, direction marks) first: a name carrying
    # one is the same name to a person, and must not miss the catalog.
    # casefold before NFKD: folding can produce characters that decompose further.
    text = unicodedata.normalize("NFKD", strip_format_characters(name).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_DASHES)
    text = _WHITESPACE.sub(" ", text).strip()
    # Loop because the hazards stack: "Precipitação por Satélite. – ONS." has both.
    while True:
        folded = _ONS_SUFFIX.sub("", _TRAILING_PUNCTUATION.sub("", text))
        if folded == text:
            return text
        text = folded


@dataclass(frozen=True)
class Catalog:
    """An immutable set of products with id and name indexes.

    Building one checks what lookups rely on: unique ids, dag ids and datasets, and no
    normalised name or alias shared by two products.

    Attributes:
        products: Every product, in file order.

    Raises:
        ValueError: On a duplicate, naming both products.
    """

    products: tuple[Product, ...]
    _by_id: Mapping[int, Product] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, Product] = field(init=False, repr=False, compare=False)
    _datasets: frozenset[str] = field(init=False, repr=False, compare=False)

    @property
    def datasets(self) -> frozenset[str]:
        """Every lake dataset the catalog owns: products' and their tables'."""
        return self._datasets

    def __post_init__(self) -> None:
        by_id: dict[int, Product] = {}
        by_name: dict[str, Product] = {}
        by_dag: dict[str, Product] = {}
        by_dataset: dict[str, Product] = {}
        for product in self.products:
            _claim(by_id, product.id, product, "id")
            _claim(by_dag, product.dag_id, product, "dag_id")
            _claim(by_dataset, product.dataset, product, "dataset")
        for product in self.products:
            # A table's lake dataset may repeat its own product's name, never another's.
            for table in product.tables:
                if table.raw:
                    continue
                name = product.dataset_of(table)
                if by_dataset.get(name, product) is not product:
                    raise ValueError(
                        f"{_describe(product)}: table dataset {name!r} is already used by "
                        f"{_describe(by_dataset[name])}"
                    )
                by_dataset[name] = product
            for spelling in (product.name, *product.aliases):
                key = normalise_name(spelling)
                if not key:
                    raise ValueError(f"{_describe(product)}: name or alias {spelling!r} is blank")
                # The same product may list spellings that fold together; only a clash matters.
                if by_name.get(key, product) is not product:
                    other = by_name[key]
                    raise ValueError(
                        f"{_describe(product)}: name or alias {spelling!r} normalises to "
                        f"{key!r}, already used by {_describe(other)}"
                    )
                by_name[key] = product
        reserved = sorted(name for name in by_dataset if name.startswith(UNCATALOGUED_PREFIX))
        if reserved:
            raise ValueError(
                f"datasets {reserved} start with {UNCATALOGUED_PREFIX!r}, which is reserved for "
                "products the catalog does not know"
            )
        object.__setattr__(self, "_datasets", frozenset(by_dataset))
        # Read-only views: a cached catalog is shared by every caller in the process.
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def by_id(self, product_id: int | None) -> Product | None:
        """The product with this id.

        Args:
            product_id: The id from the token's URL claim, or ``None`` when it had none.

        Returns:
            The product, or ``None`` when the id is missing or unknown.
        """
        if product_id is None:
            return None
        return self._by_id.get(product_id)

    def by_name(self, name: str) -> Product | None:
        """The product whose name or an alias matches ``name`` once normalised.

        Args:
            name: A product name in any observed spelling.

        Returns:
            The product, or ``None`` when no product is known by that name.
        """
        if not name:
            return None
        return self._by_name.get(normalise_name(name))

    def lookup(self, product_id: int | None, name: str) -> Product | None:
        """Route a notification: by id first, then by name.

        The id wins because it is stable while display names change; the name is the fallback
        for a notification without a usable token claim or with an id not in the catalog yet.

        Args:
            product_id: The id from the token's URL claim, if any.
            name: The notification's ``nome``.

        Returns:
            The product, or ``None`` when neither the id nor the name is known.
        """
        product = self.by_id(product_id)
        if product is not None:
            return product
        return self.by_name(name)


def _describe(product: Product) -> str:
    return f"product {product.id} ({product.name!r})"


def _claim(index: dict[Any, Product], key: Any, product: Product, what: str) -> None:
    if key in index:
        raise ValueError(
            f"{_describe(product)}: duplicate {what} {key!r}, already used by "
            f"{_describe(index[key])}"
        )
    index[key] = product


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a product catalog.

    Args:
        path: A catalog YAML file; the package's ``products.yaml`` when omitted (read once per
            process and cached).

    Returns:
        The catalog.

    Raises:
        ValueError: When the file is not valid YAML or an entry is malformed or clashes with
            another; the message names the file and the entry.
    """
    if path is None:
        return _default_catalog()
    return _read_catalog(Path(path))


@functools.lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    # Only the packaged file is cached: an explicit path is a test or a tool, and may change.
    return _read_catalog(DEFAULT_PATH, entries=ENTRIES_DIR)


def _read_catalog(path: Path, entries: Path | None = None) -> Catalog:
    """Read ``path`` (a file, or a folder of ``*.yaml``), then every file of ``entries``."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if entries is not None and entries.is_dir():
        files += sorted(entries.glob("*.yaml"))
    products: list[Product] = []
    for file in files:
        products.extend(_read_file(file))
    try:
        return Catalog(tuple(products))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _read_file(path: Path) -> list[Product]:
    try:
        # libyaml's safe loader when PyYAML was built with it: the catalog is read at every DAG
        # file parse and in every task, and the pure-Python loader took 0.35-0.95 s of it.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise ValueError(f"{path}: expected a mapping with a 'products' list")
    return [
        _parse_product(entry, f"{path}: entry #{number}")
        for number, entry in enumerate(document["products"], start=1)
    ]


_PRODUCT = pydantic.TypeAdapter(Product)


def _parse_product(entry: object, where: str) -> Product:
    # Name the entry as precisely as the file allows: the error's location says the rest.
    if isinstance(entry, dict) and (
        isinstance(entry.get("id"), int) or isinstance(entry.get("name"), str)
    ):
        where = f"{where} (id {entry.get('id')!r}, {entry.get('name')!r})"
    try:
        return _PRODUCT.validate_python(entry)
    except pydantic.ValidationError as error:
        raise ValueError(explain(error, where, entry)) from None


def expected_by(product: Product, period_start: date) -> datetime:
    """The moment after which the notification for a period counts as late.

    - daily: day ``period_start + day_offset`` at ``end`` + margin;
    - weekly: the last allowed weekday before ``period_start`` (ONS operative weeks run Saturday
      to Friday and are published Tuesday to Thursday *before* the week) at ``end`` + margin;
    - monthly: the 1st of ``period_start``'s month + ``month_day_range[1]`` days at ``end`` +
      margin.

    Args:
        product: The product.
        period_start: The first day of the period (the day, the week's Saturday, the month's 1st;
            a later day of the month is read as its month).

    Returns:
        An aware datetime in America/Sao_Paulo.
    """
    window = product.arrival
    if product.granularity == "weekly":
        day = next(
            candidate
            for candidate in (period_start - timedelta(days=back) for back in range(1, 8))
            if candidate.isoweekday() in window.weekdays
        )
    elif product.granularity == "monthly":
        last_day = window.month_day_range[1] if window.month_day_range else 0
        day = period_start.replace(day=1) + timedelta(days=last_day)
    else:
        day = period_start + timedelta(days=window.day_offset)
    local_end = datetime.combine(day, window.end, tzinfo=BRASILIA)
    # Add the margin as elapsed time (through UTC): Brasília had DST until 2019, and a backfill
    # judged across a switch must not gain or lose an hour.
    deadline = local_end.astimezone(UTC) + timedelta(minutes=window.margin_minutes)
    return deadline.astimezone(BRASILIA)


__all__ = [
    "BRASILIA",
    "CONFIDENCES",
    "DEFAULT_PATH",
    "FORMATS",
    "GRANULARITIES",
    "ArrivalWindow",
    "Catalog",
    "Product",
    "expected_by",
    "load_catalog",
    "normalise_name",
]
