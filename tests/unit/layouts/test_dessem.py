"""DESSEM load forecasts (275 Blocos, 479 PrevCargaDESSEM) and the WEOL-SM deck (785).

Every file is read through the real catalog entry, as the DAG reads it. Expected values are
computed by hand from the generators' docstrings (:mod:`sintegre_dev.ons_files.dessem`).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.parsed import one_row, read_product, rows_where
from sintegre.readers.errors import LayoutMismatch
from sintegre_dev.fixtures import make_zip
from sintegre_dev.ons_files.dessem import make_blocos, make_prevcarga_dessem, make_weol_deck

D = dt.date
DAY = D(2025, 8, 5)
BLOCOS = "Blocos_2025-08-05.zip"
PREVCARGA = "PrevCargaDESSEM_2025-08-05.zip"
WEOL = "Deck_PrevMes_20250805.zip"
WEOL_ROOT = "Deck_PrevMes_20250805"
WEOL_PREV = (
    f"{WEOL_ROOT}/Arquivos Saida/Previsoes Subsistemas Finais/Total/"
    "Prev_20250805_Semanas_20250809_20250912.csv"
)
WEOL_PATAMARES = f"{WEOL_ROOT}/Arquivos Entrada/Dados Cadastrais/Patamares_20250809_20250912.csv"


def _edited(path: Path, member: str, edit: Callable[[str], str], encoding="latin-1") -> Path:
    """Rewrite one member of a generated zip (a mismatch case)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = edit(members[member].decode(encoding)).encode(encoding)
    path.unlink()
    return make_zip(path, members)


def _added(path: Path, member: str, content: bytes) -> Path:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = content
    path.unlink()
    return make_zip(path, members)


# --------------------------------------------------------------------------- 275 Blocos


def test_275_dp_records(tmp_path: Path) -> None:
    parsed = read_product(make_blocos(tmp_path / BLOCOS, DAY), 275)
    assert set(parsed) == {"dp", "de", "tm"}
    dp = parsed["dp"]
    assert dp.catalogued and dp.drift is None and dp.implausible is None
    assert dp.table.num_rows == 209  # 4 x (48 + 4) + FC
    assert str(dp.table.schema.field("demanda_mw").type) == "double"
    assert str(dp.table.schema.field("dia").type) == "int64"
    # SE k = 0: 36000
    assert one_row(dp, codigo_submercado=1, dia=5, hora=0, meia_hora=0) == {
        "codigo_submercado": 1,
        "submercado": "SE",
        "dia": 5,
        "hora": 0,
        "meia_hora": 0,
        "dia_final": None,
        "hora_final": None,
        "meia_hora_final": None,
        "demanda_mw": 36000.0,
        "source_member": "DP.txt",
    }
    # SE k = 47 (23:30): 36000 + 470
    assert one_row(dp, codigo_submercado=1, dia=5, hora=23, meia_hora=1)["demanda_mw"] == 36470.0
    # S k = 3 (01:30): 12000 + 30
    assert one_row(dp, codigo_submercado=2, dia=5, hora=1, meia_hora=1)["demanda_mw"] == 12030.0
    # NE day 6, patamar p = 2 (10 h): 11000 + 1500
    row = one_row(dp, codigo_submercado=3, dia=6, hora=10)
    assert row["demanda_mw"] == 12500.0 and row["submercado"] == "NE"
    # N day 6, p = 3 (22 h): 6000 + 2000
    assert one_row(dp, codigo_submercado=4, dia=6, hora=22)["demanda_mw"] == 8000.0
    assert one_row(dp, codigo_submercado=11) == {
        "codigo_submercado": 11,
        "submercado": "FC",
        "dia": 5,
        "hora": 0,
        "meia_hora": 0,
        "dia_final": None,
        "hora_final": None,
        "meia_hora_final": None,
        "demanda_mw": 0.0,
        "source_member": "DP.txt",
    }
    assert len(rows_where(dp, codigo_submercado=3, dia=5)) == 48


