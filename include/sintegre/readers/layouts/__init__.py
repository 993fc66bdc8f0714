"""Readers for ONS layouts that no generic reader gets right, one module per product family.

The generic readers (delimited text, workbooks with keyword headers) read most files. Some of
ONS's files have a structure only a dedicated reader can check: Acomph's 8-column gauge blocks
with the gauge number at the end of the block and a footer of monthly averages, RDH's basin
label rows and "ND" cells, whitespace-separated PSAT codes, DESSEM/DECOMP ``DP`` records. A
catalog table names its reader with ``parse: {layout: <name>}``.

Two kinds, registered by decorator in the family modules of this package:

- **text layouts** get the member's bytes (``source.path``) and return one typed table;
- **sheet layouts** get one workbook sheet's cells (``source.rows``, as python-calamine gives
  them: ``str``, ``float``, ``int``, ``bool``, ``date``, ``datetime``, ``None`` for empty) in
  absolute coordinates, and return one typed table.

A reader is strict: when the file does not have the layout (a header label missing, a number
that is not a number, a block of the wrong width, an implausible row count) it raises
:class:`~sintegre.readers.errors.LayoutMismatch` saying what it expected and what it found, and
nothing of the delivery lands. A wrong number in the lake is the worst outcome; a loud failure
with the raw file kept is the safe one.

Each module's docstring says which real ONS file or long-lived public parser its layout was
checked against (the same ``evidence`` as the product's catalog entry).
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import pkgutil
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa

from sintegre.readers.errors import LayoutMismatch, ParseError

__all__ = [
    "Cell",
    "LayoutKind",
    "LayoutSource",
    "cell_date",
    "cell_float",
    "cell_text",
    "fold",
    "layout_kind",
    "layout_names",
    "mismatch",
    "read_layout",
    "require_labels",
    "sheet_layout",
    "text_layout",
]

Cell = object
"""One spreadsheet cell as python-calamine gives it (``None`` for empty)."""

LayoutKind = Literal["text", "sheet"]


@dataclass(frozen=True)
class LayoutSource:
    """What a layout reader reads.

    Attributes:
        path: The file on disk: a text member (text layouts) or the workbook (sheet layouts).
        label: The file, member and sheet as a person names them, for messages.
        member: The path inside the delivery the catalog matched (``""`` for the file itself).
        sheet: The sheet name (sheet layouts).
        rows: The sheet's cells, row by row, in absolute coordinates (sheet layouts).
    """

    path: Path
    label: str
    member: str = ""
    sheet: str | None = None
    rows: list[list[Cell]] | None = None

    def read_bytes(self) -> bytes:
        """The member's bytes (text layouts read whole members: they are small)."""
        return self.path.read_bytes()


LayoutReader = Callable[[LayoutSource], pa.Table]
_REGISTRY: dict[str, tuple[LayoutKind, LayoutReader]] = {}
_loaded = False


def text_layout(name: str) -> Callable[[LayoutReader], LayoutReader]:
    """Register a reader of one text member (``parse: {layout: name}`` in the catalog)."""
    return _register(name, "text")


def sheet_layout(name: str) -> Callable[[LayoutReader], LayoutReader]:
    """Register a reader of one workbook sheet (``parse: {layout: name}`` in the catalog)."""
    return _register(name, "sheet")


def _register(name: str, kind: LayoutKind) -> Callable[[LayoutReader], LayoutReader]:
    def decorate(reader: LayoutReader) -> LayoutReader:
        if name in _REGISTRY and _REGISTRY[name][1] is not reader:
            raise ValueError(f"layout {name!r} is registered twice")
        _REGISTRY[name] = (kind, reader)
        return reader

    return decorate


def _load_all() -> None:
    """Import every family module of this package (they register themselves)."""
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def layout_names() -> dict[str, LayoutKind]:
    """Every registered layout and its kind (the catalog test checks names against it)."""
    _load_all()
    return {name: kind for name, (kind, _) in sorted(_REGISTRY.items())}


def layout_kind(name: str) -> LayoutKind:
    """The kind of a registered layout.

    Raises:
        ParseError: No such layout (a catalog typo: the catalog test catches it first).
    """
    _load_all()
    if name not in _REGISTRY:
        raise ParseError(f"the catalog names layout {name!r}, which no reader registers")
    return _REGISTRY[name][0]


