"""Generic workbook helpers: a big workbook for benchmarks and shared writing utilities.

These are not product layouts: ONS's real spreadsheet layouts are written by
:mod:`sintegre_dev.ons_files.hydro`, :mod:`~sintegre_dev.ons_files.pmo_load` and
:mod:`~sintegre_dev.ons_files.reports_real` and read through the catalog. Here:

- :func:`make_big_workbook` writes a large tidy XLSX, for the workbook reader's benchmark;
- :data:`MONTHS_PT` and :func:`decomp_revision` name PMO files (simulator samples);
- private helpers the real-layout generators share: deterministic XLSX bytes (save and ZIP
  entry times pinned, so the same call gives the same bytes, as the lake deduplicates on
  content hashes), a small PDF, month arithmetic.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sintegre_dev.fixtures import make_pdf

__all__ = ["MONTHS_PT", "decomp_revision", "make_big_workbook"]

MONTHS_PT = (
    "Janeiro",
    "Fevereiro",
    "Março",
    "Abril",
    "Maio",
    "Junho",
    "Julho",
    "Agosto",
    "Setembro",
    "Outubro",
    "Novembro",
    "Dezembro",
)
"""Portuguese month names, as ONS writes them in file and member names."""

_SUBSYSTEMS = ["SE", "S", "NE", "N"]
_PINNED_TIME = "2024-03-01T12:35:00Z"
_ZIP_TIMESTAMP = (2024, 3, 1, 12, 35, 0)


# --------------------------------------------------------------------------- helpers


def _xlsx_bytes(workbook: Any) -> bytes:
    # openpyxl stamps the save time into docProps/core.xml and the ZIP entries; pin both
    # so the same call gives the same bytes (the lake deduplicates on content hashes).
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as saved:
        parts = {info.filename: saved.read(info) for info in saved.infolist()}
    parts["docProps/core.xml"] = re.sub(
        rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
        rb"\g<1>" + _PINNED_TIME.encode(),
        parts["docProps/core.xml"],
    )
    return _zip_bytes(parts)


def _zip_bytes(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _pdf_bytes(title: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="sintegre-fixture-") as scratch:
        return make_pdf(Path(scratch) / "doc.pdf", title=title).read_bytes()


def _month_start(day: dt.date, offset: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + offset
    return dt.date(months // 12, months % 12 + 1, 1)


def _openpyxl() -> Any:
    import openpyxl  # imported lazily: only file generators need openpyxl

    return openpyxl


# --------------------------------------------------------------------------- PMO names


def decomp_revision(period: dt.date) -> int:
    """The PMO revision of a week: ``(period.day - 1) // 7`` (RV0 in the first week)."""
    return (period.day - 1) // 7


# --------------------------------------------------------------------------- benchmark


def make_big_workbook(path: Path, rows: int = 100_000) -> Path:
    """Write a large tidy XLSX (benchmarks): one header row, ``rows`` rows, 10 columns.

    Row ``i``: ``Data`` = 2024-01-01 + (i // 48) days (date cell), ``Hora`` = i % 48
    (half hours), ``Subsistema`` = SE/S/NE/N cycling, ``Patamar`` = Pesada/Média/Leve
    cycling, ``Carga`` = 40000 + (i % 997) + 0.25, ``Hidráulica`` = 30000 + (i % 389) + 0.5,
    ``Térmica`` = 8000 + (i % 97) (integral), ``Eólica`` = (i % 1009) / 4, ``Solar`` =
    (i % 211) / 8, ``Observação`` = "revisado" every 10th row, empty otherwise. Written in
    openpyxl's write-only mode (not pinned: only the timing matters).

    Args:
        path: Where to write.
        rows: Data rows.

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Dados")
    sheet.append(
        [
            "Data",
            "Hora",
            "Subsistema",
            "Patamar",
            "Carga (MWmed)",
            "Hidráulica (MWmed)",
            "Térmica (MWmed)",
            "Eólica (MWmed)",
            "Solar (MWmed)",
            "Observação",
        ]
    )
    first = dt.date(2024, 1, 1)
    patamares = ["Pesada", "Média", "Leve"]
    for i in range(rows):
        sheet.append(
            [
                first + dt.timedelta(days=i // 48),
                i % 48,
                _SUBSYSTEMS[i % 4],
                patamares[i % 3],
                40000 + (i % 997) + 0.25,
                30000 + (i % 389) + 0.5,
                8000 + (i % 97),
                (i % 1009) / 4,
                (i % 211) / 8,
                "revisado" if i % 10 == 0 else None,
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path
