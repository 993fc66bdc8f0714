"""Files shaped like ONS's rain products: PSAT (487), ECMWF/ETA/GEFS (551/549/550), PDP (238).

Each generator reproduces the real layout (see the evidence in
:mod:`sintegre.readers.layouts.precipitation`): no headers, whitespace- or ``|``-separated
fields aligned as ONS aligns them, LF for PSAT and the model members, CRLF for the PDP
``ARQ_ENTRADA`` files, and the member names whose dates the readers use. Values come from
simple formulas written in each docstring so that tests can compute them by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sintegre_dev.fixtures import make_zip

__all__ = [
    "PDP_REGIONS",
    "PSAT_CODES",
    "make_ecmwf",
    "make_eta",
    "make_gefs",
    "make_pdp_models",
    "make_psat",
]

PSAT_CODES = ("PSATAGV", "PSATCMG", "PSATIPSI", "PSATBIGU", "PSATFUN", "PSATSFR")
"""Sub-basin codes written by the generators (7 and 8 characters, as ONS's)."""

GRID_POINTS = 6
"""Grid points of every generated ``_p`` member (the real ETA grid has 11,413)."""

PDP_REGIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "Grande": (("CAMARGOS", "PSATCMG"), ("FUNIL MG", "PSATFUNI")),
    "Iguacu": (("FOZ AREIA", "PSATFZA"),),
}
"""Region → its plants ``(file name, PSAT code)`` in the generated PDP zip."""

PDP_DAYS = 5
"""Observed days in every generated PDP plant and rain file (ending the day before the run)."""


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- 487


def psat_text(day: dt.date) -> bytes:
    """The bytes of ``psat_ddmmyyyy.txt`` for ``day`` (see :func:`make_psat`)."""
    lines = []
    for i, code in enumerate(PSAT_CODES):
        lat = -(1000 + 150 * i) / 100
        lon = -(4000 + 200 * i) / 100
        rain = (day.day * 100 + 37 * i) / 100
        lines.append(f"{code:<8}{lat:>9.2f}{lon:>8.2f}{rain:>7.2f}")
    return ("\n".join(lines) + "\n").encode("ascii")


def make_psat(path: Path, day: dt.date) -> Path:
    """Write ``psat_ddmmyyyy.txt`` (487): ASCII, LF, no header, 32-character lines.

    One line per code ``i`` (0..5) of :data:`PSAT_CODES`: the code left-aligned in 8
    characters, latitude ``%9.2f``, longitude ``%8.2f``, rain ``%7.2f``::

        lat  = -(1000 + 150 i) / 100     # -10.00, -11.50, ... -17.50
        lon  = -(4000 + 200 i) / 100     # -40.00, -42.00, ... -50.00
        rain = (100 day.day + 37 i) / 100

    Args:
        path: The file to write (name it ``psat_ddmmyyyy.txt``: the reader takes the date
            from the name).
        day: The day observed.

    Returns:
        ``path``.
    """
    return _write(path, psat_text(day))


# --------------------------------------------------------------------------- 551/549/550


def subbasin_text(run: dt.date, days: int) -> bytes:
    """The bytes of ``<MODEL>_m_ddmmyy.dat`` (see :func:`make_ecmwf`)."""
    lines = []
    for i, code in enumerate(PSAT_CODES):
        lat = -(1000 + 150 * i) / 100
        lon = -(4000 + 200 * i) / 100
        values = "".join(f" {10 * i + k + 0.25:6.2f}" for k in range(1, days + 1))
        lines.append(f"{code:<9} {lat:7.2f} {lon:7.2f}{values}")
    return ("\n".join(lines) + "\n").encode("ascii")


