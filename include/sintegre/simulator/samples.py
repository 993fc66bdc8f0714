"""A sample catalog: one realistic file per kind of product, with its notification fields.

:func:`sample_products` writes, for a given day, one file for each of a handful of catalogued
products, made with :mod:`sintegre.fixtures` (latin-1 ``;`` CSV, workbooks with title rows,
ZIPs, a headerless TXT, a PDF, a folder product) and returns what SINtegre would notify for
each: ``nome`` exactly as the catalog spells it, ``processo``, ``macroProcesso``, a
``dataProduto`` in the shape of the product's granularity and the period as naive Brasília
wall-clock times. The files are deterministic for a day (same bytes, same sha256) and differ
from one day to the next, as ONS's do.
"""

from __future__ import annotations

import calendar
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sintegre.fixtures import make_csv, make_pdf, make_pipe_txt, make_psat_txt, make_xlsx, make_zip
from sintegre.products import Product, load_catalog

__all__ = [
    "MONTHS_PT",
    "SAMPLE_PRODUCT_IDS",
    "Sample",
    "operative_week",
    "period_fields",
    "sample_products",
]

# Portuguese month names as ONS writes them in file names ("RV2_PMO_Março_2025_...").
MONTHS_PT = (
    "Janeiro",
    "Fevereiro",
    "Março",
    "Abril",
    "Maio",
    "Junho",
    "Julho",
    "Agosto",
    "Setembro",
    "Outubro",
    "Novembro",
    "Dezembro",
)

_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Sample:
    """One product file ready to publish, and the notification fields SINtegre sends with it.

    Attributes:
        path: The file, or for a folder product (``is_file=False``) the directory to zip.
        file_name: The name the download is served under (``<nome>.zip`` for folders).
        product_id: The catalog id (the token's ``/Produtos/<id>/``).
        nome: ``nome``, exactly the catalog's name.
        processo: ``processo``.
        macro_processo: ``macroProcesso``.
        data_produto: ``dataProduto``: ``dd/mm/yyyy``, ``dd/mm/yyyy - dd/mm/yyyy`` (Saturday
            to Friday) or ``mm/yyyy``.
        periodicidade: Start of the period, naive Brasília time (00:00:00).
        periodicidade_final: End of the period, naive Brasília time (23:59:59 of its last day).
        is_file: ``False`` for a folder product.
        granularity: ``daily``, ``weekly`` or ``monthly``.
        kind: What the file is: ``csv``, ``xlsx``, ``zip``, ``txt``, ``pdf`` or ``folder``.
        day: The day the samples were made for (the delivery day).
        expected: What :mod:`sintegre.fixtures` says a correct reader finds in the file
            (an ``ExpectedTable``, a dict of them, or ``None``), for tests.
    """

    path: Path
    file_name: str
    product_id: int
    nome: str
    processo: str
    macro_processo: str
    data_produto: str
    periodicidade: datetime
    periodicidade_final: datetime
    is_file: bool = True
    granularity: str = "daily"
    kind: str = ""
    day: date | None = None
    expected: Any = field(default=None, compare=False, repr=False)


def operative_week(day: date) -> tuple[date, date]:
    """The ONS operative week (Saturday to Friday) that contains ``day``.

    Args:
        day: Any day.

    Returns:
        ``(saturday, friday)``.
    """
    saturday = day - timedelta(days=(day.weekday() - 5) % 7)
    return saturday, saturday + timedelta(days=6)


def period_fields(granularity: str, day: date) -> tuple[str, datetime, datetime]:
    """``dataProduto`` and the period bounds for the period of ``granularity`` holding ``day``.

    Args:
        granularity: ``daily`` (the day), ``weekly`` (its operative week) or ``monthly``
            (its month).
        day: A day inside the period.

    Returns:
        ``(data_produto, periodicidade, periodicidade_final)``, the bounds naive Brasília
        times from 00:00:00 of the first day to 23:59:59 of the last.

    Raises:
        ValueError: Unknown granularity.
    """
    if granularity == "daily":
        first = last = day
        label = f"{day:%d/%m/%Y}"
    elif granularity == "weekly":
        first, last = operative_week(day)
        label = f"{first:%d/%m/%Y} - {last:%d/%m/%Y}"
    elif granularity == "monthly":
        first = day.replace(day=1)
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        label = f"{day:%m/%Y}"
    else:
        raise ValueError(f"unknown granularity {granularity!r}")
    return label, datetime.combine(first, time.min), datetime.combine(last, _END_OF_DAY)


