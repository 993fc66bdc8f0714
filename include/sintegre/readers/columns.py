"""Column naming and type inference shared by the text and spreadsheet readers.

Text values are typed with vectorised Arrow kernels (regular expressions decide, casts
convert), so a file of hundreds of thousands of rows is typed without a Python loop per
cell. Arrow's casts are strict (``2023-02-29`` is rejected), which is why Brazilian
``dd/mm/yyyy`` values are rewritten to ISO before casting instead of going through
``strptime`` (Arrow's ``strptime`` silently rolls ``29/02/2023`` over to 1 March).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sintegre.core.slugs import slugify

__all__ = [
    "STRING_TYPE",
    "DecimalStyle",
    "TextType",
    "TextTypeMismatch",
    "TextTypeTracker",
    "build_table",
    "cell_to_text",
    "column_names",
    "convert_text_column",
    "infer_python_column",
    "infer_text_column",
    "looks_like_data",
    "normalize_text",
]

DecimalStyle = Literal["comma", "point", "auto"]
"""How numbers are written: ``comma`` = ``1.234,56`` (``;`` files), ``point`` =
``1,234.56`` / ``1234.56`` (``,`` files), ``auto`` = try point first, then comma."""

TIMESTAMP_TYPE = pa.timestamp("us")
_NULL_STRING = pa.scalar(None, pa.string())
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PRECHECK_ROWS = 1000
_DICTIONARY_MIN_ROWS = 50_000
_DICTIONARY_PROBE_ROWS = 10_000


@dataclass(frozen=True)
class _NumberDialect:
    integer: str
    number: str
    thousands: str
    decimal: str


# Brazilian convention used by ONS ';' files: '.' groups thousands, ',' is the decimal mark.
_COMMA = _NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d*)?|,\d+)$",
    thousands=".",
    decimal=",",
)
# ',' files: the decimal mark is '.', and a quoted "1,234.5" may carry ',' thousands.
_POINT = _NumberDialect(
    integer=r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$",
    number=r"^[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands=",",
    decimal=".",
)
# Whitespace/pipe/tab files and spreadsheet text cells: plain numbers, no grouping, so
# "1.234" stays 1.234 rather than becoming 1234.
_PLAIN = _NumberDialect(
    integer=r"^[+-]?\d+$",
    number=r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    thousands="",
    decimal=".",
)
_DIALECTS: dict[str, tuple[_NumberDialect, ...]] = {
    # A ';' file may still use '.' decimals (no grouping); only then does "1.5" mean 1.5.
    "comma": (_COMMA, _PLAIN),
    "point": (_POINT,),
    "auto": (_PLAIN, _COMMA),
}

_BR_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"
_BR_DATETIME = r"^\d{1,2}/\d{1,2}/\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
_ISO_DATETIME_TZ = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)

_DATA_LIKE = [
    re.compile(pattern)
    for pattern in (
        _COMMA.number,
        _POINT.number,
        _PLAIN.number,
        _BR_DATETIME,
        _ISO_DATETIME,
        _ISO_DATETIME_TZ,
    )
]


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


def looks_like_data(value: str) -> bool:
    """Tell whether a header candidate is really a data value (a number or a date).

    Args:
        value: One field of the first line or row.

    Returns:
        True for numbers in any of the supported notations and for dates/date-times.
    """
    text = value.strip()
    return bool(text) and any(pattern.match(text) for pattern in _DATA_LIKE)


def build_table(headers: Sequence[str], columns: Sequence[pa.Array[Any]]) -> pa.Table:
    """Assemble an Arrow table with slugged, de-duplicated column names.

    Args:
        headers: Original header texts, one per column.
        columns: Typed columns, all of the same length.

    Returns:
        The table; its column order is the order of ``headers``.
    """
    return pa.Table.from_arrays(list(columns), names=column_names(headers))


def normalize_text(
    values: pa.Array[Any] | pa.ChunkedArray[Any] | Sequence[str | None],
) -> pa.Array[Any]:
    """Trim text cells and turn empty ones into nulls (the first step of typing).

    Args:
        values: Raw cells, as an Arrow string array or a sequence of strings.

    Returns:
        A string array without surrounding whitespace, ``null`` where the cell was blank.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    if array.type != pa.string():
        array = array.cast(pa.string())
    array = pc.utf8_trim_whitespace(array)
    blank = pc.equal(array, "")  # type: ignore[call-overload]  # pyarrow-stubs: compute takes Python scalars
    trimmed: pa.Array[Any] = pc.if_else(blank, _NULL_STRING, array)
    return trimmed