def test_275_de_and_tm(tmp_path: Path) -> None:
    parsed = read_product(make_blocos(tmp_path / BLOCOS, DAY), 275)
    de, tm = parsed["de"], parsed["tm"]
    assert de.table.num_rows == 8 and tm.table.num_rows == 52
    # c = 2, k = 3 (01:30): 2000 + 15
    assert one_row(de, codigo_demanda=2, hora=1, meia_hora=1) == {
        "codigo_demanda": 2,
        "dia": 5,
        "hora": 1,
        "meia_hora": 1,
        "dia_final": None,
        "hora_final": None,
        "meia_hora_final": None,
        "demanda_mw": 2015.0,
        "justificativa": "CARGA.IPU",
        "source_member": "DE.txt",
    }
    assert one_row(de, codigo_demanda=1, hora=0, meia_hora=0)["justificativa"] == "ANDE"
    assert one_row(tm, dia=5, hora=10, meia_hora=1) == {
        "dia": 5,
        "hora": 10,
        "meia_hora": 1,
        "duracao_h": 0.5,
        "rede": 1,
        "patamar": "PESADA",
        "source_member": "Bloco_TM.txt",
    }
    assert one_row(tm, dia=5, hora=6, meia_hora=1)["patamar"] == "LEVE"
    assert one_row(tm, dia=5, hora=22, meia_hora=0)["patamar"] == "MEDIA"
    day2 = rows_where(tm, dia=6)
    assert [(r["hora"], r["duracao_h"], r["patamar"], r["rede"]) for r in day2] == [
        (0, 7.0, "LEVE", 0),
        (7, 3.0, "MEDIA", 0),
        (10, 12.0, "PESADA", 0),
        (22, 2.0, "MEDIA", 0),
    ]


_DP_SE_0 = "DP   1   5  0 0  F           36000"


@pytest.mark.parametrize(
    ("member", "edit", "message"),
    [
        # the demand moved 6 columns left: a different number if read by position
        ("DP.txt", lambda s: s.replace(_DP_SE_0, "DP   1   5  0 0  F     36000"), "column 24"),
        ("DP.txt", lambda s: s.replace(_DP_SE_0, _DP_SE_0[:-5] + "3600x"), "a number for"),
        ("DP.txt", lambda s: s.replace(_DP_SE_0, _DP_SE_0 + "  7"), "nothing after"),
        ("DP.txt", lambda s: s.replace(_DP_SE_0, "DP   1  45  0 0  F           36000"), "1-31"),
        ("DP.txt", lambda s: s.replace("&   CARGA", "CARGA PREVISTA"), "a DP record"),
        ("DP.txt", lambda s: s + "DP   1   5  0 0  F           36001\r\n", "one DP record"),
        ("DE.txt", lambda s: s.replace("ANDE", "ANDE      extra"), "nothing after"),
        ("Bloco_TM.txt", lambda s: s.replace("PESADA", "PICO", 1), "a patamar in"),
        ("Bloco_TM.txt", lambda s: s.replace("  0.5", "  0,5", 1), "a number for"),
        ("Bloco_TM.txt", lambda s: s.replace("     1   ", " ", 1), "7 fields"),
    ],
)
def test_275_mismatch(tmp_path: Path, member: str, edit, message: str) -> None:
    path = _edited(make_blocos(tmp_path / BLOCOS, DAY), member, edit)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 275)


def test_275_implausible_demand_is_counted(tmp_path: Path) -> None:
    path = _edited(
        make_blocos(tmp_path / BLOCOS, DAY),
        "DP.txt",
        lambda s: s.replace(_DP_SE_0, "DP   1   5  0 0  F          -360.5"),
    )
    dp = read_product(path, 275)["dp"]
    assert dp.implausible == {"demanda_mw": 1}
    assert one_row(dp, codigo_submercado=1, dia=5, hora=0, meia_hora=0)["demanda_mw"] == -360.5


def test_275_unknown_member_is_drift(tmp_path: Path) -> None:
    path = _added(make_blocos(tmp_path / BLOCOS, DAY), "leiame.csv", b"a;b\r\n1;2\r\n")
    parsed = read_product(path, 275)
    extra = [t for t in parsed.values() if not t.catalogued]
    assert len(extra) == 1 and extra[0].drift is not None
    assert parsed["dp"].table.num_rows == 209


# --------------------------------------------------------------------------- 479


