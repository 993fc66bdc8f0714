"""Hydrological follow-up workbooks: Acomph (230), RDH (233), Relatório de Acompanhamento
Hidrológico (234).

Evidence (real files and parsers read for each layout):

- **Acomph** (``acomph``): real files ``josepaulo1233/acomph`` ``acomph/ACOMPH_05.01.2023.xls``
  and ``acomph/ACOMPH_11.12.2022.xls`` (18 basin sheets, 149 gauges, 30 dated rows each, the
  last one the day before the file's date); parsers ``script-mirror/scripts-unificados``
  ``apps/dbUpdater/libs/vazao.py`` (``importAcomph``: gauge at column 8 + 8k of row 0, rows
  5–34, measures nivel/defluente/afluente lido+conso, inc and nat conso) and
  ``mathpaula/gera_ENA`` ``src/tratamento/trata_acomph.py``.
- **RDH** (``rdh_usinas``, ``rdh_subsistemas``): no real file found in public repositories.
  Parsers ``script-mirror/tasks-webhook-ons`` ``app/tasks/rdh.py`` (3-row header found by
  APROVEITAMENTO, labels POSTO, VAZÃO NATURAL with 9 sub-columns, RES., ARM., VALORES DO DIA
  over TUR., VER., DFL., TRA., AFL., INC., Usos, EVP.; plant rows are those whose POSTO is an
  integer) and ``scripts-unificados`` ``vazao.py`` (``importRdh``: "Data considerada:
  dd/mm/yyyy" alone in row 1; absolute columns name 2, posto 4, month natural flow 7 and its
  %MLT 8, day natural flow 13, storage %VU 15, TUR 17, VER 18, DFL 20, TRA 21, AFL 22, INC 23,
  uses 24, EVP 25; "ND" for missing; subsystem sheet in 8-row blocks from row 3 with storage
  %EARmax at column 11 of row 6 + 8i). Columns are found by their labels, not positions.
- **Relatório de Acompanhamento Hidrológico** (``acomp_hidrologico``): no real file found;
  parser ``script-mirror/tasks-webhook-ons`` ``app/tasks/relatorio_acompanhamento_hidrologico.py``
  (``parse(sheet, header=[4, 6])``: row 4 the station, row 6 the flow type code, column 0
  "DATA" with the dates; rows with an empty date dropped) and its
  ``app/files/relatorio_acompanhamento_hidrologico/info_vazao_obs.json`` (sheet names, codes
  VNM, VIA, VMD, VNA, VNS, VIP, VMS).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence

import pyarrow as pa

from sintegre.readers.layouts import (
    Cell,
    LayoutSource,
    cell_date,
    cell_float,
    cell_text,
    fold,
    mismatch,
    sheet_layout,
)

__all__ = [
    "read_acomp_hidrologico",
    "read_acomph",
    "read_rdh_rees",
    "read_rdh_subsistemas",
    "read_rdh_usinas",
]

_MISSING = ("ND", "-")


def _rows(source: LayoutSource) -> list[list[Cell]]:
    if source.rows is None:
        raise mismatch(source.label, "a workbook sheet", "no cells")
    return source.rows


def _cell(rows: Sequence[Sequence[Cell]], row: int, column: int) -> Cell:
    if row >= len(rows) or column >= len(rows[row]):
        return None
    return rows[row][column]


def _width(rows: Sequence[Sequence[Cell]], first: int, last: int) -> int:
    """One past the last filled column of rows ``first..last`` (inclusive)."""
    width = 0
    for row in rows[first : last + 1]:
        for column in range(len(row) - 1, -1, -1):
            if cell_text(row[column]):
                width = max(width, column + 1)
                break
    return width


def _as_date(cell: Cell) -> dt.date | None:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, str) and cell.strip():
        try:
            return cell_date(cell, "", "")
        except Exception:
            return None
    return None


def _integer(cell: Cell, where: str, what: str) -> int:
    value = cell_float(cell, where, what, decimal="point")
    if value is None or not float(value).is_integer():
        raise mismatch(where, f"an integer {what}", cell)
    return int(value)


def _consecutive_days(dates: Sequence[dt.date], where: str) -> None:
    for previous, current in itertools.pairwise(dates):
        if current - previous != dt.timedelta(days=1):
            raise mismatch(where, f"consecutive days (after {previous})", current)


# --------------------------------------------------------------------------- Acomph

_ACOMPH_MEASURES = (
    "nivel_lido_m",
    "nivel_consolidado_m",
    "defluencia_lida_m3s",
    "defluencia_consolidada_m3s",
    "afluencia_lida_m3s",
    "afluencia_consolidada_m3s",
    "incremental_m3s",
    "natural_m3s",
)
_ACOMPH_ROW3 = ("", "", "DEFLUENTE", "", "AFLUENTE", "", "INCREM", "NATURAL")
_ACOMPH_ROW4 = ("LIDO", "CONSOL", "LIDO", "CONSOL", "LIDO", "CONSOL", "CONSOL", "CONSOL")
_ACOMPH_DAYS = (28, 31)  # 30 in every file seen; a month's worth either way
_ACOMPH_FIRST_DATA_ROW = 5


@sheet_layout("acomph")
def read_acomph(source: LayoutSource) -> pa.Table:
    """One Acomph basin sheet → one row per gauge and day.

    Layout (0-based): column 0 the dates (``Data`` in row 1); gauge ``k`` in columns
    ``1+8k .. 8+8k``: row 0 ``Posto`` at ``7+8k`` and the gauge number at ``8+8k``, row 1 the
    plant name at ``1+8k``, row 2 ``Nível Res (m)`` / ``Vazão (m³/s)``, row 3 Defluente,
    Afluente, Increm., Natural, row 4 Lido/Consol; rows 5.. the days, then a blank row and
    the "Média do mês" / MLT footer (not data). A gauge-day whose eight cells are all empty
    gives no row.
    """
    rows = _rows(source)
    where = source.label
    if len(rows) <= _ACOMPH_FIRST_DATA_ROW:
        raise mismatch(where, "5 header rows and the days", f"{len(rows)} rows")
    if fold(_cell(rows, 1, 0)) != "DATA":
        raise mismatch(f"{where} row 2 column A", "'Data'", cell_text(_cell(rows, 1, 0)))
    width = _width(rows, 0, 4)
    if width < 9 or (width - 1) % 8:
        raise mismatch(
            f"{where} header",
            "a date column then blocks of 8 columns per gauge",
            f"{width} columns",
        )
    sheet = source.sheet or ""
    gauges: list[tuple[int, int, str]] = []  # first column, gauge number, plant
    for first in range(1, width, 8):
        block = f"{where} gauge block at column {first + 1}"
        if fold(_cell(rows, 0, first + 6)) != "POSTO":
            raise mismatch(block, "'Posto' in row 1", cell_text(_cell(rows, 0, first + 6)))
        posto = _integer(_cell(rows, 0, first + 7), f"{block} row 1", "gauge number")
        plant = cell_text(_cell(rows, 1, first))
        if not plant or _as_number(_cell(rows, 1, first)):
            raise mismatch(f"{block} row 2", "the plant name", _cell(rows, 1, first))
        if "NIVEL" not in fold(_cell(rows, 2, first)) or "VAZAO" not in fold(
            _cell(rows, 2, first + 2)
        ):
            found = [cell_text(_cell(rows, 2, first + i)) for i in range(8)]
            raise mismatch(f"{block} row 3", "'Nível Res (m)' then 'Vazão (m³/s)'", f"{found}")
        for row, labels in ((3, _ACOMPH_ROW3), (4, _ACOMPH_ROW4)):
            found = [fold(_cell(rows, row, first + i)).rstrip(".") for i in range(8)]
            if any(not got.startswith(label) for got, label in zip(found, labels, strict=True)):
                raise mismatch(f"{block} row {row + 1}", f"{list(labels)}", f"{found}")
        if any(posto == known for _, known, _ in gauges):
            raise mismatch(block, "each gauge once per sheet", f"gauge {posto} twice")
        gauges.append((first, posto, plant))

    dates: list[dt.date] = []
    index = _ACOMPH_FIRST_DATA_ROW
    while index < len(rows) and (day := _as_date(_cell(rows, index, 0))) is not None:
        dates.append(day)
        index += 1
    for later in range(index, len(rows)):  # the footer: no dated row may follow
        if _as_date(_cell(rows, later, 0)) is not None:
            raise mismatch(
                f"{where} row {later + 1}", "no dated row after the footer", _cell(rows, later, 0)
            )
    low, high = _ACOMPH_DAYS
    if not low <= len(dates) <= high:
        raise mismatch(where, f"{low}–{high} dated rows from row 6", f"{len(dates)}")
    _consecutive_days(dates, where)

    columns: dict[str, list[object]] = {
        name: [] for name in ("data", "bacia", "posto", "usina", *_ACOMPH_MEASURES)
    }
    for first, posto, plant in gauges:
        for offset, day in enumerate(dates):
            row = _ACOMPH_FIRST_DATA_ROW + offset
            values = [
                cell_float(
                    _cell(rows, row, first + m),
                    f"{where} row {row + 1} gauge {posto}",
                    name,
                    decimal="point",
                )
                for m, name in enumerate(_ACOMPH_MEASURES)
            ]
            if all(value is None for value in values):
                continue
            columns["data"].append(day)
            columns["bacia"].append(sheet)
            columns["posto"].append(posto)
            columns["usina"].append(plant)
            for name, value in zip(_ACOMPH_MEASURES, values, strict=True):
                columns[name].append(value)
    return pa.table(
        {
            "data": pa.array(columns["data"], pa.date32()),
            "bacia": pa.array(columns["bacia"], pa.string()),
            "posto": pa.array(columns["posto"], pa.int64()),
            "usina": pa.array(columns["usina"], pa.string()),
            **{name: pa.array(columns[name], pa.float64()) for name in _ACOMPH_MEASURES},
        }
    )


def _as_number(cell: Cell) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


# --------------------------------------------------------------------------- RDH

_DATA_CONSIDERADA = re.compile(r"DATA CONSIDERADA\s*:?\s*(\d{2}/\d{2}/\d{4})")
_RDH_TITLE_ROWS = 6

# Label (folded, trailing dots removed) → output column; the "VALORES DO DIA" group.
_RDH_DAY_LABELS = {
    "TUR": "turbinada_m3s",
    "VER": "vertida_m3s",
    "DFL": "defluente_m3s",
    "TRA": "transferida_m3s",
    "AFL": "afluente_m3s",
    "INC": "incremental_m3s",
    "USOS": "usos_consuntivos_m3s",
    "EVP": "evaporacao_m3s",
}
# The 9 sub-columns of "VAZÃO NATURAL": 3-4 (month to date, m³/s and %MLT) and 9 (the day)
# are confirmed by two parsers; the labels of the others are not, so they are named by position.
_RDH_NATURAL = (
    "vazao_natural_c1",
    "vazao_natural_c2",
    "vazao_natural_mes_m3s",
    "vazao_natural_mes_pct_mlt",
    "vazao_natural_c5",
    "vazao_natural_c6",
    "vazao_natural_c7",
    "vazao_natural_c8",
    "vazao_natural_dia_m3s",
)
_RDH_USINA_FLOATS = (*_RDH_NATURAL, "nivel_m", "armazenamento_pct_vu", *_RDH_DAY_LABELS.values())


def _data_considerada(rows: Sequence[Sequence[Cell]], where: str) -> dt.date:
    for row in rows[:_RDH_TITLE_ROWS]:
        for cell in row:
            found = _DATA_CONSIDERADA.search(fold(cell_text(cell)))
            if found:
                return dt.datetime.strptime(found.group(1), "%d/%m/%Y").date()
    raise mismatch(where, "'Data considerada: dd/mm/yyyy' in the title rows", "none")


def _header_row(rows: Sequence[Sequence[Cell]], labels: Sequence[str], where: str) -> int:
    for index, row in enumerate(rows[:30]):
        if any(fold(cell_text(cell)) in labels for cell in row):
            return index
    raise mismatch(where, f"a header row with {list(labels)}", "none in the first 30 rows")


def _label(cell: Cell) -> str:
    return fold(cell_text(cell)).rstrip(".").strip()


def _find_column(
    rows: Sequence[Sequence[Cell]], header: int, span: int, wanted: str, where: str
) -> int:
    hits = [
        column
        for row in rows[header : header + span]
        for column, cell in enumerate(row)
        if _label(cell) == wanted
    ]
    if len(set(hits)) != 1:
        shown = sorted({_label(c) for r in rows[header : header + span] for c in r} - {""})
        raise mismatch(f"{where} header", f"one column labelled {wanted!r}", f"{shown}"[:200])
    return hits[0]


@sheet_layout("rdh_usinas")
def read_rdh_usinas(source: LayoutSource) -> pa.Table:
    """RDH "Hidráulico-Hidrológica": one row per plant, for the "Data considerada".

    The 3-row header starts at the row holding ``APROVEITAMENTO`` (or ``USINA``); every
    column is found by its label. Basin label rows (a name and no gauge) give the ``bacia`` of
    the plants below them; ``ND`` is a missing value.
    """
    rows = _rows(source)
    where = source.label
    considered = _data_considerada(rows, where)
    header = _header_row(rows, ("APROVEITAMENTO", "USINA"), where)
    name_column = next(
        c for c, cell in enumerate(rows[header]) if _label(cell) in ("APROVEITAMENTO", "USINA")
    )
    posto_column = _find_column(rows, header, 3, "POSTO", where)
    natural = _find_column(rows, header, 3, "VAZAO NATURAL", where)
    nivel = _find_column(rows, header, 3, "RES", where)
    arm = _find_column(rows, header, 3, "ARM", where)
    _find_column(rows, header, 3, "VALORES DO DIA", where)
    if nivel - natural != len(_RDH_NATURAL):
        raise mismatch(
            f"{where} header",
            f"{len(_RDH_NATURAL)} 'VAZÃO NATURAL' columns before 'RES.'",
            f"{nivel - natural}",
        )
    positions = {name: natural + i for i, name in enumerate(_RDH_NATURAL)}
    positions |= {"nivel_m": nivel, "armazenamento_pct_vu": arm}
    for label, name in _RDH_DAY_LABELS.items():
        positions[name] = _find_column(rows, header, 3, label, where)

    out: dict[str, list[object]] = {
        name: [] for name in ("data", "bacia", "usina", "posto", *_RDH_USINA_FLOATS)
    }
    basin: str | None = None
    for index in range(header + 3, len(rows)):
        at = f"{where} row {index + 1}"
        name = cell_text(_cell(rows, index, name_column))
        code_cell = _cell(rows, index, posto_column)
        code = cell_text(code_cell)
        if not code:
            label = next((cell_text(c) for c in rows[index][:posto_column] if cell_text(c)), "")
            if label:
                basin = label  # a basin label row (or a note under the table)
            continue
        posto = _integer(code_cell, at, "gauge code (POSTO)")
        if not name:
            raise mismatch(at, "the plant name beside gauge", code)
        out["data"].append(considered)
        out["bacia"].append(basin)
        out["usina"].append(name)
        out["posto"].append(posto)
        for column, position in positions.items():
            out[column].append(
                cell_float(_cell(rows, index, position), at, column, missing=_MISSING)
            )
    return pa.table(
        {
            "data": pa.array(out["data"], pa.date32()),
            "bacia": pa.array(out["bacia"], pa.string()),
            "usina": pa.array(out["usina"], pa.string()),
            "posto": pa.array(out["posto"], pa.int64()),
            **{name: pa.array(out[name], pa.float64()) for name in _RDH_USINA_FLOATS},
        }
    )


_SUBSISTEMAS = ("SUDESTE", "SUL", "NORDESTE", "NORTE")
_SUB_FIRST_ROW, _SUB_BLOCK_ROWS = 3, 8
# (row offset in the block, column) → output column, per scripts-unificados vazao.py.
_SUB_CELLS = {
    "media_semana_65": (3, 6),
    "media_mes_65": (3, 7),
    "media_semana_queda": (6, 6),
    "media_mes_queda": (6, 7),
    "armazenamento_pct_earmax": (3, 11),
}


@sheet_layout("rdh_subsistemas")
def read_rdh_subsistemas(source: LayoutSource) -> pa.Table:
    """RDH "Hidroenergética-Subsistemas": one row per subsystem (SE, S, NE, N).

    Four blocks of 8 rows from row 3 (0-based), in any order: the subsystem's name in column 0
    of the block's first row (``SUDESTE…``, ``SUL``, ``NORDESTE``, ``NORTE``), storage in
    %EARmax at (+3, 11), and two measures at (+3, 6/7) and (+6, 6/7), week and month, that
    the evidence parser calls "65" and "queda" (their labels and units are unconfirmed).
    """
    return _energy_blocks(source, "subsistema", _SUBSISTEMAS)


@sheet_layout("rdh_rees")
def read_rdh_rees(source: LayoutSource) -> pa.Table:
    """RDH "Hidroenergética-REEs": the same 8-row blocks, one per REE, until column 0 of a
    block's first row is empty."""
    return _energy_blocks(source, "ree", None)


