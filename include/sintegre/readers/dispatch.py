"""Turn a downloaded SINtegre product file into typed Arrow tables.

The single entry point is :func:`read_product_file`. It looks at the bytes, not at the
name, to decide what the file is (SINtegre serves CSVs named ``.xls`` and HTML login
pages named like the product), then reads CSV/TXT, XLSX/XLS/ODS workbooks and ZIPs
(recursively) and PDFs (the tables pdfplumber finds; none: the report is kept raw only).
A product's catalog entry (:class:`~sintegre.catalog.spec.TableSpec`) can override how each
leaf is read, keep members raw, and name the tables; :mod:`sintegre.readers.assemble` gives
every table a name that stays the same from one delivery to the next.

This package has no Airflow dependency; DAG code calls it from tasks.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sintegre.catalog.spec import ParseSpec, TableSpec
from sintegre.readers.archive import read_zip
from sintegre.readers.assemble import assemble
from sintegre.readers.detect import (
    HEAD_BYTES,
    FileKind,
    detect_format,
    empty_file_error,
    html_title,
)
from sintegre.readers.errors import LayoutMismatch, ParseError, UnsupportedFormatError
from sintegre.readers.excel import read_workbook
from sintegre.readers.model import ParsedTable
from sintegre.readers.text.delimited import read_delimited

__all__ = ["STREAM_THRESHOLD_BYTES", "read_product_file"]

log = logging.getLogger(__name__)


#: Text files larger than this are converted to Parquet in chunks (bounded memory) when the
#: caller gives a work directory.
STREAM_THRESHOLD_BYTES = 64 * 1024 * 1024


@dataclass
class _Context:
    specs: Sequence[TableSpec]
    work_dir: Path | None
    raw_members: list[str] = field(default_factory=list)
    current_table: str | None = None  # the catalog table being read, for mismatch messages


def read_product_file(
    path: Path,
    file_name: str | None = None,
    tables: Sequence[TableSpec] = (),
    work_dir: Path | None = None,
) -> list[ParsedTable]:
    """Read every table in a product file.

    Args:
        path: The downloaded file (it may have a temporary name).
        file_name: The original file name, used as the extension hint, in messages and for
            matching ``tables`` against a plain file; defaults to ``path.name``.
        tables: The product's catalogued table specs; empty for generic reading.
        work_dir: Where big text files are streamed to Parquet; without it everything is
            read in memory.

    Returns:
        The tables, named by :func:`sintegre.readers.assemble.assemble`: catalogued leaves
        under their spec's name, others under stable names; ``[]`` for a PDF without tables
        or a delivery whose members are all kept raw.

    Raises:
        ParseError: The file is an HTML page instead of the product, is empty, or is
            damaged; the message names the file and, for ZIPs, the member.
        UnsupportedFormatError: The file is in a format the readers do not handle.
    """
    path = Path(path)
    original_name = file_name or path.name
    context = _Context(specs=tuple(tables), work_dir=work_dir)
    _, leaves = _read_any(path, original_name, f'"{original_name}"', 0, None, context)
    for member in context.raw_members:
        log.info("kept raw (catalog): %s", member)
    return assemble(leaves, context.specs, file_name=original_name, work_dir=work_dir)


def _spec_for(context: _Context, match_path: str) -> TableSpec | None:
    return next((spec for spec in context.specs if spec.matches(match_path)), None)


def _read_any(
    path: Path,
    file_name: str,
    label: str,
    depth: int,
    inside: str | None,
    context: _Context,
) -> tuple[FileKind, list[ParsedTable]]:
    """Read one file; ``inside`` is its path in the delivery (None for the download itself)."""
    match_path = file_name if inside is None else inside
    spec = _spec_for(context, match_path) if context.specs else None
    if spec is not None and spec.raw:
        context.raw_members.append(match_path)
        return FileKind.UNSUPPORTED, []
    detection = detect_format(path, file_name)
    kind = detection.kind
    if kind is FileKind.EMPTY:
        raise empty_file_error(label, detection)
    if kind is FileKind.ZIP:
        prefix = "" if inside is None else f"{inside}/"

        def read_member(
            member_path: Path, member: str, member_label: str, member_depth: int
        ) -> tuple[FileKind, list[ParsedTable]]:
            return _read_any(
                member_path, member, member_label, member_depth, prefix + member, context
            )

        return kind, read_zip(path, label, read_member, depth)
    if kind in (FileKind.WORKBOOK, FileKind.LEGACY_XLS):
        book = inside or ""

        def spec_for_sheet(sheet: str) -> ParseSpec | bool | None:
            path = f"{book}/{sheet}" if book else sheet
            found = _spec_for(context, path)
            context.current_table = found.name if found is not None else None
            if found is not None and found.raw:
                context.raw_members.append(path)
                return False
            return None if found is None else found.parse

        try:
            sheets = read_workbook(path, label, spec_for_sheet if context.specs else None)
        except LayoutMismatch as mismatch:
            raise mismatch.located(table=context.current_table) from None
        return kind, [
            table if table.sheet else dataclasses.replace(table, sheet=table.source_member)
            for table in sheets
        ]
    if kind is FileKind.TEXT:
        parse = spec.parse if spec is not None else None
        try:
            return kind, [_read_text(path, label, parse, context, member=match_path)]
        except LayoutMismatch as mismatch:
            raise mismatch.located(table=spec.name if spec is not None else None) from None
    if kind is FileKind.PDF:
        return kind, _read_pdf(path, label)
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


def _read_text(
    path: Path, label: str, parse: ParseSpec | None, context: _Context, *, member: str = ""
) -> ParsedTable:
    if parse is not None and parse.layout:
        from sintegre.readers.layouts import LayoutSource, layout_kind, read_layout

        if layout_kind(parse.layout) != "text":
            raise ParseError(f"{label}: layout {parse.layout!r} reads workbooks, not text")
        source = LayoutSource(path=path, label=label, member=member)
        table = read_layout(parse.layout, source)
        return ParsedTable(name="", table=table, original_columns=list(table.column_names))
    big = path.stat().st_size > STREAM_THRESHOLD_BYTES
    if big and context.work_dir is not None:
        from sintegre.readers.text.streaming import stream_delimited_to_parquet

        context.work_dir.mkdir(parents=True, exist_ok=True)
        out = context.work_dir / f"stream-{len(list(context.work_dir.iterdir())):04d}.parquet"
        return stream_delimited_to_parquet(path, label, out, parse)
    if parse is None:
        return read_delimited(path, label)
    return read_delimited(path, label, parse)


def _read_pdf(path: Path, label: str) -> list[ParsedTable]:
    try:
        from sintegre.readers.pdf import read_pdf
    except ImportError:  # pragma: no cover - pdfplumber is a pinned dependency
        log.info("%s is a PDF report: kept raw, no tables read", label)
        return []
    tables = read_pdf(path, label)
    if not tables:
        log.info("%s is a PDF report without tables: kept raw", label)
    return tables
