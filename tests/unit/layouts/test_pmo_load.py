"""PMO load layouts (228 DECOMP load by patamar, 229 NEWAVE monthly load, 286/287/288 raw).

Files come from :mod:`sintegre_dev.ons_files.pmo_load` and are read through the real catalog;
every expected value is computed by hand from the generator's docstring formula.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from helpers.parsed import one_row, read_product
from sintegre.readers.errors import LayoutMismatch
from sintegre.readers.model import ParsedTable
from sintegre_dev.ons_files.pmo_load import (
    decomp_dp_text,
    make_decomp_carga_patamar,
    make_newave_carga_mensal,
    make_notas_tecnicas_medio_prazo,
    newave_carga_workbook,
)
from sintegre_dev.ons_files.reports import make_newave_deck_zip

D = dt.date


# --------------------------------------------------------------------------- 229


def test_229_current_layout_rows(tmp_path: Path) -> None:
    path = make_newave_carga_mensal(tmp_path / "p.zip", D(2025, 10, 1))
    tables = read_product(path, 229, "RV0_PMO_Outubro_2025_carga_mensal.zip")
    carga = tables["carga_mensal"]
    assert carga.catalogued and carga.drift is None and carga.implausible is None
    assert carga.table.num_rows == 192  # 12 months x 4 subsystems x 4 types
    # m = 0, g = 0, t = 0 (HIGH): 40000 + 0.25; 3 h x 31 days; base 10+20+1000+30
    assert one_row(carga, mes=D(2025, 10, 1), subsistema="SE", patamar="PESADA") == {
        "mes": D(2025, 10, 1),
        "subsistema": "SE",
        "patamar": "PESADA",
        "tipo_ons": "HIGH",
        "semana": "0",
        "revisao": D(2025, 9, 24),
        "carga_mwmed": 40000.25,
        "horas": 93.0,
        "carga_global_mwmed": 41060.25,
        "mmgd_base_cgh_mwmed": 10.0,
        "mmgd_base_eol_mwmed": 20.0,
        "mmgd_base_ufv_mwmed": 1000.0,
        "mmgd_base_ute_mwmed": 30.0,
        "mmgd_base_total_mwmed": 1060.0,
        "mmgd_exp_cgh_mwmed": 5.0,
        "mmgd_exp_eol_mwmed": 10.0,
        "mmgd_exp_ufv_mwmed": 500.0,
        "mmgd_exp_ute_mwmed": 15.0,
        "mmgd_exp_total_mwmed": 530.0,
        "source_member": "CargaMensal_PMO-Outubro2025.xlsx/Sheet1",
        "sheet": "Sheet1",
    }
    # m = 4 (Feb 2026, 28 days), g = 3 (NORTE), t = 3 (MEDIUM): 6000 + 400 + 30 + 0.25;
    # 24 h x 28; Base_UFV 1000 + 300 + 4 = 1304, Base_MMGD 1060 + 309 + 4 = 1373
    north = one_row(carga, mes=D(2026, 2, 1), subsistema="N", patamar="MENSAL")
    assert north["tipo_ons"] == "MEDIUM"
    assert north["carga_mwmed"] == 6430.25
    assert north["horas"] == 672.0
    assert north["mmgd_base_ufv_mwmed"] == 1304.0
    assert north["mmgd_base_total_mwmed"] == 1373.0
    assert north["carga_global_mwmed"] == 7803.25
    assert north["mmgd_exp_total_mwmed"] == 686.5
    # m = 1 (Nov 2025, 30 days), g = 2 (NORDESTE), t = 1 (MIDDLE): 11000 + 100 + 10 + 0.25
    assert (
        one_row(carga, mes=D(2025, 11, 1), subsistema="NE", patamar="MEDIA")["carga_mwmed"]
        == 11110.25
    )
    assert one_row(carga, mes=D(2025, 11, 1), subsistema="NE", patamar="MEDIA")["horas"] == 300.0


def test_229_legacy_layout_lands_with_load_column(tmp_path: Path) -> None:
    path = make_newave_carga_mensal(tmp_path / "p.zip", D(2019, 12, 1), months=3, mmgd=False)
    carga = read_product(path, 229, "RV0_PMO_Dezembro_2019_carga_mensal.zip")["carga_mensal"]
    assert carga.table.num_rows == 48
    assert carga.table.column_names[:8] == [
        "mes",
        "subsistema",
        "patamar",
        "tipo_ons",
        "semana",
        "revisao",
        "carga_mwmed",
        "horas",
    ]
    # m = 0, g = 1 (SUL), t = 2 (LOW): 12000 + 20 + 0.25; 11 h x 31
    row = one_row(carga, mes=D(2019, 12, 1), subsistema="S", patamar="LEVE")
    assert (row["carga_mwmed"], row["horas"], row["revisao"]) == (12020.25, 341.0, D(2019, 11, 24))
    # m = 2 (Feb 2020, 29 days), g = 0, t = 3: 40000 + 200 + 30 + 0.25; 24 x 29
    row = one_row(carga, mes=D(2020, 2, 1), subsistema="SE", patamar="MENSAL")
    assert (row["carga_mwmed"], row["horas"]) == (40230.25, 696.0)


def _with_cell(first: D, row: int, column: int, value: object, *, footer: bool = False) -> bytes:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(newave_carga_workbook(first, months=2)))
    sheet = book.active
    sheet.cell(row=row, column=column, value=value)
    if footer:
        sheet.cell(row=sheet.max_row + 2, column=1, value="Fonte: ONS")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("row", "column", "value", "footer", "message"),
    [
        (1, 5, "HOURS", False, "GAUGE"),  # header label renamed: GAUGE missing
        (3, 6, "n/d", False, "LOAD_SMMGD"),  # text in a numeric column
        (4, 4, "PEAK", False, "TYPE"),  # an unknown patamar
        (5, 3, "SUDESTE/CO", False, "SOURCE"),  # an unknown subsystem
        (2, 1, "ontem", False, "DATE"),  # a date that is not a date
        (2, 1, None, True, "blank row"),  # a footer after a blank row (cell kept: None no-op)
    ],
)
def test_229_mismatch(
    tmp_path: Path, row: int, column: int, value: object, footer: bool, message: str
) -> None:
    first = D(2025, 10, 1)
    if value is None:
        data = _with_cell(first, 2, 1, dt.datetime(2025, 10, 1), footer=footer)
    else:
        data = _with_cell(first, row, column, value, footer=footer)
    path = make_newave_carga_mensal(tmp_path / "p.zip", first, workbook=data)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 229, "p.zip")


def test_229_implausible_and_drift(tmp_path: Path) -> None:
    first = D(2025, 10, 1)
    data = _with_cell(first, 2, 6, -5.0)  # first row's LOAD_sMMGD negative
    extra = {"Leia-me.csv": "campo;valor\r\nrevisao;1\r\n".encode("ascii")}
    path = make_newave_carga_mensal(tmp_path / "p.zip", first, workbook=data, extra=extra)
    tables = read_product(path, 229, "p.zip")
    assert tables["carga_mensal"].implausible == {"carga_mwmed": 1}
    others = [t for name, t in tables.items() if name != "carga_mensal"]
    assert len(others) == 1 and not others[0].catalogued
    assert others[0].table.num_rows == 1


def test_229_new_column_lands_and_shows_as_drift(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(newave_carga_workbook(D(2025, 10, 1), months=1)))
    sheet = book.active
    sheet.cell(row=1, column=19, value="Exp_BIO")
    for r in range(2, sheet.max_row + 1):
        sheet.cell(row=r, column=19, value=float(r))
    buffer = io.BytesIO()
    book.save(buffer)
    path = make_newave_carga_mensal(tmp_path / "p.zip", D(2025, 10, 1), workbook=buffer.getvalue())
    carga = read_product(path, 229, "p.zip")["carga_mensal"]
    assert carga.drift == {"missing": [], "unexpected": ["exp_bio"]}
    assert carga.table["exp_bio"].to_pylist()[:2] == [2.0, 3.0]


# --------------------------------------------------------------------------- 228


def _decomp(tmp_path: Path, **kwargs: object) -> dict[str, ParsedTable]:
    path = make_decomp_carga_patamar(
        tmp_path / "d.zip",
        D(2025, 9, 27),
        D(2025, 10, 1),
        **kwargs,  # type: ignore[arg-type]
    )
    return read_product(path, 228, "RV0_PMO_Outubro_2025_carga_semanal.zip")


def test_228_dp_records(tmp_path: Path) -> None:
    dp = _decomp(tmp_path)["dp"]
    assert dp.catalogued and dp.drift is None and dp.implausible is None
    assert dp.table.num_rows == 90  # 6 stages x 5 subsystems x 3 patamares
    # stage 1, SE, pesada: 40000 + 100 + 2000 + 0.5; hours 30 + 1
    assert one_row(dp, estagio=1, subsistema="SE", patamar="PESADA") == {
        "estagio": 1,
        "codigo_subsistema": 1,
        "subsistema": "SE",
        "numero_patamar": 1,
        "patamar": "PESADA",
        "carga_mwmed": 42100.5,
        "horas": 31.0,
        "source_member": "DP_REV00PMO202510.txt",
        "revisao": "00",
        "ano_mes": "202510",
    }
    # stage 6 (the month), N, leve: 6000 + 600 + 0 + 0.5; 280 h
    row = one_row(dp, estagio=6, subsistema="N", patamar="LEVE")
    assert (row["carga_mwmed"], row["horas"]) == (6600.5, 280.0)
    # stage 2, fictitious 11: hours only (média 70)
    row = one_row(dp, estagio=2, codigo_subsistema=11, numero_patamar=2)
    assert (row["subsistema"], row["carga_mwmed"], row["horas"]) == ("FC", None, 70.0)
    # stage 3, NE, média: 11000 + 300 + 1000 + 0.5
    assert one_row(dp, estagio=3, subsistema="NE", numero_patamar=2)["carga_mwmed"] == 12300.5


def test_228_workbooks_and_summary(tmp_path: Path) -> None:
    tables = _decomp(tmp_path)
    semanal, mensal, resumo = tables["semanal"], tables["mensal"], tables["resumo"]
    assert all(t.catalogued and t.drift is None for t in (semanal, mensal, resumo))
    assert semanal.table.num_rows == 60  # 5 weeks x 4 x 3
    # week 5, NE (3), Leve: SO 27/09 + 34 = 31/10; 11000 + 500 + 0.5; 68 - 5 h;
    # base (3, 6, 300 + 5, 9) -> carga_mmgd 11500.5 + 323
    row = one_row(semanal, so=D(2025, 10, 31), cod_ss=3, cod_pat=3)
    assert row["subsistema"] == "NE" and row["patamar"] == "Leve"
    assert (row["carga"], row["duracao"], row["base_ufv"]) == (11500.5, 63.0, 305.0)
    assert (row["carga_mmgd"], row["exp_ufv"], row["estagio"]) == (11823.5, 152.5, 5)
    assert (row["revisao"], row["ano_mes"]) == ("00", "202510")
    assert mensal.table.num_rows == 12
    # stage 6, SE/CO, Pesada: 40000 + 600 + 2000 + 0.5; 140 h
    row = one_row(mensal, cod_ss=1, cod_pat=1)
    assert (row["mes"], row["carga"], row["duracao"], row["estagio"]) == (
        D(2025, 11, 1),
        42600.5,
        140.0,
        6,
    )
    assert resumo.table.num_rows == 30  # 5 rows x (5 weeks + mensal); the empty week 6 left out
    assert one_row(resumo, subsistema="SIN", periodo="semana_3") == {
        "subsistema": "SIN",
        "periodo": "semana_3",
        "semana": 3,
        "carga_mwmed": 70200.0,  # 69000 + 400 x 3
        "source_member": "RV0_PMO_Outubro_2025_carga_semanal.xlsx/Carga",
        "sheet": "Carga",
    }
    assert one_row(resumo, subsistema="NE", periodo="mensal")["carga_mwmed"] == 11050.0
    assert one_row(resumo, subsistema="NE", periodo="mensal")["semana"] is None
    assert one_row(resumo, subsistema="S", periodo="semana_5")["carga_mwmed"] == 12500.0


_GOOD = "DP   1    2   3       14100.5      31.0   13100.5      70.0   12100.5      67.0"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (_GOOD.replace("13100.5", "1310A.5"), "a number"),  # a letter in a load
        (" " + _GOOD, "DP record"),  # the whole record shifted one column
        (_GOOD[:19] + " " + _GOOD[19:], "nothing after column 79"),  # the values shifted
        (_GOOD[:19] + "     14100.5    31.0" + _GOOD[39:], "10-character fields"),  # across
        (_GOOD.replace("70.0", "71.0"), "same patamar hours"),  # hours differ from SE
        (_GOOD[:39] + " " * 10 + _GOOD[49:], "load of patamar 2"),  # a load missing
        ("TE  PMO OUTUBRO", "DP record"),  # another register
    ],
)
def test_228_dp_mismatch(tmp_path: Path, line: str, message: str) -> None:
    text = decomp_dp_text(5, lines={(1, 2): line})
    with pytest.raises(LayoutMismatch, match=message):
        _decomp(tmp_path, dp_text=text)


def test_228_dp_stage_gap_is_a_mismatch(tmp_path: Path) -> None:
    text = decomp_dp_text(5).replace(b"\r\nDP   3 ", b"\r\nDP   9 ")
    with pytest.raises(LayoutMismatch, match=r"without gaps|one DP record"):
        _decomp(tmp_path, dp_text=text)


def test_228_summary_without_a_subsystem_row_is_a_mismatch(tmp_path: Path) -> None:
    import openpyxl

    path = make_decomp_carga_patamar(tmp_path / "d.zip", D(2025, 9, 27), D(2025, 10, 1))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = "RV0_PMO_Outubro_2025_carga_semanal.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(members[name]))
    book.active.cell(row=8, column=3, value="Subsistema N")  # "Subsistema Norte" mislabelled
    buffer = io.BytesIO()
    book.save(buffer)
    members[name] = buffer.getvalue()
    from sintegre_dev.fixtures import make_zip

    make_zip(path, members)
    with pytest.raises(LayoutMismatch, match="SUBSISTEMA NORTE"):
        read_product(path, 228, "d.zip")


def test_228_implausible_load_and_unknown_member(tmp_path: Path) -> None:
    negative = "DP   1    2   3        -100.0      31.0   13100.5      70.0   12100.5      67.0"
    tables = _decomp(
        tmp_path,
        dp_text=decomp_dp_text(5, lines={(1, 2): negative}),
        extra={"Observacoes.csv": b"item;valor\r\nrevisao;0\r\n"},
    )
    assert tables["dp"].implausible == {"carga_mwmed": 1}
    assert (
        one_row(tables["dp"], estagio=1, subsistema="S", patamar="PESADA")["carga_mwmed"] == -100.0
    )
    uncatalogued = [t for t in tables.values() if not t.catalogued]
    assert len(uncatalogued) == 1 and uncatalogued[0].table.num_rows == 1


def test_228_semanal_text_in_load_is_a_mismatch(tmp_path: Path) -> None:
    import openpyxl

    path = make_decomp_carga_patamar(tmp_path / "d.zip", D(2025, 9, 27), D(2025, 10, 1))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = "Semanal_DP_PREV_REV00PMO202510.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(members[name]))
    book.active.cell(row=3, column=7, value="sem dado")  # Carga of the second row
    buffer = io.BytesIO()
    book.save(buffer)
    members[name] = buffer.getvalue()
    from sintegre_dev.fixtures import make_zip

    make_zip(path, members)
    with pytest.raises(LayoutMismatch, match="carga"):
        read_product(path, 228, "d.zip")


# --------------------------------------------------------------------------- raw products


def test_288_is_kept_raw(tmp_path: Path) -> None:
    path = make_notas_tecnicas_medio_prazo(tmp_path / "n.zip", D(2025, 10, 1))
    assert read_product(path, 288, "Notas Técnicas - Medio Prazo.zip") == {}


@pytest.mark.parametrize("product_id", [286, 287])
def test_newave_decks_are_kept_raw(tmp_path: Path, product_id: int) -> None:
    path = make_newave_deck_zip(tmp_path / "deck.zip", year=2025, month=10)
    assert read_product(path, product_id, "Deck NEWAVE Preliminar.zip") == {}
