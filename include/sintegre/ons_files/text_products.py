"""Text products shaped like the ONS ones, each with its real-world hazards.

Realistic ONS-shaped files generated for the tests, the simulator's sample products
(:mod:`sintegre.simulator.samples`) and ``make demo``; no Airflow here.

One ``make_<product>(path, period) -> Path`` per catalogued text product (SINTEGRE-FACTS.md
§3): whitespace-aligned TXT without a header (487), ZIPs of fixed-width ``.dat`` model
forecasts (551/549/550), ZIPs of headerless ``|`` files per basin (238), ZIPs of latin-1
``;`` CSVs with decimal commas and ``.`` thousands, one per subsystem (275/479), and a
WEOL-SM deck with CSVs in nested folders (785). ``path`` is the file to write (callers
name it, usually with :func:`ons_file_name`); the function returns it.

Hazards reproduced: cp1252 text ("Observação", "Usina Eólica"), decimal comma with ``.``
thousands (``38.456,78``), no header, basin names with a space, fixed-width fields that
touch (``00003-10.25``), codes with leading zeros (``006``, ``01``), CRLF line ends,
members in nested folders, the varying part of a member name (subsystem, basin).

Values come from the formulas in each docstring, so tests write expected values by hand.
Files are byte-for-byte deterministic (ZIP entry times pinned by
:func:`sintegre.fixtures.make_zip`). :func:`make_big_ons_csv` writes an ONS-shaped CSV of
any size quickly, for streaming tests and benchmarks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sintegre.fixtures import make_zip

__all__ = [
    "BIG_CSV_HEADER",
    "DESSEM_BASE_CENTS",
    "DESSEM_SUBSYSTEMS",
    "FORECAST_BASINS",
    "PDP_BASINS",
    "PSAT_BASINS",
    "WEOL_PARKS",
    "make_big_ons_csv",
    "make_dessem_blocos",
    "make_ecmwf",
    "make_eta",
    "make_gefs",
    "make_pdp_models",
    "make_prevcarga_dessem",
    "make_psat",
    "make_weol_deck",
    "ons_file_name",
]

PSAT_BASINS = [
    "Grande",
    "Paranaiba",
    "Sao Francisco",
    "Alto Tiete",
    "Iguacu",
    "Tocantins",
    "Uruguai",
]
"""Basins of :func:`make_psat`, in file order ("Sao Francisco" and "Alto Tiete" hold a space)."""

FORECAST_BASINS = 12
"""Basins (codes ``00001``..``00012``) of the ECMWF/ETA/GEFS ``.dat`` files."""

PDP_BASINS = {"GRANDE": (1, 6), "PARANAIBA": (24, 156), "IGUACU": (74,), "URUGUAI": (215, 217)}
"""Basin member name → gauge codes in its file (written with 3 digits: ``006``)."""

DESSEM_SUBSYSTEMS = {"SE": "01", "S": "02", "NE": "03", "N": "04"}
"""Subsystem in the member name → code in the ``Código`` column (leading zero)."""
DESSEM_BASE_CENTS = {"SE": 3_845_678, "S": 1_234_567, "NE": 1_102_345, "N": 612_390}
"""Base load of each subsystem in hundredths of MWmed."""
_DESSEM_NOTES = ["Previsão revisada às 10h", "", "Feriado de São José"]

WEOL_PARKS = [
    ("EOL00012", "Usina Eólica Ventos do Sul", "S", 150.5),
    ("EOL00345", "Usina Eólica Caetité", "NE", 1.234),
    ("EOL01000", "Usina Eólica São João", "NE", 90.0),
]
"""``(code, name, subsystem, installed MW)`` of the WEOL-SM deck's cadastre."""

BIG_CSV_HEADER = (
    "Data;Código do Posto;Nome do Reservatório;Vazão Afluente (m³/s);Volume Útil (%);Observação"
)
"""Header of :func:`make_big_ons_csv` (written in cp1252)."""

_MODEL_DAYS = {"ECMWF": 14, "ETA": 10, "GEFS": 14}
_MODEL_NAMES = {"ECMWF": "ECMWF_precipitacao14d", "ETA": "ETA40_precipitacao10d"}
_MODEL_NAMES["GEFS"] = "GEFS_precipitacao14d"


