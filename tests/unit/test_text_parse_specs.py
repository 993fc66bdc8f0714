"""The text readers' parse-spec features, on small files written in each test.

Generic machinery only (no product layout): encodings (cp1252 with undefined bytes,
UTF-16, a wrong catalogued encoding), delimiters and decimal conventions, headers found by
a keyword or ``skip_rows``, forced headers and column names, headerless files named by the
spec, codes kept as text, booleans, dates and datetimes, fixed-width fields, binary garbage
and empty files. Every input is a few lines of text written by the test, so the expected
names, types and values can be read off the test itself. Product layouts are tested
through the real catalog in ``tests/unit/layouts/``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from helpers.parsed import column_types
from sintegre.catalog.spec import FixedWidthField, ParseSpec
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.text.delimited import read_delimited
from sintegre.readers.text.fixedwidth import read_fixed_width
from sintegre.readers.text.inference import infer_text_column

SEMICOLON_CP1252 = ParseSpec(
    delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo",)
)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- layouts


def test_whitespace_aligned_headerless_with_column_names(tmp_path: Path) -> None:
    # Runs of spaces separate the fields; a name with a space keeps it (extra leading
    # tokens join the first field).
    text = "Grande          -20.00  -45.00   4.90\nSao Francisco   -10.00  -41.50   7.50\n"
    path = write(tmp_path / "chuva.txt", text.encode("ascii"))
    spec = ParseSpec(
        delimiter="whitespace",
        header=False,
        column_names=("bacia", "latitude", "longitude", "precipitacao"),
    )

    parsed = read_delimited(path, path.name, spec)

    assert parsed.original_columns == ["", "", "", ""]
    assert column_types(parsed) == {
        "bacia": "string",
        "latitude": "double",
        "longitude": "double",
        "precipitacao": "double",
    }
    assert parsed.table.to_pydict() == {
        "bacia": ["Grande", "Sao Francisco"],
        "latitude": [-20.0, -10.0],
        "longitude": [-45.0, -41.5],
        "precipitacao": [4.9, 7.5],
    }


def test_headerless_pipe_file_keeps_code_zeros_only_with_text_columns(tmp_path: Path) -> None:
    text = "001|2025-09-07|1003.7\r\n001|2025-09-08|1004.8\r\n006|2025-09-07|1022.2\r\n"
    path = write(tmp_path / "GRANDE.txt", text.encode("ascii"))
    spec = ParseSpec(
        delimiter="|",
        header=False,
        column_names=("posto", "data", "vazao"),
        text_columns=("posto",),
    )

    parsed = read_delimited(path, path.name, spec)
    generic = read_delimited(path, path.name)

    assert column_types(parsed) == {"posto": "string", "data": "date32[day]", "vazao": "double"}
    assert parsed.table.to_pylist() == [
        {"posto": "001", "data": dt.date(2025, 9, 7), "vazao": 1003.7},
        {"posto": "001", "data": dt.date(2025, 9, 8), "vazao": 1004.8},
        {"posto": "006", "data": dt.date(2025, 9, 7), "vazao": 1022.2},
    ]
    # Without the spec the codes lose their zeros: the reason text_columns exists.
    assert generic.table.column_names == ["col_1", "col_2", "col_3"]
    assert generic.table.column("col_1").to_pylist() == [1, 1, 6]


def test_cp1252_semicolons_decimal_comma_and_thousands(tmp_path: Path) -> None:
    text = (
        "Data;Hora;Código;Carga (MWmed);Observação\r\n"
        "07/09/2025;00:00;01;37.206,78;Previsão revisada às 10h\r\n"
        "07/09/2025;00:30;01;37.285,97;\r\n"
        "07/09/2025;01:00;04;4.873,90;Feriado de São José\r\n"
    )
    path = write(tmp_path / "carga.csv", text.encode("cp1252"))

    parsed = read_delimited(path, path.name, SEMICOLON_CP1252)

    assert parsed.original_columns == ["Data", "Hora", "Código", "Carga (MWmed)", "Observação"]
    assert column_types(parsed) == {
        "data": "date32[day]",
        "hora": "string",
        "codigo": "string",
        "carga_mwmed": "double",
        "observacao": "string",
    }
    assert parsed.table.to_pydict() == {
        "data": [dt.date(2025, 9, 7)] * 3,
        "hora": ["00:00", "00:30", "01:00"],
        "codigo": ["01", "01", "04"],
        "carga_mwmed": [37206.78, 37285.97, 4873.9],
        "observacao": ["Previsão revisada às 10h", None, "Feriado de São José"],
    }


def test_fixed_width_fields_that_touch(tmp_path: Path) -> None:
    # No space between code, latitude and longitude: only the positions separate them.
    text = "00001 -3.25-35.50  0.7  2.4\n00011-10.75-48.00 31.7 33.4\n"
    path = write(tmp_path / "modelo.dat", text.encode("ascii"))
    fields = (
        FixedWidthField("codigo", 0, 5),
        FixedWidthField("latitude", 5, 11),
        FixedWidthField("longitude", 11, 17),
        FixedWidthField("d01", 17, 22),
        FixedWidthField("d02", 22, 27),
    )
    spec = ParseSpec(header=False, decimal="point", text_columns=("codigo",), fixed_width=fields)

    parsed = read_delimited(path, path.name, spec)  # dispatched to the fixed-width reader
    direct = read_fixed_width(path, path.name, spec)

    assert column_types(parsed) == {
        "codigo": "string",
        "latitude": "double",
        "longitude": "double",
        "d01": "double",
        "d02": "double",
    }
    assert parsed.table.to_pylist() == [
        {"codigo": "00001", "latitude": -3.25, "longitude": -35.5, "d01": 0.7, "d02": 2.4},
        {"codigo": "00011", "latitude": -10.75, "longitude": -48.0, "d01": 31.7, "d02": 33.4},
    ]
    assert direct.table.equals(parsed.table)


# --------------------------------------------------------------------------- hazards


def test_binary_garbage_is_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path / "modelo.dat", bytes(range(256)) * 16)

    with pytest.raises(UnsupportedFormatError, match=r"modelo\.dat.*binary"):
        read_delimited(path, "modelo.dat")
    with pytest.raises(UnsupportedFormatError, match="binary"):
        read_delimited(path, "modelo.dat", SEMICOLON_CP1252)


def test_empty_file_is_a_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path / "vazio.csv", b"\r\n  \r\n")

    with pytest.raises(ParseError, match="the file is empty"):
        read_delimited(path, "vazio.csv")


def test_wrong_catalog_encoding_is_a_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "Observação;x\nsão;1\n".encode("cp1252"))

    with pytest.raises(ParseError, match="not valid utf-8"):
        read_delimited(path, "c.csv", ParseSpec(encoding="utf-8"))


def test_cp1252_with_undefined_byte_and_utf16(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252; 0x96 is its en dash.
    latin = write(tmp_path / "a.csv", b"Nome;Valor\nS\xe3o Jos\xe9 \x96 x\x81;1\n")
    utf16 = write(tmp_path / "b.csv", "Nome\tValor\nSão José\t2\n".encode("utf-16"))

    assert read_delimited(latin, "a").table.to_pylist() == [
        {"nome": "São José – x\x81", "valor": 1}
    ]
    assert read_delimited(utf16, "b").table.to_pylist() == [{"nome": "São José", "valor": 2}]


def test_header_keyword_and_skip_rows(tmp_path: Path) -> None:
    text = "RELATÓRIO;;\nGerado em 01/03/2024;x;y\nUsina;Geração;Data\nA;1,5;01/03/2024\n"
    path = write(tmp_path / "r.csv", text.encode("cp1252"))

    by_keyword = read_delimited(path, "r", ParseSpec(header_keyword="GERACAO"))
    by_skip = read_delimited(path, "r", ParseSpec(skip_rows=2))

    for parsed in (by_keyword, by_skip):
        assert parsed.original_columns == ["Usina", "Geração", "Data"]
        assert parsed.table.to_pylist() == [
            {"usina": "A", "geracao": 1.5, "data": dt.date(2024, 3, 1)}
        ]
    with pytest.raises(ParseError, match="no header row contains"):
        read_delimited(path, "r", ParseSpec(header_keyword="APROVEITAMENTO"))


def test_forced_header_and_column_names(tmp_path: Path) -> None:
    # "2024;2025" looks like data, so only the catalog can say it is a header.
    path = write(tmp_path / "anos.csv", b"2024;2025\n1;2\n3;4\n")

    guessed = read_delimited(path, "anos")
    forced = read_delimited(path, "anos", ParseSpec(header=True))
    renamed = read_delimited(path, "anos", ParseSpec(header=True, column_names=("a", "b")))

    assert guessed.table.num_rows == 3
    assert forced.table.column_names == ["2024", "2025"] and forced.table.num_rows == 2
    assert renamed.table.column_names == ["a", "b"]
    assert renamed.original_columns == ["2024", "2025"]


def test_delimiter_names_and_decimal_override(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", b"a\tb\n1.234\t2,5\n")

    point = read_delimited(path, "t", ParseSpec(delimiter="tab", decimal="point"))
    comma = read_delimited(path, "t", ParseSpec(delimiter="\t", decimal="comma"))

    assert point.table.to_pylist() == [{"a": 1.234, "b": "2,5"}]
    assert comma.table.to_pylist() == [{"a": 1234, "b": 2.5}]


def test_booleans_only_when_the_whole_column_is(tmp_path: Path) -> None:
    text = "ativo;flag;sn;sul;misto\nSim;true;S;S;sim\nNÃO;False;N;S;1\nsim;;n;S;não\n"
    path = write(tmp_path / "b.csv", text.encode("cp1252"))

    parsed = read_delimited(path, "b")

    assert column_types(parsed) == {
        "ativo": "bool",
        "flag": "bool",
        "sn": "bool",
        "sul": "string",  # only "S": the Sul subsystem code, not a yes
        "misto": "string",
    }
    assert parsed.table.to_pydict() == {
        "ativo": [True, False, True],
        "flag": [True, False, None],
        "sn": [True, False, False],
        "sul": ["S", "S", "S"],
        "misto": ["sim", "1", "não"],
    }


def test_a_value_that_does_not_parse_keeps_the_column_as_text(tmp_path: Path) -> None:
    text = "codigo;valor;data\n007;1.234,5;01/03/2024\n010;n/d;31/04/2024\n"
    path = write(tmp_path / "t.csv", text.encode("cp1252"))

    parsed = read_delimited(path, "t")
    spec = read_delimited(path, "t", ParseSpec(text_columns=("Código", "codigo")))

    assert column_types(parsed) == {"codigo": "int64", "valor": "string", "data": "string"}
    assert parsed.table.column("valor").to_pylist() == ["1.234,5", "n/d"]
    assert parsed.table.column("data").to_pylist() == ["01/03/2024", "31/04/2024"]
    assert spec.table.column("codigo").to_pylist() == ["007", "010"]


def test_datetimes_brazilian_and_iso(tmp_path: Path) -> None:
    text = "a;b;c\n01/03/2024 10:00;2024-03-01T10:00:00;01/03/2024 10:00:30\n"
    path = write(tmp_path / "d.csv", text.encode())

    row = read_delimited(path, "d").table.to_pylist()[0]

    assert row == {
        "a": dt.datetime(2024, 3, 1, 10, 0),
        "b": dt.datetime(2024, 3, 1, 10, 0),
        "c": dt.datetime(2024, 3, 1, 10, 0, 30),
    }


def test_fixed_width_header_and_short_lines(tmp_path: Path) -> None:
    text = "COD  VALOR\n00001  1.5\n00002\n\n00003 12.0\n"
    path = write(tmp_path / "f.dat", text.encode())
    spec = ParseSpec(
        header=True,
        text_columns=("codigo",),
        fixed_width=(FixedWidthField("codigo", 0, 5), FixedWidthField("valor", 5, 10)),
    )

    parsed = read_delimited(path, "f.dat", spec)

    assert parsed.original_columns == ["COD", "VALOR"]
    assert parsed.table.to_pydict() == {
        "codigo": ["00001", "00002", "00003"],
        "valor": [1.5, None, 12.0],
    }
    # The spec model refuses an empty range when it is built, before any file is read.
    with pytest.raises(ValueError, match=r"empty range 4\.\.2"):
        FixedWidthField("x", 4, 2)


def test_spreadsheet_text_cells_never_become_booleans() -> None:
    # Workbook cells rendered as text keep "true"/"false" (the excel reader's contract).
    assert infer_text_column(["true", "false"], "auto").type == pa.string()
    assert infer_text_column(["true", "false"], "auto", booleans=True).type == pa.bool_()
