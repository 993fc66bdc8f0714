"""Operators' pages (HTTP Basic): the status page with its arrival calendar, the lake explorer,
a dataset's page and a run's timeline; ``/api/arrivals`` answers the calendar as JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, jsonify, render_template, request

from sintegre.core import cooperative
from sintegre.intake.inbox import public_view
from sintegre.intake.notification import BRASILIA
from sintegre.intake.receiver import charts, views_data
from sintegre.intake.receiver.auth import admin_required
from sintegre.intake.receiver.state import airflow_reachable, state

__all__ = ["blueprint", "local_time"]

blueprint = Blueprint("pages", __name__)
T = TypeVar("T")

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
    from sintegre.catalog.freshness import check_inbox
    from sintegre.catalog.products import load_catalog

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
    calendar = views_data.arrivals(inbox.engine, catalog, airflow_url=settings.airflow_url)
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
        calendar=calendar,
        colours=charts.STATE_COLOURS,
    )


@blueprint.get("/api/arrivals")
@admin_required
def arrivals_api() -> Response:
    """The arrival calendar as JSON: products × the last ``days`` (default 30) Brasília dates."""
    from sintegre.catalog.products import load_catalog

    shared = state()
    days = min(max(request.args.get("days", 30, type=int), 1), 366)
    data = views_data.arrivals(
        shared.inbox.engine, load_catalog(), days=days, airflow_url=shared.settings.airflow_url
    )
    return jsonify(data)


def _read_lake(read: Callable[[Any, Any], T], *datasets: str) -> T:
    """``read(con, store)`` over DuckDB on the lake (``catalog``, ``datasets`` and the named
    datasets' views), off gevent's loop: a query over a large lake must not hold up the
    webhooks this process serves meanwhile (see :mod:`sintegre.core.cooperative`)."""
    settings = state().settings  # the app's state is read here, in the request's context

    def run() -> T:
        from sintegre.lake.storage import open_store

        store = open_store(settings.lake_uri, settings)
        con = views_data.lake_connect(store, only=datasets)
        try:
            return read(con, store)
        finally:
            con.close()

    return cooperative.off_loop(run)


@blueprint.get("/lake")
@admin_required
def lake_page() -> str:
    """Every dataset: partitions, rows, last delivery, current version, number of versions."""
    datasets = _read_lake(lambda con, _store: views_data.lake_summary(con))
    return render_template(
        "lake.html", datasets=datasets, now=local_time(time.time()), lake=state().settings.lake_uri
    )


@blueprint.get("/lake/<dataset>")
@admin_required
def dataset_page(dataset: str) -> Any:
    """A dataset's page (schema, evidence, latest rows, a chart); JSON when the client asks:
    its current files and the DuckDB query that reads exactly them."""
    if _wants_json():
        return _dataset_json(dataset)
    from sintegre.catalog.products import load_catalog

    catalog = load_catalog()
    column = request.args.get("column") or None
    where = request.args.get("where") or None
    detail = _read_lake(
        lambda con, store: views_data.dataset_detail(
            con, store, dataset, catalog=catalog, column=column, where=where
        ),
        dataset,
    )
    if detail is None:
        abort(404, f"no dataset {dataset!r} in the lake")
    chart = detail["chart"]
    label = chart["column"] or ""
    if chart["column"]:
        label = f"avg({chart['column']}) per {chart['time_column']}"
        if chart["filter"]:
            label += f" where {chart['filter']}"
    svg = charts.line_chart(chart["points"], label=label, unit=chart["unit"])
    return render_template(
        "dataset.html",
        d=detail,
        svg=svg,
        where=request.args.get("where") or "",
        now=local_time(time.time()),
    )


def _wants_json() -> bool:
    """``?format=json``, or an ``Accept`` that prefers JSON to HTML (curl's ``*/*``: HTML)."""
    if request.args.get("format") in ("json", "html"):
        return request.args["format"] == "json"
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")


def _dataset_json(dataset: str) -> tuple[Response, int]:
    from sintegre.lake.storage import open_store  # pyarrow: only when the page is asked for

    settings = state().settings
    # The lake may be local or on S3: list through the store, name files by their key.
    store = open_store(settings.lake_uri, settings)
    listed = cooperative.off_loop(store.list, "curated", ".parquet")
    files = [key for key in listed if key.split("/")[1] == dataset]
    root = store.uri_for("curated")
    query = f"SELECT * FROM read_parquet('{root}/{dataset}/**/*.parquet', hive_partitioning=true)"
    return jsonify({"dataset": dataset, "files": files, "duckdb": query}), 200


@blueprint.get("/notifications/<notification_id>")
@admin_required
def run_timeline_page(notification_id: str) -> str:
    """One notification's run: received → triggered → each Airflow task → landed / failed."""
    shared = state()
    row = shared.inbox.get(notification_id)
    if row is None:
        abort(404, f"no notification {notification_id!r}")
    timeline = views_data.run_timeline(row, shared.settings)
    return render_template(
        "timeline.html",
        t=timeline,
        svg=charts.timeline_chart(timeline["steps"]),
        received=local_time(row["received_at"]),
        now=local_time(time.time()),
    )
