"""The workbook reader's parse-spec features, on small workbooks written in each test.

Generic machinery only (no product layout): header found by a keyword, ``skip_rows``,
headers of several rows with merged group cells (XLSX/XLS merges and ODS spanned cells),
wide sheets reshaped to long form, sheet globs, headerless sheets named by the spec, empty
rows and columns, and damaged workbooks. Each workbook is built inline with openpyxl,
xlwt or odfpy, so the expected names, types and values can be read off the test itself.
Product layouts are tested through the real catalog in ``tests/unit/layouts/``.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import xlwt
from openpyxl import Workbook

from helpers.parsed import column_types, rows_where
from sintegre.catalog.spec import ParseSpec, WideLayout, table_spec_from_mapping
from sintegre.readers import ParseError, read_product_file
from sintegre.readers.excel import read_workbook

DATE, STR, DBL, INT = "date32[day]", "string", "double", "int64"
DAY = dt.date(2025, 8, 5)


def always(spec: ParseSpec) -> Any:
    return lambda sheet: spec


# --------------------------------------------------------------------------- wide (XLS)

WIDE_SHEETS = {"Grande": (1, 6), "Paranaíba": (24, 31)}
MEASURES = ["Nível", "Afluência", "Natural"]
WIDE = WideLayout(3, leading_columns=1, key_row=0, key_column="posto")


def wide_value(gauge: int, day: int, measure: int) -> float:
    return gauge * 100 + 10 * day + measure + 0.5


def make_wide_xls(path: Path) -> Path:
    """Legacy XLS, one sheet per basin, a block of 3 measure columns per gauge.

    Three title rows (the first merged across), a blank row, then two header rows: "Data"
    merged down both, each gauge code (a number) merged across its block, the measure
    names under it. Three days (DAY - 2 .. DAY, date cells), values :func:`wide_value`,
    then a one-cell footnote. Gauge 31 has no value at all on the last day.
    """
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    for basin, gauges in WIDE_SHEETS.items():
        sheet = book.add_sheet(basin)
        width = 1 + 3 * len(gauges)
        sheet.write_merge(0, 0, 0, width - 1, "Acompanhamento diário das vazões")
        sheet.write(1, 0, f"Bacia: {basin}")
        sheet.write(2, 0, f"Emitido em {DAY:%d/%m/%Y}")
        sheet.write_merge(4, 5, 0, 0, "Data")
        for block, gauge in enumerate(gauges):
            first = 1 + 3 * block
            sheet.write_merge(4, 4, first, first + 2, gauge)
            for measure, name in enumerate(MEASURES):
                sheet.write(5, first + measure, name)
        for day in range(3):
            sheet.write(6 + day, 0, DAY - dt.timedelta(days=2 - day), date_style)
            for block, gauge in enumerate(gauges):
                if gauge == 31 and day == 2:
                    continue  # every cell of the block empty: no row for it
                for measure in range(3):
                    sheet.write(6 + day, 1 + 3 * block + measure, wide_value(gauge, day, measure))
        sheet.write(10, 0, "(*) Dados preliminares, sujeitos a consistência")
    book.save(str(path))
    return path


def test_wide_blocks_become_long_rows(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")
    spec = ParseSpec(header_rows=2, text_columns=("posto",), wide=WIDE)

    grande, paranaiba = read_workbook(path, '"wide.xls"', always(spec))

    assert (grande.name, paranaiba.name) == ("grande", "paranaiba")
    assert (grande.source_member, paranaiba.source_member) == ("Grande", "Paranaíba")
    assert grande.original_columns == ["Data", "posto", "Nível", "Afluência", "Natural"]
    assert column_types(grande) == {
        "data": DATE,
        "posto": STR,
        "nivel": DBL,
        "afluencia": DBL,
        "natural": DBL,
    }
    # One row per (gauge, day), gauge by gauge; the footnote is not a row.
    assert grande.table.num_rows == 6
    assert grande.table.slice(0, 1).to_pylist() == [
        {
            "data": dt.date(2025, 8, 3),
            "posto": "1",
            "nivel": 100.5,
            "afluencia": 101.5,
            "natural": 102.5,
        }
    ]
    (furnas,) = rows_where(grande, posto="6", data=dt.date(2025, 8, 4))
    assert (furnas["nivel"], furnas["natural"]) == (610.5, 612.5)
    assert paranaiba.table.num_rows == 5
    assert Counter(paranaiba.table.column("posto").to_pylist()) == {"24": 3, "31": 2}
    assert rows_where(paranaiba, posto="31", data=DAY) == []


def test_wide_block_keys_are_numbers_without_text_columns(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")

    grande = read_workbook(path, "wide", always(ParseSpec(header_rows=2, wide=WIDE)))[0]

    assert column_types(grande)["posto"] == INT
    assert grande.table.column("posto").to_pylist() == [1, 1, 1, 6, 6, 6]


def test_wide_sheet_read_generically_without_a_spec(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")

    tables = read_workbook(path, "wide", lambda sheet: None)

    # The gauge-code row is the first with two cells: it is taken as the only header row,
    # and the measure names become the first data row.
    assert [t.name for t in tables] == ["grande", "paranaiba"]
    assert tables[0].original_columns[:3] == ["Data", "1", ""]
    assert tables[0].table.num_rows == 4


def test_sheets_of_a_table_spec_land_in_one_table_with_the_sheet_name(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")
    spec = table_spec_from_mapping(
        {
            "name": "vazoes",
            "match": ["*"],
            "extract": "(?P<bacia>[^/]+)$",
            "parse": {
                "header_rows": 2,
                "text_columns": ["posto"],
                "wide": {"block_width": 3, "leading_columns": 1, "key_column": "posto"},
            },
            "columns": [{"name": n} for n in ("data", "posto", "nivel", "afluencia", "natural")],
        },
        "inline spec",
    )

    (vazoes,) = read_product_file(path, tables=[spec])

    assert vazoes.name == "vazoes"
    assert vazoes.drift is None
    assert vazoes.table.column_names[:5] == ["data", "posto", "nivel", "afluencia", "natural"]
    assert Counter(vazoes.table.column("bacia").to_pylist()) == {"Grande": 6, "Paranaíba": 5}


def test_sheet_globs_skip_other_sheets_and_none_reads_generically(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")
    wide = ParseSpec(header_rows=2, wide=WIDE)
    only_grande = ParseSpec(header_rows=2, sheets=("gr*",), wide=WIDE)

    assert [t.source_member for t in read_workbook(path, "a", always(only_grande))] == ["Grande"]
    mixed = read_workbook(path, "a", lambda sheet: wide if sheet == "Grande" else None)
    assert [t.table.num_rows for t in mixed] == [6, 4]


def test_wide_key_row_outside_the_header_is_a_parse_error(tmp_path: Path) -> None:
    path = make_wide_xls(tmp_path / "wide.xls")
    spec = ParseSpec(header_rows=2, wide=WideLayout(3, key_row=2, key_column="posto"))

    with pytest.raises(ParseError, match=r"sheet 'Grande': the wide layout's key row 2"):
        read_workbook(path, "wide", always(spec))


def test_wide_blocks_of_one_column_keyed_by_header_dates(tmp_path: Path) -> None:
    # Code | Name | one column per forecast day (a date cell), "Vazão (m³/s)" under each.
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    sheet = book.add_sheet("Previsão")
    sheet.write(0, 0, "Previsão diária de vazões")
    sheet.write(2, 0, "Código")
    sheet.write(2, 1, "Aproveitamento")
    for j in range(1, 4):
        sheet.write(2, 1 + j, DAY + dt.timedelta(days=j), date_style)
        sheet.write(3, 1 + j, "Vazão (m³/s)")
    for row, (code, plant) in enumerate([(1, "CAMARGOS"), (6, "FURNAS")], start=4):
        sheet.write(row, 0, code)
        sheet.write(row, 1, plant)
        for j in range(1, 4):
            sheet.write(row, 1 + j, code * 100 + j + 0.5)
    path = tmp_path / "previsao.xls"
    book.save(str(path))
    spec = ParseSpec(header_rows=2, wide=WideLayout(1, leading_columns=2, key_column="data"))

    (previsao,) = read_workbook(path, "previsao", always(spec))

    assert previsao.original_columns == ["Código", "Aproveitamento", "data", "Vazão (m³/s)"]
    assert column_types(previsao) == {
        "codigo": INT,
        "aproveitamento": STR,
        "data": DATE,
        "vazao_m3_s": DBL,
    }
    assert previsao.table.num_rows == 6
    (furnas,) = rows_where(previsao, codigo=6, data=dt.date(2025, 8, 7))
    assert (furnas["aproveitamento"], furnas["vazao_m3_s"]) == ("FURNAS", 602.5)


# --------------------------------------------------------------------------- keyword (XLSX)

KEYWORD_COLUMNS = [
    "aproveitamento",
    "codigo",
    "vazoes_m3_s_natural_dia",
    "vazoes_m3_s_natural_media_mes",
    "vazoes_m3_s_afluente",
    "armazenamento_vu",
    "armazenamento_hm3",
    "nivel_m",
]
PLANTS = [
    ("CAMARGOS", "001", 120.5, 110.25, 100.5, 40.5, 300, 905.1),
    ("FURNAS", "006", 2005.5, 2000.25, 1805.5, 20.5, 3000, 701.05),
    ("JAGUARA", "008", 800.5, 790.25, 780.5, None, None, 557.6),
]


def make_keyword_xlsx(path: Path) -> Path:
    """A report sheet "RDH" whose three-row header is found by a keyword, and a glossary.

    A merged title, a two-cell row ``"Data:" | date`` (which fools the generic "first row
    with two cells" guess), a blank row, then a header of three rows (row 4 to 6) with
    vertical and horizontal merges::

        APROVEITAMENTO | CÓDIGO | VAZÕES (m³/s)                      | ARMAZENAMENTO | NÍVEL (m)
                       |        | NATURAL         | AFLUENTE         | %VU   | hm³   |
                       |        | DIA | MÉDIA MÊS |                  |       |       |

    The rows of :data:`PLANTS` (codes as text with leading zeros; JAGUARA without storage),
    a blank row and a "Fonte:" note. A second sheet "Legenda" is a two-column glossary.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = "RDH"
    sheet.append(["RELATÓRIO DIÁRIO DA SITUAÇÃO HIDRÁULICO-HIDROLÓGICA"])
    sheet.merge_cells("A1:H1")
    sheet.append(["Data:", DAY])
    sheet.append([])
    sheet.append(["APROVEITAMENTO", "CÓDIGO", "VAZÕES (m³/s)", None, None, "ARMAZENAMENTO"])
    sheet["H4"] = "NÍVEL (m)"
    sheet.append([None, None, "NATURAL", None, "AFLUENTE", "%VU", "hm³"])
    sheet.append([None, None, "DIA", "MÉDIA MÊS"])
    for span in ("A4:A6", "B4:B6", "C4:E4", "F4:G4", "H4:H6", "C5:D5", "E5:E6", "F5:F6", "G5:G6"):
        sheet.merge_cells(span)
    for plant in PLANTS:
        sheet.append(list(plant))
    sheet.append([])
    sheet.append(["Fonte: ONS"])
    legend = book.create_sheet("Legenda")
    legend.append(["Sigla", "Descrição"])
    legend.append(["%VU", "Percentual do volume útil"])
    book.save(path)
    return path


def test_header_by_keyword_three_merged_rows_and_text_codes(tmp_path: Path) -> None:
    path = make_keyword_xlsx(tmp_path / "RDH.xlsx")
    spec = ParseSpec(
        sheets=("RDH*",),
        header_keyword="APROVEITAMENTO",
        header_rows=3,
        text_columns=("codigo",),
    )

    (rdh,) = read_workbook(path, "rdh", always(spec))  # "Legenda" is skipped by the glob

    assert rdh.source_member == "RDH"
    assert rdh.table.column_names == KEYWORD_COLUMNS
    assert rdh.original_columns == [
        "APROVEITAMENTO",
        "CÓDIGO",
        "VAZÕES (m³/s) NATURAL DIA",
        "VAZÕES (m³/s) NATURAL MÉDIA MÊS",
        "VAZÕES (m³/s) AFLUENTE",
        "ARMAZENAMENTO %VU",
        "ARMAZENAMENTO hm³",
        "NÍVEL (m)",
    ]
    assert column_types(rdh) == {
        "aproveitamento": STR,
        "codigo": STR,
        "vazoes_m3_s_natural_dia": DBL,
        "vazoes_m3_s_natural_media_mes": DBL,
        "vazoes_m3_s_afluente": DBL,
        "armazenamento_vu": DBL,
        "armazenamento_hm3": INT,
        "nivel_m": DBL,
    }
    assert rdh.table.to_pylist() == [
        dict(zip(KEYWORD_COLUMNS, plant, strict=True)) for plant in PLANTS
    ]


def test_header_keyword_is_case_and_accent_insensitive(tmp_path: Path) -> None:
    path = make_keyword_xlsx(tmp_path / "RDH.xlsx")
    spec = ParseSpec(header_keyword="Código", header_rows=3, sheets=("rdh",))

    (rdh,) = read_workbook(path, "rdh", always(spec))

    assert rdh.table.column_names == KEYWORD_COLUMNS
    assert rdh.table.column("codigo").to_pylist() == [1, 6, 8]


def test_missing_header_keyword_is_a_clear_parse_error(tmp_path: Path) -> None:
    path = make_keyword_xlsx(tmp_path / "RDH.xlsx")
    spec = ParseSpec(header_keyword="USINA", sheets=("RDH",))

    with pytest.raises(ParseError) as raised:
        read_workbook(path, '"RDH.xlsx"', always(spec))

    message = str(raised.value)
    assert "\"RDH.xlsx\" sheet 'RDH'" in message
    assert "no cell contains 'USINA'" in message


def test_truncated_xlsx_is_a_parse_error(tmp_path: Path) -> None:
    path = make_keyword_xlsx(tmp_path / "RDH.xlsx")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(ParseError, match=r'"RDH\.xlsx": the spreadsheet could not be'):
        read_workbook(path, '"RDH.xlsx"', always(ParseSpec(header_keyword="APROVEITAMENTO")))


def test_damaged_sheet_inside_a_valid_xlsx_names_the_sheet(tmp_path: Path) -> None:
    good = make_keyword_xlsx(tmp_path / "good.xlsx")
    with zipfile.ZipFile(good) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = b'<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>99'
    path = tmp_path / "RDH.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in parts.items():
            archive.writestr(member, data)

    with pytest.raises(ParseError, match=r"sheet 'RDH': the sheet could not be read"):
        read_workbook(path, '"RDH.xlsx"', always(ParseSpec(header_keyword="APROVEITAMENTO")))


# --------------------------------------------------------------------------- two header rows

STATION_COLUMNS = ["data", "vazao_m3_s_afluente", "vazao_m3_s_defluente", "nivel_m_montante"]


def make_stations_xlsx(path: Path) -> Path:
    """One sheet per station: a merged title, a period line, a blank row, two header rows.

    ``DATA`` merged down, ``VAZÃO (m³/s)`` merged over ``Afluente | Defluente``,
    ``NÍVEL (m)`` over ``Montante``. Three days written as *text* ``dd/mm/yyyy``; station
    ``s`` (0, 1), day ``i``: afluente ``1000 (s + 1) + 10 i + 0.5``, defluente afluente - 100,
    montante ``650 + s`` (integral).
    """
    book = Workbook()
    book.remove(book.active)
    for s, station in enumerate(["Furnas", "Marimbondo"]):
        sheet = book.create_sheet(station)
        sheet.append([f"Vazões Observadas – {station}"])
        sheet.merge_cells("A1:D1")
        sheet.append(["Período: 03/08/2025 a 05/08/2025"])
        sheet.append([])
        sheet.append(["DATA", "VAZÃO (m³/s)", None, "NÍVEL (m)"])
        sheet.append([None, "Afluente", "Defluente", "Montante"])
        for span in ("A4:A5", "B4:C4"):
            sheet.merge_cells(span)
        for i in range(3):
            afluente = 1000 * (s + 1) + 10 * i + 0.5
            day = DAY - dt.timedelta(days=2 - i)
            sheet.append([f"{day:%d/%m/%Y}", afluente, afluente - 100, 650 + s])
    book.save(path)
    return path


def test_two_merged_header_rows_and_dates_written_as_text(tmp_path: Path) -> None:
    path = make_stations_xlsx(tmp_path / "estacoes.xlsx")
    spec = table_spec_from_mapping(
        {
            "name": "vazoes",
            "match": ["*"],
            "extract": "(?P<estacao>[^/]+)$",
            "parse": {"header_keyword": "DATA", "header_rows": 2},
        },
        "inline spec",
    )

    (table,) = read_product_file(path, tables=[spec])

    assert table.table.column_names[:4] == STATION_COLUMNS
    assert table.original_columns[:4] == [
        "DATA",
        "VAZÃO (m³/s) Afluente",
        "VAZÃO (m³/s) Defluente",
        "NÍVEL (m) Montante",
    ]
    assert {k: v for k, v in column_types(table).items() if k in STATION_COLUMNS} == {
        "data": DATE,
        "vazao_m3_s_afluente": DBL,
        "vazao_m3_s_defluente": DBL,
        "nivel_m_montante": INT,
    }
    assert Counter(table.table.column("estacao").to_pylist()) == {"Furnas": 3, "Marimbondo": 3}
    (row,) = rows_where(table, estacao="Marimbondo", data=dt.date(2025, 8, 4))
    assert {k: row[k] for k in STATION_COLUMNS[1:]} == {
        "vazao_m3_s_afluente": 2010.5,
        "vazao_m3_s_defluente": 1910.5,
        "nivel_m_montante": 651,
    }


def test_skip_rows_finds_the_same_header_as_the_keyword(tmp_path: Path) -> None:
    path = make_stations_xlsx(tmp_path / "estacoes.xlsx")

    by_keyword = read_workbook(path, "v", always(ParseSpec(header_keyword="DATA", header_rows=2)))
    by_count = read_workbook(path, "v", always(ParseSpec(skip_rows=3, header_rows=2)))

    assert [t.table for t in by_count] == [t.table for t in by_keyword]
    assert by_count[0].table.column_names == STATION_COLUMNS


# --------------------------------------------------------------------------- ODS


def make_ods(path: Path) -> Path:
    """An ODS sheet "Furnas" whose group titles span columns (``number-columns-spanned``).

    ODS merges are a spanned cell followed by covered cells, which calamine does not report
    as merged ranges::

        DATA | CÓDIGO | VAZÃO (m³/s)          | NÍVEL (m)
             |        | Afluente | Defluente  | Montante | Jusante

    Three days (date cells), code ``"006"`` as text, afluente ``1000 + 10 i + 0.5``,
    defluente afluente - 100, montante ``700 + i / 10``, jusante ``650.0``.
    """
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    def cell(value: object = None, span: int = 1) -> Any:
        extra: dict[str, Any] = {"numbercolumnsspanned": span} if span > 1 else {}
        if value is None:
            return TableCell(**extra)
        if isinstance(value, str):
            made = TableCell(valuetype="string", **extra)
            made.addElement(P(text=value))
        elif isinstance(value, dt.date):
            made = TableCell(valuetype="date", datevalue=value.isoformat(), **extra)
            made.addElement(P(text=f"{value:%d/%m/%Y}"))
        else:
            made = TableCell(valuetype="float", value=value, **extra)
            made.addElement(P(text=str(value)))
        return made

    rows: list[list[Any]] = [
        [cell("Vazões Observadas – Furnas")],
        [],
        [
            cell("DATA"),
            cell("CÓDIGO"),
            cell("VAZÃO (m³/s)", 2),
            CoveredTableCell(),
            cell("NÍVEL (m)", 2),
            CoveredTableCell(),
        ],
        [cell(), cell(), cell("Afluente"), cell("Defluente"), cell("Montante"), cell("Jusante")],
    ]
    for i in range(3):
        afluente = 1000 + 10 * i + 0.5
        day = DAY - dt.timedelta(days=2 - i)
        rows.append(
            [
                cell(day),
                cell("006"),
                cell(afluente),
                cell(afluente - 100),
                cell(700 + i / 10),
                cell(650.0),
            ]
        )
    document = OpenDocumentSpreadsheet()
    table = Table(name="Furnas")
    for cells in rows:
        row = TableRow()
        for made in cells:
            row.addElement(made)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def test_ods_spanned_header_is_carried_across_and_codes_stay_text(tmp_path: Path) -> None:
    path = make_ods(tmp_path / "furnas.ods")
    spec = ParseSpec(header_keyword="data", header_rows=2, text_columns=("CÓDIGO",))

    (furnas,) = read_workbook(path, "furnas.ods", always(spec))

    assert furnas.source_member == "Furnas"
    assert furnas.original_columns == [
        "DATA",
        "CÓDIGO",
        "VAZÃO (m³/s) Afluente",
        "VAZÃO (m³/s) Defluente",
        "NÍVEL (m) Montante",
        "NÍVEL (m) Jusante",
    ]
    assert column_types(furnas) == {
        "data": DATE,
        "codigo": STR,
        "vazao_m3_s_afluente": DBL,
        "vazao_m3_s_defluente": DBL,
        "nivel_m_montante": DBL,
        "nivel_m_jusante": INT,
    }
    assert furnas.table.slice(2, 1).to_pylist() == [
        {
            "data": DAY,
            "codigo": "006",
            "vazao_m3_s_afluente": 1020.5,
            "vazao_m3_s_defluente": 920.5,
            "nivel_m_montante": 700.2,
            "nivel_m_jusante": 650,
        }
    ]


# --------------------------------------------------------------------------- other rules


def test_headerless_sheet_with_column_names(tmp_path: Path) -> None:
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
