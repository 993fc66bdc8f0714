"""Generators of PMO load deliveries (products 228, 229, 288) shaped like ONS's files.

The layouts are those of :mod:`sintegre.readers.layouts.pmo_load` (see its docstring for the
evidence). Values follow the formulas in each docstring so tests can compute them by hand.
The NEWAVE decks (286/287) use :func:`sintegre_dev.ons_files.reports.make_newave_deck_zip`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from typing import Any

from sintegre_dev.fixtures import make_zip
from sintegre_dev.ons_files.workbooks import (
    MONTHS_PT,
    _month_start,
    _openpyxl,
    _pdf_bytes,
    _xlsx_bytes,
)

__all__ = [
    "DECOMP_BASE",
    "NEWAVE_BASE",
    "decomp_dp_text",
    "make_decomp_carga_patamar",
    "make_newave_carga_mensal",
    "make_notas_tecnicas_medio_prazo",
    "newave_carga_workbook",
]

NEWAVE_SOURCES = ("SUDESTE", "SUL", "NORDESTE", "NORTE")
NEWAVE_TYPES = ("HIGH", "MIDDLE", "LOW", "MEDIUM")
NEWAVE_BASE = (40000, 12000, 11000, 6000)
"""Load base per subsystem g = 0..3 (SUDESTE, SUL, NORDESTE, NORTE), MWmed."""
_HOURS_PER_DAY = {"HIGH": 3, "MIDDLE": 10, "LOW": 11, "MEDIUM": 24}

NEWAVE_MMGD_HEADER = (
    "DATE",
    "WEEK",
    "SOURCE",
    "TYPE",
    "GAUGE",
    "LOAD_sMMGD",
    "Base_CGH",
    "Base_EOL",
    "Base_UFV",
    "Base_UTE",
    "Base_MMGD",
    "LOAD_cMMGD",
    "Exp_CGH",
    "Exp_EOL",
    "Exp_UFV",
    "Exp_UTE",
    "Exp_MMGD",
    "REVISION",
)
NEWAVE_LEGACY_HEADER = ("DATE", "WEEK", "SOURCE", "TYPE", "LOAD", "GAUGE", "REVISION")


def _newave_row(first: dt.date, m: int, g: int, t: int, revision: dt.date) -> dict[str, Any]:
    month = _month_start(first, m)
    days = calendar.monthrange(month.year, month.month)[1]
    kind = NEWAVE_TYPES[t]
    load = NEWAVE_BASE[g] + 100 * m + 10 * t + 0.25
    base = {"CGH": 10 + g, "EOL": 20 + g, "UFV": 1000 + 100 * g + m, "UTE": 30 + g}
    base_total = sum(base.values())
    return {
        "DATE": dt.datetime(month.year, month.month, 1),
        "WEEK": 0,
        "SOURCE": NEWAVE_SOURCES[g],
        "TYPE": kind,
        "GAUGE": _HOURS_PER_DAY[kind] * days,
        "LOAD": load,
        "LOAD_sMMGD": load,
        **{f"Base_{k}": float(v) for k, v in base.items()},
        "Base_MMGD": float(base_total),
        "LOAD_cMMGD": load + base_total,
        **{f"Exp_{k}": v / 2 for k, v in base.items()},
        "Exp_MMGD": base_total / 2,
        "REVISION": dt.datetime(revision.year, revision.month, revision.day),
    }


def newave_carga_workbook(
    first: dt.date,
    *,
    months: int = 12,
    mmgd: bool = True,
    revision: dt.date | None = None,
    header: tuple[str, ...] | None = None,
) -> bytes:
    """The ``CargaMensal_PMO`` workbook: one sheet ``Sheet1``, header in row 1, tidy rows.

    Rows in order month m = 0..months-1, subsystem g = 0..3 (SUDESTE, SUL, NORDESTE, NORTE),
    TYPE t = 0..3 (HIGH, MIDDLE, LOW, MEDIUM). With ``d`` the days of month ``first + m``:

    - DATE: the 1st of month ``first + m``; WEEK: 0; REVISION: ``revision`` (default
      ``first`` minus 7 days);
    - LOAD_sMMGD (LOAD in the legacy layout) = NEWAVE_BASE[g] + 100 m + 10 t + 0.25, with
      NEWAVE_BASE = (40000, 12000, 11000, 6000);
    - GAUGE = d x (3, 10, 11, 24)[t] hours (HIGH, MIDDLE, LOW, MEDIUM);
    - Base_CGH = 10 + g, Base_EOL = 20 + g, Base_UFV = 1000 + 100 g + m, Base_UTE = 30 + g,
      Base_MMGD = their sum = 1060 + 103 g + m; LOAD_cMMGD = LOAD_sMMGD + Base_MMGD;
      Exp_X = Base_X / 2, Exp_MMGD = Base_MMGD / 2.

    Args:
        first: First month of the horizon (the PMO month).
        months: Months in the horizon (ONS publishes about five years).
        mmgd: The current layout (18 columns); ``False`` for the legacy 7-column one.
        revision: The REVISION date.
        header: Override the header labels (mismatch tests).
    """
    revision = revision or first - dt.timedelta(days=7)
    labels = header or (NEWAVE_MMGD_HEADER if mmgd else NEWAVE_LEGACY_HEADER)
    keys = NEWAVE_MMGD_HEADER if mmgd else NEWAVE_LEGACY_HEADER
    book = _openpyxl().Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(list(labels))
    for m in range(months):
        for g in range(4):
            for t in range(4):
                row = _newave_row(first, m, g, t, revision)
                sheet.append([row[key] for key in keys])
    for cell in sheet["A"][1:]:
        cell.number_format = "yyyy-mm-dd"
    return _xlsx_bytes(book)


def make_newave_carga_mensal(
    path: Path,
    first: dt.date,
    *,
    months: int = 12,
    mmgd: bool = True,
    workbook: bytes | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write ``RV0_PMO_<Mês>_yyyy_carga_mensal.zip`` (229) holding one ``CargaMensal_PMO`` xlsx.

    The member is ``CargaMensal_PMO-<Mês><yyyy>.xlsx`` (``Outubro2025``) at the zip root;
    its content is :func:`newave_carga_workbook` (or ``workbook``); ``extra`` adds members.
    """
    member = f"CargaMensal_PMO-{MONTHS_PT[first.month - 1]}{first.year}.xlsx"
    data = (
        workbook if workbook is not None else newave_carga_workbook(first, months=months, mmgd=mmgd)
    )
    return make_zip(path, {member: data, **(extra or {})})