def test_479_half_hourly_load_per_subsystem(tmp_path: Path) -> None:
    parsed = read_product(make_prevcarga_dessem(tmp_path / PREVCARGA, DAY), 479)
    assert set(parsed) == {"carga"}
    carga = parsed["carga"]
    assert carga.catalogued and carga.drift is None and carga.implausible is None
    assert carga.table.num_rows == 192
    assert str(carga.table.schema.field("data_hora").type) == "timestamp[us]"
    assert carga.table.column_names == ["data_hora", "carga_mw", "source_member", "submercado"]
    # SECO k = 0: 3600000 cents
    assert one_row(carga, submercado="SECO", data_hora=dt.datetime(2025, 8, 5, 0, 0)) == {
        "data_hora": dt.datetime(2025, 8, 5, 0, 0),
        "carga_mw": 36000.0,
        "source_member": "PrevCargaDESSEM_SECO_2025-08-05.csv",
        "submercado": "SECO",
    }
    # SECO k = 47 (23:30): 3600000 + 34075 = 3634075
    row = one_row(carga, submercado="SECO", data_hora=dt.datetime(2025, 8, 5, 23, 30))
    assert row["carga_mw"] == 36340.75
    # NE k = 1: 1100000 + 725 = 1100725
    assert one_row(carga, submercado="NE", data_hora=dt.datetime(2025, 8, 5, 0, 30))[
        "carga_mw"
    ] == (11007.25)
    # S k = 10 (05:00): 1200000 + 7250
    assert one_row(carga, submercado="S", data_hora=dt.datetime(2025, 8, 5, 5, 0))["carga_mw"] == (
        12072.5
    )
    # N k = 4 (02:00): 600000 + 2900
    assert one_row(carga, submercado="N", data_hora=dt.datetime(2025, 8, 5, 2, 0))["carga_mw"] == (
        6029.0
    )


_SECO = "PrevCargaDESSEM_SECO_2025-08-05.csv"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("val_previsaocarga", "val_carga"), "val_previsaocarga"),
        (lambda s: s.replace("36.000,00", "n/d"), "a number for val_previsaocarga"),
        (lambda s: s.replace("36.000,00", "36000.00"), "a number for val_previsaocarga"),
        (lambda s: s.replace("2025-08-05 00:30:00", "2025-08-05 00:00:00"), "a time after"),
        (lambda s: s.replace("2025-08-05 00:30:00", "2025-08-05 00:15:00"), "half hour"),
        (lambda s: s.replace("2025-08-05 01:00:00", "amanhã"), "a date-time"),
    ],
)
def test_479_mismatch(tmp_path: Path, edit, message: str) -> None:
    path = _edited(make_prevcarga_dessem(tmp_path / PREVCARGA, DAY), _SECO, edit, "utf-8")
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 479)


def test_479_implausible_and_drift(tmp_path: Path) -> None:
    path = _edited(
        make_prevcarga_dessem(tmp_path / PREVCARGA, DAY),
        _SECO,
        lambda s: s.replace("36.000,00", "-1,50"),
        "utf-8",
    )
    path = _added(path, "leiame.csv", b"a;b\r\n1;2\r\n")
    parsed = read_product(path, 479)
    assert parsed["carga"].implausible == {"carga_mw": 1}
    extra = [t for t in parsed.values() if not t.catalogued]
    assert len(extra) == 1 and extra[0].drift is not None


# --------------------------------------------------------------------------- 785 WEOL


def test_785_forecast_long_per_region_week_patamar(tmp_path: Path) -> None:
    parsed = read_product(make_weol_deck(tmp_path / WEOL, DAY), 785)
    assert set(parsed) == {"previsao", "patamares"}  # the rest of the deck is kept raw
    prev = parsed["previsao"]
    assert prev.catalogued and prev.drift is None and prev.implausible is None
    assert prev.table.num_rows == 45  # 3 regions x 5 weeks x 3 patamares
    # NE w = 1, pesado: 9000 + 100 + 0 + 0.25
    assert one_row(prev, regiao="NE", semana=1, patamar="pesado") == {
        "regiao": "NE",
        "semana": 1,
        "inicio": D(2025, 8, 9),
        "fim": D(2025, 8, 15),
        "patamar": "pesado",
        "codigo_patamar": 1,
        "geracao_mwmed": 9100.25,
        "source_member": WEOL_PREV,
    }
    # S w = 5 (06/09-12/09), leve: 2000 + 500 + 20 + 0.25
    row = one_row(prev, regiao="S", semana=5, patamar="leve")
    assert (row["inicio"], row["fim"], row["codigo_patamar"], row["geracao_mwmed"]) == (
        D(2025, 9, 6),
        D(2025, 9, 12),
        3,
        2520.25,
    )
    # N w = 3, medio: 1000 + 300 + 10 + 0.25
    assert one_row(prev, regiao="N", semana=3, patamar="medio")["geracao_mwmed"] == 1310.25


