"""Workbooks shaped like the ONS spreadsheet products, each with its real-world hazards.

Realistic ONS-shaped files generated for the tests, the simulator's sample products
(:mod:`sintegre.simulator.samples`) and ``make demo``; no Airflow here.

One ``make_<product>(path, period) -> Path`` per catalogued spreadsheet product (SINTEGRE-
FACTS.md §3): legacy ``.xls`` (xlwt), ``.xlsx`` (openpyxl), ``.ods`` (odfpy) and ZIPs of
them. Hazards reproduced: title rows above the header (some with two cells, which fools
"first row with two cells" detection), headers of two or three rows with merged group
cells, a gauge code every 8 columns (Acomph), dates typed as text, codes with leading
zeros, footnotes under the data, extra sheets that are not data, dates in member names.

Values come from simple formulas written in each docstring so that tests can write the
expected values by hand. Files are byte-for-byte deterministic (save times and ZIP entry
times are pinned), like :mod:`sintegre.fixtures`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sintegre.fixtures import make_pdf, make_zip

__all__ = [
    "ACOMPH_BASINS",
    "ACOMPH_MEASURES",
    "MONTHS_PT",
    "RDH_PLANTS",
    "STATIONS_234",
    "make_acompanhamento_hidrologico",
    "make_acomph",
    "make_big_workbook",
    "make_decomp_carga",
    "make_nao_consistido",
    "make_newave_carga",
    "make_notas_tecnicas",
    "make_ods_sample",
    "make_pdp_relatorio",
    "make_rdh",
]

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

ACOMPH_BASINS: dict[str, tuple[int, ...]] = {"Grande": (1, 6, 211), "Paranaíba": (24, 31)}
"""Acomph sheets (river basins) and the gauge codes of each, in column order."""
ACOMPH_MEASURES = [
    "Nível",
    "Defluência",
    "Afluência",
    "Incremental",
    "Natural",
    "Vertimento",
    "Turbinamento",
    "Armazenamento",
]
"""The 8 measures of every Acomph gauge block, in column order."""

RDH_PLANTS = [
    ("CAMARGOS", "001"),
    ("FURNAS", "006"),
    ("JAGUARA", "008"),
    ("ITAIPU", "266"),
    ("SOBRADINHO", "169"),
    ("TUCURUÍ", "275"),
]
"""RDH rows: plant name and its code, a text cell with leading zeros."""

STATIONS_234 = ["Furnas", "Marimbondo", "Água Vermelha"]
"""Sheets of the Relatório de Acompanhamento Hidrológico (one per station)."""

_PDP_POSTOS = [(1, "CAMARGOS"), (6, "FURNAS"), (156, "TRÊS MARIAS"), (169, "SOBRADINHO")]
_SUBSYSTEMS = ["SE", "S", "NE", "N"]
_SUBSYSTEM_BASE = {"SE": 45000, "S": 13000, "NE": 12000, "N": 7000}
_PATAMARES = [("Pesada", 3000, 21), ("Média", 0, 91), ("Leve", -4000, 56)]
_NAO_CONSISTIDO_POSTOS = [(1, "CAMARGOS"), (6, "FURNAS"), (211, "FUNIL-GRANDE"), (275, "TUCURUÍ")]
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


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _pdf_bytes(title: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="sintegre-fixture-") as scratch:
        return make_pdf(Path(scratch) / "doc.pdf", title=title).read_bytes()


def _month_start(day: dt.date, offset: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + offset
    return dt.date(months // 12, months % 12 + 1, 1)


def _openpyxl() -> Any:
    import openpyxl  # imported lazily: only file generators need openpyxl

    return openpyxl


def _xlwt() -> Any:
    import xlwt  # legacy .xls writer, only the .xls products (tests) need it

    return xlwt


# --------------------------------------------------------------------------- 230 Acomph


def make_acomph(path: Path, period: dt.date) -> Path:
    """Write ``ACOMPH_dd.mm.yyyy.xls`` (product 230): legacy XLS, one sheet per basin.

    Every sheet ("Grande": gauges 1, 6, 211; "Paranaíba": 24, 31 — see
    :data:`ACOMPH_BASINS`) has three title rows and a blank row, then a two-row header:
    row 5 holds "Data" (merged over both header rows) and each gauge code (a number)
    merged over its block of 8 columns; row 6 holds the 8 measure names of
    :data:`ACOMPH_MEASURES` under every gauge. 30 data rows follow, one per day
    ``period - 29 + i`` (``i`` = 0..29), as date cells shown ``dd/mm/yyyy``, then a
    one-cell footnote.

    Value of gauge ``p``, day ``i``, measure ``m`` (0..7)::

        (p * 1000 + i * 10 + m) / 10 + 0.05   # i.e. p*100 + i + m/10 + 0.05

    written as ``(p * 10000 + i * 100 + m * 10 + 5) / 100``. Gauge 31 of "Paranaíba" has
    no data at all on the last day (its 8 cells are empty).

    Args:
        path: Where to write.
        period: The file's date (the last day of data).

    Returns:
        ``path``.
    """
    xlwt = _xlwt()
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    bold = xlwt.easyxf("font: bold on; align: horiz center")
    for basin, postos in ACOMPH_BASINS.items():
        sheet = book.add_sheet(basin)
        width = 1 + 8 * len(postos)
        sheet.write_merge(0, 0, 0, width - 1, "ACOMPH – Acompanhamento Diário das Vazões", bold)
        sheet.write(1, 0, f"Bacia: {basin}")
        sheet.write(2, 0, f"Emitido em {period:%d/%m/%Y} – valores em m³/s e m")
        sheet.write_merge(4, 5, 0, 0, "Data", bold)
        for block, posto in enumerate(postos):
            first = 1 + 8 * block
            sheet.write_merge(4, 4, first, first + 7, posto, bold)
            for measure, name in enumerate(ACOMPH_MEASURES):
                sheet.write(5, first + measure, name, bold)
        for i in range(30):
            row = 6 + i
            sheet.write(row, 0, period - dt.timedelta(days=29 - i), date_style)
            for block, posto in enumerate(postos):
                if basin == "Paranaíba" and posto == 31 and i == 29:
                    continue  # a gauge without data on the last day: all 8 cells empty
                for measure in range(8):
                    value = (posto * 10000 + i * 100 + measure * 10 + 5) / 100
                    sheet.write(row, 1 + 8 * block + measure, value)
        sheet.write(37, 0, "(*) Dados preliminares, sujeitos a consistência")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


# --------------------------------------------------------------------------- 233 RDH


def make_rdh(path: Path, period: dt.date) -> Path:
    """Write ``RDH_05AGO2025.xlsx`` (product 233).

    Sheet "RDH": a merged title, a two-cell row ``"Data:" | period`` (which defeats the
    generic "first row with two cells" header guess), a blank row, then a three-row header
    starting at row 4 with "APROVEITAMENTO" (merged down three rows)::

        APROVEITAMENTO | CÓDIGO | VAZÕES (m³/s)                     | ARMAZENAMENTO | NÍVEL (m)
                       |        | NATURAL         | AFLUENTE        | %VU   | hm³   |
                       |        | DIA | MÉDIA MÊS | DIA | MÉDIA MÊS |       |       |

    Then one row per plant of :data:`RDH_PLANTS` (``k`` = 0..5, ``d`` = ``period.day``),
    the code a text cell with leading zeros, and::

        natural dia = (k+1)*1000 + d + 0.5      natural mês = (k+1)*1000 + 0.25
        afluente dia = (k+1)*900 + d + 0.5      afluente mês = (k+1)*900 + 0.75
        %VU = 10*(k+1) + 0.5                    hm³ = 1500*(k+1)   (integral)
        nível = (70000 + 100*k + d) / 100

    JAGUARA (k=2) is run-of-river: its %VU and hm³ are empty. A blank row and a
    "Fonte:" note close the table. A second sheet "Legenda" is a two-column glossary
    that is not data (the catalog reads only "RDH").

    Args:
        path: Where to write.
        period: The report's date.

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "RDH"
    sheet.append(["RELATÓRIO DIÁRIO DA SITUAÇÃO HIDRÁULICO-HIDROLÓGICA DO SIN"])
    sheet.merge_cells("A1:I1")
    sheet.append(["Data:", period])
    sheet.cell(row=2, column=2).number_format = "DD/MM/YYYY"
    sheet.append([])
    sheet.append(["APROVEITAMENTO", "CÓDIGO", "VAZÕES (m³/s)", None, None, None])
    sheet["G4"], sheet["I4"] = "ARMAZENAMENTO", "NÍVEL (m)"
    sheet.append([None, None, "NATURAL", None, "AFLUENTE", None, "%VU", "hm³"])
    sheet.append([None, None, "DIA", "MÉDIA MÊS", "DIA", "MÉDIA MÊS"])
    for span in ("A4:A6", "B4:B6", "C4:F4", "G4:H4", "I4:I6", "C5:D5", "E5:F5", "G5:G6", "H5:H6"):
        sheet.merge_cells(span)
    d = period.day
    for k, (plant, code) in enumerate(RDH_PLANTS):
        run_of_river = k == 2
        sheet.append(
            [
                plant,
                code,
                (k + 1) * 1000 + d + 0.5,
                (k + 1) * 1000 + 0.25,
                (k + 1) * 900 + d + 0.5,
                (k + 1) * 900 + 0.75,
                None if run_of_river else 10 * (k + 1) + 0.5,
                None if run_of_river else 1500 * (k + 1),
                (70000 + 100 * k + d) / 100,
            ]
        )
    sheet.append([])
    sheet.append(["Fonte: ONS – Sistema de Gestão de Informações Hidrológicas"])
    legend = book.create_sheet("Legenda")
    legend.append(["Sigla", "Descrição"])
    legend.append(["%VU", "Percentual do volume útil"])
    legend.append(["hm³", "Volume armazenado"])
    return _write(path, _xlsx_bytes(book))


