"""Does every value of a column match a pattern? Answered fast, for the type checks.

Typing a column asks the same question many times: do all its cells look like integers in
this notation, like ``dd/mm/yyyy`` dates...? RE2 costs about as much to start on a value as
to scan a few hundred bytes, and cells are short, so the question is answered on a prefix
first (most candidates fail on the first values) and then, when the pattern allows it, in
one regex pass over the values joined by newlines instead of value by value.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PRECHECK_ROWS", "all_match", "every_match", "joined_pattern"]

PRECHECK_ROWS = 1000
"""Values checked first, before the whole column."""

# A pattern anchored at both ends whose body cannot match a newline: "\s", "\D", "\W",
# "\S", "\n" (or any escaped code), an unescaped ".", "[^", a flag group and an inner
# anchor could.
_NEWLINE_PRONE = re.compile(r"\\[sSDWnxpPC0-9]|(?<!\\)\.|\[\^|\(\?[a-zA-Z]|(?<!\\)[$^]")


def all_match(present: pa.Array[Any], pattern: str) -> bool:
    """Tell whether every value matches, checking the first :data:`PRECHECK_ROWS` first.

    Most candidates fail on the first values; checking a prefix first saves a full regex
    pass over text columns of large files.

    Args:
        present: Non-null string cells.
        pattern: An RE2 pattern (anchored, as the notation patterns are).

    Returns:
        True when every value matches.
    """
    head = present.slice(0, PRECHECK_ROWS)
    if not pc.all(pc.match_substring_regex(head, pattern)).as_py():
        return False
    if len(present) <= PRECHECK_ROWS:
        return True
    return every_match(present, pattern)


@functools.cache
def joined_pattern(pattern: str) -> str | None:
    """``^X$`` -> ``\\AX(?:\\nX)*\\z``: one RE2 pass over the values joined by newlines.

    Args:
        pattern: A pattern anchored at both ends.

    Returns:
        The pattern for the joined values, or None when ``pattern`` could match a newline
        (or is not anchored) and the values must be matched one by one.
    """
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
        return None
    body = pattern[1:-1]
    if _NEWLINE_PRONE.search(body):
        return None
    return rf"\A(?:{body})(?:\n(?:{body}))*\z"


def every_match(present: pa.Array[Any], pattern: str) -> bool:
    """``pc.all(pc.match_substring_regex(present, pattern))`` for non-null cells, faster.

    The values joined by newlines are matched in one call when that gives the same answer
    (the pattern cannot match a newline and no value holds one); otherwise value by value.

    Args:
        present: Non-null string cells.
        pattern: An RE2 pattern.

    Returns:
        True when every value matches.
    """
    joined_regex = joined_pattern(pattern)
    if joined_regex is not None and len(present) and not present.null_count:
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
                return bool(pc.match_substring_regex(joined, joined_regex)[0].as_py())  # type: ignore[index]  # pyarrow-stubs narrower than pyarrow
    return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())
