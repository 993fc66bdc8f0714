"""``make inspect-file``: how a file would be read, landing nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sintegre.cli.inspect_file import guess_product, main
from sintegre_dev.ons_files.hydro import make_acomph
from sintegre_dev.ons_files.precipitation import make_psat


@pytest.fixture(autouse=True)
def _no_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(lake))
    return lake


def test_a_file_that_fits_shows_datasets_units_rows_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_psat(tmp_path / "psat_07092025.txt", dt.date(2025, 9, 7))
    assert main([str(path)]) == 0  # the product is recognised from the file name
    out = capsys.readouterr().out
    assert "product: 487 'Precipitação por Satélite'" in out
    assert "evidence: Checked against 236 real files" in out
    assert "dataset psat: 6 rows, catalogued" in out
    assert "precipitacao_mm" in out and "mm, plausible [0.0, 500.0]" in out
    assert "codigo_psat=PSATAGV" in out  # the first rows
    assert "no drift, every value within its plausible range" in out
    assert not (tmp_path / "lake").exists()  # nothing landed


def test_a_file_that_does_not_fit_prints_the_mismatch_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_acomph(
        tmp_path / "ACOMPH_12.08.2025.xls",
        dt.date(2025, 8, 12),
        cells={("Grande", 5, 6): "Afluente Consol."},
    )
    assert main([str(path), "--product", "230"]) == 1
    out = capsys.readouterr().out
    assert "LAYOUT MISMATCH: nothing of this file would land" in out
    assert "sheet 'Grande' row 6" in out
    assert "table:    vazoes" in out
    assert "expected: a number for afluencia_consolidada_m3s" in out
    assert "found:    Afluente Consol." in out
    assert not (tmp_path / "lake").exists()


def test_products_are_recognised_by_their_file_patterns() -> None:
    cases = {
        "ACOMPH_05.08.2025.xls": 230,
        "RDH_05AGO2025.xlsx": 233,
        "psat_07092025.txt": 487,
        "PrevCargaDESSEM_2025-08-05.zip": 479,
        "Blocos_2025-08-05.zip": 275,
        "planilha_qualquer.csv": None,
    }
    for name, product_id in cases.items():
        product = guess_product(name)
        assert (product.id if product else None) == product_id, name


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing.txt")]) == 2
    path = make_psat(tmp_path / "psat_07092025.txt", dt.date(2025, 9, 7))
    assert main([str(path), "--product", "999999"]) == 2
