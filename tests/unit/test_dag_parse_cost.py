"""What parsing each DAG file costs Airflow (issue #17: ≤ 50 ms per task it defines).

Airflow parses every DAG file over and over (the DAG processor, and each task process before
its task runs), so what a file imports and computes at module level is paid on every parse.
Each file is parsed by Airflow's ``DagBag`` in a fresh interpreter, after Airflow itself is
imported and ``gc.freeze()`` is called (what the DAG processor does before forking its parsers;
see bench/overhead_bench.py), and two things are checked:

- the heavy modules (the lake's and readers' engines, the full settings, the catalog's model
  outside the one file that renders the catalog) are not imported by the parse: a deterministic
  guard, whatever the machine's load;
- Airflow's own parse duration per task stays under a generous bound (twice the target, best of
  three attempts): a timing on a shared host is noisy, the module list is the precise check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").rglob("*.py"))
BOUND_MS_PER_TASK = 100.0  # the target is 50; the slack is for a loaded CI host

#: Never imported by any DAG file's parse (measured with ``-X importtime`` for issue #17: the
#: full settings were most of a one-task file's parse, the catalog's model ~130 ms more).
HEAVY = (
    "deltalake",
    "duckdb",
    "pyarrow",
    "pandas",
    "polars",
    "openpyxl",
    "python_calamine",
    "pydantic_settings",
    "dotenv",
    "requests",
    "sintegre.core.settings",
    "sintegre.intake",
    "sintegre.ingest",
    "sintegre.lake",
    "sintegre.readers",
)
#: Only dags/sintegre_products.py reads the catalog itself (a DAG per product, documented from
#: its entry: 22 tasks share the cost); the others use its index (sintegre.catalog.index).
CATALOG_MODEL = ("sintegre.catalog.products", "sintegre.catalog.spec")

_CHILD = r"""
import gc, json, sys
import airflow, airflow.sdk
import airflow.providers.standard.decorators.python
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
gc.freeze()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
print("PARSED " + json.dumps({
    "seconds": sum(s.duration.total_seconds() for s in bag.dagbag_stats),
    "tasks": sum(len(d.tasks) for d in bag.dags.values()),
    "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
    "imported": sorted(set(sys.modules) - before),
}))
"""


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The test process's environment, with an empty AIRFLOW_HOME and our packages importable."""
    env = dict(os.environ)
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow-home"))
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "include"), env.get("PYTHONPATH", "")])
    return env


def _parse(path: Path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("PARSED ")), None)
    assert line is not None, done.stderr[-2000:]
    return json.loads(line.removeprefix("PARSED "))


def _imported(parsed: dict, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in parsed["imported"]
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    )


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_parsing_a_dag_file_is_light(path: Path, child_env: dict[str, str]) -> None:
    parsed = _parse(path, child_env)
    assert parsed["errors"] == {}
    assert parsed["tasks"] > 0
    assert _imported(parsed, HEAVY) == []
    if path.name != "sintegre_products.py":
        assert _imported(parsed, CATALOG_MODEL) == []
    best = parsed["seconds"] * 1000 / parsed["tasks"]
    for _ in range(2):  # a timing: retried, the best attempt judged
        if best <= BOUND_MS_PER_TASK:
            break
        again = _parse(path, child_env)
        best = min(best, again["seconds"] * 1000 / again["tasks"])
    assert best <= BOUND_MS_PER_TASK, f"{path.name}: {best:.0f} ms per task"