def _vary(day: date, spread: int) -> int:
    """A small per-day number so consecutive days give different bytes (and hashes)."""
    return day.toordinal() % spread


def _dessem_csv(target: Path, period: date) -> tuple[str, Any]:
    name = f"Blocos_{period:%Y-%m-%d}.csv"
    expected = make_csv(target / name, rows=24 + 4 * _vary(period, 5))
    return name, expected


def _hydrology_xlsx(target: Path, period: date) -> tuple[str, Any]:
    start = period - timedelta(days=29)
    name = f"Vazões Observadas - {start:%d-%m-%Y} a {period:%d-%m-%Y}.xlsx"
    rows = 25 + _vary(period, 6)
    stations = {"Furnas": rows, "G. B. Munhoz": rows, "Três Marias": rows}
    return name, make_xlsx(target / name, sheets=stations, title_rows=2)


def _pdp_zip(target: Path, period: date) -> tuple[str, Any]:
    name = f"Modelos_Chuva_Vazao_{period:%Y%m%d}.zip"
    members: dict[str, bytes | Path] = {}
    expected = {}
    with tempfile.TemporaryDirectory(prefix="sintegre-sample-") as scratch:
        for basin, posto in (("Grande", 6), ("Iguacu", 74), ("SaoFrancisco", 169)):
            part = Path(scratch) / f"{basin}.txt"
            member = f"{basin}/PREVISAO_{posto:03d}.txt"
            expected[member] = make_pipe_txt(part, rows=10 + _vary(period, 4), posto=posto)
            members[member] = part.read_bytes()
    make_zip(target / name, members)
    return name, expected


def _psat_txt(target: Path, period: date) -> tuple[str, Any]:
    name = f"psat_{period:%d%m%Y}.txt"
    return name, make_psat_txt(target / name, rows=7 + _vary(period, 5))


def _ipdo_pdf(target: Path, period: date) -> tuple[str, Any]:
    name = f"IPDO-{period:%d-%m-%Y}.pdf"
    title = f"IPDO - Informativo Preliminar Diario da Operacao - {period:%d/%m/%Y}"
    make_pdf(target / name, title=title)
    return name, None


def _weekly_load_zip(target: Path, period: date) -> tuple[str, Any]:
    _, friday = operative_week(period)
    # The PMO month is the month the week ends in; RV0 is its first week, RV1 the next...
    revision = (friday.day - 1) // 7
    month = MONTHS_PT[friday.month - 1]
    name = f"RV{revision}_PMO_{month}_{friday.year}_carga_semanal.zip"
    with tempfile.TemporaryDirectory(prefix="sintegre-sample-") as scratch:
        csv_part = Path(scratch) / "carga.csv"
        xlsx_part = Path(scratch) / "patamar.xlsx"
        csv_expected = make_csv(csv_part, rows=16 + 4 * _vary(period, 3))
        xlsx_expected = make_xlsx(xlsx_part, sheets={"Sudeste": 7, "Sul": 7, "Nordeste": 7})
        make_zip(
            target / name,
            {
                "Carga_Semanal.csv": csv_part.read_bytes(),
                "Carga por Patamar.xlsx": xlsx_part.read_bytes(),
            },
        )
    return name, {"Carga_Semanal.csv": csv_expected, "Carga por Patamar.xlsx": xlsx_expected}


def _technical_notes_folder(target: Path, period: date) -> tuple[str, Any]:
    month = MONTHS_PT[period.month - 1]
    folder = target / "pasta"
    expected = {
        f"Premissas PMO {month} {period.year}.xlsx": make_xlsx(
            folder / f"Premissas PMO {month} {period.year}.xlsx",
            sheets={"Carga": 12 + _vary(period, 3)},
        ),
        f"Anexos/Carga Mensal {period:%m-%Y}.xlsx": make_xlsx(
            folder / "Anexos" / f"Carga Mensal {period:%m-%Y}.xlsx",
            sheets={"SE-CO": 12, "S": 12},
        ),
    }
    return "pasta", expected