# --------------------------------------------------------------------------- 234 Relatório


def make_acompanhamento_hidrologico(path: Path, period: dt.date) -> Path:
    """Write ``Vazões Observadas - dd-mm-yyyy a dd-mm-yyyy.xlsx`` (product 234).

    One sheet per station of :data:`STATIONS_234` (``s`` = 0..2), each with a merged
    title, a period line, a blank row and a two-row header::

        DATA | VAZÃO (m³/s)                      | NÍVEL (m)
             | Afluente | Defluente | Natural    | Montante | Jusante

    ("DATA" merged down; the group titles merged across). Seven rows follow for the days
    ``period - 6 + i`` (``i`` = 0..6) with the date written as *text* ``dd/mm/yyyy``::

        afluente = 1000*(s+1) + 10*i + 0.5    defluente = afluente - 100
        natural = afluente + 0.25             montante = (7000 + 10*s + i) / 10
        jusante = 650 + s   (integral)

    Args:
        path: Where to write.
        period: The last observed day (the product is labelled D-1).

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    book = openpyxl.Workbook()
    book.remove(book.active)
    start = period - dt.timedelta(days=6)
    for s, station in enumerate(STATIONS_234):
        sheet = book.create_sheet(station)
        sheet.append([f"Vazões Observadas – {station}"])
        sheet.merge_cells("A1:F1")
        sheet.append([f"Período: {start:%d/%m/%Y} a {period:%d/%m/%Y}"])
        sheet.append([])
        sheet.append(["DATA", "VAZÃO (m³/s)", None, None, "NÍVEL (m)", None])
        sheet.append([None, "Afluente", "Defluente", "Natural", "Montante", "Jusante"])
        for span in ("A4:A5", "B4:D4", "E4:F4"):
            sheet.merge_cells(span)
        for i in range(7):
            afluente = 1000 * (s + 1) + 10 * i + 0.5
            sheet.append(
                [
                    f"{start + dt.timedelta(days=i):%d/%m/%Y}",
                    afluente,
                    afluente - 100,
                    afluente + 0.25,
                    (7000 + 10 * s + i) / 10,
                    650 + s,
                ]
            )
    return _write(path, _xlsx_bytes(book))


# --------------------------------------------------------------------------- 548 PDP


def make_pdp_relatorio(path: Path, period: dt.date) -> Path:
    """Write ``Relatorio_previsao_diaria_dd_mm_yyyy_para_dd_mm_yyyy.xls`` (product 548).

    Legacy XLS with sheets "Diária_6" and "Diária_7" of the same layout: two title rows,
    a blank row, then a two-row header: ``Código | Aproveitamento | <n> forecast days``
    (date cells ``period + j``, ``j`` = 1..n, with n = 6 and 7 for the two sheets) over
    ``"" | "" | "Vazão (m³/s)" × n``. One row per gauge (1 CAMARGOS, 6 FURNAS,
    156 TRÊS MARIAS, 169 SOBRADINHO); the forecast of gauge ``c``, day ``j``, sheet ``n``
    is ``(c*100 + j*10 + n) / 10`` (gauge 6, day 1, "Diária_6" → 61.6).

    Args:
        path: Where to write.
        period: The day the forecast was made.

    Returns:
        ``path``.
    """
    xlwt = _xlwt()
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    target = period + dt.timedelta(days=2)
    for n in (6, 7):
        sheet = book.add_sheet(f"Diária_{n}")
        sheet.write(0, 0, "Relatório dos resultados finais consistidos da previsão diária")
        sheet.write(1, 0, f"Previsão de {period:%d/%m/%Y} para {target:%d/%m/%Y}")
        sheet.write(3, 0, "Código")
        sheet.write(3, 1, "Aproveitamento")
        for j in range(1, n + 1):
            sheet.write(3, 1 + j, period + dt.timedelta(days=j), date_style)
            sheet.write(4, 1 + j, "Vazão (m³/s)")
        for row, (code, plant) in enumerate(_PDP_POSTOS, start=5):
            sheet.write(row, 0, code)
            sheet.write(row, 1, plant)
            for j in range(1, n + 1):
                sheet.write(row, 1 + j, (code * 100 + j * 10 + n) / 10)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


# --------------------------------------------------------------------------- 228 DECOMP


def decomp_revision(period: dt.date) -> int:
    """The PMO revision of a week: ``(period.day - 1) // 7`` (RV0 in the first week)."""
    return (period.day - 1) // 7


