"""ONS reports and model decks written for real: PDFs and NEWAVE decks.

Realistic ONS-shaped files generated for the tests, the simulator's sample products
(:mod:`sintegre_dev.simulator.samples`) and ``make demo``; no Airflow here.

No PDF library that writes is installed (pdfplumber only reads), so :class:`PdfWriter` is a
small hand-written PDF 1.4 writer: text in Courier (every glyph 600/1000 em wide, so cell
positions are exact) and ruling lines drawn with the ``m``/``l``/``S`` operators, which is
what pdfplumber's default ("lines") table finder looks for. Text is encoded WinAnsi
(``ç``, ``ã``, ``é`` as in Portuguese) with code 0x80 remapped to ``/arrowright``, so
``SE→S`` is extracted as written.

Layouts (what the tests expect, written out by hand in the tests):

- :func:`make_rml_pdf` (product 302, Relatório Mensal de Limites de Intercâmbio): page 1 a
  title and a ruled table of limits, page 2 its continuation with the same header and a
  second ruled table for the next month; pt-BR numbers (``7.850,5``).
- :func:`make_ipdo_pdf` (product 155, IPDO): two pages of text, aligned in columns but
  with no ruling lines: no tables.
- :func:`make_newave_deck_zip` (products 286/287): ``<nome>.zip`` holding ``NW<yyyymm>.zip``
  (fixed-format deck files, binary ``hidr.dat``/``vazoes.dat``) and ``GEVAZP_<yyyymm>.zip``.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "IPDO_LINES",
    "RML_HEADER",
    "RML_NEXT_MONTH_ROWS",
    "RML_PAGE1_ROWS",
    "RML_PAGE2_ROWS",
    "PdfWriter",
    "make_ipdo_pdf",
    "make_newave_deck_zip",
    "make_rml_pdf",
]

RML_HEADER = ("Intercâmbio", "Pesada (MW)", "Média (MW)", "Leve (MW)")
RML_PAGE1_ROWS = (
    ("SE→S", "7.500", "7.850,5", "8.100"),
    ("S→SE", "6.200,0", "6.450,5", "6.700,0"),
    ("N→SE", "4.000", "4.000", "3.950,5"),
    ("SE→NE", "5.100,25", "5.300", "-"),
)
RML_PAGE2_ROWS = (
    ("NE→SE", "4.800", "5.000,5", "5.250"),
    ("FC→SE", "12.000", "12.150,75", "12.300"),
)
RML_NEXT_MONTH_ROWS = (
    ("SE→S", "7.600", "7.900", "8.200,5"),
    ("S→SE", "6.300,5", "6.500", "6.750"),
)

IPDO_LINES = (
    "IPDO - Informativo Preliminar Diário da Operação",
    "Data de referência: 01/03/2024",
    "",
    "1. Destaques da operação",
    "A carga do SIN foi atendida sem restrições. Não houve corte de carga.",
    "",
    "2. Carga e geração (MWmed)",
    "Subsistema       Carga      Hidráulica   Térmica",
    "SE/CO            38.456,8   25.100,2     6.300,0",
    "Sul              12.345,7    9.800,1     1.200,5",
)

_PAGE_WIDTH, _PAGE_HEIGHT = 595, 842  # A4 in points
_CHAR_EM = 0.6  # Courier
_ARROW_CODE = 0x80


def _encode(text: str) -> bytes:
    """WinAnsi bytes for a PDF string literal, ``→`` as code 0x80, with escapes."""
    raw = b"".join(bytes([_ARROW_CODE]) if char == "→" else char.encode("cp1252") for char in text)
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


@dataclass
class _Page:
    ops: list[bytes] = field(default_factory=list)


class PdfWriter:
    """A minimal PDF writer: pages of Courier text and straight lines.

    Coordinates are PDF points from the bottom-left corner of an A4 page.
    """

    def __init__(self) -> None:
        """Start a document with no pages."""
        self._pages: list[_Page] = []

    def new_page(self) -> PdfWriter:
        """Start a new page; later drawing goes there.

        Returns:
            The writer, for chaining.
        """
        self._pages.append(_Page())
        return self

    def text(self, x: float, y: float, text: str, size: float = 10) -> PdfWriter:
        """Draw one line of text with its baseline at ``y``.

        Returns:
            The writer, for chaining.
        """
        self._pages[-1].ops.append(
            f"BT /F1 {size:g} Tf {x:g} {y:g} Td (".encode() + _encode(text) + b") Tj ET"
        )
        return self

    def line(self, x1: float, y1: float, x2: float, y2: float) -> PdfWriter:
        """Draw a straight 0.5 pt line.

        Returns:
            The writer, for chaining.
        """
        self._pages[-1].ops.append(f"0.5 w {x1:g} {y1:g} m {x2:g} {y2:g} l S".encode())
        return self

    def table(
        self,
        x: float,
        top: float,
        widths: Sequence[float],
        rows: Sequence[Sequence[str]],
        *,
        row_height: float = 18,
        size: float = 9,
    ) -> float:
        """Draw a fully ruled grid with one text line per cell.

        Args:
            x: Left edge.
            top: Top edge.
            widths: Column widths; each must fit its longest text (Courier, 0.6 em).
            rows: Cell texts, header first.
            row_height: Height of every row.
            size: Font size.

        Returns:
            The bottom edge of the grid.
        """
        bottom = top - row_height * len(rows)
        right = x + sum(widths)
        for index in range(len(rows) + 1):
            y = top - row_height * index
            self.line(x, y, right, y)
        edge = x
        for width in (0, *widths):
            edge += width
            self.line(edge, top, edge, bottom)
        for row_index, row in enumerate(rows):
            baseline = top - row_height * (row_index + 1) + (row_height - size) / 2 + 1
            left = x
            for width, cell in zip(widths, row, strict=True):
                if len(cell) * size * _CHAR_EM > width - 4:
                    raise ValueError(f"{cell!r} does not fit a {width} pt column")
                self.text(left + 3, baseline, cell, size)
                left += width
        return bottom

    def to_bytes(self) -> bytes:
        """Serialise the document (catalog, pages, one font, xref table, trailer).

        Returns:
            The PDF bytes.
        """
        font_widths = " ".join(["600"] * 224)  # codes 32..255, Courier is monospaced
        objects: dict[int, bytes] = {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            3: (
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /FirstChar 32 "
                b"/LastChar 255 /Widths [" + font_widths.encode() + b"] /Encoding << "
                b"/Type /Encoding /BaseEncoding /WinAnsiEncoding "
                b"/Differences [128 /arrowright] >> >>"
            ),
        }
        kids = []
        for index, page in enumerate(self._pages):
            page_id, content_id = 4 + 2 * index, 5 + 2 * index
            kids.append(f"{page_id} 0 R")
            stream = b"\n".join(page.ops)
            objects[page_id] = (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}] "
                f"/Contents {content_id} 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
            ).encode()
            objects[content_id] = (
                f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
            )
        objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()

        body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = {}
        for number in sorted(objects):
            offsets[number] = len(body)
            body += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
        xref = len(body)
        count = max(objects) + 1
        body += f"xref\n0 {count}\n0000000000 65535 f \n".encode()
        for number in range(1, count):
            body += f"{offsets[number]:010d} 00000 n \n".encode()
        body += f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        return bytes(body)

    def save(self, path: Path) -> Path:
        """Write the document to ``path``.

        Returns:
            ``path``.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path


