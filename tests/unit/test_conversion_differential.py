"""Old vs new text typing on tricky values (issue #17): the faster checks decide the same.

The number and date checks used to run RE2 value by value; they now join a column's
values with newlines and match once when that gives the same answer. These tests run both
on the values that could tell them apart (ONS thousands separators, ambiguous groupings,
signs, exponents, ``inf``/``nan``, non-ASCII digits, embedded newlines) and compare every
outcome: the per-pattern verdicts, the decided types and the converted values.
"""

from __future__ import annotations

import itertools
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sintegre.readers.text import dates, matching, numbers
from sintegre.readers.text.inference import (
    TextTypeMismatch,
    TextTypeTracker,
    convert_text_column,
    infer_text_column,
    normalize_text,
)

TRICKY = [
    "1.234,56",
    "1.234",
    "12.34",
    "1.23,4",
    "1.2345",
    "1.234.567,89",
    "1.234.567",
    "1234,5",
    "1234.5",
    "1,234.5",
    "1,234",
    "12,345,678.9",
    "0,5",
    ",5",
    "5,",
    ".5",
    "5.",
    "+1",
    "+1,5",
    "-1.234,5",
    "+-1",
    "--1",
    "-",
    "+",
    ",",
    ".",
    "1e5",
    "1E-3",
    "1,5e3",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "Infinity",
    "1 234",
    "1\n2",
    "1\n",
    "\n",
    "١٢٣",
    "１２",
    "0x10",
    "00.000",
    "000.000,00",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "01/02/2024",
    "1/2/2024",
    "31/04/2024",
    "29/02/2023",
    "01/02/2024 10:30",
    "01/02/2024 1:30",
    "01/02/2024\n10:30",
    "2024-02-01",
    "2024-02-01 10:30:00",
    "2024-02-01T10:30:00Z",
    "2024-02-01T10:30:00+03:00",
    "sim",
    "Não",
    "S",
    "N",
    "abc",
    "",
    None,
]

PATTERNS = [
    numbers.COMMA.integer,
    numbers.COMMA.number,
    numbers.POINT.integer,
    numbers.POINT.number,
    numbers.PLAIN.integer,
    numbers.PLAIN.number,
    dates.BR_DATE,
    dates.BR_DATETIME,
    dates.ISO_DATE,
    dates.ISO_DATETIME,
    dates.ISO_DATETIME_TZ,
]


def _per_value(present: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())


def _columns() -> list[list[str | None]]:
    """Single values, pairs, and random mixes of a few tricky values with plain numbers."""
    rng = random.Random(17)
    plain = ["1.234,56", "12,5", "7", "2.000", "01/02/2024", "2024-02-01", "sim"]
    found: list[list[str | None]] = [[value] for value in TRICKY]
    found += [list(pair) for pair in itertools.combinations(TRICKY, 2)]
    for _ in range(120):
        base = [rng.choice(plain[:4]) for _ in range(rng.randint(1, 2500))]
        for _ in range(rng.randint(0, 2)):
            base.insert(rng.randrange(len(base) + 1), rng.choice(TRICKY))
        found.append(base)
    return found


@pytest.mark.parametrize("pattern", PATTERNS)
def test_joined_match_equals_value_by_value(pattern: str) -> None:
    assert matching.joined_pattern(pattern) is not None  # the fast path is really taken
    for values in _columns():
        for present in (
            normalize_text(pa.array(values, pa.string())).drop_null(),
            pa.array([v for v in values if v is not None], pa.string()),  # untrimmed too
        ):
            assert matching.every_match(present, pattern) == _per_value(present, pattern), (
                pattern,
                values[:5],
            )


def test_patterns_that_could_match_a_newline_stay_value_by_value() -> None:
    for pattern in (r"^a.b$", r"^\s*\d+$", r"^[^x]+$", r"^\D+$", r"^(?s)x$", r"^\d{2}(?:$|:)"):
        assert matching.joined_pattern(pattern) is None
    present = pa.array(["a\nb"])
    assert matching.every_match(present, r"^a.b$") == _per_value(present, r"^a.b$")


def _old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "every_match", _per_value)


@pytest.mark.parametrize("decimal", ["comma", "point", "auto"])
def test_types_and_values_are_those_of_the_old_checks(
    decimal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for values in _columns()[:: 3 if decimal != "comma" else 1]:
        new = infer_text_column(values, decimal, booleans=True)  # type: ignore[arg-type]
        with monkeypatch.context() as patched:
            _old(patched)
            old = infer_text_column(values, decimal, booleans=True)  # type: ignore[arg-type]
        assert new.type == old.type and new.equals(old), (decimal, values[:5])


def test_a_decided_type_refuses_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for values in _columns():
        cells = normalize_text(pa.array(values, pa.string()))
        for decimal in ("comma", "point"):
            head = cells.slice(0, 1)
            tracker = TextTypeTracker(decimal, booleans=True)  # type: ignore[arg-type]
            tracker.update(head)
            text_type = tracker.decision()
            outcomes = []
            for check in ("new", "old"):
                with monkeypatch.context() as patched:
                    if check == "old":
                        _old(patched)
                    try:
                        outcomes.append(convert_text_column(cells, text_type))
                    except TextTypeMismatch:
                        outcomes.append(None)
            new, old = outcomes
            assert (new is None) == (old is None), (text_type, values[:5])
            assert new is None or new.equals(old)


def test_ons_thousands_and_decimal_comma() -> None:
    assert infer_text_column(["1.234,56", "2,5"], "comma").to_pylist() == [1234.56, 2.5]
    assert infer_text_column(["1.234", "12"], "comma").to_pylist() == [1234, 12]
    # "12.34" is no grouping a comma file writes: a plain decimal then, like before.
    assert infer_text_column(["12.34"], "comma").to_pylist() == [12.34]
    # A bad grouping beside a comma decimal is text, never 123.4.
    assert infer_text_column(["1.23,4", "1,5"], "comma").type == pa.string()


@pytest.mark.parametrize("encoding", ["sintegre-cp1252", "cp850", "latin-1"])
@pytest.mark.parametrize("repeated", [True, False])
def test_single_byte_columns_decode_like_python(encoding: str, repeated: bool) -> None:
    from sintegre.readers.text import encodings  # noqa: F401  (registers sintegre-cp1252)
    from sintegre.readers.text.transcode import column_decoder

    rng = random.Random(f"{encoding}{repeated}")
    words = [b"Tr\xeas Marias", b"S\xe3o Sim\xe3o", b"\x80 \x93x\x94", b"\x81\x8d\x90", b"a"]
    words += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 9))) for _ in range(40)]

    def cell() -> bytes:
        if repeated:
            return rng.choice(words)
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))

    values = [cell() for _ in range(20_000)]
    decode = column_decoder(encoding)
    assert decode is not None
    column = pa.array(values, pa.binary()).slice(7)  # an offset, as batches may have
    expected = [value.decode(encoding) for value in values[7:]]
    assert decode(column).to_pylist() == expected


@pytest.mark.parametrize("encoding", ["sintegre-cp1252", "cp850"])
def test_columns_whose_high_bytes_agree_with_latin1(encoding: str) -> None:
    from sintegre.readers.text import encodings  # noqa: F401  (registers sintegre-cp1252)
    from sintegre.readers.text.transcode import column_decoder

    rng = random.Random(encoding)
    alphabet = [*range(0x20, 0x7F), *range(0xA0, 0x100)]
    values = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(9000)]
    decode = column_decoder(encoding)
    assert decode is not None
    assert decode(pa.array(values, pa.binary())).to_pylist() == [v.decode(encoding) for v in values]
