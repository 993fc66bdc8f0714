"""Layouts of Acomph (230), RDH (233) and the Relatório de Acompanhamento Hidrológico (234),
read through the real catalog. Expected values are computed by hand from the formulas in
:mod:`sintegre_dev.ons_files.hydro` (arithmetic in the comments)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpers.parsed import read_product, row_or_none
from sintegre.readers.errors import LayoutMismatch
from sintegre_dev.ons_files.hydro import (
    ACOMPH_GAUGES,
    make_acomp_hidrologico,
    make_acomph,
    make_rdh,
)

D = dt.date
_HH = "Hidráulico-Hidrológica"
_SUB = "Hidroenergética-Subsistemas"
_ACOMPH = "ACOMPH_05.08.2025.xls"
_RDH = "RDH_05AGO2025.xlsx"
_VAZOES = "Vazões Observadas - 08-05-2025 a 05-08-2025.xlsx"


# --------------------------------------------------------------------------- 230 Acomph


def test_acomph_gauge_day_rows(tmp_path: Path) -> None:
    tables = read_product(make_acomph(tmp_path / _ACOMPH, D(2025, 8, 5)), 230)
    assert list(tables) == ["vazoes"]
    parsed = tables["vazoes"]
    assert parsed.catalogued and not parsed.drift and not parsed.implausible
    table = parsed.table
    assert table.column_names == [
        "data", "bacia", "posto", "usina",
        "nivel_lido_m", "nivel_consolidado_m",
        "defluencia_lida_m3s", "defluencia_consolidada_m3s",
        "afluencia_lida_m3s", "afluencia_consolidada_m3s",
        "incremental_m3s", "natural_m3s", "source_member", "sheet",
    ]  # fmt: skip
    assert str(table.schema.field("posto").type) == "int64"
    assert str(table.schema.field("data").type) == "date32[day]"
    assert table.num_rows == 149  # 5 gauges x 30 days, minus gauge 31's last day
    # Day i = 06/07/2025 + i (the last, i = 29, is 04/08: the day before the file's date).
    # Gauge 6, i = 3 (09/07): (6000 + 300 + 10m + 5) / 100 for m = 0..7
    assert row_or_none(table, posto=6, data=D(2025, 7, 9)) == {
        "data": D(2025, 7, 9),
        "bacia": "Grande",
        "posto": 6,
        "usina": "FURNAS",
        "nivel_lido_m": 63.05,
        "nivel_consolidado_m": 63.15,
        "defluencia_lida_m3s": 63.25,
        "defluencia_consolidada_m3s": 63.35,
        "afluencia_lida_m3s": 63.45,
        "afluencia_consolidada_m3s": 63.55,
        "incremental_m3s": 63.65,
        "natural_m3s": 63.75,
        "source_member": "Grande",
        "sheet": "Grande",
    }
    # Gauge 24, i = 29 (04/08): 24000 + 2900 + 50 + 5 = 26955; + 60 → 26965
    row = row_or_none(table, posto=24, data=D(2025, 8, 4))
    assert row["afluencia_consolidada_m3s"] == 269.55
    assert row["incremental_m3s"] == 269.65
    assert row["bacia"] == "Paranaíba" and row["usina"] == "EMBORCAÇÃO"
    # Gauge 31: no data on the last day (no row), i = 28 (03/08): 31000 + 2800 + 5
    assert row_or_none(table, posto=31, data=D(2025, 8, 4)) is None
    assert row_or_none(table, posto=31, data=D(2025, 8, 3))["nivel_lido_m"] == 338.05
    # Gauge 1, i = 0 (06/07): 1000 + 0 + 70 + 5; the footer (MLT rows) is not data
    assert row_or_none(table, posto=1, data=D(2025, 7, 6))["natural_m3s"] == 10.75
    assert min(table["data"].to_pylist()) == D(2025, 7, 6)
    assert max(table["data"].to_pylist()) == D(2025, 8, 4)


@pytest.mark.parametrize(
    ("cells", "days", "message"),
    [
        ({("Grande", 0, 7): "Código"}, 30, "Posto"),  # the label before the gauge number
        ({("Grande", 0, 8): "um"}, 30, "gauge number"),  # gauge number not a number
        ({("Grande", 8, 3): "abc"}, 30, "defluencia_lida_m3s"),  # text in a numeric cell
        ({("Grande", 2, 25): "Vazão"}, 30, "blocks of 8"),  # a block one column too wide
        ({("Grande", 4, 2): "Lido"}, 30, "CONSOL"),  # Lido/Consol shifted
        ({("Grande", 1, 0): "Dia"}, 30, "Data"),
        ({("Grande", 44, 0): D(2025, 8, 5)}, 30, "after the footer"),  # a date below
        ({("Grande", 10, 0): D(2025, 7, 1)}, 30, "consecutive"),
        ({}, 12, "dated rows"),  # not a month of days
    ],
)
def test_acomph_mismatch(tmp_path: Path, cells, days, message) -> None:
    path = make_acomph(tmp_path / _ACOMPH, D(2025, 8, 5), cells=cells, days=days)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 230)


def test_acomph_implausible_value_is_counted(tmp_path: Path) -> None:
    # A negative outflow (row 6 = day 0 of gauge 1, defluência lida at column 3)
    path = make_acomph(tmp_path / _ACOMPH, D(2025, 8, 5), cells={("Grande", 5, 3): -5.0})
    parsed = read_product(path, 230)["vazoes"]
    assert parsed.implausible == {"defluencia_lida_m3s": 1}
    assert row_or_none(parsed.table, posto=1, data=D(2025, 7, 6))["defluencia_lida_m3s"] == -5.0


def test_acomph_unknown_sheet_lands_as_drift(tmp_path: Path) -> None:
    gauges = {**ACOMPH_GAUGES, "Nova Bacia": [(77, "NOVA")]}
    tables = read_product(make_acomph(tmp_path / _ACOMPH, D(2025, 8, 5), gauges=gauges), 230)
    assert tables["vazoes"].table.num_rows == 149
    (other,) = [t for name, t in tables.items() if name != "vazoes"]
    assert not other.catalogued and other.sheet == "Nova Bacia"
    assert other.drift["uncatalogued"] == ["Nova Bacia"]
    assert 77 not in tables["vazoes"].table["posto"].to_pylist()


# --------------------------------------------------------------------------- 233 RDH


def test_rdh_plants_subsystems_rees(tmp_path: Path) -> None:
    tables = read_product(make_rdh(tmp_path / _RDH, D(2025, 8, 5)), 233)
    assert sorted(tables) == ["rees", "subsistemas", "usinas"]
    for parsed in tables.values():
        assert parsed.catalogued and not parsed.drift and not parsed.implausible
    usinas = tables["usinas"].table
    assert usinas.num_rows == 4  # basin label rows and the "Fonte" note are not plants
    assert usinas["posto"].to_pylist() == [1, 6, 8, 266]
    # Data considerada 04/08/2025 (d = 4); ITAIPU k = 3: natural 400 + 10j + 4 + 0.5
    assert row_or_none(usinas, usina="ITAIPU") == {
        "data": D(2025, 8, 4),
        "bacia": "BACIA DO RIO PARANÁ",
        "usina": "ITAIPU",
        "posto": 266,
        "vazao_natural_c1": 404.5,
        "vazao_natural_c2": 414.5,
        "vazao_natural_mes_m3s": 424.5,
        "vazao_natural_mes_pct_mlt": 434.5,
        "vazao_natural_c5": 444.5,
        "vazao_natural_c6": 454.5,
        "vazao_natural_c7": 464.5,
        "vazao_natural_c8": 474.5,
        "vazao_natural_dia_m3s": 484.5,
        "nivel_m": 400.25,  # 400 + 0.25
        "armazenamento_pct_vu": 30.5,  # 30 + 0.5
        "turbinada_m3s": 400.75,  # q = 0
        "vertida_m3s": 401.75,  # q = 1 (q = 2 is the unlabelled OUT. column)
        "defluente_m3s": 403.75,
        "transferida_m3s": 404.75,
        "afluente_m3s": 405.75,
        "incremental_m3s": 406.75,
        "usos_consuntivos_m3s": 407.75,
        "evaporacao_m3s": 408.75,
        "source_member": _HH,
        "sheet": _HH,
    }
    jaguara = row_or_none(usinas, usina="JAGUARA")  # k = 2, ARM. "ND"
    assert jaguara["armazenamento_pct_vu"] is None
    assert jaguara["nivel_m"] == 300.25 and jaguara["bacia"] == "BACIA DO RIO GRANDE"

    sub = tables["subsistemas"].table
    assert sub["subsistema"].to_pylist() == ["SUDESTE", "SUL", "NORDESTE", "NORTE"]
    # NORDESTE i = 2: 3000 + 1..4, storage 20 * 2 + 10.5
    assert row_or_none(sub, subsistema="NORDESTE") == {
        "data": D(2025, 8, 4),
        "subsistema": "NORDESTE",
        "media_semana_65": 3001.0,
        "media_mes_65": 3002.0,
        "media_semana_queda": 3003.0,
        "media_mes_queda": 3004.0,
        "armazenamento_pct_earmax": 50.5,
        "source_member": _SUB,
        "sheet": _SUB,
    }
    rees = tables["rees"].table
    assert rees["ree"].to_pylist() == ["SUDESTE", "PARANÁ", "ITAIPU"]
    # PARANÁ i = 1: 4000 + 1, storage 5 + 1.5
    assert row_or_none(rees, ree="PARANÁ")["media_semana_65"] == 4001.0
    assert row_or_none(rees, ree="PARANÁ")["armazenamento_pct_earmax"] == 6.5


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({(_HH, 3, 4): "CÓDIGO"}, "POSTO"),  # a header label missing
        ({(_HH, 4, 23): "EVAP"}, "EVP"),
        ({(_HH, 1, 0): "Data: 04/08/2025"}, "Data considerada"),
        # the natural group one column wider
        ({(_HH, 3, 14): None, (_HH, 3, 15): "RES.", (_HH, 3, 16): "ARM."}, "VAZÃO NATURAL"),
        ({(_HH, 8, 14): "abc"}, "nivel_m"),  # text in a numeric cell
        ({(_HH, 8, 4): "6a"}, "gauge code"),
        ({(_SUB, 11, 0): "CENTRO"}, "SUDESTE"),  # a subsystem block shifted / renamed
        ({(_SUB, 6, 11): "cheio"}, "armazenamento_pct_earmax"),
    ],
)
def test_rdh_mismatch(tmp_path: Path, cells, message) -> None:
    path = make_rdh(tmp_path / _RDH, D(2025, 8, 5), cells=cells)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 233)


def test_rdh_implausible_storage_is_counted(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / _RDH, D(2025, 8, 5), cells={(_SUB, 6, 11): 250.0})
    assert read_product(path, 233)["subsistemas"].implausible == {"armazenamento_pct_earmax": 1}


# --------------------------------------------------------------------------- 234


def test_acomp_hidrologico_series(tmp_path: Path) -> None:
    tables = read_product(make_acomp_hidrologico(tmp_path / _VAZOES, D(2025, 8, 5)), 234)
    assert sorted(tables) == ["vazoes_fluviometricas", "vazoes_observadas"]
    observadas = tables["vazoes_observadas"]
    assert observadas.catalogued and not observadas.drift and not observadas.implausible
    table = observadas.table
    assert table.column_names == [
        "data", "bacia", "estacao", "tipo_vazao", "vazao_m3s", "source_member", "sheet",
    ]  # fmt: skip
    # Grande 3 series + Paranaiba 2 series, 90 days, minus CAMARGOS VIA's "ND" on day 0
    assert table.num_rows == 449
    # Day i = 08/05/2025 + i; FURNAS VNS s = 2, i = 89 (05/08): 3000 + 89 + 0.5
    assert row_or_none(table, estacao="FURNAS", data=D(2025, 8, 5)) == {
        "data": D(2025, 8, 5),
        "bacia": "Grande",
        "estacao": "FURNAS",
        "tipo_vazao": "VNS",
        "vazao_m3s": 3089.5,
        "source_member": "Grande",
        "sheet": "Grande",
    }
    # CAMARGOS VIA s = 1: "ND" on 08/05, then 2000 + 1 + 0.5 on 09/05 (merged station name)
    assert row_or_none(table, estacao="CAMARGOS", tipo_vazao="VIA", data=D(2025, 5, 8)) is None
    row = row_or_none(table, estacao="CAMARGOS", tipo_vazao="VIA", data=D(2025, 5, 9))
    assert row["vazao_m3s"] == 2001.5
    # EMBORCAÇÃO VNA s = 1, 01/06 is i = 24: 2000 + 24 + 0.5
    row = row_or_none(table, estacao="EMBORCAÇÃO", tipo_vazao="VNA", data=D(2025, 6, 1))
    assert row["vazao_m3s"] == 2024.5 and row["bacia"] == "Paranaiba"
    fluvio = tables["vazoes_fluviometricas"].table
    assert fluvio.num_rows == 180  # 2 stations x 90 days
    # PORTO DOS BUENOS s = 1, 31/05 is i = 23: 2000 + 23 + 0.5
    assert (
        row_or_none(fluvio, estacao="PORTO DOS BUENOS", data=D(2025, 5, 31))["vazao_m3s"] == 2023.5
    )


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({("Grande", 6, 0): "DIA"}, "DATA"),
        ({("Grande", 6, 2): "m³/s"}, "flow type code"),  # codes moved / units in their place
        ({("Grande", 9, 3): "abc"}, "FURNAS VNS"),  # text in a numeric cell
        ({("Grande", 12, 0): D(2025, 1, 1)}, "consecutive"),
        ({("Paranaiba", 100, 0): D(2025, 9, 1)}, "no dated row"),  # a date under the note
    ],
)
def test_acomp_hidrologico_mismatch(tmp_path: Path, cells, message) -> None:
    path = make_acomp_hidrologico(tmp_path / _VAZOES, D(2025, 8, 5), cells=cells)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 234)


def test_acomp_hidrologico_implausible_and_drift(tmp_path: Path) -> None:
    import openpyxl

    path = make_acomp_hidrologico(
        tmp_path / _VAZOES, D(2025, 8, 5), cells={("Grande", 7, 1): 500000.0}
    )
    book = openpyxl.load_workbook(path)
    extra = book.create_sheet("Resumo")
    extra.append(["Estação", "Vazão"])
    extra.append(["FURNAS", 1.5])
    book.save(path)
    tables = read_product(path, 234)
    assert tables["vazoes_observadas"].implausible == {"vazao_m3s": 1}
    (other,) = [t for t in tables.values() if not t.catalogued]
    assert other.sheet == "Resumo" and other.drift["uncatalogued"] == ["Resumo"]