# --------------------------------------------------------------------------- 228 DECOMP

DECOMP_BASE = {1: 40000, 2: 12000, 3: 11000, 4: 6000}
"""Load base per DECOMP subsystem code (1 SE, 2 S, 3 NE, 4 N), MWmed."""
_DP_HEADER = (
    "&----------------------------------------------------------------------------------------------",
    "&       BLOCO 6 *** CARGA DOS SUBSISTEMAS ***",
    "&       (REGISTRO DP)",
    "&----------------------------------------------------------------------------------------------",
    "&                   PESADA              MEDIA               LEVE",
    "&   ++    +   +    +--------++--------++--------++--------++--------++--------+",
    "&   IP    S  PAT     MWmed    Pat_1(h)   MWmed    Pat_2(h)   MWmed    Pat_3(h)",
    "&   ++    +   +    +--------++--------++--------++--------++--------++--------+",
    "&DP",
)


def decomp_hours(stage: int, weeks: int) -> tuple[int, int, int]:
    """Hours (pesada, média, leve) of a stage: weeks (30 + s, 70, 68 - s); the month 140/252/280."""
    if stage <= weeks:
        return (30 + stage, 70, 68 - stage)
    return (140, 252, 280)


def decomp_load(code: int, stage: int, k: int) -> float:
    """Load of subsystem ``code``, stage s, patamar k = 0..2: base + 100 s + 1000 (2 - k) + 0.5."""
    return DECOMP_BASE[code] + 100 * stage + 1000 * (2 - k) + 0.5


