"""Realistic sample product files, made by the project itself.

Parser tests, the SINtegre simulator and the end-to-end tests all need files that look
like what ONS publishes: latin-1 ``;`` CSVs with decimal commas and ``.`` thousands,
workbooks with a title above the header and one sheet per subsystem, ZIPs (also nested),
headerless whitespace TXTs, PDFs, and the HTML page SINtegre serves when a session has
expired. Every ``make_*`` function writes a file and returns what a correct reader must
find in it, computed here from the values written, never by reading the file back.

Everything is deterministic: the same call always writes the same bytes (ZIP entry
times and workbook save times are pinned), so content hashes are stable across runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CARGA_COLUMNS",
    "CARGA_HEADERS",
    "VAZAO_COLUMNS",
    "VAZAO_HEADERS",
    "ExpectedTable",
    "make_csv",
    "make_html_error_page",
    "make_pdf",
    "make_pipe_txt",
    "make_psat_txt",
    "make_xlsx",
    "make_zip",
]

CARGA_HEADERS = ["Data", "Patamar", "Submercado", "Carga (MWmed)", "Observação"]
"""Headers of the load CSV ("Arquivos de Previsão de Carga para o DESSEM")."""
CARGA_COLUMNS = ["data", "patamar", "submercado", "carga_mwmed", "observacao"]
"""Their slugs, written out by hand."""

VAZAO_HEADERS = ["Data", "Posto", "Vazão Natural (m³/s)", "Vazão Incremental (m³/s)"]
"""Headers of the hydrology workbook sheets."""
# NFKD turns "³" into "3", hence "m3_s".
VAZAO_COLUMNS = ["data", "posto", "vazao_natural_m3_s", "vazao_incremental_m3_s"]
"""Their slugs, written out by hand."""

_SUBMERCADOS = ["Sudeste/Centro-Oeste", "Sul", "Nordeste", "Norte"]
# Typical load levels in hundredths of MWmed, so every value has thousands to group.
_CARGA_BASE_CENTS = [3_845_678, 1_234_567, 1_102_345, 612_390]
_OBSERVACOES = ["Previsão revisada às 10h", "", "Feriado de São José"]
_CARGA_START = dt.date(2024, 3, 1)

_POSTOS = [6, 74, 156, 169, 275, 287]  # Furnas, G. B. Munhoz, Três Marias, Sobradinho...
_VAZAO_START = dt.date(2024, 1, 1)
_PSAT_BASINS = ["Grande", "Paranaiba", "Tiete", "Iguacu", "Uruguai", "Tocantins", "Sao Francisco"]
_ZIP_TIMESTAMP = (2024, 3, 1, 12, 35, 0)

STRING, INT64, DOUBLE, DATE = "string", "int64", "double", "date32[day]"


@dataclass
class ExpectedTable:
    """What a reader must return for a fixture file.

    Attributes:
        columns: Column slugs in order.
        original_columns: Headers exactly as written (``""`` for headerless files).
        rows: One dict per data row, keyed by slug, holding the Python values a reader
            must produce (``None`` for empty cells).
        types: Arrow type name per slug, as ``str(pyarrow type)`` (``"int64"``,
            ``"double"``, ``"date32[day]"``, ``"string"``...).
    """

    columns: list[str]
    original_columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> list[Any]:
        """Return the expected values of one column.

        Args:
            name: A column slug.

        Returns:
            The values in row order.
        """
        return [row[name] for row in self.rows]


def make_csv(
    path: Path,
    *,
    sep: str = ";",
    encoding: str = "latin-1",
    decimal_comma: bool = True,
    rows: int = 24,
) -> ExpectedTable:
    """Write a load-forecast CSV as ONS publishes it for the DESSEM.

    With ``decimal_comma`` (the ONS default) loads are written ``38.456,78`` and dates
    ``dd/mm/yyyy``; without it, ``38456.78`` and ISO dates. Lines end in CRLF. One
    ``Observação`` in three is empty.

    Args:
        path: Where to write.
        sep: Field separator (``;``, ``,``, ``|`` or tab).
        encoding: Text encoding; ``"utf-8-sig"`` writes a BOM.
        decimal_comma: Brazilian number format.
        rows: Number of data rows.

    Returns:
        The expected table.

    Raises:
        ValueError: ``sep=","`` with ``decimal_comma``: ONS never writes that and
            readers treat ``,`` files as decimal-point files.
    """
    if sep == "," and decimal_comma:
        raise ValueError("a ',' separated file cannot use decimal commas")
    expected_rows: list[dict[str, Any]] = []
    lines: list[list[str]] = [list(CARGA_HEADERS)]
    for index in range(rows):
        day = _CARGA_START + dt.timedelta(days=index // 8)
        patamar = (index // 4) % 2 + 1
        region = index % 4
        cents = _CARGA_BASE_CENTS[region] + (index * 7919) % 250_000 - 125_000
        note = _OBSERVACOES[index % 3]
        lines.append(
            [
                day.strftime("%d/%m/%Y") if decimal_comma else day.isoformat(),
                str(patamar),
                _SUBMERCADOS[region],
                _format_cents(cents, decimal_comma),
                note,
            ]
        )
        expected_rows.append(
            {
                "data": day,
                "patamar": patamar,
                "submercado": _SUBMERCADOS[region],
                # cents / 100 is correctly rounded, so it equals float("38456.78").
                "carga_mwmed": cents / 100,
                "observacao": note or None,
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=sep, lineterminator="\r\n").writerows(lines)
    types = dict(zip(CARGA_COLUMNS, [DATE, INT64, STRING, DOUBLE, STRING], strict=True))
    if rows == 0:
        types = dict.fromkeys(CARGA_COLUMNS, STRING)
    return ExpectedTable(list(CARGA_COLUMNS), list(CARGA_HEADERS), expected_rows, types)


def make_xlsx(
    path: Path,
    *,
    sheets: dict[str, int] | None = None,
    title_rows: int = 1,
) -> dict[str, ExpectedTable]:
    """Write a hydrology workbook: one sheet per subsystem, daily flows per gauge.

    Each sheet has ``title_rows`` title lines (the first merged across the table, as ONS
    does), a blank row when there is a title, the header row, then one row per day with
    a real date cell (``DD/MM/YYYY`` format), the gauge code, and natural and incremental
    flows with one decimal (incremental flows go negative, as they do in dry weeks).

    Args:
        path: Where to write.
        sheets: Sheet name → number of data rows; default ``{"Sudeste": 10, "Sul": 10}``.
        title_rows: Title lines above the header.

    Returns:
        Sheet name → expected table.
    """
    from openpyxl import Workbook  # imported here: only fixture users need openpyxl

    sheets = {"Sudeste": 10, "Sul": 10} if sheets is None else sheets
    workbook = Workbook()
    workbook.remove(workbook.active)
    expected: dict[str, ExpectedTable] = {}
    for position, (sheet_name, count) in enumerate(sheets.items()):
        sheet = workbook.create_sheet(sheet_name)
        titles = [
            f"Acompanhamento Hidrológico – Vazões Diárias – {sheet_name}",
            "Fonte: ONS – dados brutos, sujeitos a consistência",
            "Unidade: m³/s",
        ]
        for line in range(title_rows):
            sheet.append([titles[line % len(titles)]])
        if title_rows:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(VAZAO_HEADERS))
            sheet.append([])
        sheet.append(list(VAZAO_HEADERS))
        rows: list[dict[str, Any]] = []
        posto = _POSTOS[position % len(_POSTOS)]
        for day_index in range(count):
            day = _VAZAO_START + dt.timedelta(days=day_index)
            # Tenths of m³/s: the first row is never integral, so the columns stay double.
            natural = (15003 + 373 * day_index + 2117 * position) / 10
            incremental = (3001 - 511 * day_index + 97 * position) / 10
            sheet.append([day, posto, natural, incremental])
            sheet.cell(row=sheet.max_row, column=1).number_format = "DD/MM/YYYY"
            rows.append(
                {
                    "data": day,
                    "posto": posto,
                    "vazao_natural_m3_s": natural,
                    "vazao_incremental_m3_s": incremental,
                }
            )
        types = dict(zip(VAZAO_COLUMNS, [DATE, INT64, DOUBLE, DOUBLE], strict=True))
        if count == 0:
            types = dict.fromkeys(VAZAO_COLUMNS, STRING)
        expected[sheet_name] = ExpectedTable(list(VAZAO_COLUMNS), list(VAZAO_HEADERS), rows, types)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as saved:
        parts = {info.filename: saved.read(info) for info in saved.infolist()}
    # openpyxl stamps the save time into docProps/core.xml and the ZIP entries; pin both so
    # the same call gives the same sha256 (the lake deduplicates on content hashes).
    parts["docProps/core.xml"] = re.sub(
        rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
        rb"\g<1>2024-03-01T12:35:00Z",
        parts["docProps/core.xml"],
    )
    _write_zip(path, parts)
    return expected


def make_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    """Write a ZIP archive (deflated) with fixed timestamps.

    Args:
        path: Where to write.
        members: Member path inside the archive → its bytes, or a file to copy in (a
            ZIP made by this function gives a nested archive).

    Returns:
        ``path``.
    """
    _write_zip(
        path,
        {
            name: content.read_bytes() if isinstance(content, Path) else content
            for name, content in members.items()
        },
    )
    return path


def make_html_error_page(path: Path) -> Path:
    """Write the kind of HTML page SINtegre returns instead of a file (expired session).

    Args:
        path: Where to write (typically with the product's own name, e.g. ``.xlsx``).

    Returns:
        ``path``.
    """
    page = """\ufeff
<!DOCTYPE html>
<html lang="pt-BR">
<head>
  <meta charset="utf-8">
  <title>SINtegre - Sessão expirada</title>
</head>
<body>
  <h1>Sua sessão expirou</h1>
  <p>Faça login novamente em <a href="https://sintegre.ons.org.br">sintegre.ons.org.br</a>
  para baixar o arquivo solicitado.</p>
</body>
</html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def make_pdf(
    path: Path, *, title: str = "IPDO - Informativo Preliminar Diario da Operacao"
) -> Path:
    """Write a minimal, valid one-page PDF report.

    Args:
        path: Where to write.
        title: Text drawn on the page (ASCII).

    Returns:
        ``path``.
    """
    stream = f"BT /F1 14 Tf 72 760 Td ({title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        body += f"{offset:010d} 00000 n \n".encode()
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(body))
    return path


