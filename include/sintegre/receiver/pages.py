"""Operators' pages: the status page and a dataset's pointer (HTTP Basic)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from sintegre.inbox import public_view
from sintegre.notification import BRASILIA
from sintegre.receiver.auth import admin_required
from sintegre.receiver.state import airflow_reachable, state

__all__ = ["blueprint", "local_time"]

blueprint = Blueprint("pages", __name__)

#: Statuses that put a product's row in red on the status page.
ALERTING = {"failed", "layout_mismatch", "expired"}


def local_time(epoch: float | None) -> str:
    """An instant as Brasília wall-clock time, for people."""
    if not epoch:
        return "—"
    return datetime.fromtimestamp(epoch, tz=BRASILIA).strftime("%Y-%m-%d %H:%M:%S")


@blueprint.get("/")
@admin_required
def status_page() -> str:
    """Per integration, each product's newest notification; late products; refusals."""
    from sintegre.freshness import check_inbox
    from sintegre.products import load_catalog

    shared = state()
    inbox, settings = shared.inbox, shared.settings
    expected_ids = {i for c in shared.integrations.values() for i in c.expected_product_ids}
    late = check_inbox(inbox, expected_ids=expected_ids)
    late_ids = {item.product_id for item in late}
    catalog = load_catalog()
    products: dict[str, list[dict[str, Any]]] = {}
    for row in inbox.latest_per_product():
        view = public_view(row, airflow_url=settings.airflow_url)
        product = catalog.lookup(row["product_id"], row["product"])
        view["late"] = product is not None and product.id in late_ids
        view["arrived"] = local_time(row["received_at"])
        view["alert"] = (
            view["status"] in ALERTING
            or view["late"]
            or not view["expected"]
            or bool(view["schema_drift"])
            or bool(view["implausible"])
        )
        products.setdefault(row["integration"], []).append(view)
    shared.refusals.flush()
    refusals = [{**r, "when": local_time(r["received_at"])} for r in inbox.recent_refusals(50)]
    oldest = inbox.oldest_pending_received_at()
    return render_template(
        "status.html",
        counts=inbox.status_counts(),
        backlog=inbox.count("received"),
        oldest_pending=f"{time.time() - oldest:.0f} s" if oldest else "none",
        airflow="reachable" if airflow_reachable(settings) else "unreachable",
        now=local_time(time.time()),
        late=late,
        products=products,
        refusals=refusals,
    )


@blueprint.get("/lake/<dataset>")
@admin_required
def dataset_page(dataset: str) -> tuple[Response, int]:
    """A dataset's current files and the DuckDB query that reads exactly them."""
    from sintegre.storage import open_store  # pyarrow: only when the page is asked for

    settings = state().settings
    # The lake may be local or on S3: list through the store, name files by their key.
    store = open_store(settings.lake_uri, settings)
    files = [key for key in store.list("curated", ".parquet") if key.split("/")[1] == dataset]
    root = store.uri_for("curated")
    query = f"SELECT * FROM read_parquet('{root}/{dataset}/**/*.parquet', hive_partitioning=true)"
    return jsonify({"dataset": dataset, "files": files, "duckdb": query}), 200
