"""Turn a downloaded SINtegre product file into typed Arrow tables.

The entry point is :func:`read_product_file` (in :mod:`sintegre.readers.dispatch`): it looks
at the bytes, not the name, to decide what a file is, reads CSV/TXT, workbooks, ZIPs and PDFs,
applies the catalog's parse specs and names the tables stably.

The heavy modules (pyarrow, calamine, pdfplumber) load on first use: the receiver imports the
catalog, which imports :mod:`sintegre.catalog.spec`, and must not pay for the readers at boot.
This package has no Airflow dependency; DAG code calls it from tasks.
"""

from __future__ import annotations

from typing import Any

from sintegre.readers.errors import ParseError, ReaderError, UnsupportedFormatError

__all__ = [
    "STREAM_THRESHOLD_BYTES",
    "ParseError",
    "ParsedTable",
    "ReaderError",
    "UnsupportedFormatError",
    "read_product_file",
]


def __getattr__(name: str) -> Any:
    if name in ("read_product_file", "STREAM_THRESHOLD_BYTES"):
        from sintegre.readers import dispatch

        return getattr(dispatch, name)
    if name == "ParsedTable":
        from sintegre.readers.model import ParsedTable

        return ParsedTable
    raise AttributeError(f"module 'sintegre.readers' has no attribute {name!r}")
