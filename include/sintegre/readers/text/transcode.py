"""Binary Arrow columns of a text file decoded to UTF-8 strings, column by column.

The streaming reader (:mod:`~sintegre.readers.text.streaming`) has Arrow split UTF-8 and
single-byte files (cp1252, latin-1, cp850) as raw bytes and decodes each column on its own
(:func:`column_decoder`), which is much cheaper than Arrow transcoding the whole file through
a Python codec: UTF-8 is validated in place, a single-byte code page is decoded by Python's
codec in one call per column, and the offsets are shifted by the extra UTF-8 bytes of the
non-ASCII characters.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BadEncoding", "column_decoder"]

#: Columns at least this long are probed for repeated values (decoded once each).
_DICTIONARY_MIN_ROWS = 4096
_DICTIONARY_PROBE_ROWS = 10_000


class BadEncoding(Exception):
    """The file stops being valid in the encoding chosen from its head."""


def column_decoder(encoding: str) -> Callable[[pa.Array[Any]], pa.Array[Any]] | None:
    """A function decoding one binary column of the file to UTF-8 strings, or None.

    UTF-8 is validated in place. A single-byte code page is decoded by Python's codec in
    one call per column, and the offsets are shifted by the extra UTF-8 bytes of the
    non-ASCII characters (a column without any is reused as is).

    Args:
        encoding: The file's codec name (the lenient cp1252 must be registered, which
            importing :mod:`~sintegre.readers.text.encodings` does).

    Returns:
        The decoding function, or None for codecs that are not UTF-8 nor one character per
        byte (UTF-16, UTF-32: Arrow transcodes those). The function raises
        :class:`BadEncoding` on invalid UTF-8.
    """
    if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8"):
        return _utf8_column
    extra = _extra_utf8_bytes(encoding)
    if extra is None:
        return None

    def decode(column: pa.Array[Any]) -> pa.Array[Any]:
        return _single_byte_column(column, encoding, extra)

    return decode


def _utf8_column(column: pa.Array[Any]) -> pa.Array[Any]:
    try:
        return pc.cast(column, pa.string())
    except pa.ArrowInvalid as error:
        raise BadEncoding(f"invalid UTF-8 ({error})") from error


@functools.cache
def _extra_utf8_bytes(encoding: str) -> np.ndarray | None:
    # Per byte value: UTF-8 length of its character minus one; None for codecs that are
    # not one character per byte (UTF-16, multi-byte Asian code pages...).
    try:
        chars = bytes(range(256)).decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if len(chars) != 256:
        return None
    return np.array([len(char.encode("utf-8")) - 1 for char in chars], dtype=np.int64)


def _repetitive(column: pa.Array[Any]) -> bool:
    head = column.slice(0, _DICTIONARY_PROBE_ROWS)
    return pc.count_distinct(head).as_py() * 8 < len(head)


@functools.cache
def _latin1_compatible(encoding: str) -> np.ndarray:
    """Per byte value: the code page decodes it to the same character as latin-1."""
    chars = bytes(range(256)).decode(encoding)
    return np.array([char == chr(code) for code, char in enumerate(chars)], dtype=bool)


def _single_byte_column(
    column: pa.Array[Any], encoding: str, extra: np.ndarray, *, dictionary: bool = True
) -> pa.Array[Any]:
    if column.offset or column.null_count:
        column = pa.concat_arrays([column])  # offset 0; the CSV reader never makes nulls
    if column.null_count:
        decoded = [None if v is None else v.decode(encoding) for v in column.to_pylist()]
        decoded_column: pa.Array[Any] = pa.array(decoded)
        return decoded_column
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[: len(column) + 1]  # type: ignore[call-overload]  # pyarrow-stubs: a pyarrow Buffer is a Python buffer
    if data_buffer is None or offsets[-1] == offsets[0]:
        text_column: pa.Array[Any] = column.cast(pa.string())
        return text_column
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]  # type: ignore[call-overload]  # pyarrow-stubs: a pyarrow Buffer is a Python buffer
    high = np.flatnonzero(data >= 0x80)
    if not len(high):
        return column.cast(pa.string())  # ASCII: already valid UTF-8
    if dictionary and len(column) >= _DICTIONARY_MIN_ROWS and _repetitive(column):
        # Names, flags and remarks repeat: decode each distinct value once, then spread.
        encoded = pc.dictionary_encode(column)
        decoded = _single_byte_column(encoded.dictionary, encoding, extra, dictionary=False)  # type: ignore[assignment, attr-defined]  # pyarrow-stubs narrower than pyarrow
        return pc.take(decoded, encoded.indices)  # type: ignore[attr-defined, call-overload, no-any-return]  # pyarrow-stubs narrower than pyarrow
    # Where the code page agrees with latin-1 on every high byte present (cp1252 text
    # without curly quotes, dashes or the euro sign), CPython's latin-1 codec is a copy.
    latin1 = _latin1_compatible(encoding)[data[high]].all()
    text = codecs.decode(data.tobytes(), "latin-1" if latin1 else encoding).encode("utf-8")
    added = np.cumsum(extra[data[high]])
    relative = (offsets - offsets[0]).astype(np.int64)
    before = np.searchsorted(high, relative, side="left")
    shifted = relative + np.where(before > 0, added[np.maximum(before - 1, 0)], 0)
    assert shifted[-1] == len(text)
    return pa.Array.from_buffers(
        pa.string(),
        len(column),
        [None, pa.py_buffer(shifted.astype(np.int32)), pa.py_buffer(text)],
    )