# id -> (kind, writer). Writers get a clean directory and the period's reference day and
# return (file name inside the directory, expected tables).
_Writer = Callable[[Path, date], tuple[str, Any]]
_SAMPLES: dict[int, tuple[str, _Writer]] = {
    275: ("csv", _dessem_csv),
    234: ("xlsx", _hydrology_xlsx),
    238: ("zip", _pdp_zip),
    487: ("txt", _psat_txt),
    155: ("pdf", _ipdo_pdf),
    228: ("zip", _weekly_load_zip),
    288: ("folder", _technical_notes_folder),
}
SAMPLE_PRODUCT_IDS: tuple[int, ...] = tuple(_SAMPLES)
"""The catalog ids :func:`sample_products` makes a file for, in the order it returns them."""


def _period_day(product: Product, day: date) -> date:
    """The day whose period a product delivered on ``day`` labels.

    Daily products go back by the catalog's ``day_offset`` (IPDO and the hydrology report
    are sent the day after the day they describe); weekly and monthly products describe the
    operative week or month that contains ``day``.
    """
    if product.granularity == "daily":
        return day - timedelta(days=product.arrival.day_offset)
    return day


def sample_products(
    workdir: Path, day: date, *, product_ids: tuple[int, ...] | None = None
) -> list[Sample]:
    """Write one realistic file per sample product for ``day`` and describe its notification.

    Files go to ``workdir/<yyyy-mm-dd>/<product id>/`` (rewritten from scratch on every call,
    byte for byte the same for the same day). Products:

    - 275 "Arquivos de Previsão de Carga para o DESSEM": ``Blocos_yyyy-mm-dd.csv``, a latin-1
      ``;`` CSV with decimal commas (ONS ships it zipped; here it stands for the CSV kind);
    - 234 "Relatório de Acompanhamento Hidrológico": ``Vazões Observadas - … a ….xlsx``, one
      sheet per station with title rows (labels the day before ``day``);
    - 238 PDP models: ``Modelos_Chuva_Vazao_yyyymmdd.zip`` of ``|`` TXTs in basin folders;
    - 487 "Precipitação por Satélite": ``psat_ddmmyyyy.txt``, headerless, space-aligned;
    - 155 IPDO: ``IPDO-dd-mm-yyyy.pdf`` (labels the day before ``day``);
    - 228 "Carga por patamar - DECOMP" (weekly, the operative week Saturday..Friday holding
      ``day``): ``RVn_PMO_<Mês>_yyyy_carga_semanal.zip`` of a CSV and an XLSX;
    - 288 "Notas Técnicas - Medio Prazo" (monthly, a folder product): a directory of XLSX,
      served as ``<nome>.zip``.

    Args:
        workdir: Where to write.
        day: The delivery day (Brasília).
        product_ids: A subset of :data:`SAMPLE_PRODUCT_IDS`; all of them when ``None``.

    Returns:
        One :class:`Sample` per product, in :data:`SAMPLE_PRODUCT_IDS` order.

    Raises:
        KeyError: A requested id has no sample, or is missing from the catalog.
    """
    wanted = SAMPLE_PRODUCT_IDS if product_ids is None else tuple(product_ids)
    unknown = [product_id for product_id in wanted if product_id not in _SAMPLES]
    if unknown:
        raise KeyError(f"no sample for product(s) {unknown}; samples: {SAMPLE_PRODUCT_IDS}")
    catalog = load_catalog()
    samples = []
    for product_id in SAMPLE_PRODUCT_IDS:
        if product_id not in wanted:
            continue
        product = catalog.by_id(product_id)
        if product is None:
            raise KeyError(f"product {product_id} is not in the catalog")
        kind, writer = _SAMPLES[product_id]
        target = Path(workdir) / day.isoformat() / str(product_id)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        period_day = _period_day(product, day)
        name, expected = writer(target, period_day)
        data_produto, start, end = period_fields(product.granularity, period_day)
        is_file = kind != "folder"
        samples.append(
            Sample(
                path=target / name,
                file_name=name if is_file else f"{product.name}.zip",
                product_id=product_id,
                nome=product.name,
                processo=product.processo,
                macro_processo=product.macro_processo,
                data_produto=data_produto,
                periodicidade=start,
                periodicidade_final=end,
                is_file=is_file,
                granularity=product.granularity,
                kind=kind,
                day=day,
                expected=expected,
            )
        )
    return samples