@dataclass(frozen=True)
class _Temporal:
    pattern: str
    target: pa.DataType
    brazilian: bool


_TEMPORALS = (
    _Temporal(_BR_DATE, pa.date32(), True),
    _Temporal(_ISO_DATE, pa.date32(), False),
    _Temporal(_BR_DATETIME, TIMESTAMP_TYPE, True),
    _Temporal(_ISO_DATETIME, TIMESTAMP_TYPE, False),
    _Temporal(_ISO_DATETIME_TZ, pa.timestamp("us", tz="UTC"), False),
)
# Portuguese and English words; "S"/"N" alone are booleans only when a column holds both
# letters and nothing else, because "S" and "N" are also the Sul and Norte subsystem codes.
_TRUE_WORDS = ("sim", "true", "verdadeiro")
_BOOL_WORDS = pa.array([*_TRUE_WORDS, "não", "nao", "false", "falso"])
_TRUE_VALUES = pa.array([*_TRUE_WORDS, "s"])
_LETTERS = pa.array(["s", "n"])


@dataclass(frozen=True)
class TextType:
    """How a column of text cells is converted (the outcome of type inference).

    Attributes:
        kind: ``string``, ``int``, ``float``, ``temporal`` or ``bool``.
        dialect: Number notation, for ``int`` and ``float``.
        temporal: Date/date-time notation, for ``temporal``.
        tentative: For ``string``: the column looked like text only for lack of evidence
            (no values at all, or only ``S`` or only ``N``), so more rows may change it.
    """

    kind: Literal["string", "int", "float", "temporal", "bool"]
    dialect: _NumberDialect | None = None
    temporal: _Temporal | None = None
    tentative: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of converted columns."""
        if self.kind == "int":
            return pa.int64()
        if self.kind == "float":
            return pa.float64()
        if self.kind == "bool":
            return pa.bool_()
        if self.kind == "temporal":
            assert self.temporal is not None
            return self.temporal.target
        return pa.string()


STRING_TYPE = TextType("string")
"""Text kept as is (``text_columns`` and columns that are not numbers, dates or booleans)."""


class TextTypeMismatch(ValueError):
    """A batch of cells does not fit the type decided for its column."""


class TextTypeTracker:
    """Type inference over a column seen in batches (one batch for small files).

    Every candidate type is a property that must hold for *every* value (matches a
    pattern, survives a cast), so a column's type over a whole file is decided by
    narrowing the candidates batch by batch; the decision equals the one made on the
    whole column at once. Candidates, in order: integers then numbers for each number
    dialect of the file's decimal style, then the first date/date-time notation all
    values match (text if one of them is an impossible date), then booleans.
    """

    def __init__(self, decimal: DecimalStyle, *, booleans: bool = False) -> None:
        """Start with every candidate possible.

        Args:
            decimal: How numbers are written in this file.
            booleans: Infer booleans (text files); spreadsheet cells keep ``true``/``false``
                as text.
        """
        self._dialects = _DIALECTS[decimal]
        # Per dialect: every value is a number, an integer, castable to int64, to double.
        self._number = [[True, True, True, True] for _ in self._dialects]
        self._temporal_match = [True] * len(_TEMPORALS)
        self._temporal_cast = [True] * len(_TEMPORALS)
        self._bool_words = booleans
        self._bool_letters = booleans
        self._letters: set[str] = set()
        self.has_values = False
        self._converted: dict[TextType, pa.Array[Any]] = {}

    def update(self, values: pa.Array[Any], *, exhaustive: bool = True) -> None:
        """Narrow the candidates with one batch of normalised cells.

        Args:
            values: Cells from :func:`normalize_text`.
            exhaustive: Evaluate every remaining candidate (needed when more batches
                follow); False stops at the first candidate that holds, for a one-shot
                decision.
        """
        self._converted = {}
        present = values.drop_null()
        if len(present) == 0:
            return
        self.has_values = True
        for flags, dialect in zip(self._number, self._dialects, strict=True):
            if flags[0] and not _all_match(present, dialect.number):
                flags[:] = [False, False, False, False]
            if not flags[0]:
                continue
            plain = _strip_number(values, dialect)
            if flags[1] and not _all_match(present, dialect.integer):
                flags[1] = False
            if flags[1] and flags[2]:
                flags[2] = self._try(TextType("int", dialect), plain, pa.int64())
                if flags[2] and not exhaustive:
                    return
            if flags[3]:
                flags[3] = self._try(
                    TextType("float", dialect), _point_decimal(plain, dialect), pa.float64()
                )
                if flags[3] and not exhaustive:
                    return
        for index, temporal in enumerate(_TEMPORALS):
            if not self._temporal_match[index]:
                continue
            if not _all_match(present, temporal.pattern):
                self._temporal_match[index] = False
                continue
            if self._temporal_cast[index]:
                iso = _br_to_iso(values, present) if temporal.brazilian else values
                kind = TextType("temporal", temporal=temporal)
                self._temporal_cast[index] = self._try(kind, iso, temporal.target)
            if not exhaustive:
                return  # the first notation every value matches decides
        if self._bool_words or self._bool_letters:
            folded = pc.utf8_lower(present)
            if self._bool_words:
                self._bool_words = bool(pc.all(pc.is_in(folded, value_set=_BOOL_WORDS)).as_py())
            if self._bool_letters:
                self._bool_letters = bool(pc.all(pc.is_in(folded, value_set=_LETTERS)).as_py())
                if self._bool_letters:
                    letters = pc.unique(folded).to_pylist()  # of non-null text
                    self._letters.update(cast("list[str]", letters))

    def decision(self) -> TextType:
        """The type every value seen so far fits.

        Returns:
            The first candidate that held for every batch.
        """
        if not self.has_values:
            return TextType("string", tentative=True)
        for flags, dialect in zip(self._number, self._dialects, strict=True):
            number, integer, int_cast, float_cast = flags
            if number and integer and int_cast:
                return TextType("int", dialect)
            if number and float_cast:
                return TextType("float", dialect)
        for index, temporal in enumerate(_TEMPORALS):
            if self._temporal_match[index]:
                if self._temporal_cast[index]:
                    return TextType("temporal", temporal=temporal)
                return STRING_TYPE  # an impossible date such as 31/04: keep the text
        if self._bool_words:
            return TextType("bool")
        if self._bool_letters:
            return (
                TextType("bool")
                if self._letters == {"s", "n"}
                else TextType("string", tentative=True)
            )
        return STRING_TYPE

    def converted(self, text_type: TextType) -> pa.Array[Any] | None:
        """The last batch already converted to ``text_type`` while deciding, if any."""
        return self._converted.get(text_type)

    def _try(self, text_type: TextType, values: pa.Array[Any], target: pa.DataType) -> bool:
        try:
            self._converted[text_type] = pc.cast(values, target)
        except pa.ArrowInvalid:
            return False
        return True


def convert_text_column(values: pa.Array[Any], text_type: TextType) -> pa.Array[Any]:
    """Convert normalised cells to a decided type, refusing any value that does not fit.

    Args:
        values: Cells from :func:`normalize_text`.
        text_type: The column's type (from :class:`TextTypeTracker`).

    Returns:
        The typed array (nulls where cells were blank).

    Raises:
        TextTypeMismatch: A value is not of that type (nothing is silently nulled).
    """
    if text_type.kind == "string":
        return values
    if len(values) >= _DICTIONARY_MIN_ROWS and _repetitive(values):
        # Dates, codes and flags repeat: convert each distinct text once, then spread.
        encoded = pc.dictionary_encode(values)
        assert isinstance(encoded, pa.DictionaryArray)
        typed = _convert(encoded.dictionary, text_type)
        return pc.take(typed, encoded.indices)
    return _convert(values, text_type)


def _repetitive(values: pa.Array[Any]) -> bool:
    head = values.slice(0, _DICTIONARY_PROBE_ROWS)
    return pc.count_distinct(head).as_py() * 8 < len(head)


def _convert(values: pa.Array[Any], text_type: TextType) -> pa.Array[Any]:
    present = values.drop_null()
    if len(present) == 0:
        nulls: pa.Array[Any] = pa.nulls(len(values), type=text_type.arrow_type)  # type: ignore[call-overload]  # pyarrow-stubs: any DataType is accepted
        return nulls
    try:
        if text_type.kind in ("int", "float"):
            dialect = text_type.dialect
            assert dialect is not None
            if text_type.kind == "int":
                _require(present, dialect.integer)
                return pc.cast(_strip_number(values, dialect), pa.int64())
            _require(present, dialect.number)
            plain = _point_decimal(_strip_number(values, dialect), dialect)
            return pc.cast(plain, pa.float64())
        if text_type.kind == "temporal":
            temporal = text_type.temporal
            assert temporal is not None
            _require(present, temporal.pattern)
            iso = _br_to_iso(values, present) if temporal.brazilian else values
            return pc.cast(iso, temporal.target)
        folded = pc.utf8_lower(values)
        allowed = pa.concat_arrays([_BOOL_WORDS, _LETTERS])
        if not pc.all(pc.is_in(folded.drop_null(), value_set=allowed)).as_py():
            raise TextTypeMismatch("a value is not a boolean")
        flags = pc.is_in(folded, value_set=_TRUE_VALUES)
        booleans: pa.Array[Any] = pc.if_else(
            pc.is_valid(folded), flags, pa.scalar(None, pa.bool_())
        )
        return booleans
    except pa.ArrowInvalid as error:
        raise TextTypeMismatch(str(error)) from error


def infer_text_column(
    values: pa.Array[Any] | Sequence[str | None], decimal: DecimalStyle, *, booleans: bool = False
) -> pa.Array[Any]:
    """Type a column of text values.

    Values are trimmed and empty strings become null. The column becomes ``int64`` when
    every value is an integer, ``double`` when every value is a number, ``date32`` for
    ``dd/mm/yyyy`` / ``yyyy-mm-dd``, ``timestamp[us]`` for date-times (``timestamp[us,
    tz=UTC]`` when every value carries an offset), ``bool`` (only with ``booleans``) when
    every value is ``sim``/``não``/``true``/``false`` or the column holds exactly the
    letters ``S`` and ``N``, and stays ``string`` otherwise, including when it is
    entirely empty or a single value does not fit (no value is ever lost).

    Args:
        values: The raw cells, as an Arrow string array or a sequence of strings.
        decimal: How numbers are written in this file.
        booleans: Infer booleans (text files do; spreadsheet cells do not).

    Returns:
        The typed Arrow array.
    """
    array = normalize_text(values)
    tracker = TextTypeTracker(decimal, booleans=booleans)
    tracker.update(array, exhaustive=False)
    text_type = tracker.decision()
    cached = tracker.converted(text_type)
    return cached if cached is not None else convert_text_column(array, text_type)


def infer_python_column(values: Sequence[object], decimal: DecimalStyle = "auto") -> pa.Array[Any]:
    """Type a column of spreadsheet cells (calamine values).

    Calamine already types cells: numbers arrive as ``float`` (also for integers),
    dates as ``date`` or ``datetime``. Numeric columns whose values are all integral
    become ``int64``; uniform date or date-time columns keep their type; text-only
    columns go through :func:`infer_text_column` (ONS often types numbers and dates as
    text in its sheets); mixed columns are rendered as text and inferred the same way.

    Args:
        values: The cells of one column, ``""``/``None`` for empty cells.
        decimal: Number notation for cells that hold text.

    Returns:
        The typed Arrow array.
    """
    cells: list[object] = [
        None if value is None or (isinstance(value, str) and not value.strip()) else value
        for value in values
    ]
    present = [value for value in cells if value is not None]
    if not present:
        return pa.array([None] * len(cells), type=pa.string())
    if all(_is_number(value) for value in present):
        numbers: list[float | int | None] = cells  # type: ignore[assignment]
        if all(_is_integral(value) for value in present):
            return pa.array([None if v is None else int(v) for v in numbers], type=pa.int64())
        return pa.array([None if v is None else float(v) for v in numbers], type=pa.float64())
    if all(type(value) is dt.date for value in present):
        return pa.array(cells, type=pa.date32())
    if all(isinstance(value, dt.date) and not getattr(value, "tzinfo", None) for value in present):
        # Date and date-time cells mixed in one column: a date is midnight of that day.
        return pa.array([_as_datetime(value) for value in cells], type=TIMESTAMP_TYPE)
    return infer_text_column([None if v is None else cell_to_text(v) for v in cells], decimal)


def cell_to_text(value: object) -> str:
    """Render a spreadsheet cell as the text a person sees (used for headers and mixed columns).

    Args:
        value: A calamine cell value.

    Returns:
        Integral floats without ``.0``, dates in ISO format, booleans as
        ``true``/``false``, everything else through ``str``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _is_number(value: object) -> bool:
    # bool is an int subclass; an Excel TRUE must not become 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integral(value: object) -> bool:
    if isinstance(value, int):
        return _INT64_MIN <= value <= _INT64_MAX
    assert isinstance(value, float)
    return value.is_integer() and _INT64_MIN <= value <= _INT64_MAX


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    assert isinstance(value, dt.date)
    return dt.datetime(value.year, value.month, value.day)


