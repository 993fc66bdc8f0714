"""Text encodings of ONS files: BOMs, strict UTF-8, then the single-byte code pages.

Most SINtegre text files are latin-1/cp1252 (Portuguese accents), some UTF-8 with or without
a BOM, a few cp850 (old DOS exports). A file that decodes as UTF-8 is UTF-8; otherwise the code
page whose decoding yields Portuguese letters wins. ``sintegre-cp1252`` is cp1252 that decodes
its five undefined bytes as latin-1 instead of failing (ONS files contain them).
"""

from __future__ import annotations

import codecs
import encodings.cp1252
import re
from typing import TYPE_CHECKING

from sintegre.readers.detect import HEAD_BYTES, looks_binary
from sintegre.readers.errors import ParseError, UnsupportedFormatError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

LENIENT_CP1252 = "sintegre-cp1252"
"""cp1252 that decodes its five undefined bytes as latin-1 instead of failing."""

_SCORE_BYTES = 100_000

# Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE). Excel's "Unicode
# text" export is UTF-16 with a BOM; without a BOM only UTF-8 and cp1252 are considered.
_BOM_CODECS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Letters of Portuguese text: the single-byte code page that decodes more of the file's
# non-ASCII bytes into them wins. cp1252 (= latin-1 for letters) is what ONS writes;
# cp850 appears in DOS-era exports, where "ç" is 0x87 ("‡" in cp1252).
_PORTUGUESE_LETTERS = frozenset("áàâãéêíóôõúüçÁÀÂÃÉÊÍÓÔÕÚÜÇ")
_SINGLE_BYTE_CANDIDATES = ("cp1252", "cp850")
_CP1252_ALIASES = frozenset({"cp1252", "windows-1252", "windows1252", "1252"})


def _lenient_cp1252_codec() -> codecs.CodecInfo:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; a stray one must not make a
    # whole ONS file unreadable, so they decode as their latin-1 code points. cp1252 only
    # differs from latin-1 in 0x80-0x9F, so decoding is latin-1 (CPython's fastest codec)
    # plus a translation of those 32 characters when a chunk has any.
    table = "".join(
        chr(index) if char == "\ufffe" else char
        for index, char in enumerate(encodings.cp1252.decoding_table)
    )
    encoding_table = codecs.charmap_build(table)
    c1 = {index: table[index] for index in range(0x80, 0xA0) if table[index] != chr(index)}
    has_c1 = re.compile(b"[\x80-\x9f]").search

    def decode(data: ReadableBuffer, errors: str = "strict") -> tuple[str, int]:
        raw = bytes(data)  # a memoryview from some callers
        text = raw.decode("latin-1")
        return (text.translate(c1) if has_c1(raw) else text), len(raw)

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        return codecs.charmap_encode(text, errors, encoding_table)

    class IncrementalEncoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return encode(text, self.errors)[0]

    class IncrementalDecoder(codecs.IncrementalDecoder):
        def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
            return decode(data, self.errors)[0]

    class StreamWriter(codecs.StreamWriter):
        def encode(self, text: str, errors: str = "strict") -> tuple[bytes, int]:
            return encode(text, errors)

    class StreamReader(codecs.StreamReader):
        def decode(self, data: bytes, errors: str = "strict") -> tuple[str, int]:
            return decode(data, errors)

    return codecs.CodecInfo(
        name=LENIENT_CP1252,
        encode=encode,
        decode=decode,
        incrementalencoder=IncrementalEncoder,
        incrementaldecoder=IncrementalDecoder,
        streamreader=StreamReader,
        streamwriter=StreamWriter,
    )


_LENIENT_INFO = _lenient_cp1252_codec()


def _search_codec(name: str) -> codecs.CodecInfo | None:
    return _LENIENT_INFO if name in (LENIENT_CP1252, LENIENT_CP1252.replace("-", "_")) else None


codecs.register(_search_codec)


def resolve_encoding(name: str) -> str:
    """Map an encoding named in the catalog to the codec the readers use.

    Args:
        name: Any Python codec name; ``cp1252`` and its aliases become the lenient cp1252.

    Returns:
        The codec name.
    """
    return LENIENT_CP1252 if name.strip().lower() in _CP1252_ALIASES else name


def detect_encoding(data: bytes, label: str, *, complete: bool = True) -> str:
    """Pick the encoding of a text file from its bytes (all of them, or a head).

    A byte-order mark decides first (UTF-8, UTF-16, UTF-32); then strict UTF-8, which
    never accepts non-UTF-8 text by accident; then cp1252 (what "latin-1" means in ONS
    files), or cp850 when it decodes the accented bytes into more Portuguese letters.

    Args:
        data: The file's bytes, or its first bytes when ``complete`` is False.
        label: File description for error messages.
        complete: False when ``data`` is a head: a multi-byte UTF-8 sequence cut at its
            end is not held against UTF-8.

    Returns:
        A codec name for :func:`bytes.decode` and :func:`open`.

    Raises:
        UnsupportedFormatError: The bytes are binary, not text.
    """
    for bom, codec in _BOM_CODECS:
        if data.startswith(bom):
            return codec
    if looks_binary(data[:HEAD_BYTES]):
        raise UnsupportedFormatError(
            f"{label}: the file is binary and not a format the readers know "
            "(expected CSV/TXT, XLSX/XLS, ZIP or PDF)"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    high = data.translate(None, bytes(range(128)))[:_SCORE_BYTES]
    scores = {
        codec: sum(1 for char in high.decode(codec, "replace") if char in _PORTUGUESE_LETTERS)
        for codec in _SINGLE_BYTE_CANDIDATES
    }
    best = max(_SINGLE_BYTE_CANDIDATES, key=lambda codec: (scores[codec], codec == "cp1252"))
    return LENIENT_CP1252 if best == "cp1252" else best


def decode_text(data: bytes, label: str, encoding: str | None = None) -> str:
    """Decode a text file the way ONS files need.

    Args:
        data: The whole file.
        label: File description for error messages.
        encoding: The catalog's encoding; None to detect (see :func:`detect_encoding`).

    Returns:
        The text, without a byte-order mark.

    Raises:
        ParseError: The bytes are not valid in the catalog's encoding.
        UnsupportedFormatError: The bytes are binary, not text in any encoding.
    """
    wide = encoding is not None and encoding.lower().replace("_", "-").startswith(
        ("utf-16", "utf-32")
    )
    if encoding and not wide and looks_binary(data[:HEAD_BYTES]):
        raise UnsupportedFormatError(f"{label}: the file is binary, not {encoding} text")
    codec = resolve_encoding(encoding) if encoding else detect_encoding(data, label)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        raise ParseError(
            f"{label}: the text is not valid {encoding or codec} "
            f"(byte {error.start}: {error.reason}); check the encoding in the catalog"
        ) from error
    except LookupError as error:
        raise ParseError(f"{label}: unknown text encoding {encoding!r} in the catalog") from error
    return text.lstrip("\ufeff")