def ons_file_name(product_id: int, period: dt.date) -> str:
    """The name ONS gives a text product's file for a period.

    Args:
        product_id: 487, 551, 549, 550, 238, 275, 479 or 785.
        period: The product's date.

    Returns:
        The file name, e.g. ``psat_07092025.txt`` or ``Blocos_2025-09-07.zip``.
    """
    names = {
        487: f"psat_{period:%d%m%Y}.txt",
        551: f"{_MODEL_NAMES['ECMWF']}_{period:%Y%m%d}.zip",
        549: f"{_MODEL_NAMES['ETA']}_{period:%Y%m%d}.zip",
        550: f"{_MODEL_NAMES['GEFS']}_{period:%Y%m%d}.zip",
        238: f"Modelos_Chuva_Vazao_{period:%Y%m%d}.zip",
        275: f"Blocos_{period:%Y-%m-%d}.zip",
        479: f"PrevCargaDESSEM_{period:%Y-%m-%d}.zip",
        785: f"Deck_PrevMes_{period:%Y%m%d}.zip",
    }
    return names[product_id]


def make_psat(path: Path, period: dt.date) -> Path:
    """Write ``psat_ddmmyyyy.txt`` (487): whitespace-aligned, no header, LF line ends.

    One line per basin ``i`` (0..6) of :data:`PSAT_BASINS`: the name left-aligned in 16
    characters, then latitude, longitude (``%9.2f``) and millimetres (``%8.1f``)::

        lat = -(500 + 250 * i) / 100          # -5.00, -7.50, ... -20.00
        lon = -(3800 + 175 * i) / 100         # -38.00, -39.75, ... -48.50
        mm  = ((period.day * 7 + i * 13) % 400) / 10

    Args:
        path: The file to write.
        period: The day observed.

    Returns:
        ``path``.
    """
    lines = []
    for i, basin in enumerate(PSAT_BASINS):
        lat = -(500 + 250 * i) / 100
        lon = -(3800 + 175 * i) / 100
        rain = ((period.day * 7 + i * 13) % 400) / 10
        lines.append(f"{basin:<16}{lat:>9.2f}{lon:>9.2f}{rain:>8.1f}")
    return _write(path, ("\n".join(lines) + "\n").encode("ascii"))


def _model_dat(model: str, period: dt.date) -> bytes:
    days = _MODEL_DAYS[model]
    offset = {"ECMWF": 0, "ETA": 5, "GEFS": 9}[model]
    lines = []
    for i in range(FORECAST_BASINS):
        lat = -(325 + 75 * i) / 100
        lon = -(3550 + 125 * i) / 100
        values = "".join(
            f"{((i * 31 + k * 17 + period.day + offset) % 600) / 10:6.1f}" for k in range(days)
        )
        lines.append(f"{i + 1:05d}{lat:6.2f}{lon:7.2f}{values}")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _make_model(model: str, path: Path, period: dt.date) -> Path:
    member = f"{_MODEL_NAMES[model]}_{period:%Y%m%d}.dat"
    return make_zip(path, {member: _model_dat(model, period)})


def make_ecmwf(path: Path, period: dt.date) -> Path:
    """Write ``ECMWF_precipitacao14d_yyyymmdd.zip`` (551): one fixed-width ``.dat``.

    The member ``ECMWF_precipitacao14d_yyyymmdd.dat`` (CRLF) has one line per basin ``i``
    (0..11), no header, fields at fixed positions::

        [0:5)    basin code  f"{i + 1:05d}"         (leading zeros: 00001)
        [5:11)   latitude    -(325 + 75 * i) / 100   "%6.2f"
        [11:18)  longitude   -(3550 + 125 * i) / 100 "%7.2f"
        [18 + 6k : 24 + 6k)  precipitation of forecast day k (0..13), "%6.1f":
                 ((i * 31 + k * 17 + period.day + offset) % 600) / 10,  offset 0

    From basin 9 on (code ``00010``, latitude ``-10.00``) the latitude fills its 6
    characters and touches the code (``00010-10.00``): only positions split this file.

    Args:
        path: The file to write.
        period: The forecast's issue date.

    Returns:
        ``path``.
    """
    return _make_model("ECMWF", path, period)


def make_eta(path: Path, period: dt.date) -> Path:
    """Write ``ETA40_precipitacao10d_yyyymmdd.zip`` (549): as :func:`make_ecmwf`, 10 days.

    Same layout and formulas with ``offset = 5`` and forecast days k = 0..9.

    Args:
        path: The file to write.
        period: The forecast's issue date.

    Returns:
        ``path``.
    """
    return _make_model("ETA", path, period)


def make_gefs(path: Path, period: dt.date) -> Path:
    """Write ``GEFS_precipitacao14d_yyyymmdd.zip`` (550): as :func:`make_ecmwf`, offset 9.

    Args:
        path: The file to write.
        period: The forecast's issue date.

    Returns:
        ``path``.
    """
    return _make_model("GEFS", path, period)