def _all_match(present: pa.Array[Any], pattern: str) -> bool:
    # Most candidates fail on the first values; checking a prefix first saves a full
    # regex pass over text columns of large files.
    head = present.slice(0, _PRECHECK_ROWS)
    if not pc.all(pc.match_substring_regex(head, pattern)).as_py():
        return False
    if len(present) <= _PRECHECK_ROWS:
        return True
    return _every_match(present, pattern)


# A pattern anchored at both ends whose body cannot match a newline: "\s", "\D", "\W",
# "\S", "\n" (or any escaped code), an unescaped ".", "[^", a flag group and an inner
# anchor could.
_NEWLINE_PRONE = re.compile(r"\\[sSDWnxpPC0-9]|(?<!\\)\.|\[\^|\(\?[a-zA-Z]|(?<!\\)[$^]")


@functools.cache
def _joined_pattern(pattern: str) -> str | None:
    """``^X$`` -> ``\\AX(?:\\nX)*\\z``: one RE2 pass over the values joined by newlines."""
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
        return None
    body = pattern[1:-1]
    if _NEWLINE_PRONE.search(body):
        return None
    return rf"\A(?:{body})(?:\n(?:{body}))*\z"


def _every_match(present: pa.Array[Any], pattern: str) -> bool:
    """``pc.all(pc.match_substring_regex(present, pattern))`` for non-null cells, faster.

    RE2 costs about as much to start on a value as to scan a few hundred bytes, and cells
    are short: the values joined by newlines are matched in one call when that gives the
    same answer (the pattern cannot match a newline and no value holds one); otherwise
    value by value.
    """
    joined_pattern = _joined_pattern(pattern)
    if joined_pattern is not None and len(present) and not present.null_count:
        try:
            joined = pc.binary_join(
                pa.ListArray.from_arrays(pa.array([0, len(present)], pa.int32()), present),
                "\n",
            )
        except (pa.ArrowInvalid, pa.ArrowCapacityError):
            joined = None  # more than 2 GiB of text: value by value
        if joined is not None:
            _, offsets, data = joined.buffers()  # type: ignore[union-attr]  # pyarrow-stubs narrower than pyarrow
            start, end = np.frombuffer(offsets, np.int32)[joined.offset : joined.offset + 2]  # type: ignore[arg-type, union-attr]  # pyarrow-stubs narrower than pyarrow
            text = np.frombuffer(data, np.uint8)[start:end] if data is not None else b""  # type: ignore[arg-type]  # pyarrow-stubs narrower than pyarrow
            if np.count_nonzero(np.asarray(text) == 0x0A) == len(present) - 1:
                return bool(pc.match_substring_regex(joined, joined_pattern)[0].as_py())  # type: ignore[index]  # pyarrow-stubs narrower than pyarrow
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())