def decomp_dp_text(weeks: int = 5, *, lines: dict[tuple[int, int], str] | None = None) -> bytes:
    """The ``DP_REVnnPMOyyyymm.txt`` member: comment header, then DP records, CRLF, ASCII.

    Stages s = 1..weeks+1 (the last one is the rest of the month), subsystems 1..4 with
    :func:`decomp_load` and :func:`decomp_hours`, then subsystem 11 with hours only; an ``&``
    line between stages. ``lines`` replaces the record of (stage, subsystem) verbatim.
    """
    out = list(_DP_HEADER)
    for stage in range(1, weeks + 2):
        hours = decomp_hours(stage, weeks)
        for code in (1, 2, 3, 4, 11):
            text = f"DP  {stage:>2}   {code:>2}   3    "
            for k in range(3):
                load = "" if code == 11 else f"{decomp_load(code, stage, k):.1f}"
                text += f"{load:>10}{hours[k]:>10.1f}"
            if lines and (stage, code) in lines:
                text = lines[(stage, code)]
            out.append(text)
        out.append("&")
    return ("\r\n".join(out) + "\r\n").encode("ascii")


_DECOMP_SUBS = {1: "SE/CO", 2: "S", 3: "NE", 4: "N"}
_DECOMP_PATAMARES = ("Pesada", "Média", "Leve")
DP_WORKBOOK_HEADER = (
    "cod_ss",
    "subsistema",
    "cod_pat",
    "Patamar",
    "Duracao",
    "Carga",
    "Base_CGH",
    "Base_EOL",
    "Base_UFV",
    "Base_UTE",
    "Carga_MMGD",
    "Exp_CGH",
    "Exp_EOL",
    "Exp_UFV",
    "Exp_UTE",
    "Estagio",
)


def _dp_workbook(first_column: str, rows_first: list[Any], stages: list[int], weeks: int) -> bytes:
    book = _openpyxl().Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append([first_column, *DP_WORKBOOK_HEADER])
    for lead, stage in zip(rows_first, stages, strict=True):
        hours = decomp_hours(stage, weeks)
        for code, name in _DECOMP_SUBS.items():
            for k, patamar in enumerate(_DECOMP_PATAMARES):
                load = decomp_load(code, stage, k)
                base = (1.0 * code, 2.0 * code, 100.0 * code + stage, 3.0 * code)
                exp = tuple(b / 2 for b in base)
                sheet.append(
                    [
                        lead,
                        code,
                        name,
                        k + 1,
                        patamar,
                        float(hours[k]),
                        load,
                        *base,
                        load + sum(base),
                        *exp,
                        stage,
                    ]
                )
    return _xlsx_bytes(book)


def _resumo_workbook(rv: int, month: dt.date, weeks: int) -> bytes:
    book = _openpyxl().Workbook()
    sheet = book.active
    sheet.title = "Carga"
    sheet["B1"] = f"Previsão de carga - RV{rv} do PMO de {MONTHS_PT[month.month - 1]}/{month.year}"
    sheet["B2"] = "Valores em MWmed"
    header = [
        "Subsistemas/Sistemas",
        *[f"{s}ª Semana" for s in range(1, weeks + 1)],
        "6ª Semana",
        "Mensal",
    ]
    for column, text in enumerate(header, start=3):
        sheet.cell(row=4, column=column, value=text)
    names = (
        ("Subsistema Sudeste/C.Oeste", 1),
        ("Subsistema Sul", 2),
        ("Subsistema Nordeste", 3),
        ("Subsistema Norte", 4),
    )
    for r, (name, code) in enumerate(names, start=5):
        sheet.cell(row=r, column=3, value=name)
        for s in range(1, weeks + 1):
            sheet.cell(row=r, column=3 + s, value=DECOMP_BASE[code] + 100 * s)
        sheet.cell(row=r, column=3 + weeks + 2, value=DECOMP_BASE[code] + 50)
    sheet.cell(row=9, column=3, value="Sistema Interligado Nacional")
    for s in range(1, weeks + 1):
        sheet.cell(row=9, column=3 + s, value=sum(DECOMP_BASE.values()) + 400 * s)
    sheet.cell(row=9, column=3 + weeks + 2, value=sum(DECOMP_BASE.values()) + 200)
    sheet.cell(row=11, column=3, value="Fonte: ONS - Previsão de carga para o PMO")
    return _xlsx_bytes(book)


