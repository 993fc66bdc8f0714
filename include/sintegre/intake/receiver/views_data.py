"""The queries behind the operators' pages: arrivals, the lake explorer and a run's timeline.

Everything here is plain data (dicts and lists), so the JSON API and the HTML pages share it and
the unit tests can check it without a browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sintegre.catalog.products import Catalog, Product, expected_by
from sintegre.intake.airflow_api import AirflowClient, AirflowRejected, AirflowUnavailable
from sintegre.intake.inbox.schema import notifications
from sintegre.intake.notification import BRASILIA

__all__ = [
    "ARRIVAL_STATES",
    "arrivals",
    "dataset_detail",
    "lake_connect",
    "lake_summary",
    "run_timeline",
]

#: Every state a calendar cell can take, in the legend's order.
ARRIVAL_STATES = (
    "on_time",
    "late",
    "landed",  # landed, but no catalog deadline to judge it by (uncatalogued product)
    "failed",
    "layout_mismatch",
    "missing",
    "pending",  # received or triggered, not landed yet
    "not_due",
)
LANDED = ("succeeded", "unchanged")
FAILED = ("failed", "expired")
GRAINS = ("daily", "weekly", "monthly")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _local(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=BRASILIA) if epoch else None


def _period_starts(granularity: str, first: date, last: date) -> list[date]:
    """The period starts whose periods overlap ``first..last`` at a product's grain."""
    if granularity == "weekly":
        # ONS operative weeks run Saturday to Friday.
        start = first - timedelta(days=(first.weekday() - 5) % 7)
        return [start + timedelta(weeks=k) for k in range((last - start).days // 7 + 1)]
    if granularity == "monthly":
        starts, month = [], first.replace(day=1)
        while month <= last:
            starts.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return starts
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _period_end(granularity: str, start: date) -> date:
    if granularity == "weekly":
        return start + timedelta(days=6)
    if granularity == "monthly":
        return (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start


def _window_rows(engine: sa.Engine, first: date, last: date) -> list[dict[str, Any]]:
    """The inbox rows whose period can fall in the window (one indexed, bounded query)."""
    earliest = first.replace(day=1) - timedelta(days=7)  # the month / operative week around it
    columns = [
        notifications.c[name]
        for name in (
            "id",
            "integration",
            "status",
            "product",
            "product_id",
            "dataset",
            "dag_id",
            "dag_run_id",
            "periodicidade",
            "granularity",
            "received_at",
            "finished_at",
        )
    ]
    # Periods are labelled at most a few days ahead of delivery, and the receiver refuses the
    # far future: a delivery for the window arrives within ~2 months of its start.
    received_from = datetime.combine(earliest - timedelta(days=31), datetime.min.time(), UTC)
    query = (
        sa.select(*columns)
        .where(notifications.c.received_at >= received_from.timestamp())
        .where(notifications.c.periodicidade >= earliest.isoformat())
        .where(notifications.c.periodicidade <= (last + timedelta(days=10)).isoformat())
        .order_by(notifications.c.received_at)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _classify(
    rows: list[dict[str, Any]], deadline: datetime | None, now: datetime
) -> tuple[str, dict[str, Any] | None]:
    """A cell's state and the notification that decided it (rows oldest first)."""
    landed = [r for r in rows if r["status"] in LANDED]
    if landed:
        row = landed[0]  # the first landing decides punctuality
        if deadline is None:
            return "landed", row
        return ("on_time" if row["received_at"] <= deadline.timestamp() else "late"), row
    if rows:
        row = rows[-1]
        if row["status"] == "layout_mismatch":
            return "layout_mismatch", row
        if row["status"] in FAILED:
            return "failed", row
        return "pending", row
    if deadline is not None and deadline <= now:
        return "missing", None
    return "not_due", None


def arrivals(
    engine: sa.Engine,
    catalog: Catalog,
    *,
    now: datetime | None = None,
    days: int = 30,
    airflow_url: str | None = None,
) -> dict[str, Any]:
    """Catalogued products (and any product seen) × the last ``days`` Brasília dates.

    Returns:
        ``{"from", "to", "now", "states", "rows": [{"product", "product_id", "dataset",
        "granularity", "catalogued", "cells": [{"period", "period_end", "state",
        "expected_by", "received_at", "notification_id", "status", "dag_run_url"}]}]}``;
        rows ordered daily, weekly, monthly, then by product name.
    """
    current = (now or datetime.now(tz=BRASILIA)).astimezone(BRASILIA)
    last = current.date()
    first = last - timedelta(days=days - 1)
    by_key: dict[tuple[Any, ...], dict[tuple[str, date], list[dict[str, Any]]]] = {}
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    products: dict[tuple[Any, ...], Product | None] = {
        ("catalog", p.id): p for p in catalog.products
    }
    for row in _window_rows(engine, first, last):
        product = catalog.lookup(row["product_id"], row["product"])
        key = ("catalog", product.id) if product else ("seen", row["product_id"], row["product"])
        if product is None and key not in products:
            products[key] = None
            seen[key] = row
        period = date.fromisoformat(row["periodicidade"][:10])
        grain = product.granularity if product else row["granularity"]
        if grain == "monthly":
            period = period.replace(day=1)
        by_key.setdefault(key, {}).setdefault((grain, period), []).append(row)
    result_rows: list[dict[str, Any]] = []
    for key, product in products.items():
        if product is not None:
            grain, name, pid, dataset = (
                product.granularity,
                product.name,
                product.id,
                product.dataset,
            )
        else:
            sample = seen[key]
            grain = sample["granularity"] if sample["granularity"] in GRAINS else "daily"
            name, pid, dataset = sample["product"], sample["product_id"], sample["dataset"]
        cells = []
        for start in _period_starts(grain, first, last):
            deadline = expected_by(product, start) if product is not None else None
            found = by_key.get(key, {}).get((grain, start), [])
            state, decided = _classify(found, deadline, current)
            end = _period_end(grain, start)
            cell: dict[str, Any] = {
                "period": start.isoformat(),
                "period_end": end.isoformat(),
                # Days of the window the period covers: the calendar's column span.
                "span": (min(end, last) - max(start, first)).days + 1,
                "state": state,
                "expected_by": _iso(deadline),
                "received_at": _iso(_local(decided["received_at"])) if decided else None,
                "notification_id": decided["id"] if decided else None,
                "status": decided["status"] if decided else None,
            }
            if decided and airflow_url:
                run = f"{decided['dag_id']}/runs/{decided['dag_run_id']}"
                cell["dag_run_url"] = f"{airflow_url}/dags/{run}"
            cells.append(cell)
        result_rows.append(
            {
                "product": name,
                "product_id": pid,
                "dataset": dataset,
                "granularity": grain,
                "catalogued": product is not None,
                "cells": cells,
            }
        )
    result_rows.sort(key=lambda r: (GRAINS.index(r["granularity"]), r["product"].lower()))
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "now": _iso(current),
        "days": [(first + timedelta(days=k)).isoformat() for k in range(days)],
        "states": list(ARRIVAL_STATES),
        "rows": result_rows,
    }


# -- the lake -----------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lake_connect(store: Any, *, only: Sequence[str] = ()) -> Any:
    """DuckDB with the views of :func:`sintegre.lake.views.connect`, the per-dataset ones only
    for the datasets a page reads (``catalog`` and ``datasets`` always): the same SQL, so the
    rule of which version is current is the same one."""
    from sintegre.lake.views import connect

    return connect(store, only=list(only))


def lake_summary(con: Any) -> list[dict[str, Any]]:
    """Every dataset: partitions, rows, last delivery, current version, number of versions."""
    query = """
        SELECT d.name, d.partitions, d.current_rows, d.versions, d.last_ingested_at,
               c.delivered_at AS last_delivered_at, c.version AS current_version
        FROM datasets AS d
        LEFT JOIN (
            SELECT dataset, delivered_at, version, row_number() OVER (
                PARTITION BY dataset ORDER BY delivered_at DESC, ingested_at DESC
            ) AS _rank
            FROM catalog WHERE is_current
        ) AS c ON c.dataset = d.name AND c._rank = 1
        ORDER BY d.name
    """
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for key in ("last_ingested_at", "last_delivered_at"):
            row[key] = _iso(row[key].astimezone(BRASILIA)) if row[key] else None
        out.append(row)
    return out


NUMERIC_PREFIXES = ("double", "float", "int", "uint", "decimal", "halffloat")
TIME_TYPES = ("date32", "date64", "timestamp")
#: Columns the lake adds to every table; the chart's time axis prefers the file's own.
LINEAGE = {"delivered_at", "ingested_at", "periodicidade_final", "periodicidade"}
_FILTER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$")


def _schema_of(store: Any, key: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    import pyarrow.parquet as pq

    with store.open_input(key) as handle:
        schema = pq.read_schema(handle)
    meta = {k.decode(): v.decode(errors="replace") for k, v in (schema.metadata or {}).items()}
    columns = []
    for field in schema:
        fmeta = {k.decode(): v.decode(errors="replace") for k, v in (field.metadata or {}).items()}
        columns.append(
            {
                "name": field.name,
                "type": str(field.type),
                "unit": fmeta.get("unit"),
                "description": fmeta.get("description"),
            }
        )
    return columns, meta


def dataset_detail(
    con: Any,
    store: Any,
    dataset: str,
    *,
    catalog: Catalog,
    column: str | None = None,
    where: str | None = None,
    sample_rows: int = 20,
    max_points: int = 2000,
) -> dict[str, Any] | None:
    """A dataset's schema, evidence, latest partition's first rows and one series over time.

    Returns None when the lake has no such dataset.
    """
    latest = con.execute(
        """SELECT macroprocesso, periodicidade, curated_path, version, delivered_at, product_id
           FROM catalog WHERE is_current AND dataset = ?
           ORDER BY periodicidade DESC, delivered_at DESC LIMIT 1""",
        [dataset],
    ).fetchone()
    if latest is None:
        return None
    macro, period, curated_path, version, delivered_at, product_id = latest
    key = curated_path if curated_path and store.exists(curated_path) else None
    if key is None:
        prefix = f"curated/{dataset}/macroprocesso={macro}/periodicidade={period}"
        found = store.list(prefix, ".parquet")
        key = found[0] if found else None
    columns, meta = _schema_of(store, key) if key else ([], {})
    product = catalog.by_id(product_id) if product_id is not None else None
    evidence = meta.get("sintegre.layout_evidence") or (product.evidence if product else "")
    view = _quote(dataset)
    cursor = con.execute(
        f"SELECT * FROM {view} WHERE macroprocesso = ? AND periodicidade = ? LIMIT {sample_rows}",
        [macro, period],
    )
    sample_columns = [d[0] for d in cursor.description]
    sample = [list(r) for r in cursor.fetchall()]

    by_name = {c["name"]: c for c in columns}
    numeric = [
        c["name"]
        for c in columns
        if c["type"].startswith(NUMERIC_PREFIXES) and c["name"] not in LINEAGE
    ]
    floats = [n for n in numeric if by_name[n]["type"].startswith(("double", "float", "halffloat"))]
    times = [c["name"] for c in columns if c["type"].startswith(TIME_TYPES)]
    time_column = next((t for t in times if t not in LINEAGE), "periodicidade")
    chosen = column if column in numeric else (floats or numeric or [None])[0]
    errors = []
    if column and column not in numeric:
        errors.append(f"{column!r} is not a numeric column of {dataset}; showing {chosen!r}")
    series: list[tuple[str, float]] = []
    condition, params = "", []
    filter_text = None
    if where:
        match = _FILTER.match(where)
        if match and match.group(1) in by_name:
            name, value = match.groups()
            kind = by_name[name]["type"]
            condition = f"WHERE CAST({_quote(name)} AS VARCHAR) = ?"
            params = [value]
            filter_text = f"{name} = {value}"
            if kind.startswith(NUMERIC_PREFIXES):
                condition = f"WHERE {_quote(name)} = TRY_CAST(? AS DOUBLE)"
        else:
            errors.append(f"filter {where!r} ignored: use column:value with a column of {dataset}")
    if chosen:
        query = (
            f"SELECT {_quote(time_column)} AS t, avg({_quote(chosen)}) AS v FROM {view} "
            f"{condition} GROUP BY 1 HAVING v IS NOT NULL ORDER BY 1 DESC LIMIT {max_points}"
        )
        series = [(str(t), float(v)) for t, v in reversed(con.execute(query, params).fetchall())]
    return {
        "dataset": dataset,
        "partition": {"macroprocesso": macro, "periodicidade": str(period)},
        "current_version": version,
        "delivered_at": _iso(delivered_at.astimezone(BRASILIA)) if delivered_at else None,
        "file": key,
        "columns": columns,
        "table_description": meta.get("sintegre.table_description"),
        "product": meta.get("sintegre.product") or (product.name if product else None),
        "evidence": evidence,
        "sample_columns": sample_columns,
        "sample": sample,
        "numeric_columns": numeric,
        "chart": {
            "column": chosen,
            "unit": by_name[chosen]["unit"] if chosen else None,
            "time_column": time_column,
            "filter": filter_text,
            "points": series,
        },
        "error": "; ".join(errors) or None,
    }


# -- a run's timeline ---------------------------------------------------------------------------


def _parse_instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _step(
    name: str, start: datetime | None, end: datetime | None, state: str, **extra: Any
) -> dict[str, Any]:
    duration = (end - start).total_seconds() if start and end else None
    return {
        "name": name,
        "start": _iso(start.astimezone(BRASILIA)) if start else None,
        "end": _iso(end.astimezone(BRASILIA)) if end else None,
        "start_epoch": start.timestamp() if start else None,
        "end_epoch": end.timestamp() if end else None,
        "duration_s": duration,
        "state": state,
        **extra,
    }


def run_timeline(row: dict[str, Any], settings: Any, *, timeout: float = 3.0) -> dict[str, Any]:
    """received → triggered → each Airflow task → landed / failed, with durations."""
    base = settings.airflow_url.rstrip("/")
    run_url = f"{base}/dags/{row['dag_id']}/runs/{row['dag_run_id']}"
    received = _local(row["received_at"])
    triggered = _local(row.get("triggered_at"))
    finished = _local(row.get("finished_at"))
    steps = [_step("received", received, received, "done")]
    steps.append(
        _step("triggered", received, triggered, "done" if triggered else "waiting")
        if triggered
        else _step("triggered", None, None, "waiting")
    )
    airflow_error = None
    tasks: list[dict[str, Any]] = []
    if triggered:
        client = AirflowClient(
            settings.airflow_url,
            settings.airflow_user,
            settings.airflow_password.get_secret_value(),
            timeout=timeout,
        )
        try:
            instances = client.task_instances(row["dag_id"], row["dag_run_id"])
        except (AirflowUnavailable, AirflowRejected, ValueError) as exc:
            airflow_error = str(exc)
        else:
            instances.sort(
                key=lambda ti: (
                    _parse_instant(ti.get("start_date")) or datetime.max.replace(tzinfo=UTC)
                )
            )
            for ti in instances:
                start, end = (
                    _parse_instant(ti.get("start_date")),
                    _parse_instant(ti.get("end_date")),
                )
                step = _step(
                    ti["task_id"],
                    start,
                    end,
                    ti.get("state") or "none",
                    task=True,
                    try_number=ti.get("try_number"),
                    log_url=f"{run_url}/tasks/{ti['task_id']}",
                )
                if step["duration_s"] is None and ti.get("duration") is not None:
                    step["duration_s"] = float(ti["duration"])
                tasks.append(step)
    else:
        airflow_error = "not triggered yet: Airflow has no run to show"
    steps += tasks
    status = row["status"]
    if status in LANDED:
        end_state = "landed" if status == "succeeded" else "unchanged"
    elif status in (*FAILED, "layout_mismatch"):
        end_state = status
    else:
        end_state = "in flight"
    steps.append(_step(end_state, triggered, finished, status if finished else "waiting"))
    total = (finished - received).total_seconds() if finished and received else None
    return {
        "id": row["id"],
        "product": row["product"],
        "dataset": row["dataset"],
        "status": status,
        "periodicidade": row["periodicidade"],
        "last_error": row.get("last_error"),
        "layout_mismatch": json.loads(row["layout_mismatch"])
        if row.get("layout_mismatch")
        else None,
        "dag_id": row["dag_id"],
        "dag_run_id": row["dag_run_id"],
        "dag_run_state": row.get("dag_run_state"),
        "run_url": run_url,
        "steps": steps,
        "airflow_error": airflow_error,
        "total_s": total,
    }
