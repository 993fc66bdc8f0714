"""Files shaped like ONS's DESSEM load forecasts (275, 479) and WEOL-SM deck (785).

Layouts as the evidence in ``sintegre.readers.layouts.dessem`` describes them (real DESSEM
``DP``/``DE``/``TM`` records; the parsers of scripts-unificados and tasks-webhook-ons).
Values follow the formulas in each docstring so tests can write expected values by hand.
Files are deterministic (ZIP entry times pinned by :func:`sintegre_dev.fixtures.make_zip`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sintegre_dev.fixtures import make_zip

__all__ = [
    "DP_BASE_MW",
    "PREVCARGA_BASE_CENTS",
    "WEOL_BASE_MW",
    "make_blocos",
    "make_prevcarga_dessem",
    "make_weol_deck",
    "patamar_of_hour",
]

DP_BASE_MW = {1: 36000, 2: 12000, 3: 11000, 4: 6000}
"""DP demand base per DESSEM subsystem code (SE, S, NE, N)."""

PREVCARGA_BASE_CENTS = {"SECO": 3600000, "S": 1200000, "NE": 1100000, "N": 600000}
"""PrevCargaDESSEM load base per subsystem, in hundredths of MW."""

WEOL_BASE_MW = {"S": 2000, "NE": 9000, "N": 1000}
"""WEOL forecast base per region, MWmed."""

_CRLF = "\r\n"
# Day 2's patamares: (start hour, duration h, name) as in ONS's TM blocks.
_DAY2_PATAMARES = ((0, 7, "LEVE"), (7, 3, "MEDIA"), (10, 12, "PESADA"), (22, 2, "MEDIA"))


def patamar_of_hour(hour: int) -> str:
    """Day 1's patamar by hour: LEVE 0-6, MEDIA 7-9 and 22-23, PESADA 10-21."""
    if hour < 7:
        return "LEVE"
    if hour < 10 or hour >= 22:
        return "MEDIA"
    return "PESADA"


def _stage(day: int, hour: int, half: int) -> str:
    return f"{day:>2} {hour:>2} {half:>1}"


def _dp_line(code: int, day: int, hour: int, half: int, demand: str) -> str:
    # DP at 0-1, code 4-5, start 8-14, end "F" at 16-17, demand right-aligned in 24-33.
    return f"DP  {code:>2}  {_stage(day, hour, half)}  F      {demand:>10}"


