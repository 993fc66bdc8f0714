"""The lake's Airflow Assets: one per dataset, ``sintegre-lake://curated/<dataset>``."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

#: Tables are only known once a file is parsed: the land task emits their events through this.
LANDINGS = AssetAlias("sintegre-lake-landings")


def dataset_asset(dataset: str) -> Asset:
    """The Asset of one lake dataset."""
    return Asset(name=f"sintegre.{dataset}", uri=f"sintegre-lake://curated/{dataset}")


def catalog_assets() -> list[Asset]:
    """One Asset per catalogued table, in catalog order.

    Called at DAG parse time: the dataset names come from the catalog's index (a small JSON
    file), not from reading and validating the catalog itself.
    """
    from sintegre.catalog.index import catalogued_datasets

    return [dataset_asset(name) for name in catalogued_datasets()]
