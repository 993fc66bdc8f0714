"""PDF reports: tables from ruled PDFs (product 302), none from text reports (155).

The PDFs are written for real by ``sintegre_dev.ons_files.reports`` and read by pdfplumber,
unmocked. Expected tables are written out by hand from the layouts in that module.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from sintegre.catalog.spec import TableSpec
from sintegre.readers import ParsedTable, ParseError, read_product_file
from sintegre.readers.detect import FileKind, detect_format
from sintegre.readers.pdf import read_pdf
from sintegre_dev.fixtures import make_zip
from sintegre_dev.ons_files.reports import (
    PdfWriter,
    make_ipdo_pdf,
    make_newave_deck_zip,
    make_rml_pdf,
)

HEADER = ["Intercâmbio", "Pesada (MW)", "Média (MW)", "Leve (MW)"]
COLUMNS = ["intercambio", "pesada_mw", "media_mw", "leve_mw"]


def test_rml_tables_are_read_page_by_page(tmp_path: Path) -> None:
    path = make_rml_pdf(tmp_path / "RML_DECOMP_Marco_2024.pdf")

    tables = read_pdf(path, '"RML_DECOMP_Marco_2024.pdf"')

    assert [(t.name, t.source_member) for t in tables] == [
        ("p1_t1", "page 1"),
        ("p2_t1", "page 2"),
        ("p2_t2", "page 2"),
    ]
    for table in tables:
        assert table.original_columns == HEADER
        assert table.table.column_names == COLUMNS
        assert table.table.schema.field("intercambio").type == pa.string()

    first = tables[0].table
    # "7.850,5" is pt-BR: 7850.5; "-" is no value.
    assert first.to_pylist() == [
        {"intercambio": "SE→S", "pesada_mw": 7500.0, "media_mw": 7850.5, "leve_mw": 8100.0},
        {"intercambio": "S→SE", "pesada_mw": 6200.0, "media_mw": 6450.5, "leve_mw": 6700.0},
        {"intercambio": "N→SE", "pesada_mw": 4000.0, "media_mw": 4000.0, "leve_mw": 3950.5},
        {"intercambio": "SE→NE", "pesada_mw": 5100.25, "media_mw": 5300.0, "leve_mw": None},
    ]
    assert first.schema.field("pesada_mw").type == pa.float64()

    continuation = tables[1].table
    # Only integers in "Pesada" here: "12.000" is twelve thousand, typed int64.
    assert continuation.column("pesada_mw").to_pylist() == [4800, 12000]
    assert continuation.schema.field("pesada_mw").type == pa.int64()
    assert continuation.column("media_mw").to_pylist() == [5000.5, 12150.75]
    assert continuation.column("intercambio").to_pylist() == ["NE→SE", "FC→SE"]

    next_month = tables[2].table
    assert next_month.column("leve_mw").to_pylist() == [8200.5, 6750.0]


def test_rml_through_the_dispatcher(tmp_path: Path) -> None:
    path = make_rml_pdf(tmp_path / "download.tmp")

    assert detect_format(path, "RML.pdf").kind is FileKind.PDF
    tables = read_product_file(path, "RML_DECOMP_Marco_2024.pdf")

    assert sum(t.table.num_rows for t in tables) == 4 + 2 + 2
    flows = [v for t in tables for v in t.table.column("intercambio").to_pylist()]
    assert flows == ["SE→S", "S→SE", "N→SE", "SE→NE", "NE→SE", "FC→SE", "SE→S", "S→SE"]


def test_rml_inside_a_folder_zip_names_the_member(tmp_path: Path) -> None:
    # Product 302 arrives as a PDF one month and as a folder zipped by the proxy the next.
    pdf = make_rml_pdf(tmp_path / "RML.pdf")
    path = make_zip(tmp_path / "Relatorio_Limites.zip", {"Marco_2024/RML.pdf": pdf})

    tables = read_product_file(path)

    members = {m for t in tables for m in _source_members(t)}
    assert members == {"Marco_2024/RML.pdf/page 1", "Marco_2024/RML.pdf/page 2"}
    assert sum(t.table.num_rows for t in tables) == 8


def _source_members(parsed: ParsedTable) -> list[str]:
    if "source_member" in parsed.table.column_names:
        return parsed.table.column("source_member").to_pylist()
    return [parsed.source_member]


def test_ipdo_text_report_has_no_tables(tmp_path: Path) -> None:
    path = make_ipdo_pdf(tmp_path / "IPDO-01-03-2024.pdf")

    assert read_pdf(path, '"IPDO-01-03-2024.pdf"') == []
    assert read_product_file(path) == []


def test_table_without_header_gets_numbered_columns(tmp_path: Path) -> None:
    pdf = PdfWriter().new_page()
    pdf.table(50, 700, (80, 80), [("1.234,5", "01/03/2024"), ("2,5", "02/03/2024")])
    path = pdf.save(tmp_path / "semcabecalho.pdf")

    (only,) = read_pdf(path, "x")

    assert only.original_columns == ["", ""]
    assert only.table.column_names == ["col_1", "col_2"]
    assert only.table.column("col_1").to_pylist() == [1234.5, 2.5]
    assert only.table.schema.field("col_2").type == pa.date32()


def test_caption_row_above_the_header_is_dropped(tmp_path: Path) -> None:
    pdf = PdfWriter().new_page()
    top = 700
    pdf.table(50, top, (80, 80), [("Subsistema", "Limite (MW)"), ("SE", "1.000")])
    # A caption cell spanning both columns, ruled above the table.
    pdf.line(50, top + 18, 210, top + 18)
    pdf.line(50, top, 50, top + 18)
    pdf.line(210, top, 210, top + 18)
    pdf.text(53, top + 5, "Tabela 1", 9)
    path = pdf.save(tmp_path / "legenda.pdf")

    (only,) = read_pdf(path, "x")

    assert only.original_columns == ["Subsistema", "Limite (MW)"]
    assert only.table.to_pylist() == [{"subsistema": "SE", "limite_mw": 1000}]


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"%PDF-1.4\n" + bytes(range(256)) * 8, id="garbage"),
        pytest.param(lambda data: b"%PDF-1.7\n", id="header_only"),
    ],
)
def test_pdf_that_cannot_be_opened_is_a_parse_error(
    tmp_path: Path, cut: Callable[[bytes], bytes]
) -> None:
    good = make_rml_pdf(tmp_path / "good.pdf").read_bytes()
    path = tmp_path / "RML_DECOMP.pdf"
    path.write_bytes(cut(good))

    with pytest.raises(ParseError, match=r'"RML_DECOMP\.pdf": the PDF could not be opened'):
        read_product_file(path)


def test_newave_deck_is_a_zip_of_zips_kept_raw(tmp_path: Path) -> None:
    path = make_newave_deck_zip(tmp_path / "DECK NEWAVE DEFINITIVO.zip", year=2024, month=3)

    with zipfile.ZipFile(path) as outer:
        assert outer.namelist() == ["NW202403.zip", "GEVAZP_202403.zip"]
        with zipfile.ZipFile(outer.open("NW202403.zip")) as deck:
            assert deck.namelist() == [
                "caso.dat",
                "arquivos.dat",
                "dger.dat",
                "sistema.dat",
                "confhd.dat",
                "hidr.dat",
                "vazoes.dat",
            ]
            confhd = deck.read("confhd.dat").decode("latin-1").splitlines()
            assert confhd[3] == "   6  FURNAS           6    7    10   EX"
            assert len(deck.read("hidr.dat")) == 2 * 792

    raw = (TableSpec(name="deck", match=("*",), raw=True),)
    assert read_product_file(path, tables=raw) == []


# The catalog entries proposed for products.yaml (302: PDF tables; 155: kept raw).
LIMITES_302 = TableSpec(name="limites", match=("page *", "*.pdf/page *"))
IPDO_155 = TableSpec(name="ipdo", match=("*.pdf", "*"), raw=True)


@pytest.mark.parametrize("in_zip", [False, True], ids=["pdf", "folder_zip"])
def test_rml_catalog_spec_gives_one_limits_table(tmp_path: Path, in_zip: bool) -> None:
    path = make_rml_pdf(tmp_path / "RML_DECOMP_Marco_2024.pdf")
    prefix = ""
    if in_zip:
        path = make_zip(tmp_path / "Relatorio.zip", {"Marco_2024/RML.pdf": path})
        prefix = "Marco_2024/RML.pdf/"

    (limites,) = read_product_file(path, tables=(LIMITES_302,))

    assert limites.name == "limites"
    assert limites.table.num_rows == 8
    # Pages typed int64 on their own ("12.000") and double ("7.850,5") merge as double.
    assert limites.table.schema.field("pesada_mw").type == pa.float64()
    assert limites.table.column("pesada_mw").to_pylist()[3:6] == [5100.25, 4800.0, 12000.0]
    assert (
        limites.table.column("source_member").to_pylist()
        == [f"{prefix}page 1"] * 4 + [f"{prefix}page 2"] * 4
    )


def test_ipdo_catalog_spec_keeps_it_raw(tmp_path: Path) -> None:
    path = make_ipdo_pdf(tmp_path / "IPDO-01-03-2024.pdf")

    assert read_product_file(path, tables=(IPDO_155,)) == []
