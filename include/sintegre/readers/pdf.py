"""Tables in PDF reports, read with pdfplumber.

ONS publishes some products only as PDF (the monthly interchange-limits report for DECOMP,
product 302) and others as narrative reports (IPDO, product 155). pdfplumber finds tables
from the ruling lines drawn around cells; a PDF whose pages have none (plain text reports)
yields no tables, and the file is kept raw only.

The reports are Brazilian: numbers are written ``1.234,5`` (``.`` groups thousands, ``,`` is
the decimal mark), and a lone dash means "no value".
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pdfplumber
import pyarrow as pa
from pdfminer.pdfdocument import PDFPasswordIncorrect

from sintegre.readers.errors import ParseError
from sintegre.readers.model import ParsedTable
from sintegre.readers.text.headers import build_table, looks_like_data
from sintegre.readers.text.inference import infer_text_column
from sintegre.readers.text.numbers import DecimalStyle

__all__ = ["read_pdf"]

log = logging.getLogger(__name__)

_NO_VALUE = frozenset({"-", "–", "—", "--"})  # hyphen, en dash, em dash: "not applicable"
_SPACES = re.compile(r"\s+")


def read_pdf(path: Path, label: str, *, decimal: DecimalStyle = "comma") -> list[ParsedTable]:
    """Read the ruled tables of every page of a PDF.

    Args:
        path: The PDF on disk.
        label: File description for error messages.
        decimal: Number notation of the cells; ONS reports use ``comma`` (``1.234,5``).

    Returns:
        One table per non-empty table found, in page order, named ``p<page>_t<n>`` (``n``
        counts the tables of that page from 1) with ``source_member`` ``"page <page>"``.
        The first row is the header when none of its cells looks like data (a number or a
        date); otherwise columns are named ``col_1``, ``col_2``... Cells broken over
        several lines are joined with a space; ``-`` cells are null. ``[]`` when no page
        has a ruled table (a text report).

    Raises:
        ParseError: The file cannot be opened as a PDF (damaged, truncated, encrypted) or a
            page cannot be read; the message names the file and the page.
    """
    try:
        document = pdfplumber.open(path)
    except PDFPasswordIncorrect as error:
        raise ParseError(f"{label}: the PDF is password-protected") from error
    except Exception as error:  # pdfminer raises many unrelated types for broken files
        raise ParseError(
            f"{label}: the PDF could not be opened; it is damaged or truncated ({_cause(error)})"
        ) from error
    tables: list[ParsedTable] = []
    with document:
        try:
            pages = document.pages
        except Exception as error:
            raise ParseError(
                f"{label}: the PDF's page tree could not be read; it is damaged ({_cause(error)})"
            ) from error
        for number, page in enumerate(pages, start=1):
            try:
                found = page.extract_tables()
            except Exception as error:
                raise ParseError(
                    f"{label}: page {number} could not be read ({_cause(error)})"
                ) from error
            finally:
                page.close()  # drop the page's parsed objects: memory stays one page deep
            kept = [table for rows in found if (table := _to_table(rows, decimal)) is not None]
            for index, (headers, typed) in enumerate(kept, start=1):
                tables.append(
                    ParsedTable(
                        name=f"p{number}_t{index}",
                        table=build_table(headers, typed),
                        source_member=f"page {number}",
                        original_columns=headers,
                    )
                )
    log.info("%s: %d table(s) found in the PDF", label, len(tables))
    return tables


def _cause(error: Exception) -> str:
    """``Type: message`` of the pdfminer error that pdfplumber wraps in its own exception."""
    inner = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    return f"{type(inner).__name__}: {inner}"


def _cell(value: str | None) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", value).strip()
    if not text or text in _NO_VALUE:
        return None
    return text


def _to_table(
    rows: list[list[str | None]], decimal: DecimalStyle
) -> tuple[list[str], list[pa.Array[Any]]] | None:
    """Headers and typed columns of one extracted table, or None when it holds nothing."""
    cleaned = [[_cell(value) for value in row] for row in rows]
    cleaned = [row for row in cleaned if any(value is not None for value in row)]
    width = max((len(row) for row in cleaned), default=0)
    if not cleaned or width == 0:
        return None
    cleaned = [row + [None] * (width - len(row)) for row in cleaned]
    # A caption merged across the table's width sits in one cell above the header.
    while width > 1 and len(cleaned) > 1 and sum(v is not None for v in cleaned[0]) == 1:
        cleaned = cleaned[1:]
    first = cleaned[0]
    has_header = len(cleaned) > 1 and all(
        value is None or not looks_like_data(value) for value in first
    )
    headers = [value or "" for value in first] if has_header else [""] * width
    data = cleaned[1:] if has_header else cleaned
    columns = [[row[index] for row in data] for index in range(width)]
    keep = [
        index
        for index in range(width)
        if headers[index] or any(value is not None for value in columns[index])
    ]
    if not keep:
        return None
    return (
        [headers[index] for index in keep],
        [infer_text_column(columns[index], decimal) for index in keep],
    )