def make_psat_txt(path: Path, *, rows: int | None = None) -> ExpectedTable:
    """Write a satellite-precipitation file like ``psat_ddmmyyyy.txt``.

    No header; fields aligned with runs of spaces: basin name (one contains a space, as
    "Sao Francisco" does in the real files), latitude, longitude, millimetres.

    Args:
        path: Where to write.
        rows: Number of basins (default: all seven sample basins; more cycle through).

    Returns:
        The expected table (``col_1``..``col_4``, empty original headers).
    """
    count = len(_PSAT_BASINS) if rows is None else rows
    lines: list[str] = []
    expected_rows: list[dict[str, Any]] = []
    for index in range(count):
        basin = _PSAT_BASINS[index % len(_PSAT_BASINS)]
        lat = (-2135 + 317 * index) / 100
        lon = (-5085 + 421 * index) / 100
        rain = ((index * 37) % 250) / 10
        lines.append(f"{basin:<16}{lat:>9.2f}{lon:>9.2f}{rain:>8.1f}")
        expected_rows.append({"col_1": basin, "col_2": lat, "col_3": lon, "col_4": rain})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    columns = ["col_1", "col_2", "col_3", "col_4"]
    return ExpectedTable(
        columns,
        ["", "", "", ""],
        expected_rows,
        dict(zip(columns, [STRING, DOUBLE, DOUBLE, DOUBLE], strict=True)),
    )


