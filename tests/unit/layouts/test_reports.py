"""Layouts of the PDP (548, 243) and weekly PMO (245, 246) forecast reports, read through the
real catalog entries. Expected values are computed by hand from the formulas in
:mod:`sintegre_dev.ons_files.reports_real` (arithmetic in the comments)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import xlwt

from helpers.parsed import read_product, rows_where
from sintegre.catalog.products import _read_file
from sintegre.readers.dispatch import read_product_file
from sintegre.readers.errors import LayoutMismatch
from sintegre_dev.ons_files.reports_real import (
    make_consistido_zip,
    make_nao_consistido_zip,
    make_pdp_relatorio_real,
    make_pmo_workbook,
    make_prevs,
    make_resultado_final_zip,
)

D = dt.date
_ENTRIES = Path(__file__).resolve().parents[3] / "include" / "sintegre" / "catalog" / "products.d"


def _tables(product_id: int):
    # The product's own catalog file (the same entry load_catalog() reads).
    (product,) = _read_file(_ENTRIES / f"{product_id}.yaml")
    return product.tables


# --------------------------------------------------------------------------- 548 / 243


def test_548_ena_per_subsystem_and_day(tmp_path: Path) -> None:
    path = make_pdp_relatorio_real(
        tmp_path / "Relatorio_previsao_diaria_05_08_2025_para_07_08_2025.xls", D(2025, 8, 5)
    )
    tables = read_product(path, 548)
    assert list(tables) == ["previsao_ena"]
    parsed = tables["previsao_ena"]
    assert parsed.catalogued and not parsed.drift and not parsed.implausible
    table = parsed.table
    assert table.column_names == [
        "subsistema", "data", "ena_mwmed", "ena_mlt_pct", "source_member", "sheet",
    ]  # fmt: skip
    assert table.num_rows == 28  # 4 subsystems x 7 days
    # SUDESTE s = 0, j = 0 (06/08): 10000.5; (500 + 0 + 0 + 5) / 10 = 50.5
    assert rows_where(table, subsistema="SUDESTE", data=D(2025, 8, 6)) == [
        {
            "subsistema": "SUDESTE",
            "data": D(2025, 8, 6),
            "ena_mwmed": 10000.5,
            "ena_mlt_pct": 50.5,
            "source_member": "Diária_6",
            "sheet": "Diária_6",
        }
    ]
    # NORDESTE s = 2, j = 3 (09/08): 30000 + 300 + 0.5; (500 + 200 + 30 + 5) / 10 = 73.5
    (row,) = rows_where(table, subsistema="NORDESTE", data=D(2025, 8, 9))
    assert (row["ena_mwmed"], row["ena_mlt_pct"], row["sheet"]) == (30300.5, 73.5, "Diária_7")
    # NORTE s = 3, j = 6 (12/08): 40000 + 600 + 0.5; (500 + 300 + 60 + 5) / 10 = 86.5
    (row,) = rows_where(table, subsistema="NORTE", data=D(2025, 8, 12))
    assert (row["ena_mwmed"], row["ena_mlt_pct"]) == (40600.5, 86.5)
    # SUL s = 1, j = 1 (07/08): 20100.5; (500 + 100 + 10 + 5) / 10 = 61.5
    (row,) = rows_where(table, subsistema="SUL", data=D(2025, 8, 7))
    assert (row["ena_mwmed"], row["ena_mlt_pct"]) == (20100.5, 61.5)


def test_243_reads_the_workbook_inside_the_zip(tmp_path: Path) -> None:
    path = make_resultado_final_zip(
        tmp_path / "Resultado_Final_05_08_2025_para_07_08_2025.zip", D(2025, 8, 5)
    )
    table = read_product(path, 243)["previsao_ena"].table
    assert table.num_rows == 28
    (row,) = rows_where(table, subsistema="SUL", data=D(2025, 8, 8))
    # s = 1, j = 2: 20000 + 200 + 0.5; (500 + 100 + 20 + 5) / 10
    assert row["ena_mwmed"] == 20200.5
    assert row["ena_mlt_pct"] == 62.5
    assert row["source_member"] == (
        "Resultado_Final_05_08_2025/"
        "Relatorio_previsao_diaria_05_08_2025_para_07_08_2025.xls/Diária_7"
    )


def _pdp_book(path: Path, mutate) -> Path:
    """A small Diária_6 sheet written by hand, changed by ``mutate(sheet)``."""
    book = xlwt.Workbook(encoding="utf-8")
    dated = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    sheet = book.add_sheet("Diária_6", cell_overwrite_ok=True)
    sheet.write(0, 0, "Relatório")
    for j in range(3):
        sheet.write(4, 2 + j, D(2025, 8, 6 + j), dated)
    sheet.write(6, 4, "SUDESTE")
    for j in range(3):
        sheet.write(7, 2 + j, 1000.0 + j)
        sheet.write(8, 2 + j, 80.0 + j)
    mutate(sheet)
    book.save(str(path))
    return path


def test_548_minimal_sheet_reads(tmp_path: Path) -> None:
    table = read_product(_pdp_book(tmp_path / "r.xls", lambda s: None), 548)["previsao_ena"].table
    assert table.column("ena_mwmed").to_pylist() == [1000.0, 1001.0, 1002.0]
    assert table.column("ena_mlt_pct").to_pylist() == [80.0, 81.0, 82.0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.write(6, 4, "SE"), "SUDESTE"),  # label missing
        (lambda s: s.write(8, 3, "n/d"), "number"),  # text in a numeric cell
        (lambda s: s.write(7, 4, ""), "empty"),  # a hole in the block
        (lambda s: s.write(4, 3, "Total"), "date"),  # header is not dates
        (
            lambda s: s.write(4, 5, D(2025, 8, 20), xlwt.easyxf(num_format_str="dd/mm/yyyy")),
            "consecutive",
        ),
    ],
)
def test_548_mismatch(tmp_path: Path, mutate, message: str) -> None:
    with pytest.raises(LayoutMismatch, match=message):
        read_product(_pdp_book(tmp_path / "r.xls", mutate), 548)


def test_548_shifted_block_is_refused(tmp_path: Path) -> None:
    # the block moved one column right: the label is in column F, not E
    def shift(sheet) -> None:
        sheet.write(6, 4, "")
        sheet.write(6, 5, "SUDESTE")

    with pytest.raises(LayoutMismatch, match="SUDESTE"):
        read_product(_pdp_book(tmp_path / "r.xls", shift), 548)


def test_548_implausible_mlt_is_counted(tmp_path: Path) -> None:
    # a %MLT of 5000 (MWmed written in the %MLT row) lands but is counted
    parsed = read_product(_pdp_book(tmp_path / "r.xls", lambda s: s.write(8, 2, 5000.0)), 548)
    assert parsed["previsao_ena"].implausible == {"ena_mlt_pct": 1}


def test_548_unknown_sheet_is_drift(tmp_path: Path) -> None:
    def extra(sheet) -> None:
        pass

    path = _pdp_book(tmp_path / "r.xls", extra)
    # add a sheet ONS might add: rewrite the book with one more sheet
    book = xlwt.Workbook(encoding="utf-8")
    dated = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    sheet = book.add_sheet("Diária_6", cell_overwrite_ok=True)
    for j in range(2):
        sheet.write(4, 2 + j, D(2025, 8, 6 + j), dated)
    sheet.write(6, 4, "SUDESTE")
    for j in range(2):
        sheet.write(7, 2 + j, 1.0)
        sheet.write(8, 2 + j, 2.0)
    other = book.add_sheet("Semanal", cell_overwrite_ok=True)
    other.write(0, 0, "Posto")
    other.write(0, 1, "Vazão")
    other.write(1, 0, 6)
    other.write(1, 1, 1.5)
    book.save(str(path))
    tables = read_product_file(path, path.name, tables=_tables(548))
    drift = [t for t in tables if not t.catalogued]
    assert len(drift) == 1 and drift[0].drift["uncatalogued"] == ["Semanal"]
    assert [t.name for t in tables if t.catalogued] == ["previsao_ena"]


# --------------------------------------------------------------------------- 246 / 245


def test_246_revision(tmp_path: Path) -> None:
    path = make_nao_consistido_zip(
        tmp_path / "Nao_Consistido_202508_REV3.zip", D(2025, 8, 23), "202508", 3
    )
    tables = read_product(path, 246)
    resumo = tables["ena_resumo"].table
    assert resumo.num_rows == 4
    # NORDESTE s = 2: week 30000.5, 82.5; revised 30200.5, 87; initial 30400.5, 92
    (row,) = rows_where(resumo, subsistema="NORDESTE")
    assert row == {
        "subsistema": "NORDESTE",
        "semana_inicio": D(2025, 8, 23),
        "semana_fim": D(2025, 8, 29),
        "ena_semana_mwmed": 30000.5,
        "ena_semana_mlt_pct": 82.5,
        "ena_mes_revisada_mwmed": 30200.5,
        "ena_mes_revisada_mlt_pct": 87.0,
        "ena_mes_inicial_mwmed": 30400.5,
        "ena_mes_inicial_mlt_pct": 92.0,
        "source_member": "Nao_Consistido/Relatorio_Previsao_Vazoes_202508_REV3.xls/REV-2",
        "sheet": "REV-2",
    }
    semanal = tables["ena_semanal"].table
    # REV-5: GRANDE, PARANAÍBA, SUDESTE; REV-6: IGUAÇU, SUL, SÃO FRANCISCO (NE), NORDESTE,
    # NORTE: 8 names x 6 weeks; FURNAS and SOBRADINHO (no % row) are not read
    assert semanal.num_rows == 48
    assert not rows_where(semanal, nome="FURNAS") and not rows_where(semanal, nome="SOBRADINHO")
    # SUDESTE is entity k = 3 of REV-5, week 2: 4000 + 20 + 0.5; (500 + 30 + 2) / 10
    (row,) = rows_where(semanal, nome="SUDESTE", semana=2)
    assert (row["tipo"], row["ena_mwmed"], row["ena_mlt_pct"]) == ("subsistema", 4020.5, 53.2)
    # SÃO FRANCISCO (NE) is k = 3 of REV-6, week 6: 4000 + 60 + 0.5; (500 + 30 + 6) / 10
    (row,) = rows_where(semanal, nome="SÃO FRANCISCO (NE)", semana=6)
    assert (row["tipo"], row["ena_mwmed"], row["ena_mlt_pct"]) == ("bacia", 4060.5, 53.6)
    # NORTE k = 5, week 1: 6000 + 10 + 0.5; (500 + 50 + 1) / 10
    (row,) = rows_where(semanal, nome="NORTE", semana=1)
    assert (row["ena_mwmed"], row["ena_mlt_pct"], row["sheet"]) == (6010.5, 55.1, "REV-6")
    prevs = tables["prevs"].table
    assert prevs.to_pylist()[2] == {
        # line 3, gauge 211: 2110 + w
        "linha": 3,
        "posto": 211,
        "semana_1": 2111,
        "semana_2": 2112,
        "semana_3": 2113,
        "semana_4": 2114,
        "semana_5": 2115,
        "semana_6": 2116,
        "source_member": "Nao_Consistido/Prevs_202508_REV3.prv",
    }
    # the cover sheet REV-1 is kept raw by the catalog: neither landed nor drift
    assert [t for t in tables.values() if not t.catalogued] == []


def test_246_pmo_has_no_revised_month(tmp_path: Path) -> None:
    path = make_nao_consistido_zip(
        tmp_path / "Nao_Consistido_202509_PMO.zip", D(2025, 8, 30), "202509", 0
    )
    tables = read_product(path, 246)
    (row,) = rows_where(tables["ena_resumo"].table, subsistema="NORTE")
    # s = 3: week 40000.5, 83.5; initial month 40400.5, 93; no revised month in the PMO
    assert row["semana_inicio"] == D(2025, 8, 30) and row["semana_fim"] == D(2025, 9, 5)
    assert (row["ena_semana_mwmed"], row["ena_semana_mlt_pct"]) == (40000.5, 83.5)
    assert (row["ena_mes_inicial_mwmed"], row["ena_mes_inicial_mlt_pct"]) == (40400.5, 93.0)
    assert row["ena_mes_revisada_mwmed"] is None
    assert row["sheet"] == "Tab-5-6-7"
    (row,) = rows_where(tables["ena_semanal"].table, nome="GRANDE", semana=4)
    # k = 1: 2000 + 40 + 0.5; (500 + 10 + 4) / 10
    assert (row["ena_mwmed"], row["ena_mlt_pct"], row["sheet"]) == (2040.5, 51.4, "Tab-12")


def test_245_five_weeks(tmp_path: Path) -> None:
    path = make_consistido_zip(
        tmp_path / "Consistido_202508_REV3.zip", D(2025, 8, 23), "202508", 3, weeks=5
    )
    tables = read_product(path, 245)
    semanal = tables["ena_semanal"].table
    assert semanal.num_rows == 40  # 8 names x 5 weeks, column I empty
    assert not rows_where(semanal, semana=6)
    # IGUAÇU k = 0 of REV-6, week 5: 1000 + 50 + 0.5; (500 + 0 + 5) / 10
    (row,) = rows_where(semanal, nome="IGUAÇU", semana=5)
    assert (row["ena_mwmed"], row["ena_mlt_pct"]) == (1050.5, 50.5)
    # REV-1 and REV-2 are known sheets kept raw for 245: neither landed nor drift
    assert [t for t in tables.values() if not t.catalogued] == []


def _zip_with(path: Path, xls: bytes, prv: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Nao_Consistido/R_202508_REV3.xls", xls)
        archive.writestr("Nao_Consistido/Prevs_202508_REV3.prv", prv)
    return path


def _patched_rev(mutate) -> bytes:
    """The REV3 workbook rebuilt with xlrd->xlwt is heavy; rebuild the summary by hand."""
    book = xlwt.Workbook(encoding="utf-8")
    dated = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    resumo = book.add_sheet("REV-2", cell_overwrite_ok=True)
    resumo.write(4, 2, D(2025, 8, 23), dated)
    resumo.write(6, 2, D(2025, 8, 29), dated)
    for s, name in enumerate(("Sudeste", "Sul", "Nordeste", "Norte")):
        resumo.write(8 + s, 1, name)
        for c in range(6):
            resumo.write(8 + s, 2 + c, 100.0 * (s + 1) + c)
    mutate(resumo)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_246_summary_written_by_hand(tmp_path: Path) -> None:
    path = _zip_with(tmp_path / "n.zip", _patched_rev(lambda s: None), make_prevs())
    (row,) = rows_where(read_product(path, 246)["ena_resumo"].table, subsistema="SUL")
    assert row["ena_semana_mwmed"] == 200.0 and row["ena_mes_inicial_mlt_pct"] == 205.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.write(9, 1, "Nordeste"), "SUL"),  # subsystems out of order
        (lambda s: s.write(4, 2, "semana"), "date"),  # dates moved
        (
            lambda s: s.write(6, 2, D(2025, 8, 30), xlwt.easyxf(num_format_str="dd/mm/yyyy")),
            "7 days",
        ),
        (lambda s: s.write(10, 4, "ND"), "number"),
    ],
)
def test_246_summary_mismatch(tmp_path: Path, mutate, message: str) -> None:
    path = _zip_with(tmp_path / "n.zip", _patched_rev(mutate), make_prevs())
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 246)


@pytest.mark.parametrize(
    ("prv", "message"),
    [
        (b"     1    1        11        12        13        14        15\r\n", "6 weekly"),
        (
            b"     2    1        11        12        13        14        15        16\r\n",
            "line number 1",
        ),
        (
            b"     1    1      11,5        12        13        14        15        16\r\n",
            "integers",
        ),
    ],
)
def test_246_prevs_mismatch(tmp_path: Path, prv: bytes, message: str) -> None:
    path = _zip_with(tmp_path / "n.zip", _patched_rev(lambda s: None), prv)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 246)


def test_246_weekly_sheet_without_subsystem_row(tmp_path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("REV-5", cell_overwrite_ok=True)
    sheet.write(4, 0, "GRANDE")
    sheet.write(5, 0, "GRANDE %")
    sheet.write(4, 3, 1.0)
    sheet.write(5, 3, 2.0)
    buffer = io.BytesIO()
    book.save(buffer)
    path = _zip_with(tmp_path / "n.zip", buffer.getvalue(), make_prevs())
    with pytest.raises(LayoutMismatch, match="SUDESTE"):
        read_product(path, 246)


def test_246_weekly_text_in_a_week_column(tmp_path: Path) -> None:
    data = make_pmo_workbook(D(2025, 8, 23), 3)
    # rebuild REV-5 only, with a label where week 3 of SUDESTE should be
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("REV-5", cell_overwrite_ok=True)
    sheet.write(4, 0, "SUDESTE")
    sheet.write(5, 0, "SUDESTE %")
    for c in range(3, 9):
        sheet.write(4, c, 1000.0)
        sheet.write(5, c, 80.0)
    sheet.write(4, 5, "revisado")
    buffer = io.BytesIO()
    book.save(buffer)
    assert data  # the full workbook builds; the broken one is refused
    path = _zip_with(tmp_path / "n.zip", buffer.getvalue(), make_prevs())
    with pytest.raises(LayoutMismatch, match="number"):
        read_product(path, 246)
