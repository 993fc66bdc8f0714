"""One ingestion DAG per catalogued product, generated from ``products.yaml``.

Each DAG is ``sintegre__<slug>`` (stored in the catalog, so a product rename does not move its
history), documented from its catalog entry and tagged with its macroprocesso and granularity.
The receiver routes with the same catalog, so a notification always finds its DAG.
"""

from __future__ import annotations

from sintegre.catalog.products import load_catalog

# Airflow parses a file only if it mentions both "airflow" and "dag" (DAG discovery safe mode).
from sintegre_airflow.dag_factory import build_ingest_dag  # the shared DAG shape

for _product in load_catalog().products:
    build_ingest_dag(
        _product.dag_id,
        catalog_product_id=_product.id,
        doc_md=_product.doc_md(),
        tags=_product.tags,
    )
