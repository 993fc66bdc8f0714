"""Generic ingestion for products the catalog does not know: download → parse → land.

Catalogued products have a DAG each (``sintegre__<slug>``, from ``dags/sintegre_products.py``).
This one takes everything else, so a product ONS starts publishing tomorrow still lands: the
generic readers decide the tables, and the dataset is ``produto_<id>`` (the token's product id)
or the name's slug. Triggered by the receiver's forwarder with the notification as ``conf``.
"""

from __future__ import annotations

# Airflow parses a file only if it mentions both "airflow" and "dag" (DAG discovery safe mode).
from sintegre_airflow.dag_factory import build_ingest_dag  # the shared DAG shape

build_ingest_dag("sintegre_generic", catalog_product_id=None, doc_md=__doc__, tags=["generic"])
