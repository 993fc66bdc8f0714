"""The simulator's sample products parse with their catalog specs, without schema drift.

``make demo`` and the e2e tests publish :func:`sintegre.simulator.samples.sample_products`;
each lands in its own product DAG, which reads it with the product's ``tables:`` from
``products.yaml``. Here every sample file (the folder product zipped as the simulator serves
it) is read with those specs, as the DAG does: each catalogued table comes out, with the
catalog's columns in order and no drift. Row counts are written by hand from the layouts
in :mod:`sintegre.ons_files`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sintegre.products import load_catalog
from sintegre.readers import read_product_file
from sintegre.simulator.samples import SAMPLE_PRODUCT_IDS, Sample, sample_products
from sintegre.simulator.server import _zip_directory

DAY = date(2025, 3, 5)  # a Wednesday

#: product id -> {table name: rows}, from the layouts:
EXPECTED_TABLES = {
    # 4 subsystem CSVs x 48 half hours
    275: {"carga": 4 * 48},
    # 3 station sheets x 7 days
    234: {"vazoes_observadas": 3 * 7},
    # gauges GRANDE 1, 6; PARANAIBA 24, 156; IGUACU 74; URUGUAI 215, 217 = 7, x 7 days
    238: {"vazoes": 7 * 7},
    # one line per basin, 7 basins (the spec's table has no name)
    487: {"": 7},
    # a PDF of text, kept raw: no table
    155: {},
    # 5 weeks x 4 subsystems x 3 patamares; Leia-me.pdf kept raw
    228: {"carga": 5 * 4 * 3},
    # 4 subsystem workbooks x 12 months; the note's PDF kept raw
    288: {"carga_mensal": 4 * 12},
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    return sample_products(tmp_path_factory.mktemp("samples"), DAY)


def test_every_sample_has_expectations() -> None:
    assert set(EXPECTED_TABLES) == set(SAMPLE_PRODUCT_IDS)


@pytest.mark.parametrize("product_id", SAMPLE_PRODUCT_IDS)
def test_sample_reads_with_its_specs_without_drift(
    samples: list[Sample], product_id: int, tmp_path: Path
) -> None:
    sample = next(s for s in samples if s.product_id == product_id)
    product = load_catalog().by_id(product_id)
    assert product is not None and product.tables
    path = sample.path
    if not sample.is_file:  # a folder product: read the ZIP the simulator serves
        path = tmp_path / sample.file_name
        path.write_bytes(_zip_directory(sample.path))

    tables = read_product_file(path, sample.file_name, tables=product.tables)

    assert [t.drift for t in tables] == [None] * len(tables), sample.file_name
    assert {t.name: t.table.num_rows for t in tables} == EXPECTED_TABLES[product_id]
    specs = {spec.name: spec for spec in product.tables}
    for table in tables:
        columns = [column.name for column in specs[table.name].columns]
        assert table.table.column_names[: len(columns)] == columns, table.name