def grid_text(k: int) -> bytes:
    """The bytes of the grid member of forecast day ``k`` (see :func:`make_ecmwf`)."""
    lines = []
    for j in range(GRID_POINTS):
        lon = -75 + 0.4 * (j // 3)
        lat = -35 + 0.4 * (j % 3)
        lines.append(f"{lon:6.2f} {lat:6.2f} {k + j / 10:5.1f}")
    return ("\n".join(lines) + "\n").encode("ascii")


def _model_members(model: str, run: dt.date, days: int) -> dict[str, bytes | Path]:
    members: dict[str, bytes | Path] = {f"{model}_m_{run:%d%m%y}.dat": subbasin_text(run, days)}
    for k in range(1, days + 1):
        valid = run + dt.timedelta(days=k)
        members[f"{model}_p{run:%d%m%y}a{valid:%d%m%y}.dat"] = grid_text(k)
    return members


def make_ecmwf(path: Path, run: dt.date) -> Path:
    """Write ``ECMWF_precipitacao14d_yyyymmdd.zip`` (551): sub-basin member and 14 grids, LF.

    ``ECMWF_m_ddmmyy.dat`` (run date in the name): one line per code ``i`` (0..5) of
    :data:`PSAT_CODES`, ``f"{code:<9} {lat:7.2f} {lon:7.2f}"`` then `` %6.2f`` per day
    ``k`` = 1..14 (valid on run + k)::

        lat = -(1000 + 150 i) / 100,  lon = -(4000 + 200 i) / 100   (as make_psat)
        rain(i, k) = 10 i + k + 0.25

    ``ECMWF_pddmmyyaddmmyy.dat`` for k = 1..14 (second date run + k): 6 grid points
    ``j`` = 0..5, ``"%6.2f %6.2f %5.1f"`` of::

        lon = -75 + 0.4 (j // 3),  lat = -35 + 0.4 (j % 3),  rain = k + j / 10

    Args:
        path: The ZIP to write.
        run: The run date.

    Returns:
        ``path``.
    """
    return make_zip(path, _model_members("ECMWF", run, 14))


def make_eta(path: Path, run: dt.date) -> Path:
    """Write ``ETA40_precipitacao10d_yyyymmdd.zip`` (549): as :func:`make_ecmwf`, 10 days.

    Members ``ETA40_m_ddmmyy.dat`` and ``ETA40_pddmmyyaddmmyy.dat`` for k = 1..10.

    Args:
        path: The ZIP to write.
        run: The run date.

    Returns:
        ``path``.
    """
    return make_zip(path, _model_members("ETA40", run, 10))


def make_gefs(path: Path, run: dt.date) -> Path:
    """Write ``GEFS_precipitacao14d_yyyymmdd.zip`` (550): as :func:`make_ecmwf` plus ``datsum``.

    Members ``GEFS_m_ddmmyy.dat``, ``GEFS_pddmmyyaddmmyy.dat`` for k = 1..14, and
    ``datsum/GEFS_datsum_ddmmyy.dat`` (a placeholder: the real folder's content is not
    described publicly; the catalog keeps it raw).

    Args:
        path: The ZIP to write.
        run: The run date.

    Returns:
        ``path``.
    """
    members = _model_members("GEFS", run, 14)
    members[f"datsum/GEFS_datsum_{run:%d%m%y}.dat"] = b"placeholder kept raw\n"
    return make_zip(path, members)


# --------------------------------------------------------------------------- 238


def _crlf(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def make_pdp_models(path: Path, run: dt.date) -> Path:
    """Write ``Modelos_Chuva_Vazao_yyyymmdd.zip`` (238) with SMAP ``ARQ_ENTRADA`` folders.

    Members under ``Modelos_Chuva_Vazao/SMAP/<Região>/ARQ_ENTRADA/`` for the regions and
    plants of :data:`PDP_REGIONS` (CRLF). Plant ``p`` (0-based over all regions, in order:
    CAMARGOS 0, FUNIL MG 1, FOZ AREIA 2), day ``d`` = 0..4 on ``run - 5 + d``:

    - ``<PLANT>.txt`` (observed flow)::

          f"{61000000 + p}|COO|DI|VVV|{day:%Y-%m-%d} 00:00:00|{100 p + d + 0.5:09.2f}"

    - ``<code>_C.txt`` (observed rain; a 7-letter code is written ``0``-padded to 8 and the
      file named so, as ONS does: ``0PSATCMG_C.txt``)::

          f"{code:0>8} {day:%d/%m/%Y} 1200 {10 p + d + 0.25:09.2f}"

    - configuration kept raw: ``<PLANT>_PARAMETROS.txt``, ``_INICIALIZACAO.txt``,
      ``_POSTOS_PLU.txt``, ``_PMEDIA.txt``, ``CASO.txt``, ``bat.conf`` and a forecast grid
      ``PMEDIA_ORIG_pddmmyyaddmmyy.dat``; plus ``Modelos_Chuva_Vazao/MPV/SSARR/
      Sao_Francisco/dados.txt`` (another model's input, kept raw).

    Args:
        path: The ZIP to write.
        run: The run date (observations end the day before).

    Returns:
        ``path``.
    """
    members: dict[str, bytes | Path] = {}
    days = [run - dt.timedelta(days=PDP_DAYS - d) for d in range(PDP_DAYS)]
    p = 0
    for region, plants in PDP_REGIONS.items():
        folder = f"Modelos_Chuva_Vazao/SMAP/{region}/ARQ_ENTRADA"
        names = []
        for plant, code in plants:
            names.append(plant)
            members[f"{folder}/{plant}.txt"] = _crlf(
                [
                    f"{61000000 + p}|COO|DI|VVV|{day:%Y-%m-%d} 00:00:00|{100 * p + d + 0.5:09.2f}"
                    for d, day in enumerate(days)
                ]
            )
            padded = f"{code:0>8}"
            members[f"{folder}/{padded}_C.txt"] = _crlf(
                [
                    f"{padded} {day:%d/%m/%Y} 1200 {10 * p + d + 0.25:09.2f}"
                    for d, day in enumerate(days)
                ]
            )
            members[f"{folder}/{plant}_PARAMETROS.txt"] = _crlf(
                ["5        'Numero de postos", "1.0"]
            )
            members[f"{folder}/{plant}_INICIALIZACAO.txt"] = _crlf(
                [f"{run:%d/%m/%Y} ' data da rodada", "32         ' dias de aquecimento"]
            )
            members[f"{folder}/{plant}_POSTOS_PLU.txt"] = _crlf(["1", f"{code} 1.000"])
            members[f"{folder}/{plant}_PMEDIA.txt"] = _crlf(["1", "-44.63  -21.28"])
            p += 1
        members[f"{folder}/CASO.txt"] = _crlf(
            [f"{len(names):<50}'Quantidade de bacias sub-modeladas"]
            + [f"{name:<50}'{name.title()}" for name in names]
        )
        members[f"{folder}/bat.conf"] = _crlf(["amplitude=0.5", "iteracoes=10000"])
        valid = run + dt.timedelta(days=1)
        members[f"{folder}/PMEDIA_ORIG_p{run:%d%m%y}a{valid:%d%m%y}.dat"] = _crlf(
            ["-44.63 -21.28   1.50"]
        )
    members["Modelos_Chuva_Vazao/MPV/SSARR/Sao_Francisco/dados.txt"] = _crlf(["SSARR input"])
    return make_zip(path, members)