def _strip_number(values: pa.Array[Any], dialect: _NumberDialect) -> pa.Array[Any]:
    plain = values
    if pc.any(pc.starts_with(values, "+")).as_py():
        plain = pc.replace_substring_regex(values, r"^\+", "")
    if dialect.thousands:
        plain = pc.replace_substring(plain, dialect.thousands, "")
    return plain


def _point_decimal(plain: pa.Array[Any], dialect: _NumberDialect) -> pa.Array[Any]:
    if dialect.decimal != ".":
        return pc.replace_substring(plain, dialect.decimal, ".")
    return plain


def _require(present: pa.Array[Any], pattern: str) -> None:
    if not _every_match(present, pattern):
        raise TextTypeMismatch(f"a value does not match {pattern}")


def _br_to_iso(array: pa.Array[Any], present: pa.Array[Any]) -> pa.Array[Any]:
    # d/m/yyyy[ h:mm[:ss]] -> yyyy-mm-dd[ hh:mm[:ss]] so the strict ISO cast can check it;
    # ONS occasionally leaves days, months and hours unpadded, which the cast refuses.
    if not _all_match(present, r"^\d{2}/\d{2}/\d{4}(?:$|[ T]\d{2}:)"):
        array = pc.replace_substring_regex(array, r"^(\d)/", r"0\1/")
        array = pc.replace_substring_regex(array, r"^(\d\d)/(\d)/", r"\1/0\2/")
        array = pc.replace_substring_regex(array, r"[ T](\d):", r" 0\1:")
    return pc.replace_substring_regex(array, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\2-\1")
