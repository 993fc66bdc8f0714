"""Example downstream DAG: runs whenever a new DESSEM load forecast lands in the lake.

Scheduled on the ``dessem_carga`` Asset (PrevCargaDESSEM, product 479), which that product's
DAG's ``land`` task emits (through the ``sintegre-lake-landings`` alias) each time a landing
changed something. Writes a small derived table, the mean load per day and subsystem,
``derived/carga_dessem_media_diaria/data.parquet``, in the lake (local or S3).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, dag, task

# sintegre.lake.derived.LOAD_DATASET, written out: importing that module at parse time pulls
# duckdb and pyarrow (~0.8 s per parse on this file's one task); the task checks they agree.
LOAD_DATASET = "dessem_carga"

LOAD_ASSET = Asset(name=f"sintegre.{LOAD_DATASET}", uri=f"sintegre-lake://curated/{LOAD_DATASET}")


@dag(
    dag_id="sintegre_example_carga_summary",
    schedule=[LOAD_ASSET],
    catchup=False,
    tags=["sintegre", "example"],
    doc_md=__doc__,
)
def sintegre_example_carga_summary() -> None:
    @task(retries=1, execution_timeout=timedelta(minutes=10))
    def summarise() -> str:
        from sintegre.core.settings import load_settings
        from sintegre.lake import derived

        if derived.LOAD_DATASET != LOAD_DATASET:
            raise RuntimeError(f"the DAG's Asset says {LOAD_DATASET}, derived.py says otherwise")

        settings = load_settings()
        return derived.daily_load_summary(settings.lake_uri, settings=settings)

    summarise()


sintegre_example_carga_summary()