def make_decomp_carga_patamar(
    path: Path,
    saturday: dt.date,
    month: dt.date,
    rv: int = 0,
    *,
    weeks: int = 5,
    dp_text: bytes | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write ``RVn_PMO_<Mês>_yyyy_carga_semanal.zip`` (228).

    Members (``rr`` = two-digit revision, ``yyyymm`` = the PMO month):

    - ``DP_REVrrPMOyyyymm.txt``: :func:`decomp_dp_text` (or ``dp_text``);
    - ``Semanal_DP_PREV_REVrrPMOyyyymm.xlsx``: header ``SO`` + :data:`DP_WORKBOOK_HEADER`,
      one row per week s = 1..weeks x subsystem (1 SE/CO, 2 S, 3 NE, 4 N) x patamar k
      (Pesada, Média, Leve): SO = ``saturday`` + 7 s - 1 (the week's Friday), Duracao =
      :func:`decomp_hours`, Carga = :func:`decomp_load`, Base (CGH, EOL, UFV, UTE) =
      (code, 2 code, 100 code + s, 3 code), Carga_MMGD = Carga + their sum, Exp = Base / 2,
      Estagio = s;
    - ``Mensal_DP_PREVrrPMOyyyymm.xlsx``: the same with ``mes`` (the 1st of the month after
      ``month``) for stage weeks + 1;
    - ``RVn_PMO_<Mês>_yyyy_carga_semanal.xlsx``: the summary, sheet ``Carga``, title in B1/B2,
      header row 4 from column C ("Subsistemas/Sistemas", "1ª Semana".., an empty
      "6ª Semana", "Mensal"); subsystem g: week s = DECOMP_BASE[g] + 100 s, Mensal =
      DECOMP_BASE[g] + 50; SIN: 69000 + 400 s and 69200; a source note in C11.
    """
    stamp = f"{month.year}{month.month:02d}"
    mes_pt = MONTHS_PT[month.month - 1]
    fridays = [
        dt.datetime.combine(saturday + dt.timedelta(days=7 * s - 1), dt.time())
        for s in range(1, weeks + 1)
    ]
    following = _month_start(month, 1)
    members = {
        f"DP_REV{rv:02d}PMO{stamp}.txt": dp_text if dp_text is not None else decomp_dp_text(weeks),
        f"Semanal_DP_PREV_REV{rv:02d}PMO{stamp}.xlsx": _dp_workbook(
            "SO", fridays, list(range(1, weeks + 1)), weeks
        ),
        f"Mensal_DP_PREV{rv:02d}PMO{stamp}.xlsx": _dp_workbook(
            "mes", [dt.datetime(following.year, following.month, 1)], [weeks + 1], weeks
        ),
        f"RV{rv}_PMO_{mes_pt}_{month.year}_carga_semanal.xlsx": _resumo_workbook(rv, month, weeks),
        **(extra or {}),
    }
    return make_zip(path, members)


# --------------------------------------------------------------------------- 288 Notas técnicas


def make_notas_tecnicas_medio_prazo(path: Path, month: dt.date) -> Path:
    """Write ``Notas Técnicas - Medio Prazo.zip`` (288): workbooks and a note at the zip root.

    ``GTMIN_CCEE_<mmyyyy>.xlsx`` (sheet ``GTmin_e_CCEE``: código, nome, mês, Gtmin_Agente,
    Gtmin_Eletrico as the public scripts that read it name them; 3 plants x 12 months) and
    ``NT_Medio_Prazo_<mmyyyy>.pdf``. The catalog keeps them raw (the layout is unconfirmed).
    """
    stamp = f"{month.month:02d}{month.year}"
    book = _openpyxl().Workbook()
    sheet = book.active
    sheet.title = "GTmin_e_CCEE"
    sheet.append(["código", "nome", "mês", "Gtmin_Agente", "Gtmin_Eletrico"])
    for code, name in ((1, "ANGRA 1"), (15, "NORTEFLU-1"), (211, "TERMOPE")):
        for m in range(12):
            when = _month_start(month, m)
            sheet.append([code, name, dt.datetime(when.year, when.month, 1), 10.0 * code + m, 0.0])
    members = {
        f"GTMIN_CCEE_{stamp}.xlsx": _xlsx_bytes(book),
        f"NT_Medio_Prazo_{stamp}.pdf": _pdf_bytes("Nota Tecnica - Medio Prazo"),
    }
    return make_zip(path, members)
