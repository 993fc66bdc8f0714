"""Tests for sintegre.readers on real files written by sintegre_dev.fixtures (no mocks).

Expected values come from the fixtures' returned ExpectedTable (computed from what was
written) or are written out by hand; the reader under test never produces them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from pathlib import Path

import pyarrow.compute as pc
import pytest
from openpyxl import Workbook

from sintegre.readers import (
    ParsedTable,
    ParseError,
    ReaderError,
    UnsupportedFormatError,
    read_product_file,
)
from sintegre.readers.assemble import SOURCE_COLUMNS
from sintegre_dev.fixtures import (
    CARGA_COLUMNS,
    CARGA_HEADERS,
    VAZAO_COLUMNS,
    VAZAO_HEADERS,
    ExpectedTable,
    make_csv,
    make_html_error_page,
    make_pdf,
    make_pipe_txt,
    make_psat_txt,
    make_xlsx,
    make_zip,
)


def schema_types(parsed: ParsedTable) -> dict[str, str]:
    return {field.name: str(field.type) for field in parsed.table.schema}


def file_columns(parsed: ParsedTable) -> ParsedTable:
    """The table without the columns the assembly adds (where a row came from)."""
    keep = [c for c in parsed.table.column_names if c not in SOURCE_COLUMNS]
    originals = [
        o
        for c, o in zip(parsed.table.column_names, parsed.original_columns, strict=True)
        if c in keep
    ]
    return ParsedTable(parsed.name, parsed.table.select(keep), parsed.source_member, originals)


def assert_table(parsed: ParsedTable, expected: ExpectedTable) -> None:
    parsed = file_columns(parsed)
    assert parsed.table.column_names == expected.columns
    assert parsed.original_columns == expected.original_columns
    assert schema_types(parsed) == expected.types
    assert parsed.table.to_pylist() == expected.rows


def rows_from(parsed: ParsedTable, member: str) -> ParsedTable:
    """The rows of a merged table that came from one member or sheet."""
    mask = pc.equal(parsed.table["source_member"], member)
    return ParsedTable(
        parsed.name, parsed.table.filter(mask), member, list(parsed.original_columns)
    )


def read_one(path: Path, file_name: str | None = None) -> ParsedTable:
    tables = read_product_file(path, file_name)
    assert len(tables) == 1, [t.name for t in tables]
    return tables[0]


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- CSV / TXT


def test_semicolon_latin1_decimal_comma_csv(tmp_path: Path) -> None:
    path = tmp_path / "PrevCargaDESSEM_2024-03-01.csv"
    expected = make_csv(path)
    raw = path.read_bytes()
    assert "Observação".encode("latin-1") in raw and b"37.206,78" in raw  # really ONS-shaped

    parsed = read_one(path)

    assert parsed.name == "" and parsed.source_member == ""
    assert parsed.original_columns == CARGA_HEADERS
    assert schema_types(parsed) == {
        "data": "date32[day]",
        "patamar": "int64",
        "submercado": "string",
        "carga_mwmed": "double",
        "observacao": "string",
    }
    assert_table(parsed, expected)
    first = parsed.table.slice(0, 1).to_pylist()[0]
    assert first == {
        "data": dt.date(2024, 3, 1),
        "patamar": 1,
        "submercado": "Sudeste/Centro-Oeste",
        "carga_mwmed": 37206.78,
        "observacao": "Previsão revisada às 10h",
    }
    assert parsed.table.column("observacao")[1].as_py() is None  # empty string -> null


def test_comma_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "carga.csv"
    expected = make_csv(path, sep=",", encoding="utf-8", decimal_comma=False, rows=12)
    assert b"2024-03-01," in path.read_bytes()

    assert_table(read_one(path), expected)


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "carga.csv"
    expected = make_csv(path, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfData;")

    parsed = read_one(path)

    assert parsed.table.column_names[0] == "data"
    assert parsed.original_columns[0] == "Data"
    assert_table(parsed, expected)


@pytest.mark.parametrize("encoding", ["cp1252", "cp850", "utf-16"])
def test_other_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "carga.csv"
    expected = make_csv(path, sep="\t" if encoding == "utf-16" else ";", encoding=encoding)

    assert_table(read_one(path), expected)


@pytest.mark.parametrize(("sep", "decimal_comma"), [("\t", True), ("|", False), ("|", True)])
def test_tab_and_pipe_separated_with_header(tmp_path: Path, sep: str, decimal_comma: bool) -> None:
    path = tmp_path / "carga.txt"
    expected = make_csv(path, sep=sep, decimal_comma=decimal_comma, rows=8)

    assert_table(read_one(path), expected)


def test_headerless_whitespace_txt(tmp_path: Path) -> None:
    path = tmp_path / "psat_01032024.txt"
    expected = make_psat_txt(path)

    parsed = read_one(path)

    assert_table(parsed, expected)
    assert parsed.table.column_names == ["col_1", "col_2", "col_3", "col_4"]
    assert parsed.table.column("col_1").to_pylist()[-1] == "Sao Francisco"
    assert parsed.table.slice(0, 1).to_pylist() == [
        {"col_1": "Grande", "col_2": -21.35, "col_3": -50.85, "col_4": 0.0}
    ]


def test_headerless_pipe_txt(tmp_path: Path) -> None:
    path = tmp_path / "modelo_furnas.txt"
    expected = make_pipe_txt(path, rows=5)

    parsed = read_one(path)

    assert_table(parsed, expected)
    assert parsed.table.slice(0, 1).to_pylist() == [
        {"col_1": 6, "col_2": dt.date(2024, 1, 1), "col_3": 1234.5}
    ]


def test_numeric_header_line_is_still_a_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "mensal.csv", "Ano;1;2;3\n2024;1,5;2,5;3,5\n2025;4;5;6\n")

    parsed = read_one(path)

    assert parsed.table.column_names == ["ano", "1", "2", "3"]
    assert parsed.table.to_pylist()[0] == {"ano": 2024, "1": 1.5, "2": 2.5, "3": 3.5}


def test_duplicate_and_empty_headers(tmp_path: Path) -> None:
    text = "Data;Valor;Valor;;%;Valor (R$)\n01/03/2024;1;2;x;3;4\n02/03/2024;5;6;y;7;8\n"
    path = write_text(tmp_path / "dup.csv", text, "latin-1")

    parsed = read_one(path)

    assert parsed.table.column_names == ["data", "valor", "valor_2", "col_4", "col_5", "valor_r"]
    assert parsed.original_columns == ["Data", "Valor", "Valor", "", "%", "Valor (R$)"]
    assert parsed.table.column("col_4").to_pylist() == ["x", "y"]


def test_repeated_slugs_get_increasing_suffixes(tmp_path: Path) -> None:
    path = write_text(tmp_path / "dup.csv", "a;A;a.;a\n1;2;3;4\n")

    assert read_one(path).table.column_names == ["a", "a_2", "a_3", "a_4"]


def test_trailing_delimiter_column_is_dropped(tmp_path: Path) -> None:
    path = write_text(tmp_path / "trailing.csv", "Data;Carga\r\n01/03/2024;1.234,5;\r\n")

    parsed = read_one(path)

    assert parsed.table.column_names == ["data", "carga"]
    assert parsed.table.to_pylist() == [{"data": dt.date(2024, 3, 1), "carga": 1234.5}]


def test_ragged_rows_are_padded(tmp_path: Path) -> None:
    text = "Data;Carga;Obs\n01/03/2024;1,5\n02/03/2024;2,5;x;extra\n"
    path = write_text(tmp_path / "ragged.csv", text)

    parsed = read_one(path)

    assert parsed.original_columns == ["Data", "Carga", "Obs", ""]
    assert parsed.table.to_pydict() == {
        "data": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
        "carga": [1.5, 2.5],
        "obs": [None, "x"],
        "col_4": [None, "extra"],
    }


def test_blank_and_empty_rows_are_dropped(tmp_path: Path) -> None:
    path = write_text(tmp_path / "blank.csv", "a;b\n\n1;2\n;\n ; \n3;4\n")

    assert read_one(path).table.to_pydict() == {"a": [1, 3], "b": [2, 4]}


def test_title_line_above_csv_header_is_skipped(tmp_path: Path) -> None:
    text = "Previsão de carga - 01/03/2024\n\nData;Carga\n01/03/2024;10\n"
    path = write_text(tmp_path / "titulo.csv", text, "latin-1")

    parsed = read_one(path)

    assert parsed.original_columns == ["Data", "Carga"]
    assert parsed.table.to_pylist() == [{"data": dt.date(2024, 3, 1), "carga": 10}]


def test_type_inference_for_text(tmp_path: Path) -> None:
    header = (
        "inteiro;milhar;decimal_ponto;data_iso;data_hora;iso_dt;invalida;vazia;codigo;grande;texto"
    )
    rows = [
        "1;1.234;1.5;2024-03-01;01/03/2024 10:00;2024-03-01T10:00:00;31/02/2024;;007;"
        "99999999999999999999;sim",
        "-2;12;2.25;2024-03-02;1/3/2024 9:30:15;2024-03-01 23:59;01/03/2024;;010;1;não",
        "+3;999;;2024-03-03;02/03/2024;2024-03-02;01/03/2024;;1;2;1",
    ]
    path = write_text(tmp_path / "tipos.csv", "\n".join([header, *rows]) + "\n", "latin-1")

    parsed = read_one(path)

    assert schema_types(parsed) == {
        "inteiro": "int64",
        "milhar": "int64",
        "decimal_ponto": "double",
        "data_iso": "date32[day]",
        "data_hora": "timestamp[us]",
        "iso_dt": "timestamp[us]",
        "invalida": "string",
        "vazia": "string",
        "codigo": "int64",
        "grande": "double",
        "texto": "string",
    }
    columns = parsed.table.to_pydict()
    assert columns["inteiro"] == [1, -2, 3]
    assert columns["milhar"] == [1234, 12, 999]
    assert columns["decimal_ponto"] == [1.5, 2.25, None]
    assert columns["data_hora"] == [
        dt.datetime(2024, 3, 1, 10, 0),
        dt.datetime(2024, 3, 1, 9, 30, 15),
        dt.datetime(2024, 3, 2, 0, 0),
    ]
    assert columns["iso_dt"] == [
        dt.datetime(2024, 3, 1, 10, 0),
        dt.datetime(2024, 3, 1, 23, 59),
        dt.datetime(2024, 3, 2, 0, 0),
    ]
    assert columns["invalida"] == ["31/02/2024", "01/03/2024", "01/03/2024"]
    assert columns["vazia"] == [None, None, None]
    assert columns["grande"] == [1e20, 1.0, 2.0]
    assert columns["texto"] == ["sim", "não", "1"]


def test_comma_file_numbers_use_decimal_point(tmp_path: Path) -> None:
    path = write_text(tmp_path / "a.csv", 'id,valor,total\n1,1.5,"1,234.5"\n2,2,"10"\n')

    parsed = read_one(path)

    assert parsed.table.to_pydict() == {"id": [1, 2], "valor": [1.5, 2.0], "total": [1234.5, 10.0]}


def test_offset_timestamps_become_utc(tmp_path: Path) -> None:
    path = write_text(tmp_path / "tz.csv", "inicio;v\n2024-03-01T10:00:00-03:00;1\n")

    parsed = read_one(path)

    assert schema_types(parsed)["inicio"] == "timestamp[us, tz=UTC]"
    assert parsed.table.column("inicio")[0].as_py() == dt.datetime(2024, 3, 1, 13, tzinfo=dt.UTC)


def test_header_only_csv_gives_empty_string_columns(tmp_path: Path) -> None:
    path = tmp_path / "vazio.csv"
    expected = make_csv(path, rows=0)

    parsed = read_one(path)

    assert parsed.table.num_rows == 0
    assert_table(parsed, expected)


def test_csv_served_with_xls_extension_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "download.tmp"
    expected = make_csv(path, sep="\t", rows=4)

    assert_table(read_one(path, "Relatorio_previsao_diaria.xls"), expected)


def test_empty_file_is_a_parse_error(tmp_path: Path) -> None:
    path = write_text(tmp_path / "carga.csv", "  \r\n")

    with pytest.raises(ParseError, match=r"carga\.csv.*empty"):
        read_product_file(path)


# --------------------------------------------------------------------------- workbooks


def test_xlsx_with_title_row_and_two_sheets(tmp_path: Path) -> None:
    path = tmp_path / "Vazões Observadas.xlsx"
    expected = make_xlsx(path)

    tables = read_product_file(path)

    # Two sheets of one layout (one per subsystem) are ONE table; the sheet is a column.
    assert [t.name for t in tables] == [""]
    merged = tables[0]
    assert merged.table.column_names == [*VAZAO_COLUMNS, "source_member", "sheet"]
    assert merged.original_columns == [*VAZAO_HEADERS, "", ""]
    for sheet in ["Sudeste", "Sul"]:
        part = file_columns(rows_from(merged, sheet))
        assert schema_types(part) == {
            "data": "date32[day]",
            "posto": "int64",
            "vazao_natural_m3_s": "double",
            "vazao_incremental_m3_s": "double",
        }
        assert_table(part, expected[sheet])
    assert merged.table.slice(0, 1).to_pylist() == [
        {
            "data": dt.date(2024, 1, 1),
            "posto": 6,
            "vazao_natural_m3_s": 1500.3,
            "vazao_incremental_m3_s": 300.1,
            "source_member": "Sudeste",
            "sheet": "Sudeste",
        }
    ]


def test_xlsx_single_sheet_several_title_rows(tmp_path: Path) -> None:
    path = tmp_path / "acomph.xlsx"
    expected = make_xlsx(path, sheets={"Paraná": 5}, title_rows=3)

    parsed = read_one(path)

    assert parsed.name == ""
    assert parsed.source_member == "Paraná"
    assert set(parsed.table["sheet"].to_pylist()) == {"Paraná"}
    assert_table(parsed, expected["Paraná"])


def test_xlsx_cells_typing_empty_sheet_and_footnote(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Dados"
    sheet.append(["Relatório de geração"])
    sheet.append(["Instante", "Usina", "Geração", "Unidades", "Ativa", "Misto", "Texto num"])
    sheet.append([dt.datetime(2024, 3, 1, 0, 30), "Itaipu", 7000.0, 20, True, 1.5, "1.234,5"])
    sheet.append([dt.datetime(2024, 3, 1, 1, 0), "Tucuruí", 6500.0, 23, False, "n/d", "10"])
    sheet.append([None] * 7)
    sheet.append(["Fonte: ONS"])
    workbook.create_sheet("Vazia")
    path = tmp_path / "geracao.xlsx"
    workbook.save(path)

    parsed = read_one(path)  # the empty sheet is skipped, so one table named ""

    assert parsed.name == "" and parsed.source_member == "Dados"
    assert parsed.table["sheet"].to_pylist() == ["Dados", "Dados"]
    parsed = file_columns(parsed)
    assert schema_types(parsed) == {
        "instante": "timestamp[us]",
        "usina": "string",
        "geracao": "int64",
        "unidades": "int64",
        "ativa": "string",
        "misto": "string",
        "texto_num": "double",
    }
    assert parsed.table.to_pylist() == [
        {
            "instante": dt.datetime(2024, 3, 1, 0, 30),
            "usina": "Itaipu",
            "geracao": 7000,
            "unidades": 20,
            "ativa": "true",
            "misto": "1.5",
            "texto_num": 1234.5,
        },
        {
            "instante": dt.datetime(2024, 3, 1, 1, 0),
            "usina": "Tucuruí",
            "geracao": 6500,
            "unidades": 23,
            "ativa": "false",
            "misto": "n/d",
            "texto_num": 10.0,
        },
    ]


def test_broken_legacy_xls_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "ACOMPH_01.03.2024.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    with pytest.raises(ParseError, match=r"ACOMPH_01\.03\.2024\.xls.*spreadsheet"):
        read_product_file(path)


# --------------------------------------------------------------------------- ZIP


def test_zip_of_csv_and_xlsx(tmp_path: Path) -> None:
    csv_expected = make_csv(tmp_path / "carga.csv")
    xlsx_expected = make_xlsx(tmp_path / "vazoes.xlsx")
    path = make_zip(
        tmp_path / "Blocos_2024-03-01.zip",
        {
            "Blocos/Carga Prevista.csv": tmp_path / "carga.csv",
            "Blocos/Vazões.xlsx": tmp_path / "vazoes.xlsx",
            "__MACOSX/Blocos/._Carga Prevista.csv": b"\x00\x05\x16\x07junk",
            "Blocos/.DS_Store": b"\x00\x00\x00\x01Bud1",
            "Blocos/leia-me.pdf": make_pdf(tmp_path / "leia-me.pdf"),
        },
    )

    tables = read_product_file(path)

    # The workbook's two sheets share a layout: one table named after the workbook.
    assert [t.name for t in tables] == ["carga_prevista", "vazoes"]
    assert [t.source_member for t in tables] == ["Blocos/Carga Prevista.csv", "Blocos/Vazões.xlsx"]
    assert_table(tables[0], csv_expected)
    assert_table(rows_from(tables[1], "Blocos/Vazões.xlsx/Sudeste"), xlsx_expected["Sudeste"])
    assert_table(rows_from(tables[1], "Blocos/Vazões.xlsx/Sul"), xlsx_expected["Sul"])


def test_zip_inside_zip(tmp_path: Path) -> None:
    pipe_expected = make_pipe_txt(tmp_path / "furnas.txt")
    psat_expected = make_psat_txt(tmp_path / "psat.txt")
    inner = make_zip(tmp_path / "inner.zip", {"Modelos/FURNAS.txt": tmp_path / "furnas.txt"})
    path = make_zip(
        tmp_path / "Modelos_Chuva_Vazao_20240301.zip",
        {"Modelos_20240301.zip": inner, "psat_01032024.txt": tmp_path / "psat.txt"},
    )

    tables = read_product_file(path)

    # Dates in member names never make new tables: "psat_01032024" is "psat" every day.
    assert [t.name for t in tables] == ["furnas", "psat"]
    assert [t.source_member for t in tables] == [
        "Modelos_20240301.zip/Modelos/FURNAS.txt",
        "psat_01032024.txt",
    ]
    assert_table(tables[0], pipe_expected)
    assert_table(tables[1], psat_expected)


def test_zip_with_one_table_gives_unnamed_table(tmp_path: Path) -> None:
    expected = make_csv(tmp_path / "c.csv", rows=3)
    path = make_zip(
        tmp_path / "PrevCargaDESSEM.zip", {"PrevCarga_2024-03-01.csv": tmp_path / "c.csv"}
    )

    parsed = read_one(path)

    assert parsed.name == ""
    assert parsed.source_member == "PrevCarga_2024-03-01.csv"
    assert_table(parsed, expected)


def test_zip_repeated_member_stems_get_suffixes(tmp_path: Path) -> None:
    make_csv(tmp_path / "c.csv", rows=2)
    path = make_zip(
        tmp_path / "deck.zip",
        {
            "semana1/carga.csv": tmp_path / "c.csv",
            "semana2/carga.csv": tmp_path / "c.csv",
            "semana3/Carga.txt": tmp_path / "c.csv",
        },
    )

    # Same layout, same stable name: one table, the folder kept in source_member.
    (table,) = read_product_file(path)
    assert table.name == ""
    assert table.table["source_member"].to_pylist() == [
        "semana1/carga.csv",
        "semana1/carga.csv",
        "semana2/carga.csv",
        "semana2/carga.csv",
        "semana3/Carga.txt",
        "semana3/Carga.txt",
    ]


def test_zip_member_names_in_cp850_are_decoded(tmp_path: Path) -> None:
    make_csv(tmp_path / "c.csv", rows=2)
    path = make_zip(
        tmp_path / "a.zip", {"PrevisXo.csv": tmp_path / "c.csv", "b.csv": b"x;y\n1;2\n"}
    )
    # Windows tools in Brazil store names in cp850 without the UTF-8 flag: patch the raw
    # name bytes (local header and central directory) to "Previsão.csv" in cp850.
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"PrevisXo.csv", "Previsão.csv".encode("cp850")))

    tables = read_product_file(path)

    assert tables[0].source_member == "Previsão.csv"
    assert tables[0].name == "previsao"


def test_zip_member_with_backslash_path(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "a.zip", {"dados\\Carga Semanal.csv": b"x;y\n1;2\n", "b.csv": b"z\n1\n"}
    )

    tables = read_product_file(path)

    assert [(t.name, t.source_member) for t in tables] == [
        ("carga_semanal", "dados/Carga Semanal.csv"),
        ("b", "b.csv"),
    ]


def test_zip_member_that_fails_names_the_member(tmp_path: Path) -> None:
    html = make_html_error_page(tmp_path / "page.html")
    path = make_zip(tmp_path / "Deck.zip", {"ok.csv": b"a;b\n1;2\n", "dados/carga.csv": html})

    with pytest.raises(ParseError) as caught:
        read_product_file(path)

    message = str(caught.value)
    assert '"Deck.zip" member "dados/carga.csv"' in message
    assert "HTML page" in message


def test_empty_zip_member_is_a_parse_error(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "Deck.zip", {"inner.zip": make_zip(tmp_path / "i.zip", {"x.csv": b""})}
    )

    with pytest.raises(ParseError, match=r'member "inner\.zip" member "x\.csv".*empty'):
        read_product_file(path)


def test_unsupported_zip_member_is_skipped(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "a.zip",
        {"logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64), "dados.csv": b"x;y\n1;2\n"},
    )

    tables = read_product_file(path)

    assert [(t.name, t.source_member) for t in tables] == [("", "dados.csv")]
    assert tables[0].table.to_pylist() == [{"x": 1, "y": 2, "source_member": "dados.csv"}]


def test_damaged_zip_is_a_parse_error(tmp_path: Path) -> None:
    make_csv(tmp_path / "c.csv")
    full = make_zip(tmp_path / "full.zip", {"c.csv": tmp_path / "c.csv"}).read_bytes()
    path = tmp_path / "truncated.zip"
    path.write_bytes(full[: len(full) // 2])

    with pytest.raises(ParseError, match=r"truncated\.zip.*damaged or truncated"):
        read_product_file(path)


def test_office_document_is_unsupported(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "nota.docx",
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"},
    )

    with pytest.raises(UnsupportedFormatError, match="not a spreadsheet"):
        read_product_file(path)


# --------------------------------------------------------------------------- other formats


def test_html_error_page_is_a_parse_error(tmp_path: Path) -> None:
    path = make_html_error_page(tmp_path / "download.bin")

    with pytest.raises(ParseError) as caught:
        read_product_file(path, "RDH_05AGO2025.xlsx")

    message = str(caught.value)
    assert "RDH_05AGO2025.xlsx" in message
    assert "the server sent an HTML page instead of the product file" in message
    assert "Sessão expirada" in message


@pytest.mark.parametrize("opening", ["<html>", "  \n<HTML lang='pt'>", "<!doctype HTML>"])
def test_html_detection_variants(tmp_path: Path, opening: str) -> None:
    path = write_text(tmp_path / "x.csv", opening + "<body>erro</body></html>")

    with pytest.raises(ParseError, match="HTML page"):
        read_product_file(path)


def test_pdf_gives_no_tables(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "IPDO-01-03-2024.pdf")

    assert read_product_file(path) == []


def test_unknown_binary_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "arquivo.bin"
    path.write_bytes(bytes(range(256)) * 8)

    with pytest.raises(UnsupportedFormatError, match=r"arquivo\.bin.*binary"):
        read_product_file(path)


def test_known_binary_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mapa.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))

    with pytest.raises(UnsupportedFormatError, match="PNG image"):
        read_product_file(path)


def test_errors_share_a_value_error_base() -> None:
    assert issubclass(ParseError, ReaderError)
    assert issubclass(UnsupportedFormatError, ReaderError)
    assert issubclass(ReaderError, ValueError)


def test_parsed_table_is_frozen(tmp_path: Path) -> None:
    parsed = read_one(write_text(tmp_path / "a.csv", "x;y\n1;2\n"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.name = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- fixtures


def test_fixtures_are_deterministic(tmp_path: Path) -> None:
    first = make_csv(tmp_path / "a.csv")
    second = make_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert first == second
    assert first.columns == CARGA_COLUMNS

    make_zip(tmp_path / "a.zip", {"a.csv": tmp_path / "a.csv"})
    make_zip(tmp_path / "b.zip", {"a.csv": tmp_path / "a.csv"})
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.namelist() == ["a.csv"]

    assert make_xlsx(tmp_path / "a.xlsx") == make_xlsx(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_make_csv_rejects_decimal_comma_with_comma_separator(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="decimal commas"):
        make_csv(tmp_path / "x.csv", sep=",", decimal_comma=True)
