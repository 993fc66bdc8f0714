"""Rain: satellite (PSAT, 487), model forecasts (ECMWF 551, ETA 549, GEFS 550), PDP inputs (238).

Every layout here is whitespace- or ``|``-separated text without a header, so a reader checks
each line's field count, that numbers are numbers and codes are codes, and that the dates in
the member name are dates. Evidence (real files and long-lived parsers):

- **psat_ddmmyyyy.txt (487)**: 236 real files in josepaulo1233/acomph ``psat/`` (2022-2023):
  ASCII, LF, no header, 116 lines ``PSATAGV    -19.89  -50.35   2.83`` (code, latitude,
  longitude, mm with two decimals). Older files write the rain one character narrower (lines
  of 31 instead of 32 characters), so the fields are split on whitespace, never sliced.
- **<MODEL>_m_ddmmyy.dat (551/549/550)**: script-mirror/tasks-webhook-ons
  ``app/tasks/precipitacao_prevista.py`` reads the ``_m_`` member of
  ``ECMWF_precipitacao14d_yyyymmdd.zip`` whitespace-separated: PSAT code, latitude,
  longitude, then forecast column ``x`` (0-based) is the run date (``%d%m%y`` from the member
  name) plus ``x + 1`` days. A public rewriter of the same file (write format
  ``{code:<9} {:7.2f} {:7.2f}`` then `` {:6.2f}`` per day) confirms the shape. No real
  ``_m_`` file was found in public repositories: the latitude/longitude order stays
  unconfirmed, the catalog's plausible ranges flag a swap.
- **<MODEL>_pddmmyyaddmmyy.dat (grids)**: ten real ``ETA40_p011221a0N1221.dat`` files in
  viniciusdm/hurricane-challenge ``forecast_files/``: LF, 11,413 lines ``-75.00 -35.00   0.0``
  (longitude, latitude, mm) on a 0.4° grid; the second date in the name is the valid day.
- **PDP ARQ_ENTRADA (238)**: ONS's own SMAP package ONSBR/smapOnsR, ``inst/extdata/
  Arq_Entrada.zip`` (a real ARQ_ENTRADA folder, CRLF) and its readers ``R/leitura_antiga.R``
  (``le_entrada_vazao``: six ``|`` fields, date in field 5; ``le_entrada_precipitacao``:
  four whitespace fields, ``dd/mm/yyyy`` in field 2). Observed flow lines
  ``61998080|COO|DI|VVV|2019-10-01 00:00:00|000368.79``; rain lines
  ``0PSATAMY 02/10/2019 1200 000011.83``. tasks-webhook-ons ``arquivos_modelo_pdp.py`` reads
  the same plant files from the SINtegre zip.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

import pyarrow as pa

from sintegre.readers.layouts import LayoutSource, cell_float, mismatch, text_layout

__all__ = [
    "read_forecast_grid",
    "read_forecast_subbasin",
    "read_pdp_observed_flow",
    "read_pdp_observed_rain",
    "read_psat",
]

_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*|0[A-Za-z][A-Za-z0-9]*")
_MEMBER_IN_LABEL = re.compile(r'member "([^"]+)"\s*$')
_PSAT_NAME = re.compile(r"psat_(\d{2})(\d{2})(\d{4})", re.IGNORECASE)
_SUBBASIN_NAME = re.compile(r"(?P<model>[A-Za-z0-9]+)_m_(?P<run>\d{6})\.dat$", re.IGNORECASE)
_GRID_NAME = re.compile(
    r"(?P<model>[A-Za-z0-9]+)_p(?P<run>\d{6})a(?P<valid>\d{6})\.dat$", re.IGNORECASE
)
_MAX_FORECAST_DAYS = 60


# --------------------------------------------------------------------------- helpers


def _member_name(source: LayoutSource) -> str:
    """The member's (or file's) own name: the catalog path, else the one in the label."""
    if source.member:
        return PurePosixPath(source.member).name
    found = _MEMBER_IN_LABEL.search(source.label)
    if found:
        return PurePosixPath(found.group(1)).name
    return PurePosixPath(source.label.strip().strip('"')).name


def _lines(source: LayoutSource) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (CRLF or LF; UTF-8, else cp1252)."""
    data = source.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _number(text: str, where: str, what: str) -> float:
    value = cell_float(text, where, what, decimal="point")
    if value is None:  # pragma: no cover - non-blank fields only
        raise mismatch(where, f"a number for {what}", text)
    return value


