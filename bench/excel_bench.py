"""Workbook reading speed: ``read_workbook`` (calamine → typed Arrow) against openpyxl.

One 100,000-row × 10-column XLSX (dates, integers, decimals, text, a sparse text column)
is written with the test fixture code, then read in the same run by:

- the project's reader, :func:`sintegre.readers.excel.read_workbook`: header detection,
  typing every column and building the Arrow table;
- the baseline, openpyxl ``load_workbook(read_only=True, data_only=True)`` iterating every
  row into Python lists (values only: no typing, no table), the usual way to read a sheet
  in Python without pandas.

Each is timed best of 3. ``ratio`` is openpyxl time / reader time (the speed-up).
Run with ``python -m bench.excel_bench``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sintegre.readers.excel import read_workbook
from sintegre_dev.ons_files.workbooks import make_big_workbook

ROWS = 100_000
QUICK_ROWS = 10_000
REPEATS = 3


def _best_of(repeats: int, action: Callable[[], int]) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        rows = action()
        best = min(best, time.perf_counter() - started)
    return best, rows


def _read_with_reader(path: Path) -> int:
    (table,) = read_workbook(path, f'"{path.name}"')
    return table.table.num_rows


def _read_with_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    return len(rows) - 1  # the header row


def run(quick: bool = False) -> dict[str, Any]:
    """Write the workbook, time both readers, and report.

    Args:
        quick: Use 10,000 rows instead of 100,000 (a smoke run).

    Returns:
        ``reader_seconds`` and ``openpyxl_seconds`` (best of 3), ``ratio`` (openpyxl
        seconds / reader seconds: how many times faster the reader is), ``rows`` (data
        rows read) and ``columns``.
    """
    rows = QUICK_ROWS if quick else ROWS
    with tempfile.TemporaryDirectory(prefix="sintegre-excel-bench-") as scratch:
        path = make_big_workbook(Path(scratch) / "carga_horaria.xlsx", rows)
        reader_seconds, reader_rows = _best_of(REPEATS, lambda: _read_with_reader(path))
        openpyxl_seconds, openpyxl_rows = _best_of(REPEATS, lambda: _read_with_openpyxl(path))
    if reader_rows != rows or openpyxl_rows != rows:
        raise RuntimeError(f"row counts differ: reader {reader_rows}, openpyxl {openpyxl_rows}")
    return {
        "reader_seconds": round(reader_seconds, 3),
        "openpyxl_seconds": round(openpyxl_seconds, 3),
        "ratio": round(openpyxl_seconds / reader_seconds, 2),
        "rows": rows,
        "columns": 10,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