def make_pdp_models(path: Path, period: dt.date) -> Path:
    """Write ``Modelos_Chuva_Vazao_yyyymmdd.zip`` (238): one ``|`` file per basin, no header.

    Members ``Modelos_Chuva_Vazao_yyyymmdd/<BASIN>.txt`` for the basins of
    :data:`PDP_BASINS` (latin-1, CRLF). Every gauge ``p`` of the basin has 7 lines, day
    ``d`` = 0..6::

        f"{p:03d}|{period + d days:%d/%m/%Y}|{(10000 + 37 * p + 11 * d) / 10:.1f}"

    Args:
        path: The file to write.
        period: The run date (first forecast day).

    Returns:
        ``path``.
    """
    folder = f"Modelos_Chuva_Vazao_{period:%Y%m%d}"
    members: dict[str, bytes | Path] = {}
    for basin, gauges in PDP_BASINS.items():
        lines = [
            f"{p:03d}|{period + dt.timedelta(days=d):%d/%m/%Y}|{(10000 + 37 * p + 11 * d) / 10:.1f}"
            for p in gauges
            for d in range(7)
        ]
        members[f"{folder}/{basin}.txt"] = ("\r\n".join(lines) + "\r\n").encode("latin-1")
    return make_zip(path, members)


def _format_cents(cents: int) -> str:
    units, hundredths = divmod(cents, 100)
    return f"{units:,}".replace(",", ".") + f",{hundredths:02d}"