def _ddmmyy(text: str, where: str, what: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%d%m%y").date()
    except ValueError:
        raise mismatch(where, f"a ddmmyy date for {what}", text) from None


def _code(text: str, where: str) -> str:
    if not _CODE.fullmatch(text):
        raise mismatch(where, "a PSAT code (letters and digits, e.g. PSATAGV)", text)
    return text


def _split(line: str, count: int, where: str, layout: str) -> list[str]:
    fields = line.split()
    if len(fields) != count:
        raise mismatch(where, f"{count} whitespace-separated fields ({layout})", line.strip())
    return fields


def _unique(codes: list[str], where: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise mismatch(where, "each PSAT code once", f"{code!r} twice")
        seen.add(code)


# --------------------------------------------------------------------------- 487


@text_layout("psat")
def read_psat(source: LayoutSource) -> pa.Table:
    """``psat_ddmmyyyy.txt``: one line per PSAT sub-basin, ``code lat lon mm``.

    Returns ``data`` (the date in the file name), ``codigo_psat``, ``latitude``,
    ``longitude``, ``precipitacao_mm``.

    Raises:
        LayoutMismatch: No ``psat_ddmmyyyy`` date in the name, a line without exactly four
            fields, a code that is not a code, a number that is not a number, a code twice.
    """
    name = _member_name(source)
    found = _PSAT_NAME.search(name)
    if found is None:
        raise mismatch(source.label, "a file name psat_ddmmyyyy.txt (the day observed)", name)
    try:
        day = dt.date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    except ValueError:
        raise mismatch(source.label, "a valid date in psat_ddmmyyyy", name) from None
    codes: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    rain: list[float] = []
    for number, line in _lines(source):
        where = f"{source.label} line {number}"
        code, lat, lon, mm = _split(line, 4, where, "code, latitude, longitude, mm")
        codes.append(_code(code, where))
        lats.append(_number(lat, where, "the latitude"))
        lons.append(_number(lon, where, "the longitude"))
        rain.append(_number(mm, where, "the rain (mm)"))
    _unique(codes, source.label)
    return pa.table(
        {
            "data": pa.array([day] * len(codes), pa.date32()),
            "codigo_psat": pa.array(codes, pa.string()),
            "latitude": pa.array(lats, pa.float64()),
            "longitude": pa.array(lons, pa.float64()),
            "precipitacao_mm": pa.array(rain, pa.float64()),
        }
    )


# --------------------------------------------------------------------------- 551/549/550


@text_layout("previsao_precipitacao_subbacia")
def read_forecast_subbasin(source: LayoutSource) -> pa.Table:
    """``<MODEL>_m_ddmmyy.dat``: per PSAT code, one rain value per forecast day, made long.

    Line: ``code lat lon v1 … vN`` (N the same on every line, 1..60); ``vk`` is the rain on
    the run date (from the member name) plus ``k`` days. Returns one row per code and day:
    ``modelo``, ``data_rodada``, ``dia``, ``data_prevista``, ``codigo_psat``, ``latitude``,
    ``longitude``, ``precipitacao_mm``.

    Raises:
        LayoutMismatch: The member name has no ``_m_ddmmyy``; a line with a different number
            of days than the first; a code that is not a code; a number that is not one.
    """
    name = _member_name(source)
    found = _SUBBASIN_NAME.search(name)
    if found is None:
        raise mismatch(source.label, "a member named <MODEL>_m_ddmmyy.dat", name)
    run = _ddmmyy(found.group("run"), source.label, "the run date in the member name")
    model = found.group("model")
    days: int | None = None
    columns: dict[str, list[object]] = {
        "dia": [],
        "data_prevista": [],
        "codigo_psat": [],
        "latitude": [],
        "longitude": [],
        "precipitacao_mm": [],
    }
    codes: list[str] = []
    for number, line in _lines(source):
        where = f"{source.label} line {number}"
        fields = line.split()
        if days is None:
            days = len(fields) - 3
            if not 1 <= days <= _MAX_FORECAST_DAYS:
                raise mismatch(
                    where,
                    f"code, latitude, longitude and 1..{_MAX_FORECAST_DAYS} daily values",
                    f"{len(fields)} fields",
                )
        elif len(fields) != days + 3:
            raise mismatch(
                where,
                f"{days + 3} fields like the first line (code, lat, lon, {days} days)",
                f"{len(fields)} fields",
            )
        code = _code(fields[0], where)
        codes.append(code)
        lat = _number(fields[1], where, "the latitude")
        lon = _number(fields[2], where, "the longitude")
        for k in range(1, days + 1):
            columns["dia"].append(k)
            columns["data_prevista"].append(run + dt.timedelta(days=k))
            columns["codigo_psat"].append(code)
            columns["latitude"].append(lat)
            columns["longitude"].append(lon)
            columns["precipitacao_mm"].append(_number(fields[2 + k], where, f"day {k} rain"))
    _unique(codes, source.label)
    rows = len(columns["dia"])
    return pa.table(
        {
            "modelo": pa.array([model] * rows, pa.string()),
            "data_rodada": pa.array([run] * rows, pa.date32()),
            "dia": pa.array(columns["dia"], pa.int64()),
            "data_prevista": pa.array(columns["data_prevista"], pa.date32()),
            "codigo_psat": pa.array(columns["codigo_psat"], pa.string()),
            "latitude": pa.array(columns["latitude"], pa.float64()),
            "longitude": pa.array(columns["longitude"], pa.float64()),
            "precipitacao_mm": pa.array(columns["precipitacao_mm"], pa.float64()),
        }
    )


@text_layout("previsao_precipitacao_grade")
def read_forecast_grid(source: LayoutSource) -> pa.Table:
    """``<MODEL>_pddmmyyaddmmyy.dat``: one forecast day on a grid, ``lon lat mm`` per line.

    Returns ``modelo``, ``data_rodada``, ``data_prevista`` (both from the member name),
    ``longitude``, ``latitude``, ``precipitacao_mm``.

    Raises:
        LayoutMismatch: No ``_pddmmyyaddmmyy`` in the name or the valid day is not after the
            run; a line without exactly three numbers.
    """
    name = _member_name(source)
    found = _GRID_NAME.search(name)
    if found is None:
        raise mismatch(source.label, "a member named <MODEL>_pddmmyyaddmmyy.dat", name)
    run = _ddmmyy(found.group("run"), source.label, "the run date in the member name")
    valid = _ddmmyy(found.group("valid"), source.label, "the valid date in the member name")
    if not run < valid <= run + dt.timedelta(days=_MAX_FORECAST_DAYS):
        raise mismatch(
            source.label,
            f"a valid date 1..{_MAX_FORECAST_DAYS} days after the run date",
            f"run {run:%d/%m/%Y}, valid {valid:%d/%m/%Y}",
        )
    lons: list[float] = []
    lats: list[float] = []
    rain: list[float] = []
    for number, line in _lines(source):
        where = f"{source.label} line {number}"
        lon, lat, mm = _split(line, 3, where, "longitude, latitude, mm")
        lons.append(_number(lon, where, "the longitude"))
        lats.append(_number(lat, where, "the latitude"))
        rain.append(_number(mm, where, "the rain (mm)"))
    rows = len(rain)
    return pa.table(
        {
            "modelo": pa.array([found.group("model")] * rows, pa.string()),
            "data_rodada": pa.array([run] * rows, pa.date32()),
            "data_prevista": pa.array([valid] * rows, pa.date32()),
            "longitude": pa.array(lons, pa.float64()),
            "latitude": pa.array(lats, pa.float64()),
            "precipitacao_mm": pa.array(rain, pa.float64()),
        }
    )


# --------------------------------------------------------------------------- 238


@text_layout("pdp_vazao_observada")
def read_pdp_observed_flow(source: LayoutSource) -> pa.Table:
    """``ARQ_ENTRADA/<PLANT>.txt``: ``gauge|COO|DI|VVV|yyyy-mm-dd HH:MM:SS|flow`` per day.

    Returns ``codigo_posto``, ``tipo_dado``, ``intervalo``, ``tipo_vazao`` (the three code
    fields as written), ``data_hora`` and ``vazao_m3s`` (empty: null).

    Raises:
        LayoutMismatch: A line without six ``|`` fields, a timestamp that is not
            ``yyyy-mm-dd HH:MM:SS``, a flow that is not a number.
    """
    columns: dict[str, list[object]] = {
        "codigo_posto": [],
        "tipo_dado": [],
        "intervalo": [],
        "tipo_vazao": [],
        "data_hora": [],
        "vazao_m3s": [],
    }
    for number, line in _lines(source):
        where = f"{source.label} line {number}"
        fields = [field.strip() for field in line.split("|")]
        if len(fields) != 6:
            raise mismatch(where, "six '|' fields (gauge|COO|DI|VVV|timestamp|flow)", line.strip())
        gauge, kind, interval, flow_kind, stamp, flow = fields
        if not gauge or not gauge.isalnum():
            raise mismatch(where, "a gauge code in field 1", gauge)
        try:
            moment = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise mismatch(where, "a timestamp yyyy-mm-dd HH:MM:SS in field 5", stamp) from None
        columns["codigo_posto"].append(gauge)
        columns["tipo_dado"].append(kind)
        columns["intervalo"].append(interval)
        columns["tipo_vazao"].append(flow_kind)
        columns["data_hora"].append(moment)
        columns["vazao_m3s"].append(
            cell_float(flow, where, "the flow (m³/s)", decimal="point") if flow else None
        )
    return pa.table(
        {
            "codigo_posto": pa.array(columns["codigo_posto"], pa.string()),
            "tipo_dado": pa.array(columns["tipo_dado"], pa.string()),
            "intervalo": pa.array(columns["intervalo"], pa.string()),
            "tipo_vazao": pa.array(columns["tipo_vazao"], pa.string()),
            "data_hora": pa.array(columns["data_hora"], pa.timestamp("us")),
            "vazao_m3s": pa.array(columns["vazao_m3s"], pa.float64()),
        }
    )


@text_layout("pdp_chuva_observada")
def read_pdp_observed_rain(source: LayoutSource) -> pa.Table:
    """``ARQ_ENTRADA/<code>_C.txt``: ``0PSATAMY 02/10/2019 1200 000011.83`` per day.

    Returns ``codigo_psat`` (ONS pads 7-letter codes with a leading ``0`` to 8 characters;
    the pad is removed so the code joins ``psat``), ``data``, ``hora`` (as written, e.g.
    ``1200``) and ``precipitacao_mm``.

    Raises:
        LayoutMismatch: A line without four fields, a date that is not ``dd/mm/yyyy``, an hour
            that is not four digits, a rain value that is not a number.
    """
    codes: list[str] = []
    days: list[dt.date] = []
    hours: list[str] = []
    rain: list[float] = []
    for number, line in _lines(source):
        where = f"{source.label} line {number}"
        code, day, hour, mm = _split(line, 4, where, "code, dd/mm/yyyy, hhmm, mm")
        code = _code(code, where)
        codes.append(code[1:] if code.startswith("0") else code)
        try:
            days.append(dt.datetime.strptime(day, "%d/%m/%Y").date())
        except ValueError:
            raise mismatch(where, "a date dd/mm/yyyy in field 2", day) from None
        if not re.fullmatch(r"\d{4}", hour):
            raise mismatch(where, "an hour hhmm in field 3", hour)
        hours.append(hour)
        rain.append(_number(mm, where, "the rain (mm)"))
    return pa.table(
        {
            "codigo_psat": pa.array(codes, pa.string()),
            "data": pa.array(days, pa.date32()),
            "hora": pa.array(hours, pa.string()),
            "precipitacao_mm": pa.array(rain, pa.float64()),
        }
    )
