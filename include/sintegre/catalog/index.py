"""The catalog's lake datasets, cheap enough for a DAG file's parse: a checked, generated index.

``dags/sintegre_freshness.py`` lists every catalogued table as an Airflow Asset, and Airflow
parses that one-task file over and over. Reading the catalog for it (YAML of every
``products.d`` file, then pydantic validating each product and table) took ~100-130 ms of a
~50 ms budget; ``products.index.json`` beside this module holds the list instead, with a
fingerprint of the catalog files it was built from. :func:`catalogued_datasets` reads it when
the fingerprint matches the files on disk (a few small reads and a sha256), and reads the
catalog itself when it does not (an edited entry whose index was not rebuilt: right, only
slower). Rebuild it with ``python -m sintegre.catalog.index`` (``make catalog-doc``); a test
fails while it is out of date.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the catalog's model is what this module avoids importing at run time
    from sintegre.catalog.products import Catalog

__all__ = [
    "DEFAULT_PATH",
    "ENTRIES_DIR",
    "INDEX_PATH",
    "build_index",
    "catalog_files",
    "catalogued_datasets",
    "datasets_of",
    "write_index",
]

#: The packaged catalog: ``products.yaml``, then one file per product in ``products.d/``.
DEFAULT_PATH = Path(__file__).with_name("products.yaml")
ENTRIES_DIR = DEFAULT_PATH.with_name("products.d")
INDEX_PATH = DEFAULT_PATH.with_name("products.index.json")


def catalog_files() -> list[Path]:
    """The packaged catalog's files, in the order ``load_catalog()`` reads them."""
    return [DEFAULT_PATH, *sorted(ENTRIES_DIR.glob("*.yaml"))]


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def datasets_of(catalog: Catalog) -> list[str]:
    """Every lake dataset the catalog's tables land in, in catalog order.

    A product with no tables catalogued lands in its own dataset; raw-only tables land in none.
    """
    datasets = []
    for product in catalog.products:
        if not product.tables:
            datasets.append(product.dataset)
        datasets += [product.dataset_of(table) for table in product.tables if not table.raw]
    return datasets


def build_index() -> dict[str, object]:
    """The index of the packaged catalog as it is on disk now (reads and validates it)."""
    from sintegre.catalog.products import load_catalog

    files = catalog_files()
    return {"fingerprint": _fingerprint(files), "datasets": datasets_of(load_catalog())}


def catalogued_datasets() -> list[str]:
    """:func:`datasets_of` the packaged catalog: from the index when it is current."""
    try:
        index = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    datasets = index.get("datasets") if isinstance(index, dict) else None
    if isinstance(datasets, list) and index.get("fingerprint") == _fingerprint(catalog_files()):
        return [str(name) for name in datasets]
    from sintegre.catalog.products import load_catalog

    return datasets_of(load_catalog())


def write_index(path: Path = INDEX_PATH) -> None:
    """Rebuild the index file from the catalog."""
    path.write_text(json.dumps(build_index(), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_index()
    print(f"wrote {INDEX_PATH}")