def _energy_blocks(source: LayoutSource, key: str, names: Sequence[str] | None) -> pa.Table:
    rows = _rows(source)
    where = source.label
    considered = _data_considerada(rows, where)
    out: dict[str, list[object]] = {name: [] for name in ("data", key, *_SUB_CELLS)}
    block = 0
    while True:
        first = _SUB_FIRST_ROW + block * _SUB_BLOCK_ROWS
        cell = _cell(rows, first, 0)
        name = cell_text(cell)
        if names is None:
            if not name:
                break
            if _as_number(cell):
                raise mismatch(f"{where} row {first + 1} column A", "an REE name", cell)
            found = name
        else:
            if block == len(names):
                break
            found = re.split(r"[\s/-]", fold(name))[0]
            if found not in names or found in out[key]:
                raise mismatch(
                    f"{where} row {first + 1} column A", f"one of {list(names)} (each once)", name
                )
        if found in out[key]:
            raise mismatch(f"{where} row {first + 1} column A", "each name once", name)
        out["data"].append(considered)
        out[key].append(found)
        for column, (offset, position) in _SUB_CELLS.items():
            at = f"{where} row {first + offset + 1} column {position + 1}"
            value = cell_float(_cell(rows, first + offset, position), at, column, missing=_MISSING)
            out[column].append(value)
        block += 1
    if not out[key]:
        raise mismatch(f"{where} row {_SUB_FIRST_ROW + 1} column A", "a first block name", "none")
    return pa.table(
        {
            "data": pa.array(out["data"], pa.date32()),
            key: pa.array(out[key], pa.string()),
            **{name: pa.array(out[name], pa.float64()) for name in _SUB_CELLS},
        }
    )


