"""Hydrological forecast reports shaped like ONS's real ones: PDP (548, 243) and PMO (245, 246).

Layouts follow the parsers cited in :mod:`sintegre.readers.layouts.reports` (no ONS file is
copied here). Values are deterministic, so tests compute them by hand:

- **PDP report** (:func:`make_pdp_relatorio_real`, legacy ``.xls``): sheets ``Diária_6`` and
  ``Diária_7``; rows 1-4 a title, the report's date, the forecast's date and a blank row; row 5
  the header ("Posto", "Aproveitamento", then 7 dates: run date + 1 .. run date + 7, date
  cells). Plant rows first (code, name, flows ``code * 10 + j`` for day index ``j``), then per
  subsystem a label row with the name in column E and the MWmed and %MLT rows. Subsystem ``s``
  (SUDESTE 0, SUL 1, NORDESTE 2, NORTE 3), day index ``j`` (0..6):
  ``MWmed = (s + 1) * 10000 + 100 * j + 0.5``; ``%MLT = (500 + 100 * s + 10 * j + 5) / 10``.
  ``Diária_6`` holds SUDESTE; ``Diária_7`` SUL, NORDESTE and NORTE, each after a few plants.
  A footer "Fonte: ONS" closes each sheet.
- **Resultado final** (:func:`make_resultado_final_zip`): ``Resultado_Final_<dd_mm_yyyy>/``
  folder holding the same workbook, named ``Relatorio_previsao_diaria_<run>_para_<target>.xls``.
- **PMO workbook** (:func:`make_pmo_workbook`): for the PMO (revision 0) sheets ``Capa``,
  ``Tab-5-6-7``, ``Tab-12``, ``Tab-13-14-15``; for a revision ``REV-1``, ``REV-2``, ``REV-5``,
  ``REV-6``. Summary (``Tab-5-6-7`` rows 8-11 from column A / ``REV-2`` rows 9-12 from column
  B), week dates in B4/B6 (C5/C7); subsystem ``s``: week ``(s + 1) * 10000 + 0.5`` MWmed,
  ``80 + s + 0.5`` %MLT; revised month (revisions) ``(s + 1) * 10000 + 200.5``, ``85 + s``;
  initial month ``(s + 1) * 10000 + 400.5``, ``90 + s``. Weekly sheets: column A names, six
  weeks in D..I; the ``k``-th named entity of the sheet (0-based, plants without a ``%`` row
  included), week ``w`` (1..6): ``MWmed = 1000 * (k + 1) + 10 * w + 0.5``;
  ``%MLT = (500 + 10 * k + w) / 10`` on its ``"<name> %"`` row. Plants (no ``%`` row) hold
  m³/s flows ``100 * (k + 1) + w``. With ``weeks=5`` column I stays empty.
- **Não consistido** (:func:`make_nao_consistido_zip`): ``Nao_Consistido/`` holding the PMO
  workbook and ``Prevs_<yyyymm>_<REVn|PMO>.prv``: DECOMP prevs records ``%6d%5d`` then six
  ``%10d``, CRLF; line ``i`` (1-based) of gauge ``p``: flows ``p * 10 + w``.
- **Consistido** (:func:`make_consistido_zip`): ``Consistido_<yyyymm>_<REVn|PMO>/`` with the
  PMO workbook only.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

__all__ = [
    "PDP_PLANTS",
    "PMO_SEMANAL_SHEETS",
    "PREVS_GAUGES",
    "make_consistido_zip",
    "make_nao_consistido_zip",
    "make_pdp_relatorio_real",
    "make_pdp_workbook_bytes",
    "make_pmo_workbook",
    "make_resultado_final_zip",
]

SUBSYSTEMS = ("SUDESTE", "SUL", "NORDESTE", "NORTE")

# sheet → [(kind, code, name)]: "plant" rows, then "ena" blocks by subsystem name.
PDP_PLANTS = {
    "Diária_6": [("plant", 6, "FURNAS"), ("plant", 156, "TRÊS MARIAS"), ("ena", 0, "SUDESTE")],
    "Diária_7": [
        ("plant", 74, "G.B. MUNHOZ"),
        ("ena", 1, "SUL"),
        ("plant", 169, "SOBRADINHO"),
        ("ena", 2, "NORDESTE"),
        ("plant", 275, "TUCURUÍ"),
        ("ena", 3, "NORTE"),
    ],
}
PDP_DAYS = 7

# weekly sheets: PMO name, revision name, entities (name, has a "%" row)
PMO_SEMANAL_SHEETS = (
    (
        "Tab-12",
        "REV-5",
        [("FURNAS", False), ("GRANDE", True), ("PARANAÍBA", True), ("SUDESTE", True)],
    ),
    (
        "Tab-13-14-15",
        "REV-6",
        [
            ("IGUAÇU", True),
            ("SUL", True),
            ("SOBRADINHO", False),
            ("SÃO FRANCISCO (NE)", True),
            ("NORDESTE", True),
            ("NORTE", True),
        ],
    ),
)
PREVS_GAUGES = (1, 6, 211, 275)


def _xlwt():
    import xlwt

    return xlwt


def _date_style():
    xlwt = _xlwt()
    style = xlwt.XFStyle()
    style.num_format_str = "dd/mm/yyyy"
    return style


def make_pdp_workbook_bytes(run_date: dt.date) -> bytes:
    """The PDP report workbook of a run (see the module docstring for the values)."""
    xlwt = _xlwt()
    book = xlwt.Workbook(encoding="utf-8")
    dated = _date_style()
    dates = [run_date + dt.timedelta(days=1 + j) for j in range(PDP_DAYS)]
    for sheet_name, entries in PDP_PLANTS.items():
        sheet = book.add_sheet(sheet_name)
        sheet.write(0, 0, "Relatório de Previsão de Vazões Diárias - PDP")
        sheet.write(1, 0, "Data do relatório:")
        sheet.write(1, 2, run_date, dated)
        sheet.write(2, 0, "Previsão para:")
        sheet.write(2, 2, run_date + dt.timedelta(days=2), dated)
        sheet.write(4, 0, "Posto")
        sheet.write(4, 1, "Aproveitamento")
        for j, day in enumerate(dates):
            sheet.write(4, 2 + j, day, dated)
        row = 5
        for kind, code, name in entries:
            if kind == "plant":
                sheet.write(row, 0, code)
                sheet.write(row, 1, name)
                for j in range(PDP_DAYS):
                    sheet.write(row, 2 + j, code * 10 + j)
                row += 1
                continue
            row += 1  # a blank row before each block
            sheet.write(row, 0, "ENA")
            sheet.write(row, 4, name)
            sheet.write(row + 1, 1, "MWmed")
            sheet.write(row + 2, 1, "%MLT")
            for j in range(PDP_DAYS):
                sheet.write(row + 1, 2 + j, (code + 1) * 10000 + 100 * j + 0.5)
                sheet.write(row + 2, 2 + j, (500 + 100 * code + 10 * j + 5) / 10)
            row += 4
        sheet.write(row + 1, 0, "Fonte: ONS")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _name(run_date: dt.date) -> str:
    target = run_date + dt.timedelta(days=2)
    return f"Relatorio_previsao_diaria_{run_date:%d_%m_%Y}_para_{target:%d_%m_%Y}.xls"


def make_pdp_relatorio_real(path: Path, run_date: dt.date) -> Path:
    """Product 548: ``Relatorio_previsao_diaria_<run>_para_<run + 2>.xls`` (BIFF8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_pdp_workbook_bytes(run_date))
    return path


