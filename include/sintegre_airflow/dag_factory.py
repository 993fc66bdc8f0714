"""The ingestion DAG shape (download → parse → land), built once per product and once generic.

Airflow-side only: the steps live in ``sintegre.ingest.pipeline``. ``dags/sintegre_generic.py``
builds
the DAG for products the catalog does not know; ``dags/sintegre_products.py`` builds one DAG
per catalogued product, so each product's runs, failures and durations are on their own in
the Airflow UI, and its parse spec (``products.yaml``) is applied.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from sintegre.core.forwarder_contract import MISMATCH_XCOM_KEY
from sintegre.core.settings import load_settings
from sintegre_airflow.assets import LANDINGS, dataset_asset

# Reading the environment is not I/O; tests shorten the delay through it.
_SETTINGS = load_settings()
RETRY_DELAY = timedelta(seconds=_SETTINGS.task_retry_delay_seconds)
# Wall-clock limits: a task that outlives them is killed and marked failed (then retried where
# retries help), never left running for ever. The download's own deadline comes first.
DOWNLOAD_TIMEOUT = timedelta(seconds=_SETTINGS.download_deadline_seconds + 300)
PARSE_TIMEOUT = timedelta(minutes=30)  # a 1 GB CSV parses in ~2 min on a loaded 2-core host
LAND_TIMEOUT = timedelta(seconds=_SETTINGS.lake_lock_wait_seconds + 1200)


def _params() -> dict[str, Param]:
    """The DAG's Params, generated from the run-conf contract's JSON schema (one source)."""
    from sintegre.core.runconf import params_schema

    params = {}
    for name, spec in params_schema().items():
        if spec["required"]:
            params[name] = Param(**spec["schema"])
        else:
            params[name] = Param(spec["default"], **spec["schema"])
    return params


def _conf() -> dict[str, Any]:
    return dict(get_current_context()["params"])


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
    def ingest() -> None:
        @task(
            retries=3,
            retry_delay=RETRY_DELAY,
            retry_exponential_backoff=True,
            execution_timeout=DOWNLOAD_TIMEOUT,
        )
        def download() -> dict[str, Any]:
            """Stream the file into the raw zone (retried: networks and ONS hiccup)."""
            from sintegre.ingest.download import DownloadError
            from sintegre.ingest.pipeline import ConfError, download_step

            try:
                return download_step(_conf())
            except ConfError as exc:
                raise AirflowFailException(str(exc)) from None
            except DownloadError as exc:
                if exc.retryable:
                    raise RuntimeError(str(exc)) from None
                # An expired or refused token will not come back by retrying.
                raise AirflowFailException(str(exc)) from None

        @task(retries=0, execution_timeout=PARSE_TIMEOUT)
        def parse(downloaded: dict[str, Any]) -> dict[str, Any]:
            """Read the file into typed tables (no retry: the same bytes fail the same way)."""
            from sintegre.ingest.pipeline import LayoutMismatch, ReaderError, parse_step

            context = get_current_context()
            try:
                return parse_step(downloaded, context["run_id"], product_id=catalog_product_id)
            except LayoutMismatch as exc:
                # The forwarder reads this XCom of a failed run: the notification shows
                # layout_mismatch (not a plain failure) with what was expected and found.
                context["ti"].xcom_push(key=MISMATCH_XCOM_KEY, value=exc.details)
                raise AirflowFailException(str(exc)) from None
            except ReaderError as exc:
                raise AirflowFailException(str(exc)) from None

        # One landing at a time per DAG: two runs never write the same partition together.
        @task(
            retries=2,
            retry_delay=RETRY_DELAY,
            max_active_tis_per_dag=1,
            outlets=[LANDINGS],
            execution_timeout=LAND_TIMEOUT,
        )
        def land(
            parsed: dict[str, Any], downloaded: dict[str, Any], *, outlet_events=None
        ) -> dict[str, Any]:
            """Commit the new version (history, catalog, curated) and announce what changed."""
            from sintegre.ingest.pipeline import land_step

            conf = _conf()
            result = land_step(parsed, downloaded, conf, get_current_context()["run_id"])
            for entry in (d for d in result["datasets"] if d["changed"]):
                outlet_events[LANDINGS].add(
                    dataset_asset(entry["dataset"]),
                    extra={
                        "periodicidade": conf["periodicidade_date"],
                        "macroprocesso": conf["macroprocesso_slug"],
                        "rows": entry["rows"],
                        "sha256": downloaded["sha256"],
                    },
                )
            return result

        downloaded = download()
        land(parse(downloaded), downloaded)

    return ingest()
