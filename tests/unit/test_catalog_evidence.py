"""The packaged catalog itself (``products.yaml`` + ``products.d/``), read by its loader.

Every product says what its layout was checked against; every table lands in a short dataset
name chosen in the catalog; every dedicated layout it names exists; the README's product table
is generated from it and current.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sintegre.catalog.products import load_catalog
from sintegre.readers.layouts import layout_names
from sintegre_dev.catalog_doc import END, START, product_table

CATALOG = load_catalog()
README = Path(__file__).resolve().parents[2] / "README.md"
PRODUCTS = sorted(CATALOG.products, key=lambda p: p.id)


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: str(p.id))
def test_every_product_names_its_evidence(product) -> None:
    assert len(product.evidence) >= 40, f"{product.id}: evidence is missing or too short"


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: str(p.id))
def test_every_table_lands_in_a_short_dataset_chosen_in_the_catalog(product) -> None:
    for table in product.tables:
        if table.raw:
            continue
        assert table.dataset, f"{product.id} table {table.name!r} has no dataset"
        assert len(table.dataset) <= 32, table.dataset
        assert "__" not in table.dataset


def test_every_layout_the_catalog_names_is_registered() -> None:
    registered = layout_names()
    named = {
        (product.id, table.parse.layout)
        for product in CATALOG.products
        for table in product.tables
        if table.parse.layout
    }
    assert named, "no product uses a dedicated layout"
    unknown = sorted((pid, name) for pid, name in named if name not in registered)
    assert unknown == []


def test_numeric_columns_with_physical_bounds_carry_ranges() -> None:
    ranged = [
        column
        for product in CATALOG.products
        for table in product.tables
        for column in table.columns
        if column.range is not None
    ]
    assert len(ranged) >= 10


def test_the_readme_product_table_is_generated_and_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "README lacks the catalog markers"
    current = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert current == product_table(CATALOG), "run `make catalog-doc` and commit README.md"
