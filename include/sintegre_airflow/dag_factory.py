"""The ingestion DAG (one task: download → parse → land), built per product and once generic.

Airflow-side only: the steps live in ``sintegre.ingest.pipeline``. ``dags/sintegre_generic.py``
builds
the DAG for products the catalog does not know; ``dags/sintegre_products.py`` builds one DAG
per catalogued product, so each product's runs, failures and durations are on their own in
the Airflow UI, and its parse spec (``products.yaml``) is applied.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from sintegre.core.dag_settings import load_dag_settings
from sintegre.core.forwarder_contract import INGEST_TASK_ID, MISMATCH_XCOM_KEY
from sintegre_airflow.assets import LANDINGS, dataset_asset

# Only the settings the DAG's shape needs (not the full Settings: most of a one-DAG file's parse
# time). Reading the environment is not I/O; tests shorten the delay through it.
_SETTINGS = load_dag_settings()
RETRY_DELAY = timedelta(seconds=_SETTINGS.task_retry_delay_seconds)
# Wall-clock limits: a task that outlives them is killed and marked failed (then retried where
# retries help), never left running for ever. The download's own deadline comes first.
# The sum of the steps' own limits: the download's deadline, a 1 GB CSV's parse (~2 min on a
# loaded 2-core host, 30 min allowed), the partition lock's wait and a big landing.
INGEST_TIMEOUT = timedelta(
    seconds=_SETTINGS.download_deadline_seconds
    + 300
    + 30 * 60
    + _SETTINGS.lake_lock_wait_seconds
    + 1200
)


@functools.lru_cache(maxsize=1)
def _params_schema() -> dict[str, dict[str, Any]]:
    """The run-conf contract's JSON schema, generated once per file parse (pydantic's
    ``model_json_schema`` costs ~8 ms, and ``dags/sintegre_products.py`` builds 22 DAGs)."""
    from sintegre.core.runconf import params_schema

    return params_schema()


def _params() -> dict[str, Param]:
    """The DAG's Params, generated from the run-conf contract's JSON schema (one source)."""
    params = {}
    for name, spec in _params_schema().items():
        if spec["required"]:
            params[name] = Param(**spec["schema"])
        else:
            params[name] = Param(spec["default"], **spec["schema"])
    return params


def build_ingest_dag(
    dag_id: str,
    *,
    catalog_product_id: int | None,
    doc_md: str,
    tags: list[str],
) -> DAG:
    """Build one download → parse → land DAG.

    Args:
        dag_id: ``sintegre_generic`` or a catalogued product's ``sintegre__<slug>``.
        catalog_product_id: The catalog entry whose tables and parse spec the parse step
            applies; ``None`` for the generic DAG (generic readers only).
        doc_md: The DAG's documentation (from the catalog for product DAGs).
        tags: UI tags (macroprocesso and granularity for product DAGs).

    Returns:
        The DAG.
    """

    @dag(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        max_active_runs=4,
        tags=["sintegre", "ons", *tags],
        doc_md=doc_md,
        default_args={"owner": "data-engineering"},
        params=_params(),
    )
    def ingest_dag() -> None:
        # ONE task: a task start costs seconds on a small Airflow, more than the steps of most
        # of ONS's files. The log has a line per step with its duration, a failure message
        # names its step, and a retry reuses the file already in raw/ (no second download).
        # One landing at a time per DAG when nothing else serialises them (no partition lock).
        @task(
            task_id=INGEST_TASK_ID,
            retries=3,
            retry_delay=RETRY_DELAY,
            retry_exponential_backoff=True,
            outlets=[LANDINGS],
            execution_timeout=INGEST_TIMEOUT,
            max_active_tis_per_dag=1 if _SETTINGS.lake_lock == "none" else None,
        )
        def ingest(*, outlet_events: Any = None) -> dict[str, Any]:
            """Download → parse → land one delivery, and announce the datasets that changed."""
            from sintegre.ingest.pipeline import ConfError, StepFailed, ingest_step
            from sintegre.readers.errors import LayoutMismatch

            context = get_current_context()
            conf = dict(context["params"])
            try:
                result = ingest_step(conf, context["run_id"], product_id=catalog_product_id)
            except ConfError as exc:
                raise AirflowFailException(f"conf: {exc}") from None
            except StepFailed as exc:
                if isinstance(exc.cause, LayoutMismatch):
                    # The forwarder reads this XCom of a failed run: the notification shows
                    # layout_mismatch (not a plain failure) with what was expected and found.
                    context["ti"].xcom_push(key=MISMATCH_XCOM_KEY, value=exc.cause.details)
                if exc.retryable:
                    raise RuntimeError(str(exc)) from None
                raise AirflowFailException(str(exc)) from None
            for entry in (d for d in result["land"]["datasets"] if d["changed"]):
                outlet_events[LANDINGS].add(
                    dataset_asset(entry["dataset"]),
                    extra={
                        "periodicidade": conf["periodicidade_date"],
                        "macroprocesso": conf["macroprocesso_slug"],
                        "rows": entry["rows"],
                        "sha256": result["download"]["sha256"],
                    },
                )
            return result

        ingest()

    return ingest_dag()
