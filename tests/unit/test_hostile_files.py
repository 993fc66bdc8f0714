"""Hostile and broken downloads: zip slip, zip bombs, truncated archives, empty files.

Every file is written for real by ``tests/fixtures/hostile.py``; the readers run on it
unmocked. Expected messages and member names are written by hand from the layouts.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import xlwt

from fixtures.hostile import (
    GOOD_CSV,
    SLIP_NAMES,
    make_bomb_zip,
    make_bzip2_zip,
    make_corrupt_xlsx,
    make_empty_file,
    make_lying_size_zip,
    make_many_members_zip,
    make_nested_bomb_zip,
    make_nested_budget_zip,
    make_slip_zip,
    make_truncated_xlsx,
    make_truncated_zip,
    make_workbook_without_workbook_part,
)
from sintegre.readers import ParseError, UnsupportedFormatError, read_product_file
from sintegre.readers import archive as archive_module
from sintegre.readers.archive import unsafe_member_path
from sintegre.readers.detect import FileKind, detect_format
from sintegre_dev.fixtures import make_html_error_page, make_pdf, make_xlsx, make_zip

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Members are extracted under here, so a test can check nothing is left behind."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_nothing_left(scratch: Path) -> None:
    assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------- zip slip

# Member label as the message shows it: backslashes read as folder separators.
_SLIP_SHOWN = {
    "dotdot": ("../../etc/cron.d/sintegre.csv", "'..' component"),
    "dotdot_inside": ("dados/../../fora.csv", "'..' component"),
    "absolute": ("/etc/passwd.csv", "absolute path"),
    "backslash_dotdot": ("../../Windows/carga.csv", "'..' component"),
    "backslash_absolute": ("/Windows/System32/carga.csv", "absolute path"),
    "drive_letter": ("C:/Users/ons/carga.csv", "drive letter"),
    "drive_letter_slash": ("D:/dados/carga.csv", "drive letter"),
}


@pytest.mark.parametrize("case", sorted(SLIP_NAMES), ids=lambda c: f"slip_{c}")
def test_zip_slip_member_refuses_the_whole_archive(
    tmp_path: Path, scratch: Path, case: str
) -> None:
    path = make_slip_zip(tmp_path / "Blocos_2024-03-01.zip", SLIP_NAMES[case])
    shown, reason = _SLIP_SHOWN[case]

    with pytest.raises(ParseError) as caught:
        read_product_file(path)

    message = str(caught.value)
    assert f'"Blocos_2024-03-01.zip" member "{shown}"' in message
    assert "zip slip" in message
    assert reason in message
    assert_nothing_left(scratch)  # the valid carga.csv before it was not even extracted


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("carga.csv", None),
        ("dados/2024/carga.csv", None),
        ("dados\\carga.csv", None),
        ("..carga.csv", None),  # a name that merely starts with dots stays inside
        ("dados/..x/carga.csv", None),
        ("../carga.csv", "a '..' component"),
        ("dados/../../carga.csv", "a '..' component"),
        ("..\\carga.csv", "a '..' component"),
        ("/carga.csv", "an absolute path"),
        ("\\carga.csv", "an absolute path"),
        ("C:carga.csv", "a drive letter"),
        ("c:\\carga.csv", "a drive letter"),
    ],
)
def test_unsafe_member_path(name: str, reason: str | None) -> None:
    assert unsafe_member_path(name) == reason


# --------------------------------------------------------------------------- zip bombs


def test_one_member_bomb_is_refused_before_extraction(tmp_path: Path, scratch: Path) -> None:
    path = make_bomb_zip(tmp_path / "bomba.zip", expanded_bytes=32 * MIB)
    assert path.stat().st_size < 64 * 1024  # ~1000:1

    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        read_product_file(path)
    elapsed = time.perf_counter() - started

    message = str(caught.value)
    assert '"bomba.zip" member "dados.csv"' in message
    assert "33554432 bytes" in message  # 32 MiB, from the central directory
    assert "200:1 limit" in message
    assert "zip bomb" in message
    assert elapsed < 1.0  # refused from the central directory, not by inflating 32 MiB
    assert_nothing_left(scratch)


def test_nested_bomb_is_refused_at_the_first_inner_archive(tmp_path: Path, scratch: Path) -> None:
    path = make_nested_bomb_zip(tmp_path / "Deck_NEWAVE.zip", inner_count=8)

    with pytest.raises(ParseError) as caught:
        read_product_file(path)

    message = str(caught.value)
    assert '"Deck_NEWAVE.zip" member "parte_00.zip" member "deck/dados.txt"' in message
    assert "zip bomb" in message
    assert_nothing_left(scratch)


def test_too_many_members_is_refused(tmp_path: Path, scratch: Path) -> None:
    path = make_many_members_zip(tmp_path / "muitos.zip", count=10_001)

    with pytest.raises(ParseError, match=r'"muitos\.zip": .*10001 entries.*10000'):
        read_product_file(path)
    assert_nothing_left(scratch)


def test_members_at_the_limit_are_read(tmp_path: Path) -> None:
    # 10,000 entries is allowed; reading them all would be slow, so check the gate only.
    path = make_many_members_zip(tmp_path / "limite.zip", count=10_000)

    with zipfile.ZipFile(path) as archive:
        archive_module.check_archive(archive, '"limite.zip"')  # does not raise


def test_declared_size_that_lies_is_caught(tmp_path: Path, scratch: Path) -> None:
    # Claims 1 MiB (not ratio-checked), inflates to 16 MiB: extraction stops at the claim
    # and the CRC of the real content no longer matches.
    path = make_lying_size_zip(tmp_path / "mentira.zip", real_bytes=16 * MIB, claimed_bytes=MIB)

    with pytest.raises(ParseError) as caught:
        read_product_file(path)

    message = str(caught.value)
    assert '"mentira.zip" member "dados.csv"' in message
    assert "damaged" in message
    assert_nothing_left(scratch)


def test_byte_budget_is_shared_by_nested_archives(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three inner ZIPs (~33 KiB each) of one 512 KiB member: every archive alone is under a
    # 1.25 MiB budget, but after two of them (2 x (33 + 512) KiB) the third no longer fits.
    path = make_nested_budget_zip(tmp_path / "partes.zip", inner_count=3, member_bytes=512 * 1024)
    assert read_product_file(path)  # under the default 8 GiB: read

    monkeypatch.setattr(archive_module, "MAX_TOTAL_BYTES", 1280 * 1024)
    with pytest.raises(ParseError) as caught:
        read_product_file(path)

    message = str(caught.value)
    assert '"partes.zip" member "parte_2.zip"' in message
    assert "524288 bytes" in message
    assert "1310720-byte limit" in message
    assert_nothing_left(scratch)


def test_bzip2_member_is_refused(tmp_path: Path) -> None:
    path = make_bzip2_zip(tmp_path / "carga.zip")

    with pytest.raises(ParseError, match=r'member "carga\.csv".*bzip2.*stored and deflate'):
        read_product_file(path)


def test_mimetype_bomb_does_not_blow_up_detection(tmp_path: Path) -> None:
    # ODS detection reads the "mimetype" member: 100 bytes of it, never the whole member.
    path = tmp_path / "planilha.ods"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("mimetype", "w") as member,
    ):
        for _ in range(64):
            member.write(bytes(MIB))

    started = time.perf_counter()
    detection = detect_format(path, path.name)
    assert time.perf_counter() - started < 0.5
    assert detection.kind is FileKind.ZIP
    with pytest.raises(ParseError, match=r'member "mimetype".*zip bomb'):
        read_product_file(path)


def test_valid_archive_next_to_the_guards_is_read(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "Blocos.zip", {"dados/carga.csv": GOOD_CSV})

    tables = read_product_file(path)

    assert len(tables) == 1
    assert tables[0].table.num_rows == 2
    assert tables[0].table.column("carga_mwmed").to_pylist() == [38456.78, 37001.5]


# --------------------------------------------------------------------------- broken files


def test_truncated_zip_is_damaged_or_truncated(tmp_path: Path, scratch: Path) -> None:
    path = make_truncated_zip(tmp_path / "Blocos_2024-03-01.zip")

    with pytest.raises(ParseError, match=r'"Blocos_2024-03-01\.zip": .*damaged or truncated'):
        read_product_file(path)
    assert_nothing_left(scratch)


def test_truncated_xlsx_is_damaged_or_truncated(tmp_path: Path) -> None:
    path = make_truncated_xlsx(tmp_path / "RDH_05AGO2025.xlsx")

    with pytest.raises(ParseError, match=r'"RDH_05AGO2025\.xlsx": .*damaged or truncated'):
        read_product_file(path)


def test_corrupt_xlsx_fails_clearly(tmp_path: Path) -> None:
    path = make_corrupt_xlsx(tmp_path / "RDH_05AGO2025.xlsx")
    assert detect_format(path, path.name).kind is FileKind.WORKBOOK

    with pytest.raises(ParseError, match=r'"RDH_05AGO2025\.xlsx": .*(spreadsheet|sheet)'):
        read_product_file(path)


def test_xlsx_without_workbook_part_is_a_damaged_workbook(tmp_path: Path) -> None:
    path = make_workbook_without_workbook_part(tmp_path / "Carga.xlsx")

    assert detect_format(path, path.name).kind is FileKind.WORKBOOK
    with pytest.raises(ParseError, match=r'"Carga\.xlsx": the spreadsheet could not be opened'):
        read_product_file(path)


# --------------------------------------------------------------------------- empty files


@pytest.mark.parametrize(
    ("content", "description"),
    [
        pytest.param(b"", "0 bytes", id="zero_bytes"),
        pytest.param(b" \r\n\t \n", "6 bytes", id="whitespace"),
        pytest.param(b"\xef\xbb\xbf\r\n", "5 bytes", id="utf8_bom_and_newline"),
        pytest.param(b"\xff\xfe \x00\n\x00", "6 bytes", id="utf16_whitespace"),
    ],
)
def test_empty_download_is_a_parse_error(tmp_path: Path, content: bytes, description: str) -> None:
    path = make_empty_file(tmp_path / "IPDO-01-03-2024.pdf", content)

    detection = detect_format(path, path.name)
    assert detection.kind is FileKind.EMPTY
    assert description in detection.description
    with pytest.raises(ParseError) as caught:
        read_product_file(path)
    message = str(caught.value)
    assert message.startswith('"IPDO-01-03-2024.pdf": the file is empty')
    assert "where a product file was expected" in message


def test_long_whitespace_file_is_detected_empty(tmp_path: Path) -> None:
    path = make_empty_file(tmp_path / "carga.csv", b" \r\n" * 10_000)  # past the 8 KiB head

    detection = detect_format(path, path.name)

    assert detection.kind is FileKind.EMPTY
    assert detection.description == "30000 bytes of whitespace"


def test_whitespace_then_data_is_not_empty(tmp_path: Path) -> None:
    path = make_empty_file(tmp_path / "carga.csv", b"\n" * 9000 + b"a;b\n1;2\n")

    assert detect_format(path, path.name).kind is FileKind.TEXT


# --------------------------------------------------------------------------- detection


def _ods(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", b"<office:document-content/>")
    return path


def _xls(path: Path) -> Path:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Diária_6")
    sheet.write(0, 0, "Data")
    sheet.write(0, 1, "Vazão")
    sheet.write(1, 0, "01/03/2024")
    sheet.write(1, 1, 123.4)
    book.save(str(path))
    return path


@pytest.mark.parametrize(
    ("make", "file_name", "kind"),
    [
        pytest.param(lambda p: make_xlsx(p) and p, "RDH.xlsx", FileKind.WORKBOOK, id="xlsx"),
        pytest.param(lambda p: make_xlsx(p) and p, "RDH.bin", FileKind.WORKBOOK, id="xlsx_no_ext"),
        pytest.param(_ods, "planilha.ods", FileKind.WORKBOOK, id="ods"),
        pytest.param(
            lambda p: make_zip(p, {"a.csv": GOOD_CSV}), "Blocos.zip", FileKind.ZIP, id="zip"
        ),
        pytest.param(_xls, "ACOMPH_29.04.2025.xls", FileKind.LEGACY_XLS, id="ole2_xls"),
        pytest.param(make_pdf, "IPDO-01-03-2024.pdf", FileKind.PDF, id="pdf"),
        pytest.param(make_pdf, "IPDO-01-03-2024.xlsx", FileKind.PDF, id="pdf_misnamed"),
        pytest.param(make_html_error_page, "RDH.xlsx", FileKind.HTML, id="html"),
        pytest.param(lambda p: make_empty_file(p), "RDH.xlsx", FileKind.EMPTY, id="empty"),
        pytest.param(
            lambda p: make_empty_file(p, GOOD_CSV), "Carga.xls", FileKind.TEXT, id="csv_as_xls"
        ),
    ],
)
def test_detection_from_content(
    tmp_path: Path, make: Callable[[Path], object], file_name: str, kind: FileKind
) -> None:
    path = tmp_path / "download.tmp"
    make(path)

    assert detect_format(path, file_name).kind is kind


def test_html_page_fails_clearly(tmp_path: Path) -> None:
    path = make_html_error_page(tmp_path / "download.tmp")

    with pytest.raises(ParseError, match=r'"RDH\.xlsx": the server sent an HTML page.*title'):
        read_product_file(path, "RDH.xlsx")


def test_docx_is_unsupported_not_an_archive(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "nota.docx",
        {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"},
    )

    with pytest.raises(UnsupportedFormatError, match="not a spreadsheet"):
        read_product_file(path)


# ---- workbooks: budget, bombs, names that lie about the format ------------------------------


@pytest.mark.drill(
    "#14.2 a 25 KB xlsx whose one stray cell makes 32 M cells: refused from its dimensions "
    "with a message, in well under a second (was 17 s and 1.6 GB)"
)
def test_a_stray_cell_far_right_is_refused_before_the_rectangle_is_built(tmp_path: Path) -> None:
    """2,000 rows and one cell at column 16,000: 32 M cells. Before: 17 s and 1.6 GB."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in range(1, 2001):
        sheet.cell(row, 1, row)
    sheet.cell(1, 16000, "perdida")
    path = tmp_path / "RDH_05AGO2025.xlsx"
    book.save(path)
    assert path.stat().st_size < 100_000
    started = time.monotonic()
    with pytest.raises(ParseError, match=r"2,000 rows x 16,000 columns .*cell budget"):
        read_product_file(path)
    assert time.monotonic() - started < 10  # refused from the sheet's dimensions


