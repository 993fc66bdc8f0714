"""Spreadsheet products read with their catalog parse specs (real files, no mocks).

The files come from ``tests/fixtures/workbooks.py`` (xlwt, openpyxl, odfpy); the expected
columns, types and values below are written by hand from the layouts and formulas in
those generators' docstrings, never read back from the generators.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from fixtures.workbooks import (
    make_acompanhamento_hidrologico,
    make_acomph,
    make_decomp_carga,
    make_nao_consistido,
    make_newave_carga,
    make_notas_tecnicas,
    make_ods_sample,
    make_pdp_relatorio,
    make_rdh,
)
from sintegre.readers import ParsedTable, ParseError, read_product_file
from sintegre.readers.excel import read_workbook
from sintegre.readers.spec import ParseSpec, TableSpec, WideLayout, table_spec_from_mapping

PERIOD = dt.date(2025, 8, 5)

# The tables: blocks proposed for products.yaml (same text as /tmp/specs/excel.yaml,
# trimmed of comments), loaded with the catalog's own validator.
CATALOG = r"""
230:
  - name: vazoes
    match: ["*"]
    extract: '(?P<bacia>[^/]+)$'
    parse:
      header_rows: 2
      text_columns: [posto]
      wide: {block_width: 8, leading_columns: 1, key_row: 0, key_column: posto}
    columns: [{name: data}, {name: posto}, {name: nivel}, {name: defluencia},
              {name: afluencia}, {name: incremental}, {name: natural}, {name: vertimento},
              {name: turbinamento}, {name: armazenamento}]
233:
  - name: ""
    match: ["*"]
    parse: {sheets: ["RDH*"], header_keyword: APROVEITAMENTO, header_rows: 3,
            text_columns: [codigo]}
    columns: [{name: aproveitamento}, {name: codigo}, {name: vazoes_m3_s_natural_dia},
              {name: vazoes_m3_s_natural_media_mes}, {name: vazoes_m3_s_afluente_dia},
              {name: vazoes_m3_s_afluente_media_mes}, {name: armazenamento_vu},
              {name: armazenamento_hm3}, {name: nivel_m}]
234:
  - name: vazoes_observadas
    match: ["*"]
    extract: '(?P<estacao>[^/]+)$'
    parse: {header_keyword: DATA, header_rows: 2}
    columns: [{name: data}, {name: vazao_m3_s_afluente}, {name: vazao_m3_s_defluente},
              {name: vazao_m3_s_natural}, {name: nivel_m_montante}, {name: nivel_m_jusante}]
548:
  - name: previsao
    match: ["di*ria_*"]
    extract: 'Di.ria_(?P<planilha>\d+)$'
    parse:
      header_rows: 2
      wide: {block_width: 1, leading_columns: 2, key_row: 0, key_column: data}
    columns: [{name: codigo}, {name: aproveitamento}, {name: data}, {name: vazao_m3_s}]
228:
  - name: carga
    match: ["*.xlsx/*"]
    extract: '(?i)RV(?P<revisao>\d+)_PMO_(?P<mes>[^_/]+)_(?P<ano>\d{4})'
    columns: [{name: semana}, {name: data_inicio}, {name: subsistema}, {name: patamar},
              {name: carga_mwmed}, {name: duracao_h}]
  - {name: leiame, match: ["*.pdf"], raw: true}
229:
  - name: ""
    match: ["*.xlsx/*"]
    columns: [{name: week}, {name: gauge}, {name: date}, {name: source}, {name: type},
              {name: load_smmgd}, {name: base_cgh}, {name: base_eol}, {name: base_ufv},
              {name: base_ute}, {name: base_mmgd}, {name: load_cmmgd}]
288:
  - name: carga_mensal
    match: ["*carga_mensal_*.xlsx/*"]
    extract: '(?i)_(?P<mes_referencia>\d\d)_(?P<ano_referencia>\d{4})_(?P<subsistema>[a-z]+)\.xlsx/'
    columns: [{name: mes}, {name: carga_global_mwmed}, {name: mmgd_mwmed},
              {name: carga_liquida_mwmed}]
  - {name: nota_tecnica, match: ["*.pdf"], raw: true}