def make_resultado_final_zip(path: Path, run_date: dt.date) -> Path:
    """Product 243: the same workbook in a folder ``Resultado_Final_<run>/`` of a zip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = f"Resultado_Final_{run_date:%d_%m_%Y}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{folder}/{_name(run_date)}", make_pdp_workbook_bytes(run_date))
    return path


def make_pmo_workbook(saturday: dt.date, revision: int, weeks: int = 6) -> bytes:
    """The weekly PMO forecast workbook (see the module docstring for the values)."""
    xlwt = _xlwt()
    book = xlwt.Workbook(encoding="utf-8")
    dated = _date_style()
    pmo = revision == 0
    capa = book.add_sheet("Capa" if pmo else "REV-1")
    capa.write(2, 0, "Relatório de Previsão de Vazões")
    capa.write(10, 0, saturday, dated)
    capa.write(12, 0, "Fonte: ONS")
    resumo = book.add_sheet("Tab-5-6-7" if pmo else "REV-2")
    resumo.write(0, 0, "ENERGIAS NATURAIS AFLUENTES PREVISTAS POR SUBSISTEMA (MWmed)")
    friday = saturday + dt.timedelta(days=6)
    if pmo:
        (start_row, start_col), end_row, first, name_col = (3, 1), 5, 7, 0
        resumo.write(6, 3, "Mês")
    else:
        (start_row, start_col), end_row, first, name_col = (4, 2), 6, 8, 1
        resumo.write(6, 4, "Revisão da previsão mensal incluindo verificado")
        resumo.write(6, 6, "Mês")
    resumo.write(start_row, start_col, saturday, dated)
    resumo.write(start_row + 1, start_col, "a")
    resumo.write(end_row, start_col, friday, dated)
    for s, name in enumerate(SUBSYSTEMS):
        row = first + s
        resumo.write(row, name_col, name)
        pairs = [((s + 1) * 10000 + 0.5, 80 + s + 0.5)]
        if not pmo:
            pairs.append(((s + 1) * 10000 + 200.5, 85 + s))
        pairs.append(((s + 1) * 10000 + 400.5, 90 + s))
        for p, (mwmed, mlt) in enumerate(pairs):
            resumo.write(row, name_col + 1 + 2 * p, mwmed)
            resumo.write(row, name_col + 2 + 2 * p, mlt)
    for pmo_name, rev_name, entities in PMO_SEMANAL_SHEETS:
        sheet = book.add_sheet(pmo_name if pmo else rev_name)
        sheet.write(0, 0, "PREVISÃO DE ENERGIAS NATURAIS AFLUENTES SEMANAIS")
        sheet.write(2, 0, "Bacia / Aproveitamento")
        for w in range(1, weeks + 1):
            sheet.write(2, 2 + w, saturday + dt.timedelta(days=7 * (w - 1)), dated)
        row = 4
        for k, (name, has_percent) in enumerate(entities):
            sheet.write(row, 0, name)
            for w in range(1, weeks + 1):
                value = 1000 * (k + 1) + 10 * w + 0.5 if has_percent else 100 * (k + 1) + w
                sheet.write(row, 2 + w, value)
            row += 1
            if has_percent:
                sheet.write(row, 0, f"{name} %")
                for w in range(1, weeks + 1):
                    sheet.write(row, 2 + w, (500 + 10 * k + w) / 10)
                row += 1
        sheet.write(row + 1, 0, "Fonte: ONS")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rev(revision: int) -> str:
    return "PMO" if revision == 0 else f"REV{revision}"


def make_prevs(gauges: tuple[int, ...] = PREVS_GAUGES) -> bytes:
    """DECOMP prevs records: ``%6d%5d`` then six ``%10d`` (``p * 10 + w``), CRLF."""
    lines = [
        f"{i:6d}{p:5d}" + "".join(f"{p * 10 + w:10d}" for w in range(1, 7))
        for i, p in enumerate(gauges, start=1)
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def make_nao_consistido_zip(path: Path, saturday: dt.date, year_month: str, revision: int) -> Path:
    """Product 246: ``Nao_Consistido/`` with the PMO workbook and the prevs ``.prv``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rev = _rev(revision)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"Nao_Consistido/Relatorio_Previsao_Vazoes_{year_month}_{rev}.xls",
            make_pmo_workbook(saturday, revision),
        )
        archive.writestr(f"Nao_Consistido/Prevs_{year_month}_{rev}.prv", make_prevs())
    return path


def make_consistido_zip(
    path: Path, saturday: dt.date, year_month: str, revision: int, weeks: int = 6
) -> Path:
    """Product 245: ``Consistido_<yyyymm>_<rev>/`` with the PMO workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rev = _rev(revision)
    folder = f"Consistido_{year_month}_{rev}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{folder}/Relatorio_Previsao_Vazoes_{year_month}_{rev}.xls",
            make_pmo_workbook(saturday, revision, weeks=weeks),
        )
    return path