def make_decomp_carga(path: Path, period: dt.date) -> Path:
    """Write ``RVn_PMO_<Mês>_yyyy_carga_semanal.zip`` (product 228): a ZIP of one XLSX.

    Members: ``RV{n}_PMO_{Mês}_{yyyy}_carga_semanal.xlsx`` (``n`` =
    :func:`decomp_revision`, ``Mês`` from :data:`MONTHS_PT`) and a ``Leia-me.pdf``. The
    workbook's sheet "Carga Semanal" has a title row, a blank row and the header
    ``Semana | Data Início | Subsistema | Patamar | Carga (MWmed) | Duração (h)``, then
    5 weeks (``w`` = 1..5, starting ``period + 7*(w-1)``) × subsystems SE, S, NE, N ×
    patamares Pesada/Média/Leve (durations 21/91/56 h), in that nesting order::

        carga = (base*10 + delta*10 + w*17) / 10
        base: SE 45000, S 13000, NE 12000, N 7000;  delta: Pesada 3000, Média 0, Leve -4000

    (SE, Pesada, week 1 → 48001.7.)

    Args:
        path: Where to write the ZIP.
        period: First day of the PMO week.

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    revision = decomp_revision(period)
    month = MONTHS_PT[period.month - 1]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Carga Semanal"
    sheet.append([f"PMO {month} {period.year} – Revisão {revision} – Carga por patamar"])
    sheet.append([])
    sheet.append(["Semana", "Data Início", "Subsistema", "Patamar", "Carga (MWmed)", "Duração (h)"])
    for w in range(1, 6):
        start = period + dt.timedelta(days=7 * (w - 1))
        for subsystem in _SUBSYSTEMS:
            for patamar, delta, hours in _PATAMARES:
                carga = (_SUBSYSTEM_BASE[subsystem] * 10 + delta * 10 + w * 17) / 10
                sheet.append([w, start, subsystem, patamar, carga, hours])
                sheet.cell(row=sheet.max_row, column=2).number_format = "DD/MM/YYYY"
    stem = f"RV{revision}_PMO_{month}_{period.year}_carga_semanal"
    members = {
        f"{stem}.xlsx": _xlsx_bytes(book),
        "Leia-me.pdf": _pdf_bytes("Carga por patamar - DECOMP"),
    }
    return make_zip(path, members)


# --------------------------------------------------------------------------- 229 NEWAVE

NEWAVE_HEADERS = [
    "WEEK",
    "GAUGE",
    "DATE",
    "SOURCE",
    "TYPE",
    "LOAD_sMMGD",
    "Base_CGH",
    "Base_EOL",
    "Base_UFV",
    "Base_UTE",
    "Base_MMGD",
    "LOAD_cMMGD",
]
"""Header of the tidy NEWAVE monthly load workbook."""


def make_newave_carga(path: Path, period: dt.date) -> Path:
    """Write ``RV0_PMO_<Mês>_yyyy_carga_mensal.zip`` (product 229): a ZIP of a tidy XLSX.

    Member ``CargaMensal_PMO-{Mês}{yyyy}.xlsx``, sheet "Plan1", header on row 1
    (:data:`NEWAVE_HEADERS`), 48 rows: for month offset ``m`` = 0..11 (``DATE`` = first
    day of ``period``'s month + m, a date cell) and gauge ``g`` = 0..3 (SE, S, NE, N)::

        WEEK = 0, SOURCE = "ONS", TYPE = "MEDIUM"
        LOAD_sMMGD = base[g] + 100*m + 0.5     (base: SE 45000, S 13000, NE 12000, N 7000)
        Base_CGH = 100 + g, Base_EOL = 10*g, Base_UFV = 20*g, Base_UTE = 1000 + g
        Base_MMGD = 1000 + 10*m + g            LOAD_cMMGD = LOAD_sMMGD + Base_MMGD

    Args:
        path: Where to write the ZIP.
        period: Any day of the PMO month.

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Plan1"
    sheet.append(NEWAVE_HEADERS)
    for m in range(12):
        month = _month_start(period, m)
        for g, subsystem in enumerate(_SUBSYSTEMS):
            load = _SUBSYSTEM_BASE[subsystem] + 100 * m + 0.5
            mmgd = 1000 + 10 * m + g
            sheet.append(
                [
                    0,
                    subsystem,
                    month,
                    "ONS",
                    "MEDIUM",
                    load,
                    100 + g,
                    10 * g,
                    20 * g,
                    1000 + g,
                    mmgd,
                    load + mmgd,
                ]
            )
            sheet.cell(row=sheet.max_row, column=3).number_format = "YYYY-MM-DD"
    month_name = MONTHS_PT[period.month - 1]
    member = f"CargaMensal_PMO-{month_name}{period.year}.xlsx"
    return make_zip(path, {member: _xlsx_bytes(book)})


# --------------------------------------------------------------------------- 288 Notas Técnicas


def make_notas_tecnicas(path: Path, period: dt.date) -> Path:
    """Write the Notas Técnicas - Medio Prazo folder ZIP (product 288).

    Members ``NT_Carga/Carga_Mensal_{mm}_{yyyy}_{SUB}.xlsx`` (``mm``/``yyyy`` of
    ``period``; ``SUB`` = SE, S, NE, N, ``g`` = 0..3) and the note itself,
    ``NT_Carga/NT-ONS DPL 0123-{yyyy}.pdf``. Each workbook's sheet "Carga": a title row,
    a blank row, header ``Mês | Carga Global (MWmed) | MMGD (MWmed) | Carga Líquida
    (MWmed)`` and 12 rows, month offset ``m`` = 0..11 (``Mês`` = first day of
    ``period``'s month + m, a date cell shown ``mm/yyyy``)::

        global = base[g] + 10*m + 0.5   (base: SE 45000, S 13000, NE 12000, N 7000)
        mmgd = 500 + 5*m + g            liquida = global - mmgd

    Args:
        path: Where to write the ZIP.
        period: The month the note is about.

    Returns:
        ``path``.
    """
    openpyxl = _openpyxl()
    members: dict[str, bytes] = {}
    for g, subsystem in enumerate(_SUBSYSTEMS):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Carga"
        sheet.append([f"Previsão de carga mensal – subsistema {subsystem}"])
        sheet.append([])
        sheet.append(["Mês", "Carga Global (MWmed)", "MMGD (MWmed)", "Carga Líquida (MWmed)"])
        for m in range(12):
            total = _SUBSYSTEM_BASE[subsystem] + 10 * m + 0.5
            mmgd = 500 + 5 * m + g
            sheet.append([_month_start(period, m), total, mmgd, total - mmgd])
            sheet.cell(row=sheet.max_row, column=1).number_format = "MM/YYYY"
        name = f"NT_Carga/Carga_Mensal_{period.month:02d}_{period.year}_{subsystem}.xlsx"
        members[name] = _xlsx_bytes(book)
    members[f"NT_Carga/NT-ONS DPL 0123-{period.year}.pdf"] = _pdf_bytes("Nota Tecnica - Carga")
    return make_zip(path, members)


# --------------------------------------------------------------------------- 246 não consistidos


def make_nao_consistido(path: Path, period: dt.date, revision: int = 1) -> Path:
    """Write ``Nao_Consistido_yyyymm_REVn.zip`` (product 246): a ZIP of an XLS and a ``.prv``.

    ``Nao_Consistido_{yyyymm}_REV{n}.xls``, sheet "Vazões Semanais": a title row, a blank
    row, a two-row header ``Posto | Aproveitamento | "Vazão semanal (m³/s)"`` merged over
    5 columns, above ``"" | "" | Sem 1 .. Sem 5``; one row per gauge (1 CAMARGOS,
    6 FURNAS, 211 FUNIL-GRANDE, 275 TUCURUÍ) with the flow of gauge ``p``, week ``w`` =
    ``(p*100 + w*10 + n) / 10`` (gauge 6, week 1, REV1 → 61.1).

    ``Prevs_{yyyymm}_REV{n}.prv``: fixed-format text, no header, one line per gauge:
    line number (6 wide), gauge (5 wide), then 5 integer flows ``p*10 + w`` (10 wide).

    Args:
        path: Where to write the ZIP.
        period: Any day of the PMO month.
        revision: The revision ``n``.

    Returns:
        ``path``.
    """
    xlwt = _xlwt()
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Vazões Semanais")
    month = MONTHS_PT[period.month - 1]
    sheet.write(0, 0, f"PMO {month} {period.year} – REV {revision} – resultados não consistidos")
    sheet.write_merge(2, 3, 0, 0, "Posto")
    sheet.write_merge(2, 3, 1, 1, "Aproveitamento")
    sheet.write_merge(2, 2, 2, 6, "Vazão semanal (m³/s)")
    lines: list[str] = []
    for w in range(1, 6):
        sheet.write(3, 1 + w, f"Sem {w}")
    for index, (posto, plant) in enumerate(_NAO_CONSISTIDO_POSTOS, start=1):
        row = 3 + index
        sheet.write(row, 0, posto)
        sheet.write(row, 1, plant)
        for w in range(1, 6):
            sheet.write(row, 1 + w, (posto * 100 + w * 10 + revision) / 10)
        lines.append(
            f"{index:6d}{posto:5d}" + "".join(f"{posto * 10 + w:10d}" for w in range(1, 6))
        )
    stem = f"{period:%Y%m}_REV{revision}"
    buffer = io.BytesIO()
    book.save(buffer)
    members = {
        f"Nao_Consistido_{stem}.xls": buffer.getvalue(),
        f"Prevs_{stem}.prv": ("\r\n".join(lines) + "\r\n").encode("latin-1"),
    }
    return make_zip(path, members)


# --------------------------------------------------------------------------- ODS


def make_ods_sample(path: Path, period: dt.date) -> Path:
    """Write an ODS version of one product-234 sheet ("Furnas"), with merged header cells.

    Same layout and formulas as :func:`make_acompanhamento_hidrologico` for station
    ``s`` = 0, but with real date cells and a station code column "CÓDIGO" holding the
    text ``"006"``. ODS merges are ``number-columns-spanned`` cells followed by covered
    cells (calamine does not report them as merged ranges)::

        DATA | CÓDIGO | VAZÃO (m³/s)                     | NÍVEL (m)
             |        | Afluente | Defluente | Natural   | Montante | Jusante

    Args:
        path: Where to write.
        period: The last observed day.

    Returns:
        ``path``.
    """
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    def cell(value: object = None, span: int = 1) -> Any:
        extra: dict[str, Any] = {"numbercolumnsspanned": span} if span > 1 else {}
        if value is None:
            return TableCell(**extra)
        if isinstance(value, str):
            made = TableCell(valuetype="string", **extra)
            made.addElement(P(text=value))
        elif isinstance(value, dt.date):
            made = TableCell(valuetype="date", datevalue=value.isoformat(), **extra)
            made.addElement(P(text=f"{value:%d/%m/%Y}"))
        else:
            made = TableCell(valuetype="float", value=value, **extra)
            made.addElement(P(text=str(value)))
        return made

    start = period - dt.timedelta(days=6)
    rows: list[list[Any]] = [
        [cell("Vazões Observadas – Furnas")],
        [],
        [
            cell("DATA"),
            cell("CÓDIGO"),
            cell("VAZÃO (m³/s)", 3),
            CoveredTableCell(),
            CoveredTableCell(),
            cell("NÍVEL (m)", 2),
            CoveredTableCell(),
        ],
        [
            cell(),
            cell(),
            cell("Afluente"),
            cell("Defluente"),
            cell("Natural"),
            cell("Montante"),
            cell("Jusante"),
        ],
    ]
    for i in range(7):
        afluente = 1000 + 10 * i + 0.5
        rows.append(
            [
                cell(start + dt.timedelta(days=i)),
                cell("006"),
                cell(afluente),
                cell(afluente - 100),
                cell(afluente + 0.25),
                cell((7000 + i) / 10),
                cell(650.0),
            ]
        )
    document = OpenDocumentSpreadsheet()
    table = Table(name="Furnas")
    for cells in rows:
        row = TableRow()
        for made in cells:
            row.addElement(made)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    with zipfile.ZipFile(buffer) as saved:
        parts = {info.filename: saved.read(info) for info in saved.infolist()}
    # odfpy stamps the creation time in meta.xml and the ZIP entries: pin both. The
    # "mimetype" member must come first and be stored uncompressed (ODF packaging rule).
    parts["meta.xml"] = re.sub(
        rb"(<meta:creation-date>)[^<]*", rb"\g<1>2024-03-01T12:35:00", parts["meta.xml"]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


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
