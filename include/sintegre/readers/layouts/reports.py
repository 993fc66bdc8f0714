"""Readers of ONS's hydrological forecast reports: PDP (548, 243) and weekly PMO (245, 246).

Evidence (no real ONS file of these products was found in a public repository; every layout
below follows public parsers that read the real files in production, cited by repository and
path, and details they do not fix are left unread rather than guessed):

- **PDP daily report** (548 ``Relatorio_previsao_diaria_*.xls``; 243 ``Resultado_Final_*.zip``
  holds the same workbook in a folder): script-mirror/tasks-webhook-ons
  ``app/tasks/vazoes_diarias_previstas.py`` and the 548 task in the same repository, plus
  script-mirror/scripts-unificados (``wx_libs_preco`` ``dadvaz_pdp``, 2021). Sheets
  ``Diária_6`` (SUDESTE) and ``Diária_7`` (SUL, NORDESTE, NORTE); 4 rows above the header
  (``skiprows=4``); header cells from column 2 on are the forecast dates; a subsystem block is a
  label row with the subsystem's name in column 4 (the first such row), then a row of ENA in
  MWmed and a row of ENA in %MLT under the date columns. The block rows moved between 2021 and
  2025 (SUDESTE values at pandas rows 166 and 168), so the label is searched, not assumed.
  The per-plant rows above the blocks are not read (their columns are not confirmed).
- **Weekly PMO summary** (``Tab-5-6-7`` for the PMO, ``REV-2`` for a revision): the same
  tasks-webhook-ons repository, ``app/tasks/vazoes_semanais_previstas.py``
  (``_process_nao_consistido``), scripts-unificados ``wx_libs_preco.nao_consistido_rv``, and a
  Node lambda (``Nao_Consistido`` handler reading ``Tab-5-6-7!D8:E11`` and ``REV-2!G9:H12``).
  PMO: week start/end dates in B4/B6, subsystems in rows 8-11 (A: name; B, C: week MWmed,
  %MLT; D, E: month MWmed, %MLT). Revision: dates in C5/C7, rows 9-12 (B: name; C, D: week;
  E, F: month revised with the verified days; G, H: initial monthly forecast).
- **Weekly PMO ENA per basin** (``Tab-12`` and ``Tab-13-14-15`` for the PMO, ``REV-5`` and
  ``REV-6`` for a revision): tasks-webhook-ons ``_process_consistido`` (245) and the Node
  lambda (246: ``Tab-12!D174:I174``, ``Tab-13-14-15!D64:I64``...). Column 0 names a basin or
  subsystem; the row named ``X`` holds ENA in MWmed and the row named ``X %`` its %MLT, six
  weeks in columns 3-8. Only names that have a ``%`` row are read (other rows are plants).
- **prevs** (``.prv`` of 246): DECOMP ``prevs.rvN`` records, line number and gauge then six
  weekly flows (``     1    1`` opens the file, as scripts-unificados' ``prevs`` module checks).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping

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
    text_layout,
)

__all__ = ["read_pdp_ena", "read_pmo_ena_resumo", "read_pmo_ena_semanal", "read_prevs"]

SUBSYSTEMS = ("SUDESTE", "SUL", "NORDESTE", "NORTE")

_PDP_HEADER_ROW = 4  # 4 rows above the header (pandas skiprows=4)
_PDP_FIRST_DATE_COLUMN = 2
_PDP_LABEL_COLUMN = 4
_PDP_SHEETS = {"DIARIA_6": ("SUDESTE",), "DIARIA_7": ("SUL", "NORDESTE", "NORTE")}


def _cell(rows: list[list[Cell]], row: int, column: int) -> Cell:
    if row >= len(rows) or column >= len(rows[row]):
        return None
    value = rows[row][column]
    return None if value == "" else value


def _sheet_key(source: LayoutSource, known: Mapping[str, object]) -> str:
    key = fold(source.sheet).replace(" ", "")
    if key not in known:
        raise mismatch(source.label, f"one of the sheets {sorted(known)}", source.sheet or "")
    return key


# --------------------------------------------------------------------------- PDP (548, 243)


@sheet_layout("pdp_ena_subsistema")
def read_pdp_ena(source: LayoutSource) -> pa.Table:
    """ENA forecast per subsystem and day from ``Diária_6`` / ``Diária_7`` of the PDP report.

    Returns:
        ``subsistema``, ``data``, ``ena_mwmed``, ``ena_mlt_pct``: one row per subsystem and
        forecast date.

    Raises:
        LayoutMismatch: No dates in the header row, a subsystem label not found in column 4,
            or a non-number under a date in the MWmed / %MLT rows.
    """
    rows = source.rows or []
    expected = _PDP_SHEETS[_sheet_key(source, _PDP_SHEETS)]
    header = rows[_PDP_HEADER_ROW] if len(rows) > _PDP_HEADER_ROW else []
    where = f"{source.label} row {_PDP_HEADER_ROW + 1}"
    last = max(
        (i for i, cell in enumerate(header) if cell not in (None, "")),
        default=_PDP_FIRST_DATE_COLUMN - 1,
    )
    if last < _PDP_FIRST_DATE_COLUMN:
        raise mismatch(where, "forecast dates from column C on", [cell_text(c) for c in header])
    dates = [
        cell_date(header[column], f"{where} column {column + 1}", "the forecast date header")
        for column in range(_PDP_FIRST_DATE_COLUMN, last + 1)
    ]
    for before, after in itertools.pairwise(dates):
        if after - before != dt.timedelta(days=1):
            raise mismatch(where, "consecutive forecast dates", [str(d) for d in dates])
    out: dict[str, list[object]] = {k: [] for k in ("subsistema", "data", "mwmed", "mlt")}
    for name in expected:
        label_row = next(
            (
                r
                for r in range(_PDP_HEADER_ROW + 1, len(rows))
                if fold(cell_text(_cell(rows, r, _PDP_LABEL_COLUMN))) == name
            ),
            None,
        )
        if label_row is None:
            raise mismatch(source.label, f"a row labelled {name!r} in column E", "none")
        for offset, day in enumerate(dates):
            column = _PDP_FIRST_DATE_COLUMN + offset
            values = []
            for shift, what in ((1, "ENA (MWmed)"), (2, "ENA (%MLT)")):
                at = f"{source.label} row {label_row + shift + 1} column {column + 1}"
                value = cell_float(_cell(rows, label_row + shift, column), at, f"{name} {what}")
                if value is None:
                    raise mismatch(at, f"a number for {name} {what}", "an empty cell")
                values.append(value)
            out["subsistema"].append(name)
            out["data"].append(day)
            out["mwmed"].append(values[0])
            out["mlt"].append(values[1])
    return pa.table(
        {
            "subsistema": pa.array(out["subsistema"], pa.string()),
            "data": pa.array(out["data"], pa.date32()),
            "ena_mwmed": pa.array(out["mwmed"], pa.float64()),
            "ena_mlt_pct": pa.array(out["mlt"], pa.float64()),
        }
    )


# --------------------------------------------------------------------------- PMO (245, 246)

# sheet → (start date cell, end date cell, first data row, name column, number columns)
_RESUMO = {
    "TAB-5-6-7": ((3, 1), (5, 1), 7, 0, ("semana", "mes_inicial")),
    "REV-2": ((4, 2), (6, 2), 8, 1, ("semana", "mes_revisada", "mes_inicial")),
}
_RESUMO_MEASURES = ("semana", "mes_revisada", "mes_inicial")


def _subsystem(text: str) -> str | None:
    """SUDESTE/SUL/NORDESTE/NORTE from a label such as ``Sudeste/C.Oeste`` or ``SE/CO``."""
    folded = fold(text)
    head = re.split(r"[^A-Z]", folded, maxsplit=1)[0]
    aliases = {"SE": "SUDESTE", "S": "SUL", "NE": "NORDESTE", "N": "NORTE"}
    if head in SUBSYSTEMS:
        return head
    return aliases.get(head)


@sheet_layout("pmo_ena_resumo")
def read_pmo_ena_resumo(source: LayoutSource) -> pa.Table:
    """ENA forecast per subsystem of the weekly PMO (``Tab-5-6-7``) or a revision (``REV-2``).

    Returns:
        ``subsistema``, ``semana_inicio``, ``semana_fim`` and MWmed / %MLT pairs for the week
        (``ena_semana_*``), the month revised with the verified days (``ena_mes_revisada_*``,
        revisions only) and the initial monthly forecast (``ena_mes_inicial_*``).

    Raises:
        LayoutMismatch: Dates not where they belong, subsystems not SE, S, NE, N in this
            order, or a non-number among the values.
    """
    rows = source.rows or []
    start_at, end_at, first, name_column, measures = _RESUMO[_sheet_key(source, _RESUMO)]

    def date_at(position: tuple[int, int], what: str) -> dt.date:
        row, column = position
        at = f"{source.label} cell {chr(65 + column)}{row + 1}"
        return cell_date(_cell(rows, row, column), at, what)

    start = date_at(start_at, "the week's first day")
    end = date_at(end_at, "the week's last day")
    if (end - start).days != 6:
        raise mismatch(source.label, "a week of 7 days between the two dates", f"{start}..{end}")
    columns: dict[str, list[object]] = {"subsistema": []}
    for measure in _RESUMO_MEASURES:
        columns[f"ena_{measure}_mwmed"] = []
        columns[f"ena_{measure}_mlt_pct"] = []
    for index, expected in enumerate(SUBSYSTEMS):
        row = first + index
        name = cell_text(_cell(rows, row, name_column))
        at = f"{source.label} row {row + 1}"
        if _subsystem(name) != expected:
            raise mismatch(f"{at} column {chr(65 + name_column)}", f"subsystem {expected}", name)
        columns["subsistema"].append(expected)
        values = {}
        for position, measure in enumerate(measures):
            for part, unit in enumerate(("mwmed", "mlt_pct")):
                column = name_column + 1 + 2 * position + part
                cell = _cell(rows, row, column)
                value = cell_float(cell, f"{at} column {chr(65 + column)}", f"{expected} {unit}")
                if value is None:
                    raise mismatch(f"{at} column {chr(65 + column)}", "a number", "an empty cell")
                values[f"ena_{measure}_{unit}"] = value
        for key in columns:
            if key != "subsistema":
                columns[key].append(values.get(key))
    table = {
        "subsistema": pa.array(columns.pop("subsistema"), pa.string()),
        "semana_inicio": pa.array([start] * 4, pa.date32()),
        "semana_fim": pa.array([end] * 4, pa.date32()),
    }
    table.update({key: pa.array(value, pa.float64()) for key, value in columns.items()})
    return pa.table(table)


_SEMANAL = {
    "TAB-12": ("SUDESTE",),
    "REV-5": ("SUDESTE",),
    "TAB-13-14-15": ("SUL", "NORDESTE", "NORTE"),
    "REV-6": ("SUL", "NORDESTE", "NORTE"),
}
_WEEK_COLUMNS = range(3, 9)  # D..I: six operative weeks


@sheet_layout("pmo_ena_semanal")
def read_pmo_ena_semanal(source: LayoutSource) -> pa.Table:
    """ENA per basin and subsystem and operative week (``Tab-12``/``Tab-13-14-15``/``REV-5/6``).

    A row named ``X`` in column A is read only when a row named ``X %`` exists (the %MLT of
    the same basin); other rows (plants, titles) are left alone.

    Returns:
        ``nome`` (as written), ``tipo`` (``subsistema`` or ``bacia``), ``semana`` (1-6),
        ``ena_mwmed``, ``ena_mlt_pct``.

    Raises:
        LayoutMismatch: The sheet's subsystems missing, a name with two ``%`` rows, or text
            where a week's value should be.
    """
    rows = source.rows or []
    expected = _SEMANAL[_sheet_key(source, _SEMANAL)]
    names: dict[str, int] = {}
    percents: dict[str, int] = {}
    for index, row in enumerate(rows):
        text = cell_text(row[0] if row else None)
        if not text:
            continue
        folded = fold(text)
        if folded.endswith("%"):
            key = folded[:-1].strip()
            if key in percents:
                raise mismatch(
                    f"{source.label} row {index + 1}", f"one row {text!r}", "a second one"
                )
            percents[key] = index
        else:
            names.setdefault(folded, index)
    absent = [name for name in expected if name not in names or name not in percents]
    if absent:
        raise mismatch(source.label, f"rows {absent} and their '%' rows in column A", "none")
    out: dict[str, list[object]] = {k: [] for k in ("nome", "tipo", "semana", "mwmed", "mlt")}
    for key, pct_row in sorted(percents.items(), key=lambda item: item[1]):
        if key not in names:
            raise mismatch(f"{source.label} row {pct_row + 1}", f"a row {key!r} above", "none")
        name_row = names[key]
        label = cell_text(rows[name_row][0])
        for week, column in enumerate(_WEEK_COLUMNS, start=1):
            at = f"{source.label} column {chr(65 + column)}"
            mwmed = cell_float(
                _cell(rows, name_row, column), f"{at} row {name_row + 1}", f"{label} MWmed"
            )
            mlt = cell_float(_cell(rows, pct_row, column), f"{at} row {pct_row + 1}", "%MLT")
            if mwmed is None and mlt is None:
                continue
            out["nome"].append(label)
            out["tipo"].append("subsistema" if key in SUBSYSTEMS else "bacia")
            out["semana"].append(week)
            out["mwmed"].append(mwmed)
            out["mlt"].append(mlt)
    return pa.table(
        {
            "nome": pa.array(out["nome"], pa.string()),
            "tipo": pa.array(out["tipo"], pa.string()),
            "semana": pa.array(out["semana"], pa.int64()),
            "ena_mwmed": pa.array(out["mwmed"], pa.float64()),
            "ena_mlt_pct": pa.array(out["mlt"], pa.float64()),
        }
    )


# --------------------------------------------------------------------------- prevs (246)

_PREVS_WEEKS = 6


@text_layout("pmo_prevs")
def read_prevs(source: LayoutSource) -> pa.Table:
    """A DECOMP ``prevs`` file: line number, gauge, six weekly natural flows (m³/s).

    Raises:
        LayoutMismatch: A line that is not 8 integers, line numbers out of sequence.
    """
    text = source.read_bytes().decode("latin-1")
    out: dict[str, list[int]] = {"linha": [], "posto": []}
    weeks = [f"semana_{k}" for k in range(1, _PREVS_WEEKS + 1)]
    for week in weeks:
        out[week] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        where = f"{source.label} line {number}"
        if len(fields) != 2 + _PREVS_WEEKS or not all(re.fullmatch(r"-?\d+", f) for f in fields):
            raise mismatch(where, "line number, gauge and 6 weekly flows (integers)", line)
        values = [int(field) for field in fields]
        if values[0] != len(out["linha"]) + 1:
            raise mismatch(where, f"line number {len(out['linha']) + 1}", fields[0])
        for key, value in zip(["linha", "posto", *weeks], values, strict=True):
            out[key].append(value)
    return pa.table({key: pa.array(value, pa.int64()) for key, value in out.items()})
