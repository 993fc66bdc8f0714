"""The catalog's index (what a DAG file's parse reads instead of the catalog) is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sintegre.catalog import index
from sintegre.catalog.products import load_catalog


def test_the_packaged_index_is_current() -> None:
    """Fails after a catalog edit until ``make catalog-doc`` rebuilds the index."""
    assert json.loads(index.INDEX_PATH.read_text(encoding="utf-8")) == index.build_index()


def test_the_datasets_are_the_catalogs_in_catalog_order() -> None:
    catalog = load_catalog()
    datasets = index.catalogued_datasets()
    assert datasets == index.datasets_of(catalog)
    assert set(datasets) <= catalog.datasets
    assert "acomph" in datasets


@pytest.mark.parametrize("content", ['{"fingerprint": "stale", "datasets": ["old"]}', "{", ""])
def test_a_stale_or_broken_index_falls_back_to_the_catalog(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "products.index.json"
    stale.write_text(content, encoding="utf-8")
    monkeypatch.setattr(index, "INDEX_PATH", stale)
    assert index.catalogued_datasets() == index.datasets_of(load_catalog())


def test_the_index_covers_every_catalog_file() -> None:
    assert index.catalog_files()[0] == index.DEFAULT_PATH
    assert {p.name for p in index.catalog_files()[1:]} == {
        p.name for p in index.ENTRIES_DIR.glob("*.yaml")
    }
