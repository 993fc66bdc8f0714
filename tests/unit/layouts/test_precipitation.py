"""Rain products read through the real catalog: PSAT (487), ECMWF/ETA/GEFS (551/549/550), PDP (238).

Expected values are computed by hand from the formulas in the generators' docstrings
(:mod:`sintegre_dev.ons_files.precipitation`), never read back from a generated file.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from helpers.parsed import one_row, read_product
from sintegre.readers.errors import LayoutMismatch
from sintegre_dev.ons_files.precipitation import (
    make_ecmwf,
    make_eta,
    make_gefs,
    make_pdp_models,
    make_psat,
)

D = dt.date
RUN = D(2025, 8, 5)


def _rezip(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a ZIP, replacing (bytes), removing (None) or adding members."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name, data in change.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


# --------------------------------------------------------------------------- 487


def test_psat_rows_by_hand(tmp_path: Path) -> None:
    parsed = read_product(make_psat(tmp_path / "psat_05082025.txt", RUN), 487)
    assert list(parsed) == ["psat"]
    psat = parsed["psat"]
    assert psat.catalogued and psat.drift is None and psat.implausible is None
    assert psat.table.column_names == [
        "data",
        "codigo_psat",
        "latitude",
        "longitude",
        "precipitacao_mm",
    ]
    assert [str(f.type) for f in psat.table.schema] == [
        "date32[day]",
        "string",
        "double",
        "double",
        "double",
    ]
    # i = 0..5: lat -(1000 + 150 i)/100, lon -(4000 + 200 i)/100, mm (500 + 37 i)/100
    expected = [
        ("PSATAGV", -10.0, -40.0, 5.0),
        ("PSATCMG", -11.5, -42.0, 5.37),
        ("PSATIPSI", -13.0, -44.0, 5.74),
        ("PSATBIGU", -14.5, -46.0, 6.11),
        ("PSATFUN", -16.0, -48.0, 6.48),
        ("PSATSFR", -17.5, -50.0, 6.85),
    ]
    assert psat.table.to_pylist() == [
        {"data": RUN, "codigo_psat": c, "latitude": la, "longitude": lo, "precipitacao_mm": mm}
        for c, la, lo, mm in expected
    ]


def test_psat_older_narrower_lines_and_crlf(tmp_path: Path) -> None:
    # 2022 files write the rain one character narrower (31-character lines).
    path = tmp_path / "psat_01072022.txt"
    path.write_bytes(b"PSATAGV    -19.89  -50.35  0.00\r\nPSATCMG    -21.28  -44.63  0.05\r\n")
    psat = read_product(path, 487)["psat"]
    assert one_row(psat, codigo_psat="PSATCMG") == {
        "data": D(2022, 7, 1),
        "codigo_psat": "PSATCMG",
        "latitude": -21.28,
        "longitude": -44.63,
        "precipitacao_mm": 0.05,
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PSATAGV    -19.89  -50.35\n", "4 whitespace-separated fields"),
        (b"PSATAGV    -19.89  -50.35   2,83\n", "a number for the rain"),
        (b"-19.89  PSATAGV  -50.35   2.83\n", "a PSAT code"),
        (b"PSATAGV -19.89 -50.35 2.83\nPSATAGV -19.89 -50.35 2.83\n", "each PSAT code once"),
        (b"PSATAGV -19.89 -50.35 2.83\nFonte: ONS\n", "4 whitespace-separated fields"),
    ],
)
def test_psat_mismatch(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "psat_05082025.txt"
    path.write_bytes(content)
    with pytest.raises(LayoutMismatch, match=re.escape(expected)) as caught:
        read_product(path, 487)
    assert caught.value.table == "psat"


def test_psat_without_date_in_name_is_a_mismatch(tmp_path: Path) -> None:
    path = make_psat(tmp_path / "psat_hoje.txt", RUN)
    with pytest.raises(LayoutMismatch, match="psat_ddmmyyyy"):
        read_product(path, 487)


def test_psat_implausible_rain_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "psat_05082025.txt"
    path.write_bytes(b"PSATAGV    -19.89  -50.35 612.00\nPSATCMG    -21.28  -44.63  -1.00\n")
    psat = read_product(path, 487)["psat"]
    assert psat.implausible == {"precipitacao_mm": 2}
    assert one_row(psat, codigo_psat="PSATAGV")["precipitacao_mm"] == 612.0


# --------------------------------------------------------------------------- 551/549/550


@pytest.mark.parametrize(
    ("product_id", "maker", "model", "file_name", "days"),
    [
        (551, make_ecmwf, "ECMWF", "ECMWF_precipitacao14d_20250805.zip", 14),
        (549, make_eta, "ETA40", "ETA40_precipitacao10d_20250805.zip", 10),
        (550, make_gefs, "GEFS", "GEFS_precipitacao14d_20250805.zip", 14),
    ],
)
def test_model_zip_by_hand(
    tmp_path: Path, product_id: int, maker, model: str, file_name: str, days: int
) -> None:
    parsed = read_product(maker(tmp_path / file_name, RUN), product_id)
    assert sorted(parsed) == ["grade", "precipitacao"]  # GEFS datsum/ is kept raw
    sub, grid = parsed["precipitacao"], parsed["grade"]
    assert sub.catalogued and grid.catalogued
    assert sub.drift is None and sub.implausible is None and grid.implausible is None
    assert sub.table.column_names == [
        "modelo",
        "data_rodada",
        "dia",
        "data_prevista",
        "codigo_psat",
        "latitude",
        "longitude",
        "precipitacao_mm",
        "source_member",
    ]
    assert str(sub.table.schema.field("dia").type) == "int64"
    assert str(sub.table.schema.field("data_prevista").type) == "date32[day]"
    assert sub.num_rows == 6 * days
    assert grid.num_rows == 6 * days
    member = f"{model}_m_050825.dat"
    # i = 0 (PSATAGV), k = 1: 10*0 + 1 + 0.25; valid 05/08 + 1
    assert one_row(sub, codigo_psat="PSATAGV", dia=1) == {
        "modelo": model,
        "data_rodada": RUN,
        "dia": 1,
        "data_prevista": D(2025, 8, 6),
        "codigo_psat": "PSATAGV",
        "latitude": -10.0,
        "longitude": -40.0,
        "precipitacao_mm": 1.25,
        "source_member": member,
    }
    # i = 2 (PSATIPSI), k = 3: 20 + 3 + 0.25, lat -13.00, lon -44.00, valid 08/08
    row = one_row(sub, codigo_psat="PSATIPSI", dia=3)
    assert (row["precipitacao_mm"], row["data_prevista"], row["latitude"]) == (
        23.25,
        D(2025, 8, 8),
        -13.0,
    )
    # i = 5 (PSATSFR), last day k = days: 50 + days + 0.25
    last = one_row(sub, codigo_psat="PSATSFR", dia=days)
    assert last["precipitacao_mm"] == 50 + days + 0.25
    assert last["data_prevista"] == RUN + dt.timedelta(days=days)
    # grid k = 2 (07/08), j = 4: lon -75 + 0.4, lat -35 + 0.4, mm 2 + 0.4
    cell = one_row(grid, data_prevista=D(2025, 8, 7), longitude=-74.6, latitude=-34.6)
    assert cell == {
        "modelo": model,
        "data_rodada": RUN,
        "data_prevista": D(2025, 8, 7),
        "longitude": -74.6,
        "latitude": -34.6,
        "precipitacao_mm": 2.4,
        "source_member": f"{model}_p050825a070825.dat",
    }
    assert (
        one_row(grid, data_prevista=D(2025, 8, 6), longitude=-75.0, latitude=-35.0)[
            "precipitacao_mm"
        ]
        == 1.0
    )


def _ecmwf(tmp_path: Path) -> Path:
    return make_ecmwf(tmp_path / "base.zip", RUN)


@pytest.mark.parametrize(
    ("change", "expected", "table"),
    [
        # a day missing on one line: the block of days shifted
        (
            {
                "ECMWF_m_050825.dat": (
                    b"PSATAGV -10.00 -40.00 1.25 2.25\nPSATCMG -11.50 -42.00 11.25\n"
                )
            },
            "5 fields like the first line",
            "precipitacao",
        ),
        # text where a day's rain should be
        (
            {"ECMWF_m_050825.dat": b"PSATAGV -10.00 -40.00 1.25 n/a\n"},
            "a number for day 2 rain",
            "precipitacao",
        ),
        # the old fixed-width code (00001-10.75) where a PSAT code should be
        (
            {"ECMWF_m_050825.dat": b"00001 -10.75 -40.00 1.25\n"},
            "a PSAT code",
            "precipitacao",
        ),
        # a grid line with a fourth field
        ({"ECMWF_p050825a060825.dat": b"-75.00 -35.00 1.0 9\n"}, "3 whitespace", "grade"),
        # a grid whose valid day is not after the run
        (
            {"ECMWF_p050825a050825.dat": b"-75.00 -35.00 1.0\n"},
            "a valid date 1..60 days after",
            "grade",
        ),
    ],
)
def test_model_mismatch(
    tmp_path: Path, change: dict[str, bytes], expected: str, table: str
) -> None:
    path = _rezip(_ecmwf(tmp_path), tmp_path / "ECMWF_precipitacao14d_20250805.zip", change)
    with pytest.raises(LayoutMismatch, match=re.escape(expected)) as caught:
        read_product(path, 551)
    assert caught.value.table == table


def test_model_run_date_in_member_name_must_be_a_date(tmp_path: Path) -> None:
    path = _rezip(
        _ecmwf(tmp_path),
        tmp_path / "ECMWF_precipitacao14d_20250805.zip",
        {"ECMWF_m_050825.dat": None, "ECMWF_m_350825.dat": b"PSATAGV -10.00 -40.00 1.25\n"},
    )
    with pytest.raises(LayoutMismatch, match="ddmmyy date"):
        read_product(path, 551)


def test_model_implausible_rain_and_swapped_coordinates_are_counted(tmp_path: Path) -> None:
    path = _rezip(
        _ecmwf(tmp_path),
        tmp_path / "ECMWF_precipitacao14d_20250805.zip",
        {"ECMWF_m_050825.dat": b"PSATAGV -40.00 -10.00 650.00 1.00\n"},
    )
    sub = read_product(path, 551)["precipitacao"]
    assert sub.implausible == {"latitude": 2, "longitude": 2, "precipitacao_mm": 1}


def test_model_unknown_member_lands_as_drift(tmp_path: Path) -> None:
    path = _rezip(
        _ecmwf(tmp_path),
        tmp_path / "ECMWF_precipitacao14d_20250805.zip",
        {"leiame.csv": b"campo;valor\r\nversao;2\r\n"},
    )
    parsed = read_product(path, 551)
    extra = [t for t in parsed.values() if not t.catalogued]
    assert len(extra) == 1
    assert extra[0].drift is not None and extra[0].drift["uncatalogued"] == ["leiame.csv"]
    assert parsed["precipitacao"].num_rows == 84  # 6 codes x 14 days, unaffected


# --------------------------------------------------------------------------- 238


def test_pdp_models_by_hand(tmp_path: Path) -> None:
    parsed = read_product(make_pdp_models(tmp_path / "Modelos_Chuva_Vazao_20250805.zip", RUN), 238)
    # configuration, the forecast grid and MPV/ are kept raw: no other table
    assert sorted(parsed) == ["chuva_observada", "vazoes_observadas"]
    flows, rain = parsed["vazoes_observadas"], parsed["chuva_observada"]
    assert flows.drift is None and rain.drift is None
    assert flows.num_rows == 15 and rain.num_rows == 15  # 3 plants x 5 days
    assert str(flows.table.schema.field("data_hora").type) == "timestamp[us]"
    # FUNIL MG is plant p = 1, d = 2 on 05/08 - 5 + 2 = 02/08: 100 + 2 + 0.5
    assert one_row(flows, usina="FUNIL MG", data_hora=dt.datetime(2025, 8, 2)) == {
        "codigo_posto": "61000001",
        "tipo_dado": "COO",
        "intervalo": "DI",
        "tipo_vazao": "VVV",
        "data_hora": dt.datetime(2025, 8, 2),
        "vazao_m3s": 102.5,
        "source_member": "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/FUNIL MG.txt",
        "regiao": "Grande",
        "usina": "FUNIL MG",
    }
    # FOZ AREIA p = 2, d = 4 on 04/08: 200 + 4 + 0.5
    row = one_row(flows, usina="FOZ AREIA", data_hora=dt.datetime(2025, 8, 4))
    assert (row["vazao_m3s"], row["regiao"], row["codigo_posto"]) == (204.5, "Iguacu", "61000002")
    # PSATCMG (file 0PSATCMG_C.txt, padding removed) p = 0, d = 0 on 31/07: 0 + 0 + 0.25
    assert one_row(rain, codigo_psat="PSATCMG", data=D(2025, 7, 31)) == {
        "codigo_psat": "PSATCMG",
        "data": D(2025, 7, 31),
        "hora": "1200",
        "precipitacao_mm": 0.25,
        "source_member": "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/0PSATCMG_C.txt",
        "regiao": "Grande",
    }
    # PSATFUNI (8 letters, no padding) p = 1, d = 3 on 03/08: 10 + 3 + 0.25
    assert one_row(rain, codigo_psat="PSATFUNI", data=D(2025, 8, 3))["precipitacao_mm"] == 13.25


_PLANT = "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/CAMARGOS.txt"
_RAIN = "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/0PSATCMG_C.txt"


@pytest.mark.parametrize(
    ("change", "expected", "table"),
    [
        # the old "posto|dd/mm/yyyy|vazão" three-field layout
        ({_PLANT: b"006|05/08/2025|1022.2\r\n"}, "six '|' fields", "vazoes_observadas"),
        (
            {_PLANT: b"61000000|COO|DI|VVV|05/08/2025|000100.50\r\n"},
            "a timestamp yyyy-mm-dd",
            "vazoes_observadas",
        ),
        (
            {_PLANT: b"61000000|COO|DI|VVV|2025-08-05 00:00:00|100,50\r\n"},
            "a number for the flow",
            "vazoes_observadas",
        ),
        (
            {_RAIN: b"0PSATCMG 2025-08-05 1200 000000.25\r\n"},
            "a date dd/mm/yyyy",
            "chuva_observada",
        ),
        (
            {_RAIN: b"0PSATCMG 05/08/2025 000000.25\r\n"},
            "4 whitespace-separated fields",
            "chuva_observada",
        ),
        # a new per-plant configuration file would be taken for observed flows: loud
        (
            {"Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/CAMARGOS_NOVO.txt": b"1 ' x\r\n"},
            "six '|' fields",
            "vazoes_observadas",
        ),
    ],
)
def test_pdp_mismatch(tmp_path: Path, change: dict[str, bytes], expected: str, table: str) -> None:
    base = make_pdp_models(tmp_path / "base.zip", RUN)
    path = _rezip(base, tmp_path / "Modelos_Chuva_Vazao_20250805.zip", change)
    with pytest.raises(LayoutMismatch, match=re.escape(expected)) as caught:
        read_product(path, 238)
    assert caught.value.table == table


def test_pdp_implausible_flow_is_counted(tmp_path: Path) -> None:
    base = make_pdp_models(tmp_path / "base.zip", RUN)
    path = _rezip(
        base,
        tmp_path / "Modelos_Chuva_Vazao_20250805.zip",
        {_PLANT: b"61000000|COO|DI|VVV|2025-08-04 00:00:00|-00001.00\r\n"},
    )
    flows = read_product(path, 238)["vazoes_observadas"]
    assert flows.implausible == {"vazao_m3s": 1}


def test_pdp_unknown_member_outside_arq_entrada_is_drift(tmp_path: Path) -> None:
    base = make_pdp_models(tmp_path / "base.zip", RUN)
    path = _rezip(
        base,
        tmp_path / "Modelos_Chuva_Vazao_20250805.zip",
        {"Modelos_Chuva_Vazao/SMAP/Grande/ARQ_SAIDA/resumo.csv": b"usina;vazao\r\nCAMARGOS;10\r\n"},
    )
    parsed = read_product(path, 238)
    extra = [t for t in parsed.values() if not t.catalogued]
    assert len(extra) == 1 and extra[0].drift is not None
    assert extra[0].drift["uncatalogued"] == [
        "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_SAIDA/resumo.csv"
    ]
