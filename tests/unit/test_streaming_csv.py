"""Streaming big text files to Parquet: same table as read_delimited, bounded chunks.

Every test compares :func:`stream_delimited_to_parquet` (with small chunks, so a file is
many chunks) against :func:`read_delimited` on the same file, and checks hand-written
values from the generators' documented formulas: ONS's real layouts from
:mod:`sintegre_dev.ons_files` (PSAT, ECMWF, PDP models, PrevCargaDESSEM), the generic
:mod:`sintegre_dev.fixtures` files, :func:`make_big_ons_csv` for size, and inline text.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sintegre.catalog.spec import FixedWidthField, ParseSpec
from sintegre.readers.errors import ParseError, UnsupportedFormatError
from sintegre.readers.text.delimited import read_delimited
from sintegre.readers.text.streaming import SAMPLE_BYTES, stream_delimited_to_parquet
from sintegre_dev.fixtures import make_csv, make_pipe_txt
from sintegre_dev.ons_files.dessem import make_prevcarga_dessem
from sintegre_dev.ons_files.precipitation import make_ecmwf, make_pdp_models, make_psat
from sintegre_dev.ons_files.text_products import BIG_CSV_HEADER, make_big_ons_csv

PERIOD = dt.date(2025, 9, 7)
BIG_SPEC = ParseSpec(
    delimiter=";", decimal="comma", encoding="cp1252", text_columns=("codigo_do_posto",)
)


def streamed(
    path: Path, tmp_path: Path, spec: ParseSpec | None = None, chunk: int = 64
) -> pa.Table:
    out = tmp_path / f"{path.name}.parquet"
    parsed = stream_delimited_to_parquet(path, path.name, out, spec, chunk_bytes=chunk)
    assert parsed.path == out and parsed.table.num_rows == 0
    table = pq.read_table(out)
    assert table.schema.remove_metadata() == parsed.table.schema
    expected = read_delimited(path, path.name, spec)
    assert parsed.original_columns == expected.original_columns
    assert table.schema.remove_metadata() == expected.table.schema
    assert table.equals(expected.table)
    return table


def from_zip(archive: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / Path(name).name
    with zipfile.ZipFile(archive) as zipped:
        target.write_bytes(zipped.read(name))
    return target


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- small files


def test_semicolon_csv_with_decimal_comma_spec(tmp_path: Path) -> None:
    # ONS's PrevCargaDESSEM member: ";", datetimes, loads with "." thousands and a comma.
    archive = make_prevcarga_dessem(tmp_path / "PrevCargaDESSEM_2025-09-07.zip", PERIOD)
    path = from_zip(archive, "PrevCargaDESSEM_SECO_2025-09-07.csv", tmp_path)
    spec = ParseSpec(delimiter=";", decimal="comma", encoding="utf-8")

    table = streamed(path, tmp_path, spec)

    assert table.num_rows == 48
    assert table.slice(0, 2).to_pylist() == [
        {"din_referencia": dt.datetime(2025, 9, 7, 0, 0), "val_previsaocarga": 36000.0},
        {"din_referencia": dt.datetime(2025, 9, 7, 0, 30), "val_previsaocarga": 36007.25},
    ]
    # Half hour k: 3 600 000 + 725 k hundredths of MW.
    assert table.column("val_previsaocarga")[47].as_py() == 36340.75


def test_headerless_whitespace_pipe_and_fixed_width(tmp_path: Path) -> None:
    psat = make_psat(tmp_path / "psat_07092025.txt", PERIOD)
    spaced = write(
        tmp_path / "bacias.txt",
        b"Grande          -20.00  -45.00   4.90\nSao Francisco   -10.00  -41.50   7.50\n",
    )
    pdp = from_zip(
        make_pdp_models(tmp_path / "Modelos_Chuva_Vazao_20250907.zip", PERIOD),
        "Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/CAMARGOS.txt",
        tmp_path,
    )
    dat = from_zip(
        make_ecmwf(tmp_path / "ECMWF_precipitacao14d_20250907.zip", PERIOD),
        "ECMWF_m_070925.dat",
        tmp_path,
    )
    fields = (
        FixedWidthField("codigo", 0, 9),
        FixedWidthField("latitude", 9, 17),
        FixedWidthField("longitude", 17, 25),
    )
    fixed = ParseSpec(decimal="point", text_columns=("codigo",), fixed_width=fields)

    psat_table = streamed(psat, tmp_path, ParseSpec(delimiter=" ", header=False))
    spaced_table = streamed(spaced, tmp_path, ParseSpec(delimiter=" ", header=False))
    pdp_table = streamed(
        pdp, tmp_path, ParseSpec(delimiter="|", header=False, text_columns=("col_6",))
    )
    dat_table = streamed(dat, tmp_path, fixed)

    assert psat_table.column("col_1").to_pylist()[:3] == ["PSATAGV", "PSATCMG", "PSATIPSI"]
    assert psat_table.column("col_4").to_pylist()[:2] == [7.0, 7.37]
    assert spaced_table.column("col_1").to_pylist() == ["Grande", "Sao Francisco"]
    assert pdp_table.slice(1, 1).to_pylist() == [
        {
            "col_1": 61000000,
            "col_2": "COO",
            "col_3": "DI",
            "col_4": "VVV",
            "col_5": dt.datetime(2025, 9, 3),
            "col_6": "000001.50",
        }
    ]
    assert dat_table.column("codigo").to_pylist()[3:] == ["PSATBIGU", "PSATFUN", "PSATSFR"]
    assert dat_table.column("latitude").to_pylist()[3:] == [-14.5, -16.0, -17.5]
    assert dat_table.column("longitude").to_pylist()[3:] == [-46.0, -48.0, -50.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"encoding": "utf-8-sig"},
        {"encoding": "cp850"},
        {"encoding": "utf-16", "sep": "\t"},
        {"encoding": "utf-8", "sep": ",", "decimal_comma": False},
        {"rows": 0},
    ],
)
def test_generic_csv_variants(tmp_path: Path, kwargs: dict[str, object]) -> None:
    path = tmp_path / "carga.csv"
    expected = make_csv(path, **kwargs)  # type: ignore[arg-type]

    table = streamed(path, tmp_path)

    assert table.column_names == expected.columns
    assert table.to_pylist() == expected.rows


def test_ragged_titled_and_blank_rows(tmp_path: Path) -> None:
    text = "Relatório\n\nData;Carga;Obs\n01/03/2024;1,5\n;;\n02/03/2024;2,5;x;extra\n"
    path = write(tmp_path / "ragged.csv", text.encode("cp1252"))
    pipe = tmp_path / "pipe.txt"
    make_pipe_txt(pipe, rows=5)

    table = streamed(path, tmp_path)
    streamed(pipe, tmp_path)

    assert table.to_pydict() == {
        "data": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
        "carga": [1.5, 2.5],
        "obs": [None, "x"],
        "col_4": [None, "extra"],
    }


def test_empty_and_binary_files(tmp_path: Path) -> None:
    empty = write(tmp_path / "vazio.csv", b" \r\n\r\n")
    binary = write(tmp_path / "lixo.csv", bytes(range(256)) * 64)

    with pytest.raises(ParseError, match="the file is empty"):
        stream_delimited_to_parquet(empty, "vazio.csv", tmp_path / "a.parquet")
    with pytest.raises(UnsupportedFormatError, match="binary"):
        stream_delimited_to_parquet(binary, "lixo.csv", tmp_path / "b.parquet")
    assert not (tmp_path / "a.parquet").exists()


# --------------------------------------------------------------------------- big files


def test_30mb_file_in_1mb_chunks_equals_read_delimited(tmp_path: Path) -> None:
    path = make_big_ons_csv(tmp_path / "big.csv", 30 << 20)
    assert abs(path.stat().st_size - (30 << 20)) < 64 << 10

    table = streamed(path, tmp_path, BIG_SPEC, chunk=1 << 20)

    assert {f.name: str(f.type) for f in table.schema} == {
        "data": "date32[day]",
        "codigo_do_posto": "string",
        "nome_do_reservatorio": "string",
        "vazao_afluente_m3_s": "double",
        "volume_util": "double",
        "observacao": "string",
    }
    assert table.slice(0, 3).to_pylist() == [
        {
            "data": dt.date(2000, 1, 1),
            "codigo_do_posto": "000000",
            "nome_do_reservatorio": "Furnas",
            "vazao_afluente_m3_s": 0.01,
            "volume_util": 0.0,
            "observacao": None,
        },
        {
            "data": dt.date(2000, 1, 1),
            "codigo_do_posto": "000037",
            "nome_do_reservatorio": "Três Marias",
            "vazao_afluente_m3_s": 79.2,
            "volume_util": 0.13,
            "observacao": "Dado consistido",
        },
        {
            "data": dt.date(2000, 1, 1),
            "codigo_do_posto": "000074",
            "nome_do_reservatorio": "Sobradinho",
            "vazao_afluente_m3_s": 158.39,
            "volume_util": 0.26,
            "observacao": "Observação: régua danificada",
        },
    ]
    # Row 20 000 starts block 1 (02/01/2000, variant 1: m = 20000).
    assert table.slice(20_000, 1).to_pylist()[0]["data"] == dt.date(2000, 1, 2)
    assert table.slice(20_000, 1).to_pylist()[0]["codigo_do_posto"] == "040000"  # 740000 % 100000


def test_text_value_late_in_a_numeric_column_keeps_every_value(tmp_path: Path) -> None:
    path = make_big_ons_csv(tmp_path / "late.csv", 15 << 20)
    with path.open("ab") as handle:
        handle.write("01/01/2001;000001;Furnas;n/d;1,00;sem medição\r\n".encode("cp1252"))
    rows = sum(1 for _ in path.open("rb")) - 1
    assert rows > 200_000 and path.stat().st_size > 10 * SAMPLE_BYTES

    table = streamed(path, tmp_path, BIG_SPEC, chunk=1 << 20)

    assert table.num_rows == rows
    assert str(table.schema.field("vazao_afluente_m3_s").type) == "string"
    flows = table.column("vazao_afluente_m3_s")
    assert flows[0].as_py() == "0,01" and flows[2].as_py() == "158,39"
    assert flows[rows - 1].as_py() == "n/d"
    assert flows.null_count == 0
    assert str(table.schema.field("volume_util").type) == "double"


def test_decimals_late_in_an_integer_column_give_doubles(tmp_path: Path) -> None:
    lines = ["valor;nome"] + [f"{i};x" for i in range(30_000)] + ["1,5;y"]
    path = write(tmp_path / "ints.csv", ("\n".join(lines) + "\n").encode())

    table = streamed(path, tmp_path, chunk=256 << 10)

    assert str(table.schema.field("valor").type) == "double"
    assert table.column("valor")[29_999].as_py() == 29_999.0
    assert table.column("valor")[30_000].as_py() == 1.5


def test_column_empty_in_the_sample_is_typed_by_the_whole_file(tmp_path: Path) -> None:
    head = [f"{i};" for i in range(30_000)]  # past the 20 000 sampled rows: "b" empty
    tail = [f"{i};{i},25;extra" for i in range(3)]
    path = write(tmp_path / "gaps.csv", ("a;b\n" + "\n".join(head + tail) + "\n").encode())

    table = streamed(path, tmp_path, chunk=256 << 10)

    assert table.column_names == ["a", "b", "col_3"]
    assert str(table.schema.field("b").type) == "double"
    assert table.column("b").to_pylist()[-3:] == [0.25, 1.25, 2.25]
    assert table.column("col_3").to_pylist()[-1] == "extra"


def test_latin1_bytes_after_an_ascii_head(tmp_path: Path) -> None:
    lines = ["nome;valor"] + [f"posto {i};{i}" for i in range(150_000)]
    lines.append("São Simão;1")
    path = write(tmp_path / "late_latin1.csv", ("\n".join(lines) + "\n").encode("cp1252"))
    assert path.stat().st_size > SAMPLE_BYTES

    table = streamed(path, tmp_path, chunk=256 << 10)

    assert table.column("nome")[150_000].as_py() == "São Simão"


def test_big_csv_header_is_what_the_fixture_documents(tmp_path: Path) -> None:
    path = make_big_ons_csv(tmp_path / "h.csv", 1000)

    assert path.read_bytes().split(b"\r\n")[0] == BIG_CSV_HEADER.encode("cp1252")
    assert path.read_bytes().split(b"\r\n")[1] == b"01/01/2000;000000;Furnas;0,01;0,00;"


def test_cp1252_punctuation_and_undefined_bytes(tmp_path: Path) -> None:
    # 0x80 is "€" and 0x96 "–" in cp1252 (C1 controls in latin-1); 0x81 is undefined.
    data = b"Pre\xe7o \x80;Obs\r\n1,5;S\xe3o \x96 x\x81\r\n2,5;\r\n"
    path = write(tmp_path / "precos.csv", data)

    table = streamed(path, tmp_path)

    assert table.column_names == ["preco", "obs"]
    assert table.to_pydict() == {"preco": [1.5, 2.5], "obs": ["São – x\x81", None]}