def test_785_patamares_calendar(tmp_path: Path) -> None:
    pat = read_product(make_weol_deck(tmp_path / WEOL, DAY), 785)["patamares"]
    assert pat.table.num_rows == 24
    assert str(pat.table.schema.field("inicio").type) == "timestamp[us]"
    assert one_row(pat, inicio=dt.datetime(2025, 8, 9, 12, 0)) == {
        "inicio": dt.datetime(2025, 8, 9, 12, 0),
        "patamar": "Pesado",
        "codigo_patamar": 1,
        "dia_semana": "Sábado",
        "dia_tipico": "Sabado",
        "tipo_dia": "Nao Util",
        "intervalo": "13",
        "dia": "9",
        "semana": "1",
        "mes": "8",
        "source_member": WEOL_PATAMARES,
    }
    assert one_row(pat, inicio=dt.datetime(2025, 8, 9, 6, 0))["codigo_patamar"] == 3
    assert one_row(pat, inicio=dt.datetime(2025, 8, 9, 22, 0))["patamar"] == "Medio"


@pytest.mark.parametrize(
    ("member", "edit", "message"),
    [
        (WEOL_PREV, lambda s: s.replace("9100.25", "9.100,25"), "a number for pesado"),
        (WEOL_PREV, lambda s: s.replace("9100.25;", "", 1), "16 cells"),
        (WEOL_PREV, lambda s: s.replace("Patamares;", "Total;", 1), "'Patamares' row"),
        (WEOL_PREV, lambda s: s.replace("Pesado;Medio;Leve", "Leve;Medio;Pesado", 1), "order"),
        (WEOL_PREV, lambda s: s.replace("09/08/2025", "2025-08-09", 1), "dd/mm/yyyy"),
        (WEOL_PATAMARES, lambda s: s.replace("Inicio;", "Data;", 1), "Inicio"),
        (WEOL_PATAMARES, lambda s: s.replace(";Pesado;1;", ";Pesado;P;", 1), "patamar code"),
        (WEOL_PATAMARES, lambda s: s.replace("2025-08-09 03:00:00", "03h", 1), "a date-time"),
    ],
)
def test_785_mismatch(tmp_path: Path, member: str, edit, message: str) -> None:
    path = _edited(make_weol_deck(tmp_path / WEOL, DAY), member, edit)
    with pytest.raises(LayoutMismatch, match=message):
        read_product(path, 785)


def test_785_implausible_and_unknown_member(tmp_path: Path) -> None:
    path = _edited(
        make_weol_deck(tmp_path / WEOL, DAY), WEOL_PREV, lambda s: s.replace("9100.25", "-3.5")
    )
    path = _added(path, f"{WEOL_ROOT}/leiame.csv", b"a;b\r\n1;2\r\n")
    parsed = read_product(path, 785)
    assert parsed["previsao"].implausible == {"geracao_mwmed": 1}
    extra = [t for t in parsed.values() if not t.catalogued]
    assert len(extra) == 1 and extra[0].drift is not None


def test_generators_write_crlf_and_latin1(tmp_path: Path) -> None:
    with zipfile.ZipFile(make_weol_deck(tmp_path / WEOL, DAY)) as archive:
        calendar = archive.read(WEOL_PATAMARES)
    assert b"S\xe1bado" in calendar and calendar.endswith(b"\r\n")
    with zipfile.ZipFile(make_blocos(tmp_path / BLOCOS, DAY)) as archive:
        dp = io.TextIOWrapper(io.BytesIO(archive.read("DP.txt")), newline="").read()
    assert "DP   1   5  0 0  F           36000\r\n" in dp