_RML_WIDTHS = (110, 100, 100, 100)


def make_rml_pdf(path: Path) -> Path:
    """Write a Relatório Mensal de Limites de Intercâmbio (product 302) with ruled tables.

    Page 1: title lines, then a table of :data:`RML_HEADER` and :data:`RML_PAGE1_ROWS`.
    Page 2: the continuation (same header, :data:`RML_PAGE2_ROWS`), a note line, then the
    next month's table (same header, :data:`RML_NEXT_MONTH_ROWS`).

    Args:
        path: Where to write.

    Returns:
        ``path``.
    """
    pdf = PdfWriter().new_page()
    pdf.text(60, 790, "Relatório Mensal de Limites de Intercâmbio - Modelo DECOMP", 12)
    pdf.text(60, 772, "Março/2024 - Limites por patamar de carga (MW)", 10)
    pdf.table(60, 740, _RML_WIDTHS, [RML_HEADER, *RML_PAGE1_ROWS])
    pdf.text(60, 600, "Fonte: ONS. Valores sujeitos a revisão.", 8)
    pdf.new_page()
    bottom = pdf.table(60, 790, _RML_WIDTHS, [RML_HEADER, *RML_PAGE2_ROWS])
    pdf.text(60, bottom - 30, "Limites para Abril/2024 (preliminares):", 10)
    pdf.table(60, bottom - 50, _RML_WIDTHS, [RML_HEADER, *RML_NEXT_MONTH_ROWS])
    return pdf.save(path)


