"""Type inference for columns of text cells: integers, numbers, dates, booleans or text.

Text values are typed with vectorised Arrow kernels (regular expressions decide, casts
convert), so a file of hundreds of thousands of rows is typed without a Python loop per
cell. A column's type is the first candidate every value fits (:class:`TextTypeTracker`),
in the number notations of :mod:`~sintegre.readers.text.numbers` and the date notations of
:mod:`~sintegre.readers.text.dates`; :func:`convert_text_column` then converts a column to
it and refuses any value that does not fit. Every reader types its text cells here: text
files, PDF tables, spreadsheet cells that hold text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.compute as pc

from sintegre.readers.text import matching
from sintegre.readers.text.dates import TEMPORALS, TemporalFormat, br_to_iso
from sintegre.readers.text.numbers import (
    DIALECTS,
    DecimalStyle,
    NumberDialect,
    point_decimal,
    strip_number,
)

__all__ = [
    "STRING_TYPE",
    "TextType",
    "TextTypeMismatch",
    "TextTypeTracker",
    "convert_text_column",
    "infer_text_column",
    "normalize_text",
]

_NULL_STRING = pa.scalar(None, pa.string())
_DICTIONARY_MIN_ROWS = 50_000
_DICTIONARY_PROBE_ROWS = 10_000

# Portuguese and English words; "S"/"N" alone are booleans only when a column holds both
# letters and nothing else, because "S" and "N" are also the Sul and Norte subsystem codes.
_TRUE_WORDS = ("sim", "true", "verdadeiro")
_BOOL_WORDS = pa.array([*_TRUE_WORDS, "não", "nao", "false", "falso"])
_TRUE_VALUES = pa.array([*_TRUE_WORDS, "s"])
_LETTERS = pa.array(["s", "n"])


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
    dialect: NumberDialect | None = None
    temporal: TemporalFormat | None = None
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
        self._dialects = DIALECTS[decimal]
        # Per dialect: every value is a number, an integer, castable to int64, to double.
        self._number = [[True, True, True, True] for _ in self._dialects]
        self._temporal_match = [True] * len(TEMPORALS)
        self._temporal_cast = [True] * len(TEMPORALS)
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
            if flags[0] and not matching.all_match(present, dialect.number):
                flags[:] = [False, False, False, False]
            if not flags[0]:
                continue
            plain = strip_number(values, dialect)
            if flags[1] and not matching.all_match(present, dialect.integer):
                flags[1] = False
            if flags[1] and flags[2]:
                flags[2] = self._try(TextType("int", dialect), plain, pa.int64())
                if flags[2] and not exhaustive:
                    return
            if flags[3]:
                flags[3] = self._try(
                    TextType("float", dialect), point_decimal(plain, dialect), pa.float64()
                )
                if flags[3] and not exhaustive:
                    return
        for index, temporal in enumerate(TEMPORALS):
            if not self._temporal_match[index]:
                continue
            if not matching.all_match(present, temporal.pattern):
                self._temporal_match[index] = False
                continue
            if self._temporal_cast[index]:
                iso = br_to_iso(values, present) if temporal.brazilian else values
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
        for index, temporal in enumerate(TEMPORALS):
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
                return pc.cast(strip_number(values, dialect), pa.int64())
            _require(present, dialect.number)
            plain = point_decimal(strip_number(values, dialect), dialect)
            return pc.cast(plain, pa.float64())
        if text_type.kind == "temporal":
            temporal = text_type.temporal
            assert temporal is not None
            _require(present, temporal.pattern)
            iso = br_to_iso(values, present) if temporal.brazilian else values
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


def _require(present: pa.Array[Any], pattern: str) -> None:
    if not matching.every_match(present, pattern):
        raise TextTypeMismatch(f"a value does not match {pattern}")


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