# --------------------------------------------------------------------------- 234

_HIDRO_STATION_ROW, _HIDRO_TYPE_ROW, _HIDRO_FIRST_DATA_ROW = 4, 6, 7
_FLOW_TYPE = re.compile(r"V[A-Z]{1,3}")
_HIDRO_DAYS = (7, 400)


@sheet_layout("acomp_hidrologico")
def read_acomp_hidrologico(source: LayoutSource) -> pa.Table:
    """One sheet of the Relatório de Acompanhamento Hidrológico → one row per station, flow
    type and day.

    Row 4 (0-based) names the station over its columns (a merged cell: the name is carried
    right until the next one), row 6 the flow type code (VNM, VIA, VMD…) and ``DATA`` in
    column 0; the days follow from row 7 until the first row without a date.
    """
    rows = _rows(source)
    where = source.label
    if fold(_cell(rows, _HIDRO_TYPE_ROW, 0)) != "DATA":
        raise mismatch(f"{where} row 7 column A", "'DATA'", cell_text(_cell(rows, 6, 0)))
    width = _width(rows, _HIDRO_TYPE_ROW, _HIDRO_TYPE_ROW)
    if width < 2:
        raise mismatch(f"{where} row 7", "flow type codes after DATA", "none")
    series: list[tuple[int, str, str]] = []
    station = ""
    for column in range(1, width):
        named = cell_text(_cell(rows, _HIDRO_STATION_ROW, column))
        station = named or station
        code = cell_text(_cell(rows, _HIDRO_TYPE_ROW, column)).upper()
        if not code:
            continue  # a spacer column
        if not _FLOW_TYPE.fullmatch(code):
            raise mismatch(f"{where} row 7 column {column + 1}", "a flow type code (VNM…)", code)
        if not station:
            raise mismatch(f"{where} row 5 column {column + 1}", "the station name", "empty")
        series.append((column, station, code))
    dates: list[dt.date] = []
    index = _HIDRO_FIRST_DATA_ROW
    while index < len(rows) and (day := _as_date(_cell(rows, index, 0))) is not None:
        dates.append(day)
        index += 1
    for later in range(index, len(rows)):
        if _as_date(_cell(rows, later, 0)) is not None:
            raise mismatch(
                f"{where} row {later + 1}", "no dated row after the data", _cell(rows, later, 0)
            )
    low, high = _HIDRO_DAYS
    if not low <= len(dates) <= high:
        raise mismatch(where, f"{low}–{high} dated rows from row 8", f"{len(dates)}")
    _consecutive_days(dates, where)
    out: dict[str, list[object]] = {
        name: [] for name in ("data", "bacia", "estacao", "tipo_vazao", "vazao_m3s")
    }
    for column, station, code in series:
        for offset, day in enumerate(dates):
            row = _HIDRO_FIRST_DATA_ROW + offset
            value = cell_float(
                _cell(rows, row, column),
                f"{where} row {row + 1} column {column + 1}",
                f"{station} {code}",
                missing=_MISSING,
            )
            if value is None:
                continue
            out["data"].append(day)
            out["bacia"].append(source.sheet or "")
            out["estacao"].append(station)
            out["tipo_vazao"].append(code)
            out["vazao_m3s"].append(value)
    return pa.table(
        {
            "data": pa.array(out["data"], pa.date32()),
            "bacia": pa.array(out["bacia"], pa.string()),
            "estacao": pa.array(out["estacao"], pa.string()),
            "tipo_vazao": pa.array(out["tipo_vazao"], pa.string()),
            "vazao_m3s": pa.array(out["vazao_m3s"], pa.float64()),
        }
    )
