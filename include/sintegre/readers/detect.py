"""Tell what a downloaded product file really is.

The extension SINtegre puts on a download is not reliable: CSVs arrive named ``.xls``,
expired sessions return an HTML login page under the product's name, and ZIPs may hold
workbooks, text files or further ZIPs. So the content's magic bytes decide first and the
extension is only a hint for the cases the bytes leave open.

Order of the checks: empty (0 bytes, or only whitespace/BOM) -> ZIP family (workbook,
OpenDocument spreadsheet, other Office file, plain archive) -> OLE2 (legacy ``.xls``) ->
PDF -> HTML page -> known binaries -> text.
"""

from __future__ import annotations

import enum
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sintegre.readers.errors import ParseError

__all__ = [
    "Detection",
    "FileKind",
    "detect_format",
    "empty_file_error",
    "html_title",
    "is_blank",
    "looks_binary",
]

HEAD_BYTES = 8192

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # local file header / empty archive
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF_MAGIC = b"%PDF-"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")

# Formats SINtegre could plausibly serve that we do not read; naming them makes the error
# message actionable ("a RAR archive") instead of a generic "unknown binary".
_KNOWN_BINARIES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"MZ", "a Windows executable"),
)
_OLE_NON_SPREADSHEET = {
    ".doc": "a Word document",
    ".ppt": "a PowerPoint file",
    ".msg": "an Outlook message",
}
_WHITESPACE = b" \t\r\n\x0b\x0c"
TEXT_EXTENSIONS = frozenset({".csv", ".txt", ".dat", ".prn", ".tsv", ".psv", ".rv0", ".rv1"})

