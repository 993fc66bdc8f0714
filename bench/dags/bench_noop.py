"""The e2e benchmark's baseline: a one-task DAG that does nothing.

Lives in bench/dags/, not dags/: only the benchmark's own Airflow (whose dags folder links
the project's DAGs next to this one) ever sees it, so no real deployment lists it.
"""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(dag_id="bench_noop", schedule=None, catchup=False, tags=["bench"])
def bench_noop() -> None:
    @task
    def noop() -> None:
        """Nothing: trigger → success is Airflow's own floor on this machine."""

    noop()


bench_noop()
