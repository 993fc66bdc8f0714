"""A sample catalog: one realistic file per kind of product, with its notification fields.

:func:`sample_products` writes, for a given day, one file for each of a handful of catalogued
products, in the real ONS layout and file name its catalog parse spec (``products.yaml``
``tables:``) expects, made by :mod:`sintegre_dev.ons_files` (a ZIP of cp1252 ``;`` CSVs,
a workbook with title rows and a two-row header, ZIPs of ``|`` TXTs and of an XLSX, a
headerless TXT, a PDF, a folder product) and returns what SINtegre would notify for each:
``nome`` exactly as the catalog spells it, ``processo``, ``macroProcesso``, a ``dataProduto``
in the shape of the product's granularity and the period as naive Brasília wall-clock
times. The files are deterministic for a day (same bytes, same sha256) and differ
from one day to the next, as ONS's do.
"""

from __future__ import annotations

import calendar
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sintegre.catalog.products import Product, load_catalog
from sintegre_dev.ons_files.dessem import make_blocos
from sintegre_dev.ons_files.hydro import make_acomp_hidrologico
from sintegre_dev.ons_files.pmo_load import (
    make_decomp_carga_patamar,
    make_notas_tecnicas_medio_prazo,
)
from sintegre_dev.ons_files.precipitation import make_pdp_models, make_psat
from sintegre_dev.ons_files.reports import make_ipdo_pdf
from sintegre_dev.ons_files.text_products import ons_file_name
from sintegre_dev.ons_files.workbooks import MONTHS_PT, decomp_revision

__all__ = [
    "MONTHS_PT",
    "SAMPLE_PRODUCT_IDS",
    "Sample",
    "operative_week",
    "period_fields",
    "sample_products",
]


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
        kind: What the file is: ``xlsx``, ``zip``, ``txt``, ``pdf`` or ``folder``.
        day: The day the samples were made for (the delivery day).
        expected: Always ``None`` for the samples :func:`sample_products` makes (their
            layouts are written out in the :mod:`sintegre_dev.ons_files` docstrings); kept for
            callers that build a :class:`Sample` with their own expectations.
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


def _dessem_blocos(target: Path, period: date) -> str:
    name = ons_file_name(275, period)  # Blocos_yyyy-mm-dd.zip
    make_blocos(target / name, period)
    return name


def _hydrology_xlsx(target: Path, period: date) -> str:
    # The workbook holds the 90 days up to ``period``; the name spans the same days.
    start = period - timedelta(days=89)
    name = f"Vazões Observadas - {start:%d-%m-%Y} a {period:%d-%m-%Y}.xlsx"
    make_acomp_hidrologico(target / name, period)
    return name


def _pdp_models(target: Path, period: date) -> str:
    name = ons_file_name(238, period)  # Modelos_Chuva_Vazao_yyyymmdd.zip
    make_pdp_models(target / name, period)
    return name


def _psat_txt(target: Path, period: date) -> str:
    name = ons_file_name(487, period)  # psat_ddmmyyyy.txt
    make_psat(target / name, period)
    return name


def _ipdo_pdf(target: Path, period: date) -> str:
    name = f"IPDO-{period:%d-%m-%Y}.pdf"
    make_ipdo_pdf(target / name, period)
    return name


def _decomp_carga(target: Path, period: date) -> str:
    # The PMO week starts on a Saturday; its revision and month name the ZIP.
    saturday, _ = operative_week(period)
    friday = saturday + timedelta(days=6)
    month = friday.replace(day=1)  # the PMO month is the month of the week's Friday
    revision = decomp_revision(saturday)
    name = f"RV{revision}_PMO_{MONTHS_PT[month.month - 1]}_{month.year}_carga_semanal.zip"
    make_decomp_carga_patamar(target / name, saturday, month, revision)
    return name


def _technical_notes_folder(target: Path, period: date) -> str:
    # A folder product: SINtegre zips the folder on download, so the sample is the folder
    # holding what make_notas_tecnicas_medio_prazo puts in its ZIP, unpacked.
    folder = target / "pasta"
    with tempfile.TemporaryDirectory(prefix="sintegre-sample-") as scratch:
        archive = make_notas_tecnicas_medio_prazo(Path(scratch) / "notas.zip", period)
        with zipfile.ZipFile(archive) as opened:
            for member in opened.namelist():
                destination = folder / member
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(opened.read(member))
    return "pasta"


# id -> (kind, writer). Writers get a clean directory and the period's reference day and
# return the file name inside the directory.
_Writer = Callable[[Path, date], str]
_SAMPLES: dict[int, tuple[str, _Writer]] = {
    275: ("zip", _dessem_blocos),
    234: ("xlsx", _hydrology_xlsx),
    238: ("zip", _pdp_models),
    487: ("txt", _psat_txt),
    155: ("pdf", _ipdo_pdf),
    228: ("zip", _decomp_carga),
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

    - 275 "Arquivos de Previsão de Carga para o DESSEM": ``Blocos_yyyy-mm-dd.zip`` of the
      DESSEM ``DP``/``DE``/``TM`` records (:func:`~sintegre_dev.ons_files.dessem.make_blocos`);
    - 234 "Relatório de Acompanhamento Hidrológico": ``Vazões Observadas - dd-mm-yyyy a
      dd-mm-yyyy.xlsx`` (the 90 days up to the labelled one), one sheet per basin with title
      rows and station headers
      (:func:`~sintegre_dev.ons_files.hydro.make_acomp_hidrologico`; labels the day before
      ``day``);
    - 238 PDP models: ``Modelos_Chuva_Vazao_yyyymmdd.zip`` of the SMAP ``ARQ_ENTRADA``
      folders (:func:`~sintegre_dev.ons_files.precipitation.make_pdp_models`; labels the day
      before ``day``);
    - 487 "Precipitação por Satélite": ``psat_ddmmyyyy.txt``, headerless, space-aligned
      (:func:`~sintegre_dev.ons_files.precipitation.make_psat`);
    - 155 IPDO: ``IPDO-dd-mm-yyyy.pdf``, text only (labels the day before ``day``);
    - 228 "Carga por patamar - DECOMP" (weekly, the operative week Saturday..Friday holding
      ``day``): ``RVn_PMO_<Mês>_yyyy_carga_semanal.zip``
      (:func:`~sintegre_dev.ons_files.pmo_load.make_decomp_carga_patamar`), ``n`` and the month
      taken from the week's Saturday;
    - 288 "Notas Técnicas - Medio Prazo" (monthly, a folder product): a directory holding
      what :func:`~sintegre_dev.ons_files.pmo_load.make_notas_tecnicas_medio_prazo` puts in its
      ZIP (workbooks and the note's PDF), served as ``<nome>.zip``.

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
        name = writer(target, period_day)
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
            )
        )
    return samples
