"""The overhead benchmark's DAG: one task that only imports what the ingest task imports.

Lives in bench/dags/ (see bench_noop.py). Trigger → success of this DAG against bench_noop's
is what our task's imports cost on every task start: the ingest step's modules (pipeline,
readers, lake landing), pyarrow, and the catalog and settings loads the step does first.
"""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(dag_id="bench_imports", schedule=None, catchup=False, tags=["bench"])
def bench_imports() -> None:
    @task
    def imports() -> None:
        """Import the ingest task's modules and load the catalog and settings; nothing else."""
        import pyarrow
        import pyarrow.parquet  # noqa: F401

        import sintegre.readers  # noqa: F401
        from sintegre.catalog.products import load_catalog
        from sintegre.core.settings import load_settings
        from sintegre.ingest.pipeline import ingest_step  # noqa: F401
        from sintegre.lake import landing  # noqa: F401
        from sintegre.readers.errors import LayoutMismatch  # noqa: F401

        load_settings()
        load_catalog()

    imports()


bench_imports()
