"""Generic big text files and ONS file names, for streaming tests and benchmarks.

These are not product layouts: ONS's real layouts are written by the other modules of
:mod:`sintegre_dev.ons_files` (:mod:`~sintegre_dev.ons_files.precipitation`,
:mod:`~sintegre_dev.ons_files.dessem`, ...) and read through the catalog. Here:

- :func:`make_big_ons_csv` writes an ONS-flavoured CSV (cp1252, ``;``, CRLF, decimal comma
  with ``.`` thousands, codes with leading zeros, accented text) of any size quickly, for
  the streaming reader's tests and the ingest benchmark;
- :func:`ons_file_name` gives the name ONS gives a text product's file for a period (the
  simulator's sample products use it).

Values come from the formulas in the docstrings, so tests write expected values by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

__all__ = ["BIG_CSV_HEADER", "make_big_ons_csv", "ons_file_name"]

BIG_CSV_HEADER = (
    "Data;Código do Posto;Nome do Reservatório;Vazão Afluente (m³/s);Volume Útil (%);Observação"
)
"""Header of :func:`make_big_ons_csv` (written in cp1252)."""

_MODEL_NAMES = {
    "ECMWF": "ECMWF_precipitacao14d",
    "ETA": "ETA40_precipitacao10d",
    "GEFS": "GEFS_precipitacao14d",
}


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


def _format_cents(cents: int) -> str:
    units, hundredths = divmod(cents, 100)
    return f"{units:,}".replace(",", ".") + f",{hundredths:02d}"


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
