"""The lake's Airflow Assets: one per dataset, ``sintegre-lake://curated/<dataset>``."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

#: Tables are only known once a file is parsed: the land task emits their events through this.
LANDINGS = AssetAlias("sintegre-lake-landings")


def dataset_asset(dataset: str) -> Asset:
    """The Asset of one lake dataset."""
    return Asset(name=f"sintegre.{dataset}", uri=f"sintegre-lake://curated/{dataset}")


def catalog_assets() -> list[Asset]:
    """One Asset per catalogued table (reads the catalog shipped with the package)."""
    from sintegre.catalog.products import load_catalog

    assets = []
    for product in load_catalog().products:
        if not product.tables:  # no tables catalogued: the product's own dataset
            assets.append(dataset_asset(product.dataset))
        for table in product.tables:
            if not table.raw:
                name = product.dataset_of(table)
                assets.append(dataset_asset(name))
    return assets