def make_ipdo_pdf(path: Path, period: dt.date | None = None) -> Path:
    """Write an IPDO (product 155): text only, columns aligned by spaces, no ruling lines.

    The lines are :data:`IPDO_LINES` on page 1 and their first five on page 2.

    Args:
        path: Where to write.
        period: The day reported on; when given, the "Data de referência" line shows it
            instead of 01/03/2024 (so each day's file has different bytes, as ONS's do).

    Returns:
        ``path``.
    """
    lines = IPDO_LINES
    if period is not None:
        lines = tuple(
            f"Data de referência: {period:%d/%m/%Y}" if line.startswith("Data de ref") else line
            for line in IPDO_LINES
        )
    pdf = PdfWriter()
    for page_lines in (lines, lines[:5]):
        pdf.new_page()
        for index, line in enumerate(page_lines):
            pdf.text(50, 790 - 16 * index, line, 10)
    return pdf.save(path)


# --------------------------------------------------------------------------- NEWAVE decks


def _fixed(fields: Sequence[tuple[object, int]]) -> str:
    """One fixed-format record: each value right-aligned in its width, left if negative."""
    return "".join(
        f"{value!s:>{width}}" if width > 0 else f"{value!s:<{-width}}" for value, width in fields
    )


def _deck_members(year: int, month: int) -> dict[str, bytes]:
    rng = random.Random(year * 100 + month)
    dger = "\n".join(
        [
            f"PMO {month:02d}/{year} - DECK NEWAVE",
            _fixed([("TIPO DE EXECUCAO", 21), (1, 4)]),
            _fixed([("DURACAO DO PERIODO", 21), (1, 4)]),
            _fixed([("No. DE ANOS DO EST", 21), (5, 4)]),
            _fixed([("MES INICIO PRE-EST", 21), (month, 4)]),
            _fixed([("ANO INICIO DO ESTUDO", 21), (year, 5)]),
        ]
    )
    sistema = "\n".join(
        [" MERCADO DE ENERGIA TOTAL", " XXX", "       XXXJAN. XXXFEV. XXXMAR."]
        + [
            _fixed([(code, 4)])
            + "".join(_fixed([(f"{rng.uniform(5e3, 4e4):.0f}.", 8)]) for _ in range(3))
            for code in (1, 2, 3, 4)
        ]
    )
    confhd = "\n".join(
        [" NUM  NOME         POSTO JUS   REE V  U  EXIS MODIF INIC HIST FIM HIST"]
        + [
            _fixed([(num, 4), ("", 2), (name, -12), (posto, 6), (jus, 5), (ree, 6), ("EX", 5)])
            for num, name, posto, jus, ree in (
                (1, "CAMARGOS", 1, 2, 10),
                (2, "ITUTINGA", 2, 211, 10),
                (6, "FURNAS", 6, 7, 10),
            )
        ]
    )
    # hidr.dat and vazoes.dat are binary records (792 bytes per plant; int32 flows).
    hidr = b"".join(
        name.encode("ascii").ljust(12) + rng.randbytes(780) for name in ("CAMARGOS", "FURNAS")
    )
    vazoes = b"".join(struct.pack("<i", rng.randrange(50, 5000)) for _ in range(3 * 12 * 4))
    arquivos = "\n".join(
        [
            _fixed([("DADOS GERAIS", -30), ("dger.dat", -12)]),
            _fixed([("DADOS DOS SUBSISTEMAS", -30), ("sistema.dat", -12)]),
            _fixed([("CONFIGURACAO HIDRAULICA", -30), ("confhd.dat", -12)]),
        ]
    )
    return {
        "caso.dat": b"arquivos.dat\n",
        "arquivos.dat": arquivos.encode("latin-1"),
        "dger.dat": dger.encode("latin-1"),
        "sistema.dat": sistema.encode("latin-1"),
        "confhd.dat": confhd.encode("latin-1"),
        "hidr.dat": hidr,
        "vazoes.dat": vazoes,
    }


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 3, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def make_newave_deck_zip(path: Path, *, year: int = 2024, month: int = 3) -> Path:
    """Write a NEWAVE deck delivery (products 286/287): a zip of zips of model decks.

    ``path`` holds ``NW<yyyymm>.zip`` (``caso.dat``, ``arquivos.dat``, ``dger.dat``,
    ``sistema.dat``, ``confhd.dat`` in fixed format, latin-1; ``hidr.dat`` and
    ``vazoes.dat`` binary) and ``GEVAZP_<yyyymm>.zip`` (a smaller deck of the same files).

    Args:
        path: Where to write (ONS names it ``<nome>.zip``).
        year: Deck year.
        month: Deck month.

    Returns:
        ``path``.
    """
    stamp = f"{year}{month:02d}"
    deck = _deck_members(year, month)
    gevazp = {name: deck[name] for name in ("caso.dat", "arquivos.dat", "vazoes.dat")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        _zip_bytes({f"NW{stamp}.zip": _zip_bytes(deck), f"GEVAZP_{stamp}.zip": _zip_bytes(gevazp)})
    )
    return path