def _dessem_csv(subsystem: str, period: dt.date) -> bytes:
    lines = ["Data;Hora;Código;Carga (MWmed);Observação"]
    for k in range(48):
        cents = DESSEM_BASE_CENTS[subsystem] + (k * 7919) % 250_000 - 125_000
        hour = f"{k // 2:02d}:{30 * (k % 2):02d}"
        note = _DESSEM_NOTES[k % 3]
        code = DESSEM_SUBSYSTEMS[subsystem]
        lines.append(f"{period:%d/%m/%Y};{hour};{code};{_format_cents(cents)};{note}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def make_dessem_blocos(path: Path, period: dt.date) -> Path:
    """Write ``Blocos_yyyy-mm-dd.zip`` (275): one latin-1 ``;`` CSV per subsystem.

    Members ``Blocos_yyyy-mm-dd/CargaDESSEM_<SUB>.csv`` for SE, S, NE, N (cp1252, CRLF),
    header ``Data;Hora;Código;Carga (MWmed);Observação`` and 48 half-hour rows ``k``::

        Data         period as dd/mm/yyyy
        Hora         f"{k // 2:02d}:{30 * (k % 2):02d}"        (00:00, 00:30 ... 23:30)
        Código       DESSEM_SUBSYSTEMS[sub]                   ("01" SE ... "04" N)
        Carga        cents = DESSEM_BASE_CENTS[sub] + (k * 7919) % 250000 - 125000,
                     written "37.206,78" (cents / 100, '.' thousands, ',' decimals)
        Observação   ["Previsão revisada às 10h", "", "Feriado de São José"][k % 3]

    Args:
        path: The file to write.
        period: The study day.

    Returns:
        ``path``.
    """
    folder = f"Blocos_{period:%Y-%m-%d}"
    return make_zip(
        path,
        {f"{folder}/CargaDESSEM_{sub}.csv": _dessem_csv(sub, period) for sub in DESSEM_SUBSYSTEMS},
    )


def make_prevcarga_dessem(path: Path, period: dt.date) -> Path:
    """Write ``PrevCargaDESSEM_yyyy-mm-dd.zip`` (479): as :func:`make_dessem_blocos`.

    Same CSVs, at the root of the archive (``CargaDESSEM_<SUB>.csv``).

    Args:
        path: The file to write.
        period: The study day.

    Returns:
        ``path``.
    """
    return make_zip(
        path, {f"CargaDESSEM_{sub}.csv": _dessem_csv(sub, period) for sub in DESSEM_SUBSYSTEMS}
    )


def make_weol_deck(path: Path, period: dt.date) -> Path:
    """Write ``Deck_PrevMes_yyyymmdd.zip`` (785): latin-1 ``;`` CSVs in nested folders.

    ``Deck_PrevMes_yyyymmdd/Entrada/Cadastro/cadastro_parques.csv``: header
    ``Código ONS;Nome do Parque;Submercado;Potência Instalada (MW)``, one row per park of
    :data:`WEOL_PARKS`, power written with a decimal comma (``150,5``; ``1,234`` is
    1.234 MW, not 1234).

    ``Deck_PrevMes_yyyymmdd/Saida/<SUB>/previsao_<SUB>.csv`` for SUB in S, NE: header
    ``Semana;Início;Fim;Geração Prevista (MWmed)``, 4 rows, week ``w`` = 1..4::

        Início   period + 7 * (w - 1) days,  Fim = Início + 6 days  (dd/mm/yyyy)
        Geração  cents = (1_000_000 if SUB == "NE" else 250_000) + 12_345 * w,
                 written "10.123,45"

    Args:
        path: The file to write.
        period: The deck's date.

    Returns:
        ``path``.
    """
    root = f"Deck_PrevMes_{period:%Y%m%d}"
    cadastro = ["Código ONS;Nome do Parque;Submercado;Potência Instalada (MW)"]
    cadastro += [
        f"{code};{name};{sub};{str(power).replace('.', ',')}"
        for code, name, sub, power in WEOL_PARKS
    ]
    members: dict[str, bytes | Path] = {
        f"{root}/Entrada/Cadastro/cadastro_parques.csv": _crlf(cadastro),
    }
    for sub in ("S", "NE"):
        lines = ["Semana;Início;Fim;Geração Prevista (MWmed)"]
        for week in range(1, 5):
            start = period + dt.timedelta(days=7 * (week - 1))
            cents = (1_000_000 if sub == "NE" else 250_000) + 12_345 * week
            end = start + dt.timedelta(days=6)
            lines.append(f"{week};{start:%d/%m/%Y};{end:%d/%m/%Y};{_format_cents(cents)}")
        members[f"{root}/Saida/{sub}/previsao_{sub}.csv"] = _crlf(lines)
    return make_zip(path, members)


def _crlf(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


_BIG_NAMES = [
    "Furnas",
    "Três Marias",
    "Sobradinho",
    "Itumbiara",
    "São Simão",
    "Tucuruí",
    "Serra da Mesa",
]
_BIG_NOTES = ["", "Dado consistido", "Observação: régua danificada", ""]
_BIG_BLOCK_ROWS = 20_000


def _big_rows(variant: int) -> list[bytes]:
    rows = []
    for r in range(_BIG_BLOCK_ROWS):
        n = r + variant * _BIG_BLOCK_ROWS
        code = f"{(n * 37) % 100_000:06d}"
        flow = _format_cents((n * 7919) % 5_000_000 + 1)
        volume = f"{(n * 13) % 10_000 // 100},{(n * 13) % 100:02d}"
        rows.append(
            f";{code};{_BIG_NAMES[n % 7]};{flow};{volume};{_BIG_NOTES[n % 4]}".encode("cp1252")
        )
    return rows


def make_big_ons_csv(path: Path, target_bytes: int) -> Path:
    """Write an ONS-shaped CSV of about ``target_bytes`` bytes, fast.

    cp1252, ``;``, CRLF, header :data:`BIG_CSV_HEADER`. Rows come in blocks of 20 000,
    one day per block (block ``b`` is dated 01/01/2000 + b days, ``dd/mm/yyyy``); row
    ``n`` (0..19 999) of a block uses variant ``v = b % 3`` and ``m = n + 20000 * v``::

        Código do Posto        f"{(m * 37) % 100000:06d}"          (leading zeros)
        Nome do Reservatório   ["Furnas", "Três Marias", ...][m % 7]  (accents)
        Vazão Afluente         ((m * 7919) % 5_000_000 + 1) / 100 as "12.345,67"
        Volume Útil            ((m * 13) % 10000) / 100 as "56,78"
        Observação             ["", "Dado consistido", "Observação: régua danificada", ""][m % 4]

    A block is one ``bytes.join`` of prebuilt rows, so a gigabyte takes seconds.

    Args:
        path: The file to write.
        target_bytes: Approximate size; the file stops after the block that reaches it.

    Returns:
        ``path``.
    """
    variants = [_big_rows(v) for v in range(3)]
    path.parent.mkdir(parents=True, exist_ok=True)
    start = dt.date(2000, 1, 1)
    with path.open("wb") as handle:
        written = handle.write(BIG_CSV_HEADER.encode("cp1252") + b"\r\n")
        block = 0
        while written < target_bytes:
            day = f"{start + dt.timedelta(days=block):%d/%m/%Y}".encode("ascii")
            rows = variants[block % 3]
            # Each prebuilt row starts with ";": the day goes in front of every row.
            data = day + (b"\r\n" + day).join(rows) + b"\r\n"
            if written + len(data) > target_bytes and block:
                # Last block: only as many rows as still fit.
                need = max(1, (target_bytes - written) * len(rows) // len(data))
                data = day + (b"\r\n" + day).join(rows[:need]) + b"\r\n"
            written += handle.write(data)
            block += 1
    return path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
