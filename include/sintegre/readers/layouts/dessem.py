"""DESSEM load forecasts (275 Blocos, 479 PrevCargaDESSEM) and the WEOL-SM wind deck (785).

Evidence (real files and long-lived public parsers; see the products' ``evidence:``):

- ``DP`` / ``DE`` / ``TM`` records (275 ``Blocos_yyyy-mm-dd.zip``: ``DP.txt``, ``DE.txt``,
  ``Bloco_TM.txt``): the fixed columns are those of DESSEM's ``entdados`` registers as
  rjmalves/idessem 1.4.0 reads them (``idessem/dessem/modelos/entdados.py``: ``DP``
  subsystem at 4–5, start day/hour/half-hour at 8–9/11–12/14, end at 16–17/19–20/22
  (``F`` = to the end of the study), demand at 24–33; ``DE`` the same with a 3-digit code at
  4–6 and a justification at 35–44; ``TM`` day 4–5, hour 9–10, half-hour 14, duration
  19–23, network flag 29, patamar 33–38), the same positions as the regular expressions of
  script-mirror/scripts-unificados ``apps/dbUpdater/libs/deck_ds.py`` (``importar_ds_bloco_dp``
  reads ``DP.txt`` of the Blocos zip; ``importar_ds_bloco_tm`` reads ``Bloco_TM.txt`` split on
  whitespace after 4 header lines) and ``apps/dessem/libs/wx_entdados.py`` (reads
  ``blocos/DP.txt``, ``blocos/DE.txt``, ``blocos/Bloco_TM.txt``, skipping ``&`` comment
  lines). Checked on real ONS ``DP``/``DE``/``TM`` records (the ``entdados`` of an ONS deck
  kept as test data in rjmalves/idessem ``tests/mocks/arquivos/entdados.py``: 209 ``DP``,
  309 ``DE``, 52 ``TM`` records). idessem itself reads these records right, but silently:
  a shifted demand reads as a different number and text in a number reads as NaN, so these
  readers re-implement the positions strictly (every separator column blank, every field a
  number, nothing after the last field).
- PrevCargaDESSEM (479): scripts-unificados ``apps/dbUpdater/libs/carga_ons.py``
  (``read_PrevCargaDessem_files_saida``: one CSV per subsystem, the subsystem in the member
  name as ``_SECO_``/``_S_``/``_NE_``/``_N_``, ``;``, decimal comma, ``.`` thousands,
  columns ``din_referencia`` and ``val_previsaocarga``). No real file seen: the timestamp's
  text format and whether it labels the start or the end of the half hour are unconfirmed.
- WEOL-SM (785): script-mirror/tasks-webhook-ons ``app/tasks/weol.py`` (latin-1, ``;``;
  ``Prev_*.csv``: header = a label, then 3 cells per week with the start date in the first
  and the end date in the third; a ``Patamares`` row; then one row per region with the
  pesado, médio, leve values of each week; ``Patamares_*.csv``: 10 columns read by
  position as inicio, patamar, cod_patamar, dia_semana, dia_tipico, tipo_dia, intervalo,
  dia, semana, mes) and the Compass C# tool (``AtualizaWeolNWDCProcess``: skips line 1,
  reads the values with ``.`` as the decimal point). No real file seen.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from sintegre.readers.layouts import (
    LayoutSource,
    cell_float,
    fold,
    mismatch,
    text_layout,
)

__all__ = ["SUBMERCADOS", "WEOL_PATAMARES"]

SUBMERCADOS = {1: "SE", 2: "S", 3: "NE", 4: "N", 11: "FC"}
"""DESSEM subsystem codes (11 is the fictitious node FC)."""

WEOL_PATAMARES = ("pesado", "medio", "leve")
"""The order of a week's three columns in WEOL's ``Prev_*.csv`` (DECOMP patamares 1, 2, 3)."""

_PATAMARES_TM = ("LEVE", "MEDIA", "PESADA")


def _text_lines(source: LayoutSource, encoding: str = "latin-1") -> list[str]:
    raw = source.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8").splitlines()
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return raw.decode(encoding).splitlines()


# --------------------------------------------------------------------------- DESSEM records


def _where(source: LayoutSource, number: int) -> str:
    return f"{source.label}, line {number}"


def _blank(line: str, columns: range | tuple[int, ...], where: str, what: str) -> None:
    for column in columns:
        if column < len(line) and line[column] != " ":
            raise mismatch(
                where,
                f"a blank at column {column + 1} ({what})",
                f"{line[column]!r} in {line.rstrip()!r}",
            )


def _int_field(line: str, start: int, end: int, where: str, what: str) -> int | None:
    text = line[start:end].strip()
    if not text:
        return None
    if not text.isdigit():
        raise mismatch(where, f"an integer for {what} at columns {start + 1}-{end}", text)
    return int(text)


def _stage(
    line: str, start: int, special: str, where: str, what: str
) -> tuple[int | None, int | None, int | None]:
    """A DESSEM stage date: day (2 columns), hour (2), half-hour flag (1), blanks between."""
    _blank(line, (start + 2, start + 5), where, f"between the fields of the {what}")
    day_text = line[start : start + 2].strip()
    if day_text == special:
        rest = line[start + 3 : start + 7].strip()
        if rest:
            raise mismatch(where, f"nothing after {special!r} in the {what}", rest)
        return None, None, None
    day = _int_field(line, start, start + 2, where, f"the {what} day")
    hour = _int_field(line, start + 3, start + 5, where, f"the {what} hour")
    half = _int_field(line, start + 6, start + 7, where, f"the {what} half-hour flag")
    if day is None or not 1 <= day <= 31:
        raise mismatch(where, f"a day of the month (1-31) or {special!r} for the {what}", day_text)
    if hour is not None and not 0 <= hour <= 23:
        raise mismatch(where, f"an hour 0-23 for the {what}", hour)
    if half is not None and half not in (0, 1):
        raise mismatch(where, f"a half-hour flag 0 or 1 for the {what}", half)
    return day, hour, half


def _records(source: LayoutSource, mnemonic: str) -> list[tuple[int, str]]:
    """The record lines of a DESSEM block file: ``&`` comments and blank lines skipped."""
    records: list[tuple[int, str]] = []
    for number, line in enumerate(_text_lines(source), start=1):
        if not line.strip() or line.startswith("&"):
            continue
        if line[:2] != mnemonic or line[2:3] not in (" ", ""):
            raise mismatch(
                _where(source, number),
                f"a {mnemonic} record (or an '&' comment line)",
                line.rstrip()[:80],
            )
        records.append((number, line.rstrip().replace("\t", " ")))
    if not records:
        raise mismatch(source.label, f"{mnemonic} records", "none")
    return records


def _demand_records(
    source: LayoutSource, mnemonic: str, code_end: int, tail: bool
) -> dict[str, list[Any]]:
    """``DP`` (code 4–5) or ``DE`` (code 4–6, justification 35–44) records, strictly."""
    # Column name -> cells: int codes and stage fields, float demands, str justifications.
    columns: dict[str, list[Any]] = {
        "codigo": [],
        "dia": [],
        "hora": [],
        "meia_hora": [],
        "dia_final": [],
        "hora_final": [],
        "meia_hora_final": [],
        "demanda_mw": [],
        "justificativa": [],
    }
    seen: dict[tuple[object, ...], int] = {}
    for number, line in _records(source, mnemonic):
        where = _where(source, number)
        _blank(line, range(2, 4), where, "after the mnemonic")
        _blank(line, range(code_end, 8), where, "after the code")
        code = _int_field(line, 4, code_end, where, "the code")
        if code is None:
            raise mismatch(where, f"a code at columns 5-{code_end}", "blank")
        start = _stage(line, 8, "I", where, "start")
        _blank(line, (15,), where, "between start and end")
        end = _stage(line, 16, "F", where, "end")
        _blank(line, (23,), where, "before the demand")
        demand = cell_float(line[24:34].strip() or None, where, "the demand", decimal="point")
        if demand is None:
            raise mismatch(where, "a demand in MW at columns 25-34", "blank")
        rest = line[34:]
        justification = None
        if tail:
            _blank(line, (34,), where, "before the justification")
            justification = line[35:45].strip() or None
            rest = line[45:]
        if rest.strip():
            raise mismatch(where, "nothing after the last field", rest.strip())
        if start[0] is not None and start[1] is None:
            raise mismatch(where, "a start hour with the start day", "blank")
        key = (code, *start)
        if key in seen:
            raise mismatch(
                where, f"one {mnemonic} record per code and start", f"a repeat of line {seen[key]}"
            )
        seen[key] = number
        for name, value in zip(
            ("codigo", "dia", "hora", "meia_hora", "dia_final", "hora_final", "meia_hora_final"),
            (code, *start, *end),
            strict=True,
        ):
            columns[name].append(value)
        columns["demanda_mw"].append(demand)
        columns["justificativa"].append(justification)
    return columns


_INT = pa.int64()


@text_layout("dessem_dp")
def read_dessem_dp(source: LayoutSource) -> pa.Table:
    """``DP.txt``: one row per ``DP`` record (subsystem, start, end, demand in MW)."""
    columns = _demand_records(source, "DP", 6, tail=False)
    codes = columns["codigo"]
    return pa.table(
        {
            "codigo_submercado": pa.array(codes, _INT),
            "submercado": pa.array([SUBMERCADOS.get(code) for code in codes], pa.string()),
            **{
                name: pa.array(columns[name], _INT)
                for name in (
                    "dia",
                    "hora",
                    "meia_hora",
                    "dia_final",
                    "hora_final",
                    "meia_hora_final",
                )
            },
            "demanda_mw": pa.array(columns["demanda_mw"], pa.float64()),
        }
    )


@text_layout("dessem_de")
def read_dessem_de(source: LayoutSource) -> pa.Table:
    """``DE.txt``: one row per special demand ``DE`` record (code, start, end, MW, reason)."""
    columns = _demand_records(source, "DE", 7, tail=True)
    return pa.table(
        {
            "codigo_demanda": pa.array(columns["codigo"], _INT),
            **{
                name: pa.array(columns[name], _INT)
                for name in (
                    "dia",
                    "hora",
                    "meia_hora",
                    "dia_final",
                    "hora_final",
                    "meia_hora_final",
                )
            },
            "demanda_mw": pa.array(columns["demanda_mw"], pa.float64()),
            "justificativa": pa.array(columns["justificativa"], pa.string()),
        }
    )


@text_layout("dessem_tm")
def read_dessem_tm(source: LayoutSource) -> pa.Table:
    """``Bloco_TM.txt``: the study's time steps (day, hour, half-hour, hours, network, patamar).

    Split on whitespace like ``deck_ds.py`` (the columns also sit where idessem's ``TM``
    expects them): ``TM``, day, hour, half-hour flag, duration in hours, network flag,
    patamar (LEVE, MEDIA, PESADA).
    """
    rows: dict[str, list[object]] = {
        "dia": [],
        "hora": [],
        "meia_hora": [],
        "duracao_h": [],
        "rede": [],
        "patamar": [],
    }
    for number, line in _records(source, "TM"):
        where = _where(source, number)
        fields = line.split()
        if len(fields) != 7:
            raise mismatch(
                where, "7 fields: TM day hour half-hour duration network patamar", fields
            )
        _, day, hour, half, duration, network, patamar = fields
        for text, what in ((day, "day"), (hour, "hour"), (half, "half-hour"), (network, "net")):
            if not text.isdigit():
                raise mismatch(where, f"an integer for the {what}", text)
        if not 1 <= int(day) <= 31 or not 0 <= int(hour) <= 23 or int(half) not in (0, 1):
            raise mismatch(where, "day 1-31, hour 0-23, half-hour 0/1", fields[1:4])
        hours = cell_float(duration, where, "the duration", decimal="point")
        if hours is None or hours <= 0:
            raise mismatch(where, "a positive duration in hours", duration)
        if fold(patamar) not in _PATAMARES_TM:
            raise mismatch(where, f"a patamar in {list(_PATAMARES_TM)}", patamar)
        rows["dia"].append(int(day))
        rows["hora"].append(int(hour))
        rows["meia_hora"].append(int(half))
        rows["duracao_h"].append(hours)
        rows["rede"].append(int(network))
        rows["patamar"].append(fold(patamar))
    return pa.table(
        {
            "dia": pa.array(rows["dia"], _INT),
            "hora": pa.array(rows["hora"], _INT),
            "meia_hora": pa.array(rows["meia_hora"], _INT),
            "duracao_h": pa.array(rows["duracao_h"], pa.float64()),
            "rede": pa.array(rows["rede"], _INT),
            "patamar": pa.array(rows["patamar"], pa.string()),
        }
    )


# --------------------------------------------------------------------------- delimited


def _csv_rows(source: LayoutSource) -> list[tuple[int, list[str]]]:
    """Non-blank ``;`` rows with their line numbers, trailing empty cells dropped."""
    rows = []
    reader = csv.reader(io.StringIO("\n".join(_text_lines(source))), delimiter=";")
    for number, row in enumerate(reader, start=1):
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append((number, cells))
    if not rows:
        raise mismatch(source.label, "a header row", "an empty file")
    return rows


_TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y",
)


def _timestamp(text: str, where: str, what: str) -> dt.datetime:
    cleaned = re.sub(r"(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", "", text.strip())
    for fmt in _TIMESTAMP_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    raise mismatch(where, f"a date-time for {what} (yyyy-mm-dd HH:MM or dd/mm/yyyy HH:MM)", text)


def _date(text: str, where: str, what: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise mismatch(where, f"a date dd/mm/yyyy for {what}", text) from None


def _snake(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold(label).lower()).strip("_") or "coluna"


@text_layout("prevcarga_dessem")
def read_prevcarga_dessem(source: LayoutSource) -> pa.Table:
    """One subsystem's PrevCargaDESSEM CSV: half-hourly load forecast in MW.

    Header ``din_referencia;val_previsaocarga`` (found by name, any order; other columns
    are kept as text under snake_case names, so the catalog reports them as drift). Values
    in decimal comma with ``.`` thousands; timestamps on the hour or half hour, strictly
    increasing.
    """
    rows = _csv_rows(source)
    header_line, header = rows[0]
    names = [fold(cell).lower() for cell in header]
    where = _where(source, header_line)
    for label in ("din_referencia", "val_previsaocarga"):
        if label not in names:
            raise mismatch(where, f"header label {label!r}", header)
    time_at, value_at = names.index("din_referencia"), names.index("val_previsaocarga")
    others = [(i, _snake(h)) for i, h in enumerate(header) if i not in (time_at, value_at)]
    stamps: list[dt.datetime] = []
    values: list[float | None] = []
    extra: dict[str, list[str | None]] = {name: [] for _, name in others}
    for number, cells in rows[1:]:
        row_where = _where(source, number)
        if len(cells) > len(header):
            raise mismatch(row_where, f"at most {len(header)} cells", cells)
        cells = cells + [""] * (len(header) - len(cells))
        stamp = _timestamp(cells[time_at], row_where, "din_referencia")
        if stamp.minute not in (0, 30) or stamp.second:
            raise mismatch(row_where, "a time on the hour or the half hour", cells[time_at])
        if stamps and stamp <= stamps[-1]:
            raise mismatch(row_where, f"a time after {stamps[-1]:%Y-%m-%d %H:%M}", stamp)
        value = cell_float(cells[value_at] or None, row_where, "val_previsaocarga", decimal="comma")
        if value is None:
            raise mismatch(row_where, "a load in val_previsaocarga", "an empty cell")
        stamps.append(stamp)
        values.append(value)
        for index, name in others:
            extra[name].append(cells[index] or None)
    return pa.table(
        {
            "data_hora": pa.array(stamps, pa.timestamp("us")),
            "carga_mw": pa.array(values, pa.float64()),
            **{name: pa.array(column, pa.string()) for name, column in extra.items()},
        }
    )


@text_layout("weol_previsao")
def read_weol_previsao(source: LayoutSource) -> pa.Table:
    """WEOL-SM ``Prev_*.csv`` (wide) → one row per region, week and patamar (MWmed).

    Row 1: a label, then per week three cells: start date, a middle cell, end date. Row 2:
    ``Patamares`` (its cells, when text, must name pesado, médio, leve in that order). Then
    one row per region with three values per week (``.`` decimal point).
    """
    rows = _csv_rows(source)
    header_line, header = rows[0]
    where = _where(source, header_line)
    if len(header) < 4 or (len(header) - 1) % 3:
        raise mismatch(where, "a label and 3 cells per week (start, -, end)", header)
    weeks: list[tuple[dt.date, dt.date]] = []
    for k in range(1, len(header), 3):
        start = _date(header[k], where, f"the start of week {len(weeks) + 1}")
        end = _date(header[k + 2], where, f"the end of week {len(weeks) + 1}")
        if not 0 <= (end - start).days <= 7 or (weeks and start <= weeks[-1][0]):
            raise mismatch(where, "consecutive weeks of at most 7 days", header[k : k + 3])
        weeks.append((start, end))
    if len(rows) < 3:
        raise mismatch(source.label, "a Patamares row and at least one region row", rows)
    patamar_line, patamar_row = rows[1]
    if fold(patamar_row[0]) != "PATAMARES":
        raise mismatch(_where(source, patamar_line), "the 'Patamares' row", patamar_row[:4])
    for k, text in enumerate(patamar_row[1:]):
        if re.search(r"[A-Za-z]", text) and not fold(text).startswith(
            fold(WEOL_PATAMARES[k % 3])[:3]
        ):
            raise mismatch(
                _where(source, patamar_line),
                f"patamares in the order {list(WEOL_PATAMARES)}",
                patamar_row[1:7],
            )
    out: dict[str, list[object]] = {
        "regiao": [],
        "semana": [],
        "inicio": [],
        "fim": [],
        "patamar": [],
        "codigo_patamar": [],
        "geracao_mwmed": [],
    }
    regions: set[str] = set()
    for number, cells in rows[2:]:
        row_where = _where(source, number)
        if len(cells) != len(header):
            raise mismatch(row_where, f"{len(header)} cells (a region and 3 per week)", cells)
        region = cells[0]
        if not region or cell_is_number(region):
            raise mismatch(row_where, "a region name in the first cell", region)
        if region in regions:
            raise mismatch(row_where, "one row per region", f"{region!r} again")
        regions.add(region)
        for week, (start, end) in enumerate(weeks, start=1):
            for offset, patamar in enumerate(WEOL_PATAMARES):
                text = cells[1 + 3 * (week - 1) + offset]
                value = cell_float(
                    text or None, row_where, f"{patamar} of week {week}", decimal="point"
                )
                if value is None:
                    raise mismatch(row_where, f"a value for {patamar} of week {week}", "empty")
                out["regiao"].append(region)
                out["semana"].append(week)
                out["inicio"].append(start)
                out["fim"].append(end)
                out["patamar"].append(patamar)
                out["codigo_patamar"].append(offset + 1)
                out["geracao_mwmed"].append(value)
    return pa.table(
        {
            "regiao": pa.array(out["regiao"], pa.string()),
            "semana": pa.array(out["semana"], _INT),
            "inicio": pa.array(out["inicio"], pa.date32()),
            "fim": pa.array(out["fim"], pa.date32()),
            "patamar": pa.array(out["patamar"], pa.string()),
            "codigo_patamar": pa.array(out["codigo_patamar"], _INT),
            "geracao_mwmed": pa.array(out["geracao_mwmed"], pa.float64()),
        }
    )


def cell_is_number(text: str) -> bool:
    """Whether a cell is a plain number (a region name never is)."""
    return bool(re.fullmatch(r"[+-]?[\d.,]+", text.strip()))


_WEOL_PATAMAR_COLUMNS = (
    "inicio",
    "patamar",
    "codigo_patamar",
    "dia_semana",
    "dia_tipico",
    "tipo_dia",
    "intervalo",
    "dia",
    "semana",
    "mes",
)


@text_layout("weol_patamares")
def read_weol_patamares(source: LayoutSource) -> pa.Table:
    """WEOL-SM ``Patamares_*.csv``: 10 columns by position, as tasks-webhook-ons reads them.

    The header's first cell must name ``Inicio`` and the second ``Patamar``; ``inicio`` is a
    date-time, ``codigo_patamar`` an integer; the other columns' types are unconfirmed and
    kept as text.
    """
    rows = _csv_rows(source)
    header_line, header = rows[0]
    where = _where(source, header_line)
    if len(header) != len(_WEOL_PATAMAR_COLUMNS):
        raise mismatch(where, f"{len(_WEOL_PATAMAR_COLUMNS)} columns", header)
    if "INICIO" not in fold(header[0]) or "PATAMAR" not in fold(header[1]):
        raise mismatch(where, "header labels 'Inicio' then 'Patamar'", header[:3])
    columns: dict[str, list[object]] = {name: [] for name in _WEOL_PATAMAR_COLUMNS}
    parse: dict[str, Callable[[str, str], object]] = {
        "inicio": lambda text, at: _timestamp(text, at, "Inicio"),
        "codigo_patamar": lambda text, at: _patamar_code(text, at),
    }
    for number, cells in rows[1:]:
        row_where = _where(source, number)
        if len(cells) > len(header):
            raise mismatch(row_where, f"{len(header)} cells", cells)
        cells = cells + [""] * (len(header) - len(cells))
        for name, text in zip(_WEOL_PATAMAR_COLUMNS, cells, strict=True):
            reader = parse.get(name)
            columns[name].append(reader(text, row_where) if reader else (text or None))
    return pa.table(
        {
            name: pa.array(
                values,
                pa.timestamp("us")
                if name == "inicio"
                else _INT
                if name == "codigo_patamar"
                else pa.string(),
            )
            for name, values in columns.items()
        }
    )


def _patamar_code(text: str, where: str) -> int:
    if not text.strip().isdigit():
        raise mismatch(where, "an integer patamar code", text)
    return int(text)
