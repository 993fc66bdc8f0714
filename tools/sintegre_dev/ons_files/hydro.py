"""Hydrological follow-up workbooks shaped like ONS's: Acomph (230), RDH (233) and the
Relatório de Acompanhamento Hidrológico (234).

Layouts follow the real files and parsers cited in :mod:`sintegre.readers.layouts.hydro`.
Values come from the formulas in each docstring so that tests can write expected values by
hand. ``cells`` lets a test overwrite any cell (``(sheet, row, column) → value``, 0-based) to
build a file that does not fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "ACOMPH_GAUGES",
    "HIDRO_SERIES",
    "RDH_BASINS",
    "make_acomp_hidrologico",
    "make_acomph",
    "make_rdh",
]

Cells = Mapping[tuple[str, int, int], object]

ACOMPH_GAUGES: dict[str, list[tuple[int, str]]] = {
    "Grande": [(1, "CAMARGOS"), (6, "FURNAS"), (12, "PORTO COLÔMBIA")],
    "Paranaíba": [(24, "EMBORCAÇÃO"), (31, "ITUMBIARA")],
}
"""Basin sheet → (gauge number, plant) in block order."""

_ACOMPH_ROW3 = ("", "", "Defluente", "", "Afluente", "", "Increm.", "Natural")
_ACOMPH_ROW4 = ("Lido", "Consol", "Lido", "Consol", "Lido", "Consol", "Consol", "Consol")


def make_acomph(
    path: Path,
    period: dt.date,
    *,
    gauges: Mapping[str, list[tuple[int, str]]] | None = None,
    days: int = 30,
    cells: Cells | None = None,
) -> Path:
    """Write ``ACOMPH_dd.mm.yyyy.xls`` (230): legacy XLS (BIFF8), one sheet per basin.

    Per sheet (0-based rows/columns): column 0 the dates; gauge block ``k`` in columns
    ``1+8k .. 8+8k``: row 0 "Posto" at ``7+8k`` and the gauge number (a number) at ``8+8k``;
    row 1 "Data" at column 0 and the plant name at ``1+8k``; row 2 "Nível Res (m)" at
    ``1+8k`` and "Vazão (m³/s)" at ``3+8k``; row 3 Defluente, Afluente, Increm., Natural;
    row 4 Lido/Consol. Rows 5..5+days-1: day ``i`` = ``period - days + i`` (the last day is
    the day before the file's date), date cells. Then a blank row and the footer: "Média do
    mês" / "Vazão Natural", "MLT" / "Verificado", units, and two month rows (12, "DEZ", …).

    Value of gauge ``p``, day ``i``, measure ``m`` (0..7, block order)::

        (p * 1000 + i * 100 + m * 10 + 5) / 100     # 10p + i + m/10 + 0.05

    Gauge 31 has its 8 cells empty on the last day (no row for that gauge-day).
    """
    import xlwt

    gauges = ACOMPH_GAUGES if gauges is None else gauges
    cells = dict(cells or {})
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    for basin, blocks in gauges.items():
        sheet = book.add_sheet(basin)
        grid: dict[tuple[int, int], object] = {(1, 0): "Data"}
        for k, (posto, plant) in enumerate(blocks):
            first = 1 + 8 * k
            grid[(0, first + 6)] = "Posto"
            grid[(0, first + 7)] = float(posto)
            grid[(1, first)] = plant
            grid[(2, first)] = "Nível Res (m)"
            grid[(2, first + 2)] = "Vazão (m³/s)"
            for m in range(8):
                if _ACOMPH_ROW3[m]:
                    grid[(3, first + m)] = _ACOMPH_ROW3[m]
                grid[(4, first + m)] = _ACOMPH_ROW4[m]
        for i in range(days):
            row = 5 + i
            grid[(row, 0)] = period - dt.timedelta(days=days - i)
            for k, (posto, _) in enumerate(blocks):
                if posto == 31 and i == days - 1:
                    continue
                for m in range(8):
                    grid[(row, 1 + 8 * k + m)] = (posto * 1000 + i * 100 + m * 10 + 5) / 100
        footer = 5 + days + 1
        for k, (posto, _) in enumerate(blocks):
            first = 1 + 8 * k
            grid[(footer, first + 4)] = "Média do mês"
            grid[(footer, first + 5)] = "Vazão Natural"
            grid[(footer + 1, first + 5)] = "MLT"
            grid[(footer + 1, first + 6)] = "Verificado"
            grid[(footer + 2, first + 5)] = " (m³/s)"
            grid[(footer + 2, first + 6)] = " (m³/s)"
            grid[(footer + 2, first + 7)] = "(%MLT)"
            for j, (month, label) in enumerate(((12, "DEZ"), (1, "JAN"))):
                grid[(footer + 3 + j, first + 1)] = float(month)
                grid[(footer + 3 + j, first + 4)] = label
                grid[(footer + 3 + j, first + 5)] = float(posto * 10)
                grid[(footer + 3 + j, first + 6)] = float(posto * 9)
                grid[(footer + 3 + j, first + 7)] = 90.0
        for (sheet_name, row, column), value in cells.items():
            if sheet_name == basin:
                grid[(row, column)] = value
        for (row, column), value in sorted(grid.items()):
            if value is None:
                continue
            if isinstance(value, dt.date):
                sheet.write(row, column, value, date_style)
            else:
                sheet.write(row, column, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


# --------------------------------------------------------------------------- 233 RDH

RDH_BASINS: dict[str, list[tuple[str, int]]] = {
    "BACIA DO RIO GRANDE": [("CAMARGOS", 1), ("FURNAS", 6), ("JAGUARA", 8)],
    "BACIA DO RIO PARANÁ": [("ITAIPU", 266)],
}
"""Basin label → (plant, gauge) in row order; plant index ``k`` counts across basins."""

_RDH_NATURAL_LABELS = ("m³/s", "%MLT") * 4 + ("DIA",)
_RDH_DAY = ("TUR.", "VER.", "OUT.", "DFL.", "TRA.", "AFL.", "INC.", "Usos", "EVP.")
_SUBSISTEMAS = ("SUDESTE/CENTRO-OESTE", "SUL", "NORDESTE", "NORTE")
_REES = ("SUDESTE", "PARANÁ", "ITAIPU")


def make_rdh(path: Path, period: dt.date, *, cells: Cells | None = None) -> Path:
    """Write ``RDH_ddMMMyyyy.xlsx`` (233), "Data considerada" = ``period - 1``.

    Sheet "Hidráulico-Hidrológica" (0-based): row 0 a title, row 1 the single cell
    "Data considerada: dd/mm/yyyy"; the 3-row header at rows 3–5: column 2 "APROVEITAMENTO",
    4 "POSTO", 5–13 "VAZÃO NATURAL" (row 5: m³/s, %MLT four times, then DIA — these
    sub-labels are invented: the real ones are unconfirmed), 14 "RES.", 15 "ARM.", 16 "V.E."
    (invented), 17–25 "VALORES DO DIA" over TUR., VER., OUT. (invented), DFL., TRA., AFL.,
    INC., Usos, EVP. From row 6: a basin label row (text in column 0 only), then its plants
    (:data:`RDH_BASINS`); a "Fonte: ONS" note ends the sheet. Plant ``k`` (0..3 in row
    order), ``d`` = day of the data considerada:

    - natural sub-column ``j`` (0..8): ``(k + 1) * 100 + 10 * j + d + 0.5``
    - RES. ``(k + 1) * 100 + 0.25``; ARM. ``10 * k + 0.5``; day group column ``q``
      (0..8 in the order above): ``(k + 1) * 100 + q + 0.75``
    - JAGUARA (k = 2) is run-of-river: ARM. is "ND".

    Sheet "Hidroenergética-Subsistemas": row 1 the same date; block ``i`` (0..3) of 8 rows
    from row ``3 + 8i``: column 0 the subsystem (:data:`_SUBSISTEMAS` order), cells
    (+3, 6) ``1000 * (i + 1) + 1``, (+3, 7) ``… + 2``, (+6, 6) ``… + 3``, (+6, 7) ``… + 4``,
    (+3, 11) storage ``20 * i + 10.5`` (%EARmax). "Hidroenergética-REEs" repeats the blocks
    for the REEs SUDESTE, PARANÁ, ITAIPU with ``2000 * (i + 1) + …`` and storage ``5 * i +
    1.5``.
    """
    import openpyxl

    cells = dict(cells or {})
    considered = period - dt.timedelta(days=1)
    d = considered.day
    book = openpyxl.Workbook()
    hidro = book.active
    hidro.title = "Hidráulico-Hidrológica"
    grid: dict[tuple[int, int], object] = {
        (0, 2): "RELATÓRIO DIÁRIO DA SITUAÇÃO HIDRÁULICO-HIDROLÓGICA DAS USINAS",
        (1, 0): f"Data considerada: {considered:%d/%m/%Y}",
        (3, 2): "APROVEITAMENTO",
        (3, 4): "POSTO",
        (3, 5): "VAZÃO NATURAL",
        (3, 14): "RES.",
        (3, 15): "ARM.",
        (3, 16): "V.E.",
        (3, 17): "VALORES DO DIA",
        (5, 14): "(m)",
        (5, 15): "(%VU)",
    }
    for j, label in enumerate(_RDH_NATURAL_LABELS):
        grid[(5, 5 + j)] = label
    for q, label in enumerate(_RDH_DAY):
        grid[(4, 17 + q)] = label
    row, k = 6, 0
    for basin, plants in RDH_BASINS.items():
        grid[(row, 0)] = basin
        row += 1
        for plant, posto in plants:
            grid[(row, 2)] = plant
            grid[(row, 4)] = posto
            for j in range(9):
                grid[(row, 5 + j)] = (k + 1) * 100 + 10 * j + d + 0.5
            grid[(row, 14)] = (k + 1) * 100 + 0.25
            grid[(row, 15)] = "ND" if plant == "JAGUARA" else 10 * k + 0.5
            for q in range(9):
                grid[(row, 17 + q)] = (k + 1) * 100 + q + 0.75
            row, k = row + 1, k + 1
    grid[(row + 1, 0)] = "Fonte: ONS"
    _fill(hidro, grid, cells)
    for (top, left), (bottom, right) in (((3, 2), (5, 2)), ((3, 4), (5, 4)), ((3, 5), (3, 13))):
        hidro.merge_cells(
            start_row=top + 1, start_column=left + 1, end_row=bottom + 1, end_column=right + 1
        )
    hidro.merge_cells(start_row=4, start_column=18, end_row=4, end_column=26)

    for title, names, base, storage in (
        ("Hidroenergética-Subsistemas", _SUBSISTEMAS, 1000, (20, 10.5)),
        ("Hidroenergética-REEs", _REES, 2000, (5, 1.5)),
    ):
        sheet = book.create_sheet(title)
        grid = {
            (0, 0): "RELATÓRIO DIÁRIO DA SITUAÇÃO HIDROENERGÉTICA",
            (1, 0): f"Data considerada: {considered:%d/%m/%Y}",
        }
        for i, name in enumerate(names):
            first = 3 + 8 * i
            grid[(first, 0)] = name
            grid[(first + 1, 6)] = "Semana"
            grid[(first + 1, 7)] = "Mês"
            grid[(first + 1, 11)] = "ARM."
            value = base * (i + 1)
            grid[(first + 3, 6)] = value + 1
            grid[(first + 3, 7)] = value + 2
            grid[(first + 6, 6)] = value + 3
            grid[(first + 6, 7)] = value + 4
            grid[(first + 3, 11)] = storage[0] * i + storage[1]
        _fill(sheet, grid, {(s, r, c): v for (s, r, c), v in cells.items() if s == title})
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


def _fill(sheet: object, grid: dict[tuple[int, int], object], cells: Cells) -> None:
    """Write ``grid`` (0-based) into an openpyxl sheet, ``cells`` of its title overriding."""
    title = sheet.title  # type: ignore[attr-defined]
    merged = dict(grid)
    for (name, row, column), value in cells.items():
        if name == title:
            merged[(row, column)] = value
    for (row, column), value in sorted(merged.items()):
        if value is not None:
            sheet.cell(row=row + 1, column=column + 1, value=value)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- 234

HIDRO_SERIES: dict[str, list[tuple[str, str, list[str]]]] = {
    "Grande": [
        ("CAMARGOS", "61065080", ["VNM", "VIA"]),
        ("FURNAS", "61661000", ["VNS"]),
    ],
    "Paranaiba": [("EMBORCAÇÃO", "60220080", ["VNM", "VNA"])],
    "Dados_Fluviometricos": [
        ("PASSAGEM", "61915000", ["VMD"]),
        ("PORTO DOS BUENOS", "61537000", ["VMD"]),
    ],
}
"""Sheet → (station, code, flow types) in column order; series ``s`` counts per sheet."""


def make_acomp_hidrologico(
    path: Path, period: dt.date, *, days: int = 90, cells: Cells | None = None
) -> Path:
    """Write ``Vazões Observadas - dd-mm-yyyy a dd-mm-yyyy.xlsx`` (234).

    One sheet per :data:`HIDRO_SERIES` entry (0-based): rows 0–2 titles, row 4 the station
    name merged over its flow-type columns, row 5 the station code (its place is an
    assumption: unconfirmed), row 6 "DATA" in column 0 and one flow type code per column;
    rows 7..7+days-1 day ``i`` = ``period - days + 1 + i`` (date cells), then a blank row and a
    "Fonte" note. Series ``s`` (0-based column order in the sheet), day ``i``::

        1000 * (s + 1) + i + 0.5

    The series ``s = 1`` of "Grande" (CAMARGOS VIA) is "ND" on day 0.
    """
    import openpyxl

    cells = dict(cells or {})
    first_day = period - dt.timedelta(days=days - 1)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, stations in HIDRO_SERIES.items():
        sheet = book.create_sheet(name)
        grid: dict[tuple[int, int], object] = {
            (0, 0): "Operador Nacional do Sistema Elétrico",
            (1, 0): "Relatório de Acompanhamento Hidrológico - Vazões Observadas",
            (2, 0): f"Período: {first_day:%d/%m/%Y} a {period:%d/%m/%Y}",
            (6, 0): "DATA",
        }
        merges: list[tuple[int, int]] = []
        column, s = 1, 0
        for station, code, kinds in stations:
            grid[(4, column)] = station
            grid[(5, column)] = code
            merges.append((column, column + len(kinds) - 1))
            for kind in kinds:
                grid[(6, column)] = kind
                for i in range(days):
                    value: object = 1000 * (s + 1) + i + 0.5
                    if name == "Grande" and s == 1 and i == 0:
                        value = "ND"
                    grid[(7 + i, column)] = value
                column, s = column + 1, s + 1
        for i in range(days):
            grid[(7 + i, 0)] = first_day + dt.timedelta(days=i)
        grid[(7 + days + 1, 0)] = "Fonte: ONS / ANA"
        _fill(sheet, grid, cells)
        for left, right in merges:
            if right > left:
                sheet.merge_cells(
                    start_row=5, start_column=left + 1, end_row=5, end_column=right + 1
                )
        for i in range(days):
            sheet.cell(row=8 + i, column=1).number_format = "dd/mm/yyyy"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path
