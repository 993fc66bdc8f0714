"""Re-parse one product's raw files over a range of periods, after a parser fix.

Trigger it with ``{"dataset": "acomph", "start": "2025-04-01", "end": "2025-04-30"}``. ``plan``
lists the raw files the catalog holds for that product (its per-table datasets included),
oldest delivery first; ``reprocess`` is mapped over them, one landing at a time, each keeping
its original delivery instant. Nothing is downloaded: the raw zone keeps every original.
Thin on purpose: the logic lives in ``sintegre.ingest.reprocess`` (no Airflow there).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from sintegre_airflow.assets import (
    LANDINGS,
    dataset_asset,
)  # include/sintegre_airflow: the Airflow side


@dag(
    dag_id="sintegre_reprocess",
    schedule=None,
    catchup=False,
    # One run at a time: two runs over the same product would race on the same partitions.
    max_active_runs=1,
    tags=["sintegre", "ons", "maintenance"],
    doc_md=__doc__,
    default_args={"owner": "data-engineering"},
    params={
        "dataset": Param(
            type="string", pattern="^[a-z0-9_]+$", description="Product dataset, e.g. acomph"
        ),
        "start": Param(type="string", format="date", description="First period (YYYY-MM-DD)"),
        "end": Param(type="string", format="date", description="Last period (YYYY-MM-DD)"),
    },
)
def sintegre_reprocess() -> None:
    @task(retries=0, execution_timeout=timedelta(minutes=10))
    def plan() -> list[dict[str, Any]]:
        """List the raw files to re-parse (small dicts: one mapped task each)."""
        from sintegre.core.settings import load_settings
        from sintegre.ingest.reprocess import plan as plan_items

        params = get_current_context()["params"]
        settings = load_settings()
        try:
            return plan_items(
                settings.lake_uri,
                params["dataset"],
                date.fromisoformat(params["start"]),
                date.fromisoformat(params["end"]),
                settings=settings,
            )
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None

    # Lands are never concurrent (across runs too): each one reads then rewrites its partition.
    # No retry: the same bytes through the same parser fail the same way.
    @task(
        retries=0,
        max_active_tis_per_dag=1,
        outlets=[LANDINGS],
        execution_timeout=timedelta(hours=1),
    )
    def reprocess(item: dict[str, Any], *, outlet_events=None) -> dict[str, Any]:
        """Parse one raw file again and land it; announce the datasets it changed."""
        from sintegre.ingest.reprocess import ReprocessError, reprocess_item
        from sintegre.readers import ReaderError

        try:
            # The plain run id: it is the lineage's dag_run_id, and the staging folder it names
            # is never shared because mapped instances run one at a time.
            result = reprocess_item(item, get_current_context()["run_id"])
        except (ReaderError, ReprocessError) as exc:
            raise AirflowFailException(str(exc)) from None
        for entry in result.get("datasets", []):
            if entry.get("changed"):
                outlet_events[LANDINGS].add(
                    dataset_asset(entry["dataset"]),
                    extra={"periodicidade": item["periodicidade"], "reprocessed": True},
                )
        return result

    reprocess.expand(item=plan())


sintegre_reprocess()
