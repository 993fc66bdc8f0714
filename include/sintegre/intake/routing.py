"""Which DAG handles a notification, and under which lake dataset it lands.

The receiver and the generated DAGs read the same catalog (``products.yaml``): a catalogued
product goes to its own DAG (``sintegre__<slug>``) and dataset, so each product's history is
on its own in the Airflow UI; anything else still lands, through the generic DAG.
"""

from __future__ import annotations

import dataclasses

from sintegre.catalog.products import UNCATALOGUED_PREFIX, Catalog, Product, load_catalog
from sintegre.core.slugs import slugify
from sintegre.intake.notification import Notification

__all__ = ["Route", "route", "uncatalogued_dataset"]


@dataclasses.dataclass(frozen=True)
class Route:
    """Where a notification goes.

    Attributes:
        dag_id: The DAG to trigger.
        notification: The notification with its lake ``dataset`` set.
        product: The catalog entry, ``None`` for an uncatalogued product.
    """

    dag_id: str
    notification: Notification
    product: Product | None


def uncatalogued_dataset(product_id: int | None, nome: str, catalog: Catalog | None = None) -> str:
    """Dataset of a product the catalog does not know.

    The token's product id is stable while display names change, so it names the dataset when
    there is one (``produto_812``); otherwise the name's slug, prefixed ``produto_`` when the
    slug is (or extends) a catalogued dataset: a generic table never lands inside a
    catalogued one (``"Acomph\u200b"`` with no id would otherwise slugify to ``acomph``).
    """
    if product_id is not None:
        return f"{UNCATALOGUED_PREFIX}{product_id}"
    slug = slugify(nome, fallback="produto")
    owned = (catalog or load_catalog()).datasets
    if slug in owned or any(slug.startswith(f"{name}__") for name in owned):
        return f"{UNCATALOGUED_PREFIX}{slug}"
    return slug


def route(notification: Notification, generic_dag_id: str, catalog: Catalog | None = None) -> Route:
    """Route a notification by the catalog: product id first, then normalised name.

    Args:
        notification: The validated notification.
        generic_dag_id: The DAG for uncatalogued products (``SINTEGRE_DAG_ID``).
        catalog: The catalog; the packaged one when omitted.

    Returns:
        The route.
    """
    catalog = catalog or load_catalog()
    product = catalog.lookup(notification.product_id, notification.nome)
    if product is None:
        dataset = uncatalogued_dataset(notification.product_id, notification.nome, catalog)
        return Route(generic_dag_id, notification.with_changes(dataset=dataset), None)
    routed = notification.with_changes(
        dataset=product.dataset,
        # The token may lack a product claim while the name matched: keep the catalog's id.
        product_id=notification.product_id or product.id,
    )
    return Route(product.dag_id, routed, product)