def make_blocos(path: Path, day: dt.date) -> Path:
    """Write ``Blocos_yyyy-mm-dd.zip``: ``DP.txt``, ``DE.txt`` and ``Bloco_TM.txt`` (CRLF).

    With d = ``day.day`` and d2 = the next day's day of month:

    - ``DP.txt``: for subsystem s in 1..4 (base B = 36000, 12000, 11000, 6000 MW), 48
      half-hourly records on day d, half hour k = 0..47 (hour k // 2, flag k % 2), demand
      ``B + 10k``; then 4 records on day d2 at hours 0, 7, 10, 22 (patamares p = 0..3),
      demand ``B + 500(p + 1)``; end ``F``. Finally subsystem 11 (FC) on day d at 0:00
      with ``0.0``. 4 × 52 + 1 = 209 records, ``&`` header lines first.
    - ``DE.txt``: codes c = 1, 2, half hours k = 0..3 of day d: ``1000c + 5k`` MW,
      justification ``ANDE`` (c = 1) or ``CARGA.IPU`` (c = 2). 8 records.
    - ``Bloco_TM.txt``: 4 ``&`` header lines, then 48 half-hour steps of day d (duration
      0.5, network 1, patamar by :func:`patamar_of_hour`) and day d2's 4 patamares
      (0 h 7 LEVE, 7 h 3 MEDIA, 10 h 12 PESADA, 22 h 2 MEDIA, network 0). 52 records.
    """
    d = day.day
    d2 = (day + dt.timedelta(days=1)).day
    dp = ["&", "&   CARGA", "&   ss  di hi m df hf m Demanda", "&X  XX  XX XX X XX XX X XXXXXXXXXX"]
    for code, base in DP_BASE_MW.items():
        for k in range(48):
            dp.append(_dp_line(code, d, k // 2, k % 2, str(base + 10 * k)))
        for p, (hour, _, _) in enumerate(_DAY2_PATAMARES):
            dp.append(_dp_line(code, d2, hour, 0, str(base + 500 * (p + 1))))
    dp.append(_dp_line(11, d, 0, 0, "0.0"))
    de = ["&", "&   nde di hi m df hf m    Demanda Justific"]
    for code, reason in ((1, "ANDE"), (2, "CARGA.IPU")):
        for k in range(4):
            demand = str(1000 * code + 5 * k)
            de.append(f"DE  {code:>3} {_stage(d, k // 2, k % 2)}  F      {demand:>10} {reason}")
    tm = [
        "&   DISCRETIZACAO DO ESTUDO",
        "&",
        "&X  dd   hr   mh   durac    rede Patamar",
        "&   XX   XX   X    XXXXX     X   XXXXXX",
    ]
    for k in range(48):
        hour = k // 2
        tm.append(
            f"TM  {d:>2}   {hour:>2}   {k % 2}    {'0.5':>5}     1   {patamar_of_hour(hour):>6}"
        )
    for hour, hours, name in _DAY2_PATAMARES:
        tm.append(f"TM  {d2:>2}   {hour:>2}   0    {hours:>5}     0   {name:>6}")
    return make_zip(
        path,
        {
            "DP.txt": _crlf(dp),
            "DE.txt": _crlf(de),
            "Bloco_TM.txt": _crlf(tm),
        },
    )


def _crlf(lines: list[str], encoding: str = "latin-1") -> bytes:
    return (_CRLF.join(lines) + _CRLF).encode(encoding)


def _br(cents: int) -> str:
    """``3634075`` → ``36.340,75`` (decimal comma, ``.`` thousands)."""
    units, hundredths = divmod(cents, 100)
    return f"{units:,}".replace(",", ".") + f",{hundredths:02d}"


def make_prevcarga_dessem(path: Path, day: dt.date) -> Path:
    """Write ``PrevCargaDESSEM_yyyy-mm-dd.zip``: one ``;`` CSV per subsystem.

    Members ``PrevCargaDESSEM_<SUB>_yyyy-mm-dd.csv`` for SUB in SECO, S, NE, N (CRLF),
    header ``din_referencia;val_previsaocarga``, 48 rows: half hour k = 0..47 of ``day``
    (``yyyy-mm-dd HH:MM:SS``), load in hundredths of MW ``base[SUB] + 725k`` (base SECO
    3600000, S 1200000, NE 1100000, N 600000), written with a decimal comma and ``.``
    thousands (``36.340,75``).
    """
    start = dt.datetime.combine(day, dt.time())
    members: dict[str, bytes] = {}
    for sub, base in PREVCARGA_BASE_CENTS.items():
        lines = ["din_referencia;val_previsaocarga"]
        for k in range(48):
            stamp = start + dt.timedelta(minutes=30 * k)
            lines.append(f"{stamp:%Y-%m-%d %H:%M:%S};{_br(base + 725 * k)}")
        members[f"PrevCargaDESSEM_{sub}_{day:%Y-%m-%d}.csv"] = _crlf(lines, "utf-8")
    return make_zip(path, members)


def make_weol_deck(path: Path, day: dt.date, weeks: int = 5) -> Path:
    """Write ``Deck_PrevMes_yyyymmdd.zip``: the WEOL-SM deck folders (latin-1, ``;``, CRLF).

    Root ``Deck_PrevMes_<yyyymmdd>/``. The horizon starts on the Saturday after ``day``
    (S0) and has ``weeks`` operative weeks, week w = 1.. from S0 + 7(w - 1) to + 6.

    - ``Arquivos Saida/Previsoes Subsistemas Finais/Total/Prev_<day>_Semanas_<S0>_<end>.csv``:
      header ``Submercado`` then per week ``dd/mm/yyyy;a;dd/mm/yyyy``; row
      ``Patamares;Pesado;Medio;Leve`` (per week); rows S, NE, N with, for week w and patamar
      p = 0 (pesado), 1 (medio), 2 (leve): ``base + 100w + 10p + 0.25`` MWmed (base S 2000,
      NE 9000, N 1000), ``.`` decimal point.
    - ``Arquivos Entrada/Dados Cadastrais/Patamares_<S0>_<end>.csv``: header
      ``Inicio;Patamar;CodPatamar;DiaSemana;DiaTipico;TipoDia;Intervalo;Dia;Semana;Mes``;
      24 rows, hour h of S0: ``yyyy-mm-dd hh:00:00``, patamar Leve (h < 7, code 3),
      Medio (7 <= h < 10 or h >= 22, code 2), Pesado (else, code 1), ``Sábado``, ``Sabado``,
      ``Nao Util``, interval h + 1, day of month, week 1, month.
    - Raw members: ``Arquivos Entrada/Dados Cadastrais/Parques.csv`` and
      ``Arquivos Saida/Previsoes Subsistemas Finais/NE/Prev_NE.csv``.
    """
    first = day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)
    last = first + dt.timedelta(days=7 * weeks - 1)
    root = f"Deck_PrevMes_{day:%Y%m%d}"
    header = ["Submercado"]
    patamares = ["Patamares"]
    for w in range(weeks):
        start = first + dt.timedelta(days=7 * w)
        header += [f"{start:%d/%m/%Y}", "a", f"{start + dt.timedelta(days=6):%d/%m/%Y}"]
        patamares += ["Pesado", "Medio", "Leve"]
    prev = [";".join(header), ";".join(patamares)]
    for region, base in WEOL_BASE_MW.items():
        cells = [region]
        for w in range(1, weeks + 1):
            cells += [f"{base + 100 * w + 10 * p}.25" for p in range(3)]
        prev.append(";".join(cells))
    calendar = ["Inicio;Patamar;CodPatamar;DiaSemana;DiaTipico;TipoDia;Intervalo;Dia;Semana;Mes"]
    for hour in range(24):
        name, code = (
            ("Leve", 3) if hour < 7 else ("Medio", 2) if hour < 10 or hour >= 22 else ("Pesado", 1)
        )
        calendar.append(
            f"{first:%Y-%m-%d} {hour:02d}:00:00;{name};{code};Sábado;Sabado;Nao Util;"
            f"{hour + 1};{first.day};1;{first.month}"
        )
    span = f"{first:%Y%m%d}_{last:%Y%m%d}"
    saida = f"{root}/Arquivos Saida/Previsoes Subsistemas Finais"
    entrada = f"{root}/Arquivos Entrada/Dados Cadastrais"
    return make_zip(
        path,
        {
            f"{saida}/Total/Prev_{day:%Y%m%d}_Semanas_{span}.csv": _crlf(prev),
            f"{saida}/NE/Prev_NE.csv": _crlf(["Parque;Valor", "BA;1.0"]),
            f"{entrada}/Patamares_{span}.csv": _crlf(calendar),
            f"{entrada}/Parques.csv": _crlf(["Codigo;Nome", "EOL001;Parque Eólico Um"]),
        },
    )