_HTML_START = re.compile(
    rb"^(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class FileKind(enum.Enum):
    """What the readers do with a file."""

    ZIP = "zip"
    WORKBOOK = "workbook"  # XLSX / XLSM / XLSB / ODS, read by calamine
    LEGACY_XLS = "xls"  # OLE compound document, read by calamine
    PDF = "pdf"
    HTML = "html"
    TEXT = "text"
    EMPTY = "empty"  # 0 bytes, or nothing but whitespace: the dispatcher raises ParseError
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Detection:
    """Result of :func:`detect_format`.

    Attributes:
        kind: The detected kind.
        description: For unsupported files, what the file seems to be; for empty files,
            ``"0 bytes"`` or ``"<n> bytes of whitespace"`` (for messages).
    """

    kind: FileKind
    description: str = ""


def detect_format(path: Path, file_name: str) -> Detection:
    """Detect a file's format from its first bytes, then from its name.

    Args:
        path: The file on disk (possibly under a temporary name).
        file_name: The original name, for the extension hint.

    Returns:
        The detection; never raises for odd content (callers decide what to do).
    """
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    extension = PurePosixPath(file_name).suffix.lower()

    if not head:
        return Detection(FileKind.EMPTY, "0 bytes")
    if is_blank(path, head):
        return Detection(FileKind.EMPTY, f"{path.stat().st_size} bytes of whitespace")
    if head.startswith(_ZIP_MAGICS):
        return _classify_zip(path)
    if head.startswith(_OLE_MAGIC):
        # Thumbs.db, .doc and .msg are OLE too; only the extension tells them apart.
        if extension in _OLE_NON_SPREADSHEET:
            return Detection(FileKind.UNSUPPORTED, _OLE_NON_SPREADSHEET[extension])
        return Detection(FileKind.LEGACY_XLS)
    # Some PDF producers put a few junk bytes before the header; readers accept 1 KiB.
    if _PDF_MAGIC in head[:1024]:
        return Detection(FileKind.PDF)
    if is_html(head):
        return Detection(FileKind.HTML)
    for magic, description in _KNOWN_BINARIES:
        if head.startswith(magic):
            return Detection(FileKind.UNSUPPORTED, description)
    if looks_binary(head) and extension not in TEXT_EXTENSIONS:
        return Detection(FileKind.UNSUPPORTED, "an unrecognised binary file")
    return Detection(FileKind.TEXT)


def empty_file_error(label: str, detection: Detection | None = None) -> ParseError:
    """The error for a download that holds nothing (the dispatcher raises it).

    Args:
        label: File description, e.g. ``'"IPDO-01-03-2024.pdf"'``.
        detection: The :data:`FileKind.EMPTY` detection, whose description says
            ``0 bytes`` or how many bytes of whitespace there were.

    Returns:
        A :class:`ParseError` saying the file is empty where a product file was expected.
    """
    size = detection.description if detection and detection.description else "0 bytes"
    return ParseError(
        f"{label}: the file is empty ({size}) where a product file was expected; "
        "SINtegre published or served an empty file: ask ONS to resend the product"
    )


def is_blank(path: Path, head: bytes) -> bool:
    """Tell whether a file holds nothing but whitespace (after an optional byte-order mark).

    Args:
        path: The file, read further when ``head`` is all whitespace and the file is longer.
        head: Its first bytes.

    Returns:
        True for whitespace-only content (UTF-16/32 NUL padding included); False for a
        0-byte ``head`` only when the file is not empty either.
    """
    wide = head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"))
    blank = _WHITESPACE + (b"\x00" if wide else b"")
    if _strip_bom(head).strip(blank):
        return False
    if len(head) < HEAD_BYTES:
        return True
    with path.open("rb") as handle:
        handle.seek(len(head))
        while chunk := handle.read(1 << 20):
            if chunk.strip(blank):
                return False
    return True


def is_html(head: bytes) -> bool:
    """Tell whether the bytes start (after BOM and whitespace) like an HTML page.

    Args:
        head: The first bytes of the file.

    Returns:
        True for ``<!DOCTYPE html`` or ``<html`` openings, any case, comments allowed.
    """
    return bool(_HTML_START.match(_strip_bom(head).lstrip()))


def html_title(head: bytes) -> str:
    """Extract the ``<title>`` of an HTML page, to quote it in error messages.

    Args:
        head: The first bytes of the page.

    Returns:
        The title with collapsed whitespace, or ``""``.
    """
    match = _TITLE.search(head)
    if not match:
        return ""
    raw = match.group(1)
    try:
        title = raw.decode("utf-8")
    except UnicodeDecodeError:
        title = raw.decode("latin-1")
    return " ".join(title.split())[:120]


def looks_binary(head: bytes) -> bool:
    """Guess whether bytes are binary rather than text.

    Args:
        head: The first bytes of the file.

    Returns:
        True when there are NUL bytes (and no UTF-16/32 byte-order mark) or more than
        5 % of control characters other than tab, CR, LF and form feed.
    """
    if not head:
        return False
    if head.startswith(_BOMS):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls / len(head) > 0.05


def _strip_bom(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def _classify_zip(path: Path) -> Detection:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                # Read 100 bytes, never the whole member: a hostile "mimetype" can be a bomb.
                with archive.open("mimetype") as member:
                    mimetype = member.read(100)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, NotImplementedError):
        # Let the ZIP reader produce the detailed "damaged archive" message.
        return Detection(FileKind.ZIP)
    office = "[Content_Types].xml" in names
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return Detection(FileKind.WORKBOOK)
    if office and any(name.startswith("xl/") for name in names):
        # An XLSX missing its workbook part is a damaged spreadsheet, not an archive of
        # XML "text" files: the workbook reader says so.
        return Detection(FileKind.WORKBOOK)
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return Detection(FileKind.WORKBOOK)
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return Detection(FileKind.UNSUPPORTED, "an OpenDocument text or presentation file")
    if "[Content_Types].xml" in names:
        # OOXML without a workbook part: .docx / .pptx, which unpacked would look like
        # a ZIP of XML "text" files and produce garbage tables.
        return Detection(FileKind.UNSUPPORTED, "an Office document that is not a spreadsheet")
    return Detection(FileKind.ZIP)