def make_pipe_txt(path: Path, *, rows: int = 10, posto: int = 6) -> ExpectedTable:
    """Write a PDP rainfall-runoff model output: ``|``-separated, no header.

    Fields: gauge code, date (``dd/mm/yyyy``), forecast flow in m³/s with a decimal point.

    Args:
        path: Where to write.
        rows: Number of forecast days.
        posto: Gauge code repeated on every line.

    Returns:
        The expected table (``col_1``..``col_3``, empty original headers).
    """
    lines: list[str] = []
    expected_rows: list[dict[str, Any]] = []
    for index in range(rows):
        day = _VAZAO_START + dt.timedelta(days=index)
        flow = (12345 + 678 * index) / 10
        lines.append(f"{posto}|{day:%d/%m/%Y}|{flow:.1f}")
        expected_rows.append({"col_1": posto, "col_2": day, "col_3": flow})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="latin-1")
    columns = ["col_1", "col_2", "col_3"]
    return ExpectedTable(
        columns,
        ["", "", ""],
        expected_rows,
        dict(zip(columns, [INT64, DATE, DOUBLE], strict=True)),
    )


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def _format_cents(cents: int, decimal_comma: bool) -> str:
    units, hundredths = divmod(cents, 100)
    if decimal_comma:
        return f"{units:,}".replace(",", ".") + f",{hundredths:02d}"
    return f"{units}.{hundredths:02d}"
