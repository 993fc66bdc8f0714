"""Text readers driven by the catalog's parse specs, on files made by the text fixtures.

Every product fixture of ``tests/fixtures/text_products.py`` is read with the spec written
in the catalog for it (the same values as ``/tmp/specs/text.yaml``); expected names, Arrow
types and values are written here by hand from the layouts in the fixtures' docstrings.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from fixtures.text_products import (
    make_dessem_blocos,
    make_ecmwf,
    make_eta,
    make_gefs,
    make_pdp_models,
    make_prevcarga_dessem,
    make_psat,
    make_weol_deck,
    ons_file_name,
)
from sintegre.readers.columns import infer_text_column
from sintegre.readers.delimited import read_delimited
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.fixedwidth import read_fixed_width
from sintegre.readers.model import ParsedTable
from sintegre.readers.spec import FixedWidthField, ParseSpec, TableSpec

PERIOD = dt.date(2025, 9, 7)

PSAT_SPEC = ParseSpec(
    delimiter=" ", header=False, column_names=("bacia", "latitude", "longitude", "precipitacao")
)


def model_spec(days: int) -> ParseSpec:
    fields = [FixedWidthField("codigo", 0, 5), FixedWidthField("latitude", 5, 11)]
    fields.append(FixedWidthField("longitude", 11, 18))
    fields += [FixedWidthField(f"d{k + 1:02d}", 18 + 6 * k, 24 + 6 * k) for k in range(days)]
    return ParseSpec(
        header=False, decimal="point", text_columns=("codigo",), fixed_width=tuple(fields)
    )


PDP_SPEC = ParseSpec(
    delimiter="|", header=False, column_names=("posto", "data", "vazao"), text_columns=("posto",)
)
DESSEM_SPEC = ParseSpec(delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo",))
WEOL_CADASTRO_SPEC = ParseSpec(
    delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo_ons",)
)
WEOL_PREVISAO_SPEC = ParseSpec(delimiter=";", decimal="comma", encoding="cp1252")


def types(parsed: ParsedTable) -> dict[str, str]:
    return {f.name: str(f.type) for f in parsed.table.schema}


def member(archive: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / "member" / Path(name).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zipped:
        target.write_bytes(zipped.read(name))
    return target


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- products


def test_psat_487_whitespace_headerless(tmp_path: Path) -> None:
    path = make_psat(tmp_path / ons_file_name(487, PERIOD), PERIOD)
    assert path.name == "psat_07092025.txt"

    parsed = read_delimited(path, path.name, PSAT_SPEC)

    assert types(parsed) == {
        "bacia": "string",
        "latitude": "double",
        "longitude": "double",
        "precipitacao": "double",
    }
    assert parsed.original_columns == ["", "", "", ""]
    assert parsed.table.to_pydict() == {
        "bacia": [
            "Grande",
            "Paranaiba",
            "Sao Francisco",
            "Alto Tiete",
            "Iguacu",
            "Tocantins",
            "Uruguai",
        ],
        "latitude": [-5.0, -7.5, -10.0, -12.5, -15.0, -17.5, -20.0],
        "longitude": [-38.0, -39.75, -41.5, -43.25, -45.0, -46.75, -48.5],
        "precipitacao": [4.9, 6.2, 7.5, 8.8, 10.1, 11.4, 12.7],
    }


def test_ecmwf_551_fixed_width_fields_that_touch(tmp_path: Path) -> None:
    archive = make_ecmwf(tmp_path / ons_file_name(551, PERIOD), PERIOD)
    assert archive.name == "ECMWF_precipitacao14d_20250907.zip"
    path = member(archive, "ECMWF_precipitacao14d_20250907.dat", tmp_path)
    assert b"00011-10.75" in path.read_bytes()  # the hazard: no space between the fields

    parsed = read_delimited(path, path.name, model_spec(14))  # dispatched to fixedwidth

    days = [f"d{k:02d}" for k in range(1, 15)]
    assert parsed.table.column_names == ["codigo", "latitude", "longitude", *days]
    assert types(parsed) == {
        "codigo": "string",
        "latitude": "double",
        "longitude": "double",
        **dict.fromkeys(days, "double"),
    }
    assert parsed.table.num_rows == 12
    rows = parsed.table.to_pylist()
    # Basin i=0: value (31*0 + 17*k + 7) % 600 / 10.
    assert rows[0] == {
        "codigo": "00001",
        "latitude": -3.25,
        "longitude": -35.5,
        **dict(
            zip(
                days,
                [0.7, 2.4, 4.1, 5.8, 7.5, 9.2, 10.9, 12.6, 14.3, 16.0, 17.7, 19.4, 21.1, 22.8],
                strict=True,
            )
        ),
    }
    assert (rows[10]["codigo"], rows[10]["latitude"], rows[10]["longitude"]) == (
        "00011",
        -10.75,
        -48.0,
    )
    assert rows[10]["d01"] == 31.7 and rows[10]["d14"] == 53.8
    assert parsed.table.column("codigo").to_pylist()[-1] == "00012"


def test_eta_549_and_gefs_550(tmp_path: Path) -> None:
    eta = member(
        make_eta(tmp_path / ons_file_name(549, PERIOD), PERIOD),
        "ETA40_precipitacao10d_20250907.dat",
        tmp_path,
    )
    gefs_zip = make_gefs(tmp_path / ons_file_name(550, PERIOD), PERIOD)
    gefs = member(gefs_zip, "GEFS_precipitacao14d_20250907.dat", tmp_path)

    eta_table = read_fixed_width(eta, eta.name, model_spec(10)).table
    gefs_table = read_fixed_width(gefs, gefs.name, model_spec(14)).table

    assert eta_table.column_names[-1] == "d10" and eta_table.num_rows == 12
    # ETA offset 5: basin 0, day k: (17k + 12) % 600 / 10.
    assert eta_table.slice(0, 1).to_pylist()[0]["d01"] == 1.2
    assert eta_table.slice(0, 1).to_pylist()[0]["d10"] == 16.5
    # GEFS offset 9: basin 1 day 0: (31 + 16) / 10.
    assert gefs_table.column("d01").to_pylist()[:2] == [1.6, 4.7]


def test_pdp_238_pipe_headerless_codes_keep_zeros(tmp_path: Path) -> None:
    archive = make_pdp_models(tmp_path / ons_file_name(238, PERIOD), PERIOD)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert names == [
        "Modelos_Chuva_Vazao_20250907/GRANDE.txt",
        "Modelos_Chuva_Vazao_20250907/PARANAIBA.txt",
        "Modelos_Chuva_Vazao_20250907/IGUACU.txt",
        "Modelos_Chuva_Vazao_20250907/URUGUAI.txt",
    ]
    path = member(archive, names[0], tmp_path)

    parsed = read_delimited(path, names[0], PDP_SPEC)
    generic = read_delimited(path, names[0])

    assert types(parsed) == {"posto": "string", "data": "date32[day]", "vazao": "double"}
    assert parsed.table.num_rows == 14
    assert parsed.table.slice(0, 2).to_pylist() == [
        {"posto": "001", "data": dt.date(2025, 9, 7), "vazao": 1003.7},
        {"posto": "001", "data": dt.date(2025, 9, 8), "vazao": 1004.8},
    ]
    assert parsed.table.slice(7, 1).to_pylist() == [
        {"posto": "006", "data": dt.date(2025, 9, 7), "vazao": 1022.2}
    ]
    # Without the spec the codes lose their zeros: the reason text_columns exists.
    assert generic.table.column_names == ["col_1", "col_2", "col_3"]
    assert generic.table.column("col_1")[0].as_py() == 1


@pytest.mark.parametrize(
    ("product", "maker", "folder"),
    [(275, make_dessem_blocos, "Blocos_2025-09-07/"), (479, make_prevcarga_dessem, "")],
)
def test_dessem_load_275_479_latin1_decimal_comma(
    tmp_path: Path, product: int, maker: object, folder: str
) -> None:
    archive = maker(tmp_path / ons_file_name(product, PERIOD), PERIOD)  # type: ignore[operator]
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert names == [f"{folder}CargaDESSEM_{sub}.csv" for sub in ("SE", "S", "NE", "N")]
    se = member(archive, names[0], tmp_path)
    raw = se.read_bytes()
    assert "Observação".encode("cp1252") in raw and b"37.206,78" in raw

    parsed = read_delimited(se, names[0], DESSEM_SPEC)

    assert parsed.original_columns == ["Data", "Hora", "Código", "Carga (MWmed)", "Observação"]
    assert types(parsed) == {
        "data": "date32[day]",
        "hora": "string",
        "codigo": "string",
        "carga_mwmed": "double",
        "observacao": "string",
    }
    assert parsed.table.num_rows == 48
    assert parsed.table.slice(0, 3).to_pylist() == [
        {
            "data": dt.date(2025, 9, 7),
            "hora": "00:00",
            "codigo": "01",
            "carga_mwmed": 37206.78,
            "observacao": "Previsão revisada às 10h",
        },
        {
            "data": dt.date(2025, 9, 7),
            "hora": "00:30",
            "codigo": "01",
            "carga_mwmed": 37285.97,
            "observacao": None,
        },
        {
            "data": dt.date(2025, 9, 7),
            "hora": "01:00",
            "codigo": "01",
            "carga_mwmed": 37365.16,
            "observacao": "Feriado de São José",
        },
    ]
    assert parsed.table.slice(47, 1).to_pylist()[0]["carga_mwmed"] == 38428.71
    north = read_delimited(member(archive, names[3], tmp_path), names[3], DESSEM_SPEC)
    assert north.table.column("carga_mwmed")[0].as_py() == 4873.9
    assert north.table.column("codigo")[0].as_py() == "04"


def test_weol_785_nested_folders(tmp_path: Path) -> None:
    archive = make_weol_deck(tmp_path / ons_file_name(785, PERIOD), PERIOD)
    root = "Deck_PrevMes_20250907"
    with zipfile.ZipFile(archive) as zipped:
        assert zipped.namelist() == [
            f"{root}/Entrada/Cadastro/cadastro_parques.csv",
            f"{root}/Saida/S/previsao_S.csv",
            f"{root}/Saida/NE/previsao_NE.csv",
        ]
    cadastro_path = member(archive, f"{root}/Entrada/Cadastro/cadastro_parques.csv", tmp_path)
    ne_path = member(archive, f"{root}/Saida/NE/previsao_NE.csv", tmp_path)

    cadastro = read_delimited(cadastro_path, "cadastro", WEOL_CADASTRO_SPEC)
    previsao = read_delimited(ne_path, "previsao", WEOL_PREVISAO_SPEC)

    assert types(cadastro) == {
        "codigo_ons": "string",
        "nome_do_parque": "string",
        "submercado": "string",
        "potencia_instalada_mw": "double",
    }
    assert cadastro.table.to_pydict() == {
        "codigo_ons": ["EOL00012", "EOL00345", "EOL01000"],
        "nome_do_parque": [
            "Usina Eólica Ventos do Sul",
            "Usina Eólica Caetité",
            "Usina Eólica São João",
        ],
        "submercado": ["S", "NE", "NE"],
        "potencia_instalada_mw": [150.5, 1.234, 90.0],  # "1,234" is not a thousand
    }
    assert types(previsao) == {
        "semana": "int64",
        "inicio": "date32[day]",
        "fim": "date32[day]",
        "geracao_prevista_mwmed": "double",
    }
    assert previsao.table.slice(0, 1).to_pylist() == [
        {
            "semana": 1,
            "inicio": dt.date(2025, 9, 7),
            "fim": dt.date(2025, 9, 13),
            "geracao_prevista_mwmed": 10123.45,
        }
    ]
    assert previsao.table.slice(3, 1).to_pylist()[0]["fim"] == dt.date(2025, 10, 4)
    assert previsao.table.column("geracao_prevista_mwmed")[3].as_py() == 10493.8


def test_catalog_globs_and_extract_fit_the_member_names() -> None:
    # The match/extract values of /tmp/specs/text.yaml against the fixtures' member names.
    carga = TableSpec("carga", ("*.csv",), re.compile(r"_(?P<subsistema>[A-Z]+)\.csv$"))
    vazoes = TableSpec("vazoes", ("*.txt",), re.compile(r"(?P<bacia>[^/]+)\.txt$"))
    previsao = TableSpec(
        "previsao",
        ("*/saida/*/previsao_*.csv",),
        re.compile(r"/Saida/(?P<subsistema>[^/]+)/"),
    )
    cadastro = TableSpec("cadastro_parques", ("*/entrada/cadastro/*.csv",))

    assert carga.matches("Blocos_2025-09-07/CargaDESSEM_NE.csv")
    assert carga.extract is not None
    found = carga.extract.search("Blocos_2025-09-07/CargaDESSEM_NE.csv")
    assert found is not None and found.groupdict() == {"subsistema": "NE"}
    assert vazoes.extract is not None
    found = vazoes.extract.search("Modelos_Chuva_Vazao_20250907/PARANAIBA.txt")
    assert found is not None and found.groupdict() == {"bacia": "PARANAIBA"}
    path = "Deck_PrevMes_20250907/Saida/NE/previsao_NE.csv"
    assert previsao.matches(path) and not cadastro.matches(path)
    assert previsao.extract is not None
    found = previsao.extract.search(path)
    assert found is not None and found.groupdict() == {"subsistema": "NE"}
    assert cadastro.matches("Deck_PrevMes_20250907/Entrada/Cadastro/cadastro_parques.csv")


# --------------------------------------------------------------------------- hazards


def test_binary_garbage_is_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path / "modelo.dat", bytes(range(256)) * 16)

    with pytest.raises(UnsupportedFormatError, match=r"modelo\.dat.*binary"):
        read_delimited(path, "modelo.dat")
    with pytest.raises(UnsupportedFormatError, match="binary"):
        read_delimited(path, "modelo.dat", DESSEM_SPEC)


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

    assert types(parsed) == {
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

    assert types(parsed) == {"codigo": "int64", "valor": "string", "data": "string"}
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
    bad = ParseSpec(fixed_width=(FixedWidthField("x", 4, 2),))
    with pytest.raises(ParseError, match="empty range"):
        read_delimited(path, "f.dat", bad)


def test_spreadsheet_text_cells_never_become_booleans() -> None:
    # Workbook cells rendered as text keep "true"/"false" (the excel reader's contract).
    assert infer_text_column(["true", "false"], "auto").type == pa.string()
    assert infer_text_column(["true", "false"], "auto", booleans=True).type == pa.bool_()
