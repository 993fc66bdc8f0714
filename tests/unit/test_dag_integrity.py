"""DagBag integrity (Astronomer's template test): every DAG imports and follows our rules.

``dags/`` is covered recursively (``dags/examples/`` too), and so is ``include/sintegre``
with its subpackages (``core``, ``intake``, ``catalog``, ``readers``, ``ingest``, ``lake``,
``cli``). The environment the DagBag needs is set through a ``MonkeyPatch`` and restored
when the module's tests are done.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
INCLUDE = ROOT / "include" / "sintegre"
DAG_FILES = sorted(DAGS.rglob("*.py"))
INCLUDE_FILES = sorted(INCLUDE.rglob("*.py"))


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Every DAG under ``dags/`` (recursively), loaded with the environment restored after."""
    with pytest.MonkeyPatch.context() as mp:
        if "AIRFLOW_HOME" not in os.environ:
            mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(DAGS))


def test_the_walks_reach_the_subfolders():
    """The rglobs see ``dags/examples`` and every subpackage of ``include/sintegre``."""
    assert DAGS / "examples" in {p.parent for p in DAG_FILES}
    packages = {p.parent.name for p in INCLUDE_FILES if p.parent != INCLUDE}
    assert {"core", "intake", "catalog", "readers", "ingest", "lake", "cli"} <= packages


def test_every_dag_file_is_loaded(dagbag):
    """The DagBag read every file under ``dags/``, the examples' included."""
    loaded = {Path(dag.fileloc).resolve() for dag in dagbag.dags.values()}
    assert {p.resolve() for p in DAG_FILES} <= loaded
    assert "sintegre_example_carga_summary" in dagbag.dags


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"sintegre_generic", "sintegre_freshness"} <= set(dagbag.dags)


def test_freshness_dag_is_scheduled_without_catchup(dagbag):
    dag = dagbag.dags["sintegre_freshness"]
    assert not dag.catchup
    assert [t.task_id for t in dag.tasks] == ["check"]
    assert dag.tasks[0].retries == 0


def test_triggered_dags_have_no_schedule_and_known_tasks(dagbag):
    dag = dagbag.dags["sintegre_generic"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: triggered only
    # One task (download → parse → land): a task start costs more than most files' steps.
    assert [t.task_id for t in dag.tasks] == ["ingest"]
    assert dag.tasks[0].retries > 0  # networks hiccup; bad bytes fail without a retry
    assert not dag.catchup


def test_params_require_the_notification_fields(dagbag):
    params = dagbag.dags["sintegre_generic"].params
    for key in ("notification_id", "nome", "macroProcesso", "url", "dataset", "periodicidade_date"):
        assert key in params


def test_domain_package_never_imports_airflow():
    offenders = []
    for path in INCLUDE_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(INCLUDE)}: {n}" for n in names if n.split(".")[0] == "airflow"
            ]
    assert offenders == []


def test_dag_files_import_only_the_task_sdk():
    for path in DAG_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("airflow")
            ):
                allowed = ("airflow.sdk", "airflow.providers")  # the SDK; providers' notifiers
                assert node.module.startswith(allowed), f"{path.relative_to(DAGS)}: {node.module}"


def test_every_catalogued_product_has_its_own_dag(dagbag):
    from sintegre.catalog.products import load_catalog

    for product in load_catalog().products:
        dag = dagbag.dags[product.dag_id]
        assert type(dag.timetable).__name__ == "NullTimetable"
        assert [t.task_id for t in dag.tasks] == ["ingest"]
        assert {"sintegre", product.granularity, product.tags[0]} <= set(dag.tags)
        assert f"Product id**: {product.id}" in dag.doc_md
        assert set(dag.params) == set(dagbag.dags["sintegre_generic"].params)
    acomph = dagbag.dags["sintegre__acomph"]
    assert sorted(acomph.tags) == sorted(["sintegre", "ons", "programacao_da_operacao", "daily"])
    assert "# Acomph" in acomph.doc_md


@pytest.mark.drill("#14.10 every task of every DAG has an execution_timeout")
def test_every_task_has_a_wall_clock_limit(dagbag):
    """Nothing runs for ever: every task of every DAG has an execution_timeout."""
    missing = [
        f"{dag_id}.{task.task_id}"
        for dag_id, dag in dagbag.dags.items()
        for task in dag.tasks
        if task.execution_timeout is None
    ]
    assert missing == []


def test_maintenance_dag_maintains_the_catalog_table(dagbag):
    dag = dagbag.dags["sintegre_maintenance"]
    assert {"prune_inbox", "sweep_stale_files", "maintain_catalog"} <= set(dag.task_ids)