def read_layout(name: str, source: LayoutSource) -> pa.Table:
    """Read ``source`` with the layout ``name``.

    Raises:
        LayoutMismatch: The source does not have the layout.
        ParseError: Unknown layout, or the source is unreadable.
    """
    layout_kind(name)
    table = _REGISTRY[name][1](source)
    if table.num_rows == 0:
        raise mismatch(source.label, "at least one data row", "none")
    return table


# --------------------------------------------------------------------------- strict cells


def mismatch(where: str, expected: str, found: object) -> LayoutMismatch:
    """A :class:`LayoutMismatch`; ``found`` is shown with ``repr`` unless it is already text."""
    shown = found if isinstance(found, str) else repr(found)
    if len(shown) > 200:
        shown = shown[:200] + "…"
    return LayoutMismatch(where, expected, shown)


def fold(text: object) -> str:
    """Upper case, accents removed, inner whitespace collapsed: for matching header labels.

    ``"Vazão  (m³/s)"`` → ``"VAZAO (M3/S)"``; ``None`` → ``""``.
    """
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", plain).strip().upper()


def cell_text(cell: Cell) -> str:
    """A cell as a person reads it: integral floats without ``.0``, stripped; ``""`` if empty."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


_BR_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")
_POINT_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def cell_float(
    cell: Cell,
    where: str,
    what: str,
    *,
    missing: Iterable[str] = (),
    decimal: Literal["point", "comma", "any"] = "any",
) -> float | None:
    """A numeric cell, strictly.

    Numbers stored as numbers pass; text is accepted only when it is a whole number in the
    given convention (``1.234,5`` for ``comma``, ``1234.5`` for ``point``). Text listed in
    ``missing`` (ONS writes ``ND`` or ``-``) and empty cells are ``None``. Anything else is a
    layout mismatch: a label where a number should be means the columns have moved.

    Args:
        cell: The cell.
        where: File/sheet/row for the message.
        what: The measure, for the message.
        missing: Texts that mean "no value" (compared folded).
        decimal: The text convention accepted.

    Raises:
        LayoutMismatch: The cell is neither a number, empty nor a "missing" marker.
    """
    if cell is None or isinstance(cell, bool):
        if isinstance(cell, bool):
            raise mismatch(where, f"a number for {what}", cell)
        return None
    if isinstance(cell, int | float):
        value = float(cell)
        if math.isnan(value) or math.isinf(value):
            raise mismatch(where, f"a finite number for {what}", cell)
        return value
    text = str(cell).strip()
    if not text or fold(text) in {fold(marker) for marker in missing}:
        return None
    if (
        decimal in ("comma", "any")
        and _BR_NUMBER.fullmatch(text)
        and (decimal == "comma" or "," in text)
    ):
        return float(text.replace(".", "").replace(",", "."))
    if decimal in ("point", "any") and _POINT_NUMBER.fullmatch(text):
        return float(text)
    raise mismatch(where, f"a number for {what}", text)


_DATE_TEXT = (
    (re.compile(r"\d{2}/\d{2}/\d{4}"), "%d/%m/%Y"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
)


def cell_date(cell: Cell, where: str, what: str = "the date") -> dt.date:
    """A date cell: a calamine date/datetime, or ``dd/mm/yyyy`` / ``yyyy-mm-dd`` text.

    Raises:
        LayoutMismatch: Anything else (an empty cell included).
    """
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    text = cell_text(cell)[:10]
    for pattern, fmt in _DATE_TEXT:
        if pattern.fullmatch(text):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                break
    raise mismatch(where, f"a date in {what}", cell)


def require_labels(row: Sequence[Cell], labels: Iterable[str], where: str) -> None:
    """Check that every label occurs (folded, as a substring) in some cell of ``row``.

    Raises:
        LayoutMismatch: Naming the labels not found and what the row holds.
    """
    texts = [fold(cell_text(cell)) for cell in row]
    absent = [label for label in labels if not any(fold(label) in text for text in texts)]
    if absent:
        shown = [text for text in texts if text][:12]
        raise mismatch(where, f"header labels {absent}", f"{shown}")