@pytest.mark.drill(
    "#14.2 an xlsx on its own with a part that expands 1000:1: refused by the zip-bomb "
    "checks before calamine opens it"
)
def test_an_xlsx_delivered_alone_gets_the_zip_bomb_checks(tmp_path: Path) -> None:
    """A workbook is a ZIP: a part that expands 1000:1 is refused before calamine opens it."""
    path = tmp_path / "Plan.xlsx"
    make_xlsx(path, sheets={"Dados": 3})
    with zipfile.ZipFile(path) as original:
        parts = {info.filename: original.read(info) for info in original.infolist()}
    bloated = tmp_path / "Bomba.xlsx"
    with zipfile.ZipFile(bloated, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        archive.writestr("xl/media/padding.bin", b"\0" * (64 * 1024 * 1024))
    with pytest.raises(ParseError, match=r"padding\.bin.*expands \d+:1.*zip bomb"):
        read_product_file(bloated)


@pytest.mark.parametrize(
    ("writer", "served_as"),
    [
        ("xlsx", "ACOMPH_05.08.2025.xls"),  # an .xlsx named .xls
        ("xls", "RDH_05AGO2025.xlsx"),  # a BIFF8 .xls named .xlsx
        ("ods", "RDH_05AGO2025.xlsx"),  # an ODS named .xlsx
    ],
)
@pytest.mark.drill(
    "#14.16 xlsx named .xls, xls named .xlsx, ods named .xlsx: each read by its content"
)
def test_the_reader_follows_the_content_never_the_extension(
    tmp_path: Path, writer: str, served_as: str
) -> None:
    path = tmp_path / served_as
    if writer == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        book.active.append(["data", "valor"])
        book.active.append(["01/08/2025", 1.5])
        book.save(path)
    elif writer == "xls":
        book = xlwt.Workbook()
        sheet = book.add_sheet("Plan1")
        for column, value in enumerate(["data", "valor"]):
            sheet.write(0, column, value)
        sheet.write(1, 0, "01/08/2025")
        sheet.write(1, 1, 1.5)
        book.save(str(path))
    else:
        from odf.opendocument import OpenDocumentSpreadsheet
        from odf.table import Table, TableCell, TableRow
        from odf.text import P

        document = OpenDocumentSpreadsheet()
        table = Table(name="Plan1")
        for values in (["data", "valor"], ["01/08/2025", 1.5]):
            row = TableRow()
            for value in values:
                if isinstance(value, float):
                    cell = TableCell(valuetype="float", value=value)
                else:
                    cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
                row.addElement(cell)
            table.addElement(row)
        document.spreadsheet.addElement(table)
        document.save(str(path))
    (table,) = read_product_file(path)
    assert table.table.column("valor").to_pylist() == [1.5]