246:
  - name: vazoes_semanais
    match: ["*.xls/*"]
    extract: '(?i)_(?P<ano_mes>\d{6})_REV(?P<revisao>\d+)\.xls/'
    parse: {header_rows: 2}
    columns: [{name: posto}, {name: aproveitamento}, {name: vazao_semanal_m3_s_sem_1},
              {name: vazao_semanal_m3_s_sem_2}, {name: vazao_semanal_m3_s_sem_3},
              {name: vazao_semanal_m3_s_sem_4}, {name: vazao_semanal_m3_s_sem_5}]
  - name: prevs
    match: ["*.prv"]
    extract: '(?i)_(?P<ano_mes>\d{6})_REV(?P<revisao>\d+)\.prv$'
    parse:
      header: false
      column_names: [linha, posto, semana_1, semana_2, semana_3, semana_4, semana_5]
"""
_LOADED = yaml.safe_load(CATALOG)

ACOMPH_COLUMNS = [
    "data",
    "posto",
    "nivel",
    "defluencia",
    "afluencia",
    "incremental",
    "natural",
    "vertimento",
    "turbinamento",
    "armazenamento",
]
RDH_COLUMNS = [
    "aproveitamento",
    "codigo",
    "vazoes_m3_s_natural_dia",
    "vazoes_m3_s_natural_media_mes",
    "vazoes_m3_s_afluente_dia",
    "vazoes_m3_s_afluente_media_mes",
    "armazenamento_vu",
    "armazenamento_hm3",
    "nivel_m",
]
STATION_COLUMNS = [
    "data",
    "vazao_m3_s_afluente",
    "vazao_m3_s_defluente",
    "vazao_m3_s_natural",
    "nivel_m_montante",
    "nivel_m_jusante",
]
DATE, STR, DBL, INT = "date32[day]", "string", "double", "int64"


def specs(product: int) -> list[TableSpec]:
    return [
        table_spec_from_mapping(raw, f"test catalog {product}[{index}]")
        for index, raw in enumerate(_LOADED[product])
    ]


def parse_of(product: int, index: int = 0) -> ParseSpec:
    return specs(product)[index].parse


def always(spec: ParseSpec) -> Any:
    return lambda sheet: spec


def types(parsed: ParsedTable) -> dict[str, str]:
    return {field.name: str(field.type) for field in parsed.table.schema}


def rows_where(parsed: ParsedTable, **equal: object) -> list[dict[str, Any]]:
    return [
        row
        for row in parsed.table.to_pylist()
        if all(row[key] == value for key, value in equal.items())
    ]


def by_name(tables: list[ParsedTable]) -> dict[str, ParsedTable]:
    return {table.name: table for table in tables}


# --------------------------------------------------------------------------- 230 Acomph


def test_acomph_xls_wide_blocks_become_long_rows(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)

    grande, paranaiba = read_workbook(path, '"ACOMPH_05.08.2025.xls"', always(parse_of(230)))

    assert (grande.source_member, paranaiba.source_member) == ("Grande", "Paranaíba")
    assert grande.table.column_names == ACOMPH_COLUMNS
    assert grande.original_columns == [
        "Data",
        "posto",
        "Nível",
        "Defluência",
        "Afluência",
        "Incremental",
        "Natural",
        "Vertimento",
        "Turbinamento",
        "Armazenamento",
    ]
    assert types(grande) == {"data": DATE, "posto": STR} | dict.fromkeys(ACOMPH_COLUMNS[2:], DBL)
    # 30 days x 3 gauges; Paranaíba: 30 x 2 minus gauge 31's empty last day.
    assert grande.table.num_rows == 90
    assert paranaiba.table.num_rows == 59
    assert Counter(grande.table.column("posto").to_pylist()) == {"1": 30, "6": 30, "211": 30}
    assert grande.table.slice(0, 1).to_pylist() == [
        {
            "data": dt.date(2025, 7, 7),
            "posto": "1",
            "nivel": 100.05,
            "defluencia": 100.15,
            "afluencia": 100.25,
            "incremental": 100.35,
            "natural": 100.45,
            "vertimento": 100.55,
            "turbinamento": 100.65,
            "armazenamento": 100.75,
        }
    ]
    (furnas,) = rows_where(grande, posto="6", data=dt.date(2025, 7, 10))
    assert furnas["afluencia"] == 603.25
    (last,) = rows_where(grande, posto="211", data=dt.date(2025, 8, 5))
    assert last["natural"] == 21129.45
    assert rows_where(paranaiba, posto="31", data=dt.date(2025, 8, 5)) == []
    assert max(paranaiba.table.column("data").to_pylist()) == dt.date(2025, 8, 5)


def test_acomph_gauge_codes_are_numbers_without_text_columns(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)
    spec = ParseSpec(header_rows=2, wide=WideLayout(8, leading_columns=1, key_column="posto"))

    grande = read_workbook(path, "acomph", always(spec))[0]

    assert types(grande)["posto"] == INT
    assert sorted(set(grande.table.column("posto").to_pylist())) == [1, 6, 211]


def test_acomph_through_the_catalog_is_one_table_with_the_basin(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)

    (vazoes,) = read_product_file(path, tables=specs(230))

    assert vazoes.name == "vazoes"
    assert vazoes.drift is None
    assert vazoes.table.num_rows == 149
    assert Counter(vazoes.table.column("bacia").to_pylist()) == {"Grande": 90, "Paranaíba": 59}
    assert vazoes.table.column_names[:10] == ACOMPH_COLUMNS


def test_acomph_generic_reading_is_unchanged_without_a_spec(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)

    tables = read_workbook(path, "acomph", lambda sheet: None)

    # Without the spec the gauge-code row is taken as the only header row.
    assert [t.name for t in tables] == ["grande", "paranaiba"]
    assert tables[0].original_columns[:3] == ["Data", "1", ""]
    assert tables[0].table.num_rows == 31


# --------------------------------------------------------------------------- 233 RDH


def test_rdh_header_by_keyword_three_merged_rows_and_text_codes(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / "RDH_05AGO2025.xlsx", PERIOD)

    (rdh,) = read_workbook(path, "rdh", always(parse_of(233)))  # "Legenda" is skipped

    assert rdh.source_member == "RDH"
    assert rdh.table.column_names == RDH_COLUMNS
    assert rdh.original_columns == [
        "APROVEITAMENTO",
        "CÓDIGO",
        "VAZÕES (m³/s) NATURAL DIA",
        "VAZÕES (m³/s) NATURAL MÉDIA MÊS",
        "VAZÕES (m³/s) AFLUENTE DIA",
        "VAZÕES (m³/s) AFLUENTE MÉDIA MÊS",
        "ARMAZENAMENTO %VU",
        "ARMAZENAMENTO hm³",
        "NÍVEL (m)",
    ]
    assert types(rdh) == {
        "aproveitamento": STR,
        "codigo": STR,
        "vazoes_m3_s_natural_dia": DBL,
        "vazoes_m3_s_natural_media_mes": DBL,
        "vazoes_m3_s_afluente_dia": DBL,
        "vazoes_m3_s_afluente_media_mes": DBL,
        "armazenamento_vu": DBL,
        "armazenamento_hm3": INT,
        "nivel_m": DBL,
    }
    assert rdh.table.column("codigo").to_pylist() == ["001", "006", "008", "266", "169", "275"]
    (furnas,) = rows_where(rdh, aproveitamento="FURNAS")
    assert furnas == {
        "aproveitamento": "FURNAS",
        "codigo": "006",
        "vazoes_m3_s_natural_dia": 2005.5,
        "vazoes_m3_s_natural_media_mes": 2000.25,
        "vazoes_m3_s_afluente_dia": 1805.5,
        "vazoes_m3_s_afluente_media_mes": 1800.75,
        "armazenamento_vu": 20.5,
        "armazenamento_hm3": 3000,
        "nivel_m": 701.05,
    }
    (jaguara,) = rows_where(rdh, aproveitamento="JAGUARA")
    assert (jaguara["armazenamento_vu"], jaguara["armazenamento_hm3"]) == (None, None)


def test_rdh_keyword_is_case_and_accent_insensitive(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / "RDH_05AGO2025.xlsx", PERIOD)
    spec = ParseSpec(header_keyword="Código", header_rows=3, sheets=("rdh",))

    (rdh,) = read_workbook(path, "rdh", always(spec))

    assert rdh.table.column_names == RDH_COLUMNS
    assert rdh.table.column("codigo").to_pylist() == [1, 6, 8, 266, 169, 275]


def test_rdh_through_the_catalog(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / "RDH_05AGO2025.xlsx", PERIOD)

    (rdh,) = read_product_file(path, tables=specs(233))

    assert rdh.name == ""
    assert rdh.drift is None
    assert rdh.table.num_rows == 6


def test_missing_header_keyword_is_a_clear_parse_error(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / "RDH_05AGO2025.xlsx", PERIOD)
    spec = ParseSpec(header_keyword="USINA", sheets=("RDH",))

    with pytest.raises(ParseError) as raised:
        read_workbook(path, '"RDH_05AGO2025.xlsx"', always(spec))

    message = str(raised.value)
    assert "\"RDH_05AGO2025.xlsx\" sheet 'RDH'" in message
    assert "no cell contains 'USINA'" in message


# --------------------------------------------------------------------------- 234 Relatório


def test_station_sheets_two_header_rows_one_table(tmp_path: Path) -> None:
    name = "Vazões Observadas - 30-07-2025 a 05-08-2025.xlsx"
    path = make_acompanhamento_hidrologico(tmp_path / name, PERIOD)

    (table,) = read_product_file(path, name, tables=specs(234))

    assert table.name == "vazoes_observadas"
    assert table.drift is None
    assert table.table.column_names[:6] == STATION_COLUMNS
    assert table.original_columns[:6] == [
        "DATA",
        "VAZÃO (m³/s) Afluente",
        "VAZÃO (m³/s) Defluente",
        "VAZÃO (m³/s) Natural",
        "NÍVEL (m) Montante",
        "NÍVEL (m) Jusante",
    ]
    assert {k: v for k, v in types(table).items() if k in STATION_COLUMNS} == {
        "data": DATE,  # written as dd/mm/yyyy text
        "vazao_m3_s_afluente": DBL,
        "vazao_m3_s_defluente": DBL,
        "vazao_m3_s_natural": DBL,
        "nivel_m_montante": DBL,
        "nivel_m_jusante": INT,
    }
    assert table.table.num_rows == 21
    assert Counter(table.table.column("estacao").to_pylist()) == {
        "Furnas": 7,
        "Marimbondo": 7,
        "Água Vermelha": 7,
    }
    (row,) = rows_where(table, estacao="Marimbondo", data=dt.date(2025, 8, 1))
    assert {k: row[k] for k in STATION_COLUMNS[1:]} == {
        "vazao_m3_s_afluente": 2020.5,
        "vazao_m3_s_defluente": 1920.5,
        "vazao_m3_s_natural": 2020.75,
        "nivel_m_montante": 701.2,
        "nivel_m_jusante": 651,
    }


def test_skip_rows_finds_the_same_header_as_the_keyword(tmp_path: Path) -> None:
    path = make_acompanhamento_hidrologico(tmp_path / "v.xlsx", PERIOD)

    by_keyword = read_workbook(path, "v", always(parse_of(234)))
    by_count = read_workbook(path, "v", always(ParseSpec(skip_rows=3, header_rows=2)))

    assert [t.table for t in by_count] == [t.table for t in by_keyword]
    assert by_count[0].table.column_names == STATION_COLUMNS


# --------------------------------------------------------------------------- 548 PDP


def test_pdp_report_xls_date_columns_become_rows(tmp_path: Path) -> None:
    name = "Relatorio_previsao_diaria_05_08_2025_para_07_08_2025.xls"
    path = make_pdp_relatorio(tmp_path / name, PERIOD)

    (previsao,) = read_product_file(path, name, tables=specs(548))

    assert previsao.name == "previsao"
    assert previsao.drift is None
    assert previsao.table.column_names[:4] == ["codigo", "aproveitamento", "data", "vazao_m3_s"]
    assert previsao.original_columns[:4] == ["Código", "Aproveitamento", "data", "Vazão (m³/s)"]
    assert types(previsao)["codigo"] == INT
    assert types(previsao)["data"] == DATE
    assert types(previsao)["vazao_m3_s"] == DBL
    # 4 gauges x 6 days + 4 gauges x 7 days.
    assert Counter(previsao.table.column("planilha").to_pylist()) == {"6": 24, "7": 28}
    (furnas,) = rows_where(previsao, planilha="6", codigo=6, data=dt.date(2025, 8, 6))
    assert (furnas["aproveitamento"], furnas["vazao_m3_s"]) == ("FURNAS", 61.6)
    (sobradinho,) = rows_where(previsao, planilha="7", codigo=169, data=dt.date(2025, 8, 12))
    assert sobradinho["vazao_m3_s"] == 1697.7


# --------------------------------------------------------------------------- 228 / 229 / 288 / 246


def test_decomp_weekly_load_zip(tmp_path: Path) -> None:
    path = make_decomp_carga(tmp_path / "RV0_PMO_Agosto_2025_carga_semanal.zip", PERIOD)

    (carga,) = read_product_file(path, tables=specs(228))  # Leia-me.pdf is kept raw

    assert carga.name == "carga"
    assert carga.drift is None
    assert carga.table.column_names[:6] == [
        "semana",
        "data_inicio",
        "subsistema",
        "patamar",
        "carga_mwmed",
        "duracao_h",
    ]
    assert [types(carga)[c] for c in carga.table.column_names[:6]] == [
        INT,
        DATE,
        STR,
        STR,
        DBL,
        INT,
    ]
    assert carga.table.num_rows == 60
    first = carga.table.slice(0, 1).to_pylist()[0]
    assert (first["revisao"], first["mes"], first["ano"]) == ("0", "Agosto", "2025")
    (se,) = rows_where(carga, semana=1, subsistema="SE", patamar="Pesada")
    assert (se["data_inicio"], se["carga_mwmed"], se["duracao_h"]) == (
        dt.date(2025, 8, 5),
        48001.7,
        21,
    )
    (n,) = rows_where(carga, semana=5, subsistema="N", patamar="Leve")
    assert (n["data_inicio"], n["carga_mwmed"], n["duracao_h"]) == (dt.date(2025, 9, 2), 3008.5, 56)


def test_newave_tidy_workbook_zip(tmp_path: Path) -> None:
    path = make_newave_carga(tmp_path / "RV0_PMO_Agosto_2025_carga_mensal.zip", PERIOD)

    (carga,) = read_product_file(path, tables=specs(229))

    assert carga.name == ""
    assert carga.drift is None
    assert carga.original_columns[:6] == ["WEEK", "GAUGE", "DATE", "SOURCE", "TYPE", "LOAD_sMMGD"]
    assert {k: types(carga)[k] for k in ("week", "gauge", "date", "load_smmgd", "base_mmgd")} == {
        "week": INT,
        "gauge": STR,
        "date": DATE,
        "load_smmgd": DBL,
        "base_mmgd": INT,
    }
    assert carga.table.num_rows == 48
    (ne,) = rows_where(carga, gauge="NE", date=dt.date(2025, 11, 1))
    assert (ne["load_smmgd"], ne["base_mmgd"], ne["load_cmmgd"]) == (12300.5, 1032, 13332.5)


def test_notas_tecnicas_dated_members_land_in_one_table(tmp_path: Path) -> None:
    path = make_notas_tecnicas(tmp_path / "Notas Tecnicas - Medio Prazo.zip", PERIOD)

    (carga,) = read_product_file(path, tables=specs(288))  # the PDF note is kept raw

    assert carga.name == "carga_mensal"
    assert carga.drift is None
    assert carga.table.column_names[:4] == [
        "mes",
        "carga_global_mwmed",
        "mmgd_mwmed",
        "carga_liquida_mwmed",
    ]
    assert [types(carga)[c] for c in carga.table.column_names[:4]] == [DATE, DBL, INT, DBL]
    assert Counter(carga.table.column("subsistema").to_pylist()) == dict.fromkeys(
        ["SE", "S", "NE", "N"], 12
    )
    assert set(carga.table.column("mes_referencia").to_pylist()) == {"08"}
    assert set(carga.table.column("ano_referencia").to_pylist()) == {"2025"}
    (sul,) = rows_where(carga, subsistema="S", mes=dt.date(2026, 7, 1))
    assert (sul["carga_global_mwmed"], sul["mmgd_mwmed"], sul["carga_liquida_mwmed"]) == (
        13110.5,
        556,
        12554.5,
    )


def test_nao_consistido_zip_of_xls_and_prv(tmp_path: Path) -> None:
    path = make_nao_consistido(tmp_path / "Nao_Consistido_202508_REV1.zip", PERIOD)

    tables = by_name(read_product_file(path, tables=specs(246)))

    assert sorted(tables) == ["prevs", "vazoes_semanais"]
    semanais = tables["vazoes_semanais"]
    assert semanais.drift is None
    assert semanais.table.column_names[:3] == [
        "posto",
        "aproveitamento",
        "vazao_semanal_m3_s_sem_1",
    ]
    assert semanais.original_columns[2] == "Vazão semanal (m³/s) Sem 1"
    assert semanais.table.num_rows == 4
    (furnas,) = rows_where(semanais, posto=6)
    assert (furnas["vazao_semanal_m3_s_sem_1"], furnas["revisao"], furnas["ano_mes"]) == (
        61.1,
        "1",
        "202508",
    )
    (tucurui,) = rows_where(semanais, posto=275)
    assert (tucurui["aproveitamento"], tucurui["vazao_semanal_m3_s_sem_5"]) == ("TUCURUÍ", 2755.1)
    prevs = tables["prevs"]
    assert prevs.table.column_names[:7] == [
        "linha",
        "posto",
        "semana_1",
        "semana_2",
        "semana_3",
        "semana_4",
        "semana_5",
    ]
    (line,) = rows_where(prevs, posto=6)
    assert (line["linha"], line["semana_1"], line["semana_5"]) == (2, 61, 65)


# --------------------------------------------------------------------------- ODS


def test_ods_merged_header_is_carried_across_and_codes_stay_text(tmp_path: Path) -> None:
    path = make_ods_sample(tmp_path / "furnas.ods", PERIOD)
    spec = ParseSpec(header_keyword="data", header_rows=2, text_columns=("CÓDIGO",))

    (furnas,) = read_workbook(path, "furnas.ods", always(spec))

    assert furnas.source_member == "Furnas"
    assert furnas.original_columns == [
        "DATA",
        "CÓDIGO",
        "VAZÃO (m³/s) Afluente",
        "VAZÃO (m³/s) Defluente",
        "VAZÃO (m³/s) Natural",
        "NÍVEL (m) Montante",
        "NÍVEL (m) Jusante",
    ]
    assert types(furnas) == {
        "data": DATE,
        "codigo": STR,
        "vazao_m3_s_afluente": DBL,
        "vazao_m3_s_defluente": DBL,
        "vazao_m3_s_natural": DBL,
        "nivel_m_montante": DBL,
        "nivel_m_jusante": INT,
    }
    assert furnas.table.num_rows == 7
    assert furnas.table.slice(6, 1).to_pylist() == [
        {
            "data": dt.date(2025, 8, 5),
            "codigo": "006",
            "vazao_m3_s_afluente": 1060.5,
            "vazao_m3_s_defluente": 960.5,
            "vazao_m3_s_natural": 1060.75,
            "nivel_m_montante": 700.6,
            "nivel_m_jusante": 650,
        }
    ]


# --------------------------------------------------------------------------- other rules


def test_sheet_globs_skip_other_sheets_and_none_reads_generically(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)
    wide = parse_of(230)
    only_grande = ParseSpec(header_rows=2, sheets=("gr*",), wide=wide.wide)

    assert [t.source_member for t in read_workbook(path, "a", always(only_grande))] == ["Grande"]
    mixed = read_workbook(path, "a", lambda sheet: wide if sheet == "Grande" else None)
    assert [t.table.num_rows for t in mixed] == [90, 31]


def test_headerless_sheet_with_catalog_names(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Dados"
    sheet.append(["001", 1.5, dt.date(2025, 8, 1)])
    sheet.append(["017", 2.5, dt.date(2025, 8, 2)])
    path = tmp_path / "semcabecalho.xlsx"
    book.save(path)
    spec = ParseSpec(header=False, column_names=("posto", "vazao", "data"), text_columns=("posto",))

    (table,) = read_workbook(path, "x", always(spec))

    assert table.table.to_pylist() == [
        {"posto": "001", "vazao": 1.5, "data": dt.date(2025, 8, 1)},
        {"posto": "017", "vazao": 2.5, "data": dt.date(2025, 8, 2)},
    ]


def test_empty_rows_and_columns_are_dropped(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet["B2"] = "Planilha de teste"
    sheet["B4"], sheet["C4"], sheet["E4"] = "Data", "Posto", "Vazão"
    sheet["B5"], sheet["C5"], sheet["E5"] = dt.date(2025, 8, 1), 6, 10.5
    sheet["B7"], sheet["C7"], sheet["E7"] = dt.date(2025, 8, 2), 6, 11.5
    path = tmp_path / "buracos.xlsx"
    book.save(path)

    (table,) = read_workbook(path, "x")

    assert table.table.column_names == ["data", "posto", "vazao"]
    assert table.table.column("vazao").to_pylist() == [10.5, 11.5]


def test_wide_key_row_outside_the_header_is_a_parse_error(tmp_path: Path) -> None:
    path = make_acomph(tmp_path / "ACOMPH_05.08.2025.xls", PERIOD)
    spec = ParseSpec(header_rows=2, wide=WideLayout(8, key_row=2, key_column="posto"))

    with pytest.raises(ParseError, match=r"sheet 'Grande': the wide layout's key row 2"):
        read_workbook(path, "acomph", always(spec))


def test_truncated_xlsx_is_a_parse_error(tmp_path: Path) -> None:
    path = make_rdh(tmp_path / "RDH_05AGO2025.xlsx", PERIOD)
    path.write_bytes(path.read_bytes()[:2000])

    with pytest.raises(ParseError, match=r'"RDH_05AGO2025\.xlsx": the spreadsheet could not be'):
        read_workbook(path, '"RDH_05AGO2025.xlsx"', always(parse_of(233)))


def test_damaged_sheet_inside_a_valid_xlsx_names_the_sheet(tmp_path: Path) -> None:
    good = make_rdh(tmp_path / "good.xlsx", PERIOD)
    with zipfile.ZipFile(good) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = b'<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>99'
    path = tmp_path / "RDH_05AGO2025.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in parts.items():
            archive.writestr(member, data)

    with pytest.raises(ParseError, match=r"sheet 'RDH': the sheet could not be read"):
        read_workbook(path, '"RDH_05AGO2025.xlsx"', always(parse_of(233)))


@pytest.mark.parametrize(
    "make",
    [
        make_acomph,
        make_rdh,
        make_acompanhamento_hidrologico,
        make_pdp_relatorio,
        make_decomp_carga,
        make_newave_carga,
        make_notas_tecnicas,
        make_nao_consistido,
        make_ods_sample,
    ],
)
def test_workbook_fixtures_are_deterministic(tmp_path: Path, make: Any) -> None:
    first = make(tmp_path / "a" / "file", PERIOD)
    second = make(tmp_path / "b" / "file", PERIOD)

    assert first.read_bytes() == second.read_bytes()
