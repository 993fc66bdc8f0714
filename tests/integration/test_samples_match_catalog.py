"""The simulator's sample products parse with their catalog specs, without schema drift.

``make demo`` and the e2e tests publish :func:`sintegre_dev.simulator.samples.sample_products`;
each lands in its own product DAG, which reads it with the product's ``tables:`` from
``products.yaml``. Here every sample file (the folder product zipped as the simulator serves
it) is read with those specs, as the DAG does: each catalogued table comes out, with the
catalog's columns in order and no drift. Row counts are written by hand from the layouts
in :mod:`sintegre_dev.ons_files`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sintegre.catalog.products import load_catalog
from sintegre.readers import read_product_file
from sintegre_dev.simulator.samples import SAMPLE_PRODUCT_IDS, Sample, sample_products
from sintegre_dev.simulator.server import _zip_directory

DAY = date(2025, 3, 5)  # a Wednesday

#: product id -> {table name: rows}, from the layouts (the generators' docstrings):
EXPECTED_TABLES = {
    # DP: 4 subsystems x (48 half hours + 4 extra records) + the FC node; DE 8; TM 52 lines
    275: {"dp": 4 * (48 + 4) + 1, "de": 8, "tm": 52},
    # (3 + 2) basin series x 90 days, one "ND" left out; 2 stations x 90 days
    234: {"vazoes_observadas": 5 * 90 - 1, "vazoes_fluviometricas": 2 * 90},
    # 3 plants x 5 days of observed flow; 3 rain codes x 5 days
    238: {"vazoes_observadas": 3 * 5, "chuva_observada": 3 * 5},
    # one line per PSAT code, 6 codes
    487: {"psat": 6},
    # a PDF of text, kept raw: no table
    155: {},
    # DP: 6 stages x 5 subsystems x 3 patamares; weekly 5 weeks x 4 x 3; monthly 4 x 3;
    # summary 5 rows x (5 weeks + the month)
    228: {"dp": 6 * 5 * 3, "semanal": 5 * 4 * 3, "mensal": 4 * 3, "resumo": 30},
    # structure unconfirmed: every member kept raw
    288: {},
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
        assert table.catalogued, table.name
        columns = [c.name for c in specs[table.name].columns if c.required]
        present = [c for c in table.table.column_names if c in columns]
        assert present == columns, table.name
