"""The public view of a notification row (the API and the status pages)."""

from __future__ import annotations

import json
from typing import Any


def public_view(row: dict[str, Any], *, airflow_url: str | None = None) -> dict[str, Any]:
    """What the inspection API shows of a row: no body, no URL, no token."""
    conf = json.loads(row["conf"])
    view = {
        "id": row["id"],
        "integration": row["integration"],
        "status": row["status"],
        "received_at": _iso(row["received_at"]),
        "updated_at": _iso(row["updated_at"]),
        "product": row["product"],
        "product_id": row["product_id"],
        "expected": bool(row["expected"]),
        "dataset": row["dataset"],
        "dag_id": row["dag_id"],
        "dag_run_id": row["dag_run_id"],
        "dag_run_state": row.get("dag_run_state"),
        "macroprocesso": conf.get("macroProcesso"),
        "macroprocesso_slug": row["macroprocesso_slug"],
        "processo": conf.get("processo"),
        "data_produto": row["data_produto"],
        "periodicidade": row["periodicidade"],
        "periodicidade_final": row["periodicidade_final"],
        "granularity": row["granularity"],
        "flags": json.loads(row["flags"]),
        "token_expires_at": _iso(row["token_exp"]) if row["token_exp"] else None,
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "duplicates": row["duplicates"],
        "raw_path": row.get("raw_path"),
        "schema_drift": json.loads(row["schema_drift"]) if row.get("schema_drift") else None,
        "implausible": json.loads(row["implausible"]) if row.get("implausible") else None,
        "layout_mismatch": (
            json.loads(row["layout_mismatch"]) if row.get("layout_mismatch") else None
        ),
    }
    if airflow_url:
        view["dag_run_url"] = f"{airflow_url}/dags/{row['dag_id']}/runs/{row['dag_run_id']}"
    return view


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")
