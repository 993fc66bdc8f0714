"""PMO load forecasts: NEWAVE monthly load (229) and DECOMP load by patamar (228).

Layouts and the evidence they were checked against:

- ``newave_carga_mensal`` (229, ``CargaMensal_PMO-<Mês><yyyy>.xlsx``, one sheet, header in the
  first row, one row per month x subsystem x TYPE). Header labels as ONS writes them: ``DATE``,
  ``WEEK``, ``SOURCE`` (SUDESTE/SUL/NORDESTE/NORTE), ``TYPE`` (HIGH/MIDDLE/LOW patamares and
  MEDIUM, the month's average), ``GAUGE`` (hours), ``REVISION`` (a date) and the load: ``LOAD``
  in the files before distributed generation (MMGD) was split out, ``LOAD_sMMGD`` after, with
  ``Base_CGH`` … ``Base_MMGD``, ``LOAD_cMMGD``, ``Exp_CGH`` … ``Exp_MMGD``. Checked against
  script-mirror/tasks-webhook-ons ``app/tasks/previsoes_carga_mensal_patamar_newave.py``
  (column map, patamar and subsystem maps), the C# deck builder that validates the 18 header
  cells by position (DATE, -, SOURCE, TYPE, -, LOAD_sMMGD, Base_CGH, Base_EOL, Base_UFV,
  Base_UTE, Base_MMGD, LOAD_cMMGD, Exp_CGH, Exp_EOL, Exp_UFV, Exp_UTE, Exp_MMGD, REVISION)
  and uses MEDIUM as the monthly market and HIGH/MIDDLE/LOW over MEDIUM as patamar factors,
  and a 2019 script (mazucanti) reading ``LOAD`` with ``TYPE == "MEDIUM"``. Headers are
  matched by label, not position; labels this reader does not know land as extra columns
  (and show as drift). Not confirmed: the meaning of WEEK (every parser drops it: kept as
  text) and that GAUGE of MEDIUM is the month's hours.
- ``decomp_dp`` (228, ``DP_REVnnPMOyyyymm.txt``): DECOMP ``DP`` records at the columns of
  the dadger ``DP`` register (rjmalves/idecomp ``idecomp/decomp/modelos/dadger.py``: stage
  4-5, subsystem 9-10, number of patamares 14, then MWmed and hours in 10-character fields
  from column 19), ``&`` comment lines, CRLF. rjmalves/adequador-encadeador-pem
  ``adequador/acl_mmgd/decomp.py`` reads ONS's ``DP_REV{rv}PMO{ano}{mes}.txt`` with idecomp's
  ``Dadger``; the block in idecomp's ``tests/mocks/arquivos/dadger.py`` (a real deck's) is the
  sample. idecomp 1.17.1 was evaluated on it and is not used here: a letter in a load field
  becomes ``None`` and ``DP.carga`` then drops it (the next patamar's load moves up), a line
  shifted by one character is silently skipped or read as other fields. This reader takes the
  same columns and refuses such lines.
- ``decomp_carga_resumo`` (228, the ``*arga_*.xlsx`` summary): a label column holding
  "Subsistemas/Sistemas" on the header row, "1ª Semana" … "Mensal" to its right, and rows
  "Subsistema Sudeste/C.Oeste", "Subsistema Sul", "Subsistema Nordeste", "Subsistema Norte",
  "Sistema Interligado Nacional" (MWmed). Checked against tasks-webhook-ons
  ``app/tasks/carga_patamar_decomp.py`` (``ReadCargaSemanal``). Not confirmed: the sheet name
  and whether the workbook has other sheets (any sheet without that header is refused).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

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
from sintegre.readers.text.headers import column_names

__all__ = ["read_decomp_carga_resumo", "read_decomp_dp", "read_newave_carga_mensal"]

# --------------------------------------------------------------------------- NEWAVE (229)

_SUBSISTEMAS_NEWAVE = {"SUDESTE": "SE", "SUL": "S", "NORDESTE": "NE", "NORTE": "N"}
_TIPOS_NEWAVE = {"HIGH": "PESADA", "MIDDLE": "MEDIA", "LOW": "LEVE", "MEDIUM": "MENSAL"}

# folded header label -> output column (numbers in MWmed)
_NEWAVE_NUMBERS = {
    "LOAD": "carga_mwmed",
    "LOAD_SMMGD": "carga_mwmed",
    "GAUGE": "horas",
    "LOAD_CMMGD": "carga_global_mwmed",
    "BASE_CGH": "mmgd_base_cgh_mwmed",
    "BASE_EOL": "mmgd_base_eol_mwmed",
    "BASE_UFV": "mmgd_base_ufv_mwmed",
    "BASE_UTE": "mmgd_base_ute_mwmed",
    "BASE_MMGD": "mmgd_base_total_mwmed",
    "EXP_CGH": "mmgd_exp_cgh_mwmed",
    "EXP_EOL": "mmgd_exp_eol_mwmed",
    "EXP_UFV": "mmgd_exp_ufv_mwmed",
    "EXP_UTE": "mmgd_exp_ute_mwmed",
    "EXP_MMGD": "mmgd_exp_total_mwmed",
}
_NEWAVE_REQUIRED = ("DATE", "SOURCE", "TYPE", "GAUGE", "REVISION")
_NEWAVE_KNOWN = {*_NEWAVE_NUMBERS, "DATE", "WEEK", "SOURCE", "TYPE", "REVISION"}


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _row_blank(row: Sequence[Cell]) -> bool:
    return all(_blank(cell) for cell in row)


def _cell(row: Sequence[Cell], column: int) -> Cell:
    return row[column] if column < len(row) else None


def _data_rows(rows: list[list[Cell]], first: int, label: str) -> list[tuple[int, list[Cell]]]:
    """The rows from ``first`` to the first blank row; anything after it is a footer."""
    found: list[tuple[int, list[Cell]]] = []
    index = first
    while index < len(rows) and not _row_blank(rows[index]):
        found.append((index, rows[index]))
        index += 1
    for later in range(index, len(rows)):
        if not _row_blank(rows[later]):
            shown = [cell_text(cell) for cell in rows[later] if not _blank(cell)][:6]
            raise mismatch(
                f"{label} row {later + 1}",
                "no rows after the first blank row (a footer or a second table?)",
                f"{shown}",
            )
    return found


@sheet_layout("newave_carga_mensal")
def read_newave_carga_mensal(source: LayoutSource) -> pa.Table:
    """NEWAVE monthly load by subsystem and patamar (229): one row per month/subsystem/TYPE."""
    rows = source.rows or []
    label = source.label
    header_index = next((i for i, row in enumerate(rows) if not _row_blank(row)), None)
    if header_index is None:
        raise mismatch(
            label, "a header row (DATE, SOURCE, TYPE, GAUGE, REVISION…)", "an empty sheet"
        )
    header = [fold(cell_text(cell)).replace(" ", "_") for cell in rows[header_index]]
    absent = [name for name in _NEWAVE_REQUIRED if name not in header]
    if absent or ("LOAD" not in header and "LOAD_SMMGD" not in header):
        need = absent + ([] if "LOAD" in header or "LOAD_SMMGD" in header else ["LOAD_sMMGD"])
        raise mismatch(
            f"{label} row {header_index + 1}",
            f"header labels {need}",
            f"{[h for h in header if h][:20]}",
        )
    if "LOAD" in header and "LOAD_SMMGD" in header:
        raise mismatch(f"{label} row {header_index + 1}", "either LOAD or LOAD_sMMGD", "both")
    positions: dict[str, int] = {}
    extra: list[tuple[int, str]] = []
    for column, name in enumerate(header):
        if not name:
            continue
        if name in positions:
            raise mismatch(f"{label} row {header_index + 1}", f"one {name} column", "two")
        positions[name] = column
        if name not in _NEWAVE_KNOWN:
            extra.append((column, cell_text(rows[header_index][column])))
    body = _data_rows(rows, header_index + 1, label)
    for index, row in body:
        for column, cell in enumerate(row):
            if not _blank(cell) and (column >= len(header) or not header[column]):
                raise mismatch(
                    f"{label} row {index + 1} column {column + 1}",
                    "no value under an empty header cell",
                    cell,
                )
    numeric = {name: out for name, out in _NEWAVE_NUMBERS.items() if name in positions}
    data: dict[str, list[object]] = {
        "mes": [],
        "subsistema": [],
        "patamar": [],
        "tipo_ons": [],
        "semana": [],
        "revisao": [],
        **{out: [] for out in numeric.values()},
    }
    seen: set[tuple[dt.date, str, str]] = set()
    for index, row in body:
        where = f"{label} row {index + 1}"
        mes = cell_date(_cell(row, positions["DATE"]), where, "DATE")
        source_text = fold(cell_text(_cell(row, positions["SOURCE"])))
        if source_text not in _SUBSISTEMAS_NEWAVE:
            raise mismatch(where, f"SOURCE one of {sorted(_SUBSISTEMAS_NEWAVE)}", source_text)
        tipo = fold(cell_text(_cell(row, positions["TYPE"])))
        if tipo not in _TIPOS_NEWAVE:
            raise mismatch(where, f"TYPE one of {sorted(_TIPOS_NEWAVE)}", tipo)
        key = (mes, source_text, tipo)
        if key in seen:
            raise mismatch(where, "one row per DATE, SOURCE and TYPE", f"a repeated {key}")
        seen.add(key)
        data["mes"].append(mes)
        data["subsistema"].append(_SUBSISTEMAS_NEWAVE[source_text])
        data["patamar"].append(_TIPOS_NEWAVE[tipo])
        data["tipo_ons"].append(tipo)
        week = cell_text(_cell(row, positions["WEEK"])) if "WEEK" in positions else ""
        data["semana"].append(week or None)
        data["revisao"].append(cell_date(_cell(row, positions["REVISION"]), where, "REVISION"))
        for name, out in numeric.items():
            value = cell_float(_cell(row, positions[name]), where, name, decimal="point")
            if value is None and name in ("LOAD", "LOAD_SMMGD", "GAUGE"):
                raise mismatch(where, f"a number in {name}", "an empty cell")
            data[out].append(value)
    arrays: dict[str, pa.Array[Any]] = {
        "mes": pa.array(data["mes"], pa.date32()),
        "subsistema": pa.array(data["subsistema"], pa.string()),
        "patamar": pa.array(data["patamar"], pa.string()),
        "tipo_ons": pa.array(data["tipo_ons"], pa.string()),
        "semana": pa.array(data["semana"], pa.string()),
        "revisao": pa.array(data["revisao"], pa.date32()),
    }
    for out in numeric.values():
        arrays[out] = pa.array(data[out], pa.float64())
    if extra:
        names = column_names([text for _, text in extra])
        for (column, _), name in zip(extra, names, strict=True):
            if name in arrays:
                name = f"{name}_extra"
            arrays[name] = _extra_column([_cell(row, column) for _, row in body])
    return pa.table(arrays)


def _extra_column(cells: list[Cell]) -> pa.Array[Any]:
    """A column ONS added: numbers when every cell is a number (or empty), text otherwise."""
    if all(_blank(cell) or isinstance(cell, int | float) for cell in cells):
        return pa.array([None if _blank(c) else float(c) for c in cells], pa.float64())  # type: ignore[arg-type]
    return pa.array([cell_text(cell) or None for cell in cells], pa.string())


# --------------------------------------------------------------------------- DECOMP DP (228)

_SUBSISTEMAS_DECOMP = {1: "SE", 2: "S", 3: "NE", 4: "N", 11: "FC"}
_PATAMARES_3 = ("PESADA", "MEDIA", "LEVE")
_FICTICIO = 11
_FIELD = 10
_FIRST_VALUE = 19


def _int_field(line: str, start: int, end: int, where: str, what: str) -> int:
    text = line[start:end].strip()
    if not text.isdigit():
        raise mismatch(
            where, f"an integer for {what} in columns {start + 1}-{end}", repr(line[start:end])
        )
    return int(text)


def _float_field(line: str, start: int, where: str, what: str) -> float | None:
    text = line[start : start + _FIELD].strip()
    if not text:
        return None
    return cell_float(
        text, where, f"{what} (columns {start + 1}-{start + _FIELD})", decimal="point"
    )


@text_layout("decomp_dp")
def read_decomp_dp(source: LayoutSource) -> pa.Table:
    """DECOMP ``DP`` records: load (MWmed) and hours per stage, subsystem and patamar."""
    raw = source.read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    label = source.label
    records: list[tuple[int, int, int, list[float | None], list[float]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if not line or line.startswith("&"):
            continue
        where = f"{label} line {number}"
        if not line.startswith("DP"):
            raise mismatch(where, "a DP record or an & comment", line[:40])
        for start, end in ((2, 4), (6, 9), (11, 14), (15, _FIRST_VALUE)):
            if line[start:end].strip():
                raise mismatch(
                    where,
                    f"blanks in columns {start + 1}-{end} (DP register layout)",
                    repr(line[start:end]),
                )
        estagio = _int_field(line, 4, 6, where, "the stage")
        codigo = _int_field(line, 9, 11, where, "the subsystem")
        patamares = _int_field(line, 14, 15, where, "the number of patamares")
        if not 1 <= patamares <= 5:
            raise mismatch(where, "1 to 5 patamares", patamares)
        end = _FIRST_VALUE + 2 * _FIELD * patamares
        if line[end:].strip():
            raise mismatch(where, f"nothing after column {end}", line[end:].strip())
        slices = [line[s : s + _FIELD].strip() for s in range(_FIRST_VALUE, end, _FIELD)]
        tokens = line[_FIRST_VALUE:].split()
        if tokens != [piece for piece in slices if piece]:
            raise mismatch(
                where,
                f"numbers within the 10-character fields from column {_FIRST_VALUE + 1}",
                line[_FIRST_VALUE:].strip(),
            )
        cargas: list[float | None] = []
        horas: list[float] = []
        for k in range(patamares):
            start = _FIRST_VALUE + 2 * _FIELD * k
            carga = _float_field(line, start, where, f"the load of patamar {k + 1}")
            hora = _float_field(line, start + _FIELD, where, f"the hours of patamar {k + 1}")
            if hora is None:
                raise mismatch(where, f"the hours of patamar {k + 1}", "an empty field")
            if carga is None and codigo != _FICTICIO:
                raise mismatch(
                    where, f"the load of patamar {k + 1} (subsystem {codigo})", "an empty field"
                )
            cargas.append(carga)
            horas.append(hora)
        records.append((estagio, codigo, patamares, cargas, horas))
    _check_stages(records, label)
    columns: dict[str, list[object]] = {
        "estagio": [],
        "codigo_subsistema": [],
        "subsistema": [],
        "numero_patamar": [],
        "patamar": [],
        "carga_mwmed": [],
        "horas": [],
    }
    for estagio, codigo, patamares, cargas, horas in records:
        for k in range(patamares):
            columns["estagio"].append(estagio)
            columns["codigo_subsistema"].append(codigo)
            columns["subsistema"].append(_SUBSISTEMAS_DECOMP.get(codigo, str(codigo)))
            columns["numero_patamar"].append(k + 1)
            columns["patamar"].append(_PATAMARES_3[k] if patamares == 3 else str(k + 1))
            columns["carga_mwmed"].append(cargas[k])
            columns["horas"].append(horas[k])
    return pa.table(
        {
            "estagio": pa.array(columns["estagio"], pa.int64()),
            "codigo_subsistema": pa.array(columns["codigo_subsistema"], pa.int64()),
            "subsistema": pa.array(columns["subsistema"], pa.string()),
            "numero_patamar": pa.array(columns["numero_patamar"], pa.int64()),
            "patamar": pa.array(columns["patamar"], pa.string()),
            "carga_mwmed": pa.array(columns["carga_mwmed"], pa.float64()),
            "horas": pa.array(columns["horas"], pa.float64()),
        }
    )


def _check_stages(
    records: list[tuple[int, int, int, list[float | None], list[float]]], label: str
) -> None:
    """Stages 1..n, the same subsystems and the same patamar hours in every record of a stage."""
    if not records:
        raise mismatch(label, "DP records", "none")
    stages: dict[int, list[tuple[int, int, list[float]]]] = {}
    for estagio, codigo, patamares, _, horas in records:
        stages.setdefault(estagio, []).append((codigo, patamares, horas))
    numbers = sorted(stages)
    if numbers != list(range(1, len(numbers) + 1)):
        raise mismatch(label, "stages numbered 1, 2, 3… without gaps", numbers)
    first_codes = sorted(codigo for codigo, _, _ in stages[numbers[0]])
    for estagio in numbers:
        entries = stages[estagio]
        codes = [codigo for codigo, _, _ in entries]
        if len(set(codes)) != len(codes):
            raise mismatch(label, f"one DP record per subsystem in stage {estagio}", sorted(codes))
        if sorted(codes) != first_codes:
            raise mismatch(label, f"subsystems {first_codes} in stage {estagio}", sorted(codes))
        shapes = {(patamares, tuple(horas)) for _, patamares, horas in entries}
        if len(shapes) != 1:
            raise mismatch(
                label,
                f"the same patamar hours for every subsystem of stage {estagio}",
                sorted(shapes),
            )


# --------------------------------------------------------------------------- DECOMP summary

_RESUMO_HEADER = "SUBSISTEMAS/SISTEMAS"
_RESUMO_ROWS = {
    "SUBSISTEMA SUDESTE/C.OESTE": "SE",
    "SUBSISTEMA SUL": "S",
    "SUBSISTEMA NORDESTE": "NE",
    "SUBSISTEMA NORTE": "N",
    "SISTEMA INTERLIGADO NACIONAL": "SIN",
}
_SEMANA = re.compile(r"(\d+)\s*A?\s*SEMANA")


@sheet_layout("decomp_carga_resumo")
def read_decomp_carga_resumo(source: LayoutSource) -> pa.Table:
    """The weekly/monthly load summary (MWmed per subsystem and operative week)."""
    rows = source.rows or []
    label = source.label
    found = [
        (r, c)
        for r, row in enumerate(rows)
        for c, cell in enumerate(row)
        if fold(cell_text(cell)) == _RESUMO_HEADER
    ]
    if len(found) != 1:
        raise mismatch(label, f"one header cell {'Subsistemas/Sistemas'!r}", f"{len(found)} cells")
    header_row, label_col = found[0]
    periods: list[tuple[int, str, int | None]] = []
    for column in range(label_col + 1, len(rows[header_row])):
        text = fold(cell_text(rows[header_row][column]))
        if not text:
            continue
        week = _SEMANA.fullmatch(text)
        if week:
            periods.append((column, f"semana_{int(week.group(1))}", int(week.group(1))))
        elif text == "MENSAL":
            periods.append((column, "mensal", None))
        else:
            raise mismatch(
                f"{label} row {header_row + 1} column {column + 1}",
                "'nª Semana' or 'Mensal'",
                cell_text(rows[header_row][column]),
            )
    if not any(p[2] is not None for p in periods) or not any(p[2] is None for p in periods):
        raise mismatch(
            f"{label} row {header_row + 1}",
            "week columns ('1ª Semana'…) and 'Mensal'",
            [p[1] for p in periods],
        )
    values: dict[str, dict[str, float | None]] = {}
    for r in range(header_row + 1, len(rows)):
        name = fold(cell_text(_cell(rows[r], label_col)))
        if name not in _RESUMO_ROWS:
            continue
        code = _RESUMO_ROWS[name]
        if code in values:
            raise mismatch(f"{label} row {r + 1}", f"one row {name!r}", "two")
        where = f"{label} row {r + 1}"
        values[code] = {
            periodo: cell_float(_cell(rows[r], column), where, periodo, decimal="any")
            for column, periodo, _ in periods
        }
    absent = [name for name, code in _RESUMO_ROWS.items() if code not in values]
    if absent:
        raise mismatch(label, f"rows {absent}", f"rows for {sorted(values)}")
    out: dict[str, list[object]] = {
        "subsistema": [],
        "periodo": [],
        "semana": [],
        "carga_mwmed": [],
    }
    for column, periodo, semana in periods:
        column_values = [values[code][periodo] for code in _RESUMO_ROWS.values()]
        if all(v is None for v in column_values):
            continue  # a week the month does not have ("6ª Semana" left empty)
        if any(v is None for v in column_values):
            raise mismatch(
                f"{label} column {column + 1}",
                f"a load for every subsystem in {periodo}",
                "empty cells",
            )
        for code in _RESUMO_ROWS.values():
            out["subsistema"].append(code)
            out["periodo"].append(periodo)
            out["semana"].append(semana)
            out["carga_mwmed"].append(values[code][periodo])
    return pa.table(
        {
            "subsistema": pa.array(out["subsistema"], pa.string()),
            "periodo": pa.array(out["periodo"], pa.string()),
            "semana": pa.array(out["semana"], pa.int64()),
            "carga_mwmed": pa.array(out["carga_mwmed"], pa.float64()),
        }
    )
