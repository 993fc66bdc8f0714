"""Turn a downloaded SINtegre product file into typed Arrow tables.

The single entry point is :func:`read_product_file`. It looks at the bytes, not at the
name, to decide what the file is (SINtegre serves CSVs named ``.xls`` and HTML login
pages named like the product), then reads CSV/TXT, XLSX/XLS/ODS workbooks and ZIPs
(recursively). PDFs are recognised and yield no tables: reports are archived raw only.

This package has no Airflow dependency; DAG code calls it from tasks.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from sintegre.readers.archive import read_zip
from sintegre.readers.delimited import read_delimited
from sintegre.readers.detect import HEAD_BYTES, FileKind, detect_format, html_title
from sintegre.readers.errors import ParseError, ReaderError, UnsupportedFormatError
from sintegre.readers.excel import read_workbook
from sintegre.readers.model import ParsedTable

__all__ = [
    "ParseError",
    "ParsedTable",
    "ReaderError",
    "UnsupportedFormatError",
    "read_product_file",
]

log = logging.getLogger(__name__)


def read_product_file(path: Path, file_name: str | None = None) -> list[ParsedTable]:
    """Read every table in a product file.

    Args:
        path: The downloaded file (it may have a temporary name).
        file_name: The original file name, used as the extension hint and in messages;
            defaults to ``path.name``.

    Returns:
        The tables in file order; ``[]`` for a PDF (or a ZIP holding only PDFs). When the
        file holds exactly one table its ``name`` is ``""``; otherwise names are unique
        slugs (sheet names for workbooks, member stems for ZIPs).

    Raises:
        ParseError: The file is an HTML page instead of the product, is empty, or is
            damaged; the message names the file and, for ZIPs, the member.
        UnsupportedFormatError: The file is in a format the readers do not handle.
    """
    path = Path(path)
    original_name = file_name or path.name
    _, tables = _read_any(path, original_name, f'"{original_name}"', 0)
    if len(tables) == 1 and tables[0].name:
        only = tables[0]
        tables = [ParsedTable("", only.table, only.source_member, only.original_columns)]
    return tables


def _read_any(
    path: Path, file_name: str, label: str, depth: int
) -> tuple[FileKind, list[ParsedTable]]:
    detection = detect_format(path, file_name)
    kind = detection.kind
    if kind is FileKind.ZIP:
        return kind, read_zip(path, label, _read_any, depth)
    if kind in (FileKind.WORKBOOK, FileKind.LEGACY_XLS):
        return kind, read_workbook(path, label)
    if kind is FileKind.TEXT:
        return kind, [read_delimited(path, label)]
    if kind is FileKind.PDF:
        log.info("%s is a PDF report: kept raw, no tables read", label)
        return kind, []
    if kind is FileKind.HTML:
        with path.open("rb") as handle:
            title = html_title(handle.read(HEAD_BYTES))
        hint = f' (page title: "{title}")' if title else ""
        raise ParseError(
            f"{label}: the server sent an HTML page instead of the product file{hint}; "
            "the SINtegre session has probably expired or the download link is no longer valid"
        )
    extension = PurePosixPath(file_name).suffix or "no extension"
    raise UnsupportedFormatError(
        f"{label}: unsupported format: the content is {detection.description} ({extension}); "
        "the readers handle CSV/TXT, XLSX/XLS/ODS, ZIP and PDF"
    )
