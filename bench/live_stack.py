"""``make run``'s stack, started once for the burst and e2e benchmarks.

Airflow standalone on SQLite with make run's settings (no test speed-ups: default heartbeats,
forwarder poll and backoff), the receiver under make run's gunicorn command line, the
forwarder, and the SINtegre simulator as the download source. The stack helpers come from
tests/e2e/stack.py; the dags folder is a temporary one linking the project's DAGs and the
benchmark's own DAGs (bench/dags/: the no-op and the imports-only one).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# The e2e stack helpers: `make bench` puts tests/ and tests/e2e on PYTHONPATH.
from stack import Stack, build_stack

from sintegre_dev.devstack import (
    airflow_environment,
    receiver_command,
    wait_for_airflow,
)
from sintegre_dev.simulator import SimulatorServer

ROOT = Path(__file__).resolve().parents[1]

WEBHOOK_PASSWORD = "bench-webhook-pass"
ADMIN_PASSWORD = "bench-admin-pass"
#: Test speed-ups build_stack sets that make run does not have.
TEST_ONLY = (
    "FORWARDER_POLL_SECONDS",
    "FORWARDER_MAX_BACKOFF_SECONDS",
    "SINTEGRE_TASK_RETRY_DELAY_SECONDS",
    "SINTEGRE_DOWNLOAD_RETRIES",
)


def _dags_folder(tmp: Path) -> Path:
    folder = tmp / "dags"
    folder.mkdir()
    sources = [
        *sorted((ROOT / "dags").glob("*.py")),
        *sorted((ROOT / "bench" / "dags").glob("*.py")),
    ]
    for source in sources:
        (folder / source.name).symlink_to(source)
    return folder


@contextlib.contextmanager
def live_stack() -> Iterator[tuple[Stack, SimulatorServer]]:
    """Start simulator, receiver, forwarder and Airflow; stop everything on exit."""
    with tempfile.TemporaryDirectory(prefix="sintegre-bench-stack-") as name:
        tmp = Path(name)
        with SimulatorServer(cert_dir=tmp / "ca") as simulator:
            stack = build_stack(
                tmp,
                simulator.ca_path,
                webhook_password=WEBHOOK_PASSWORD,
                admin_password=ADMIN_PASSWORD,
            )
            for key in TEST_ONLY:
                stack.env.pop(key, None)
            stack.airflow_env = airflow_environment(
                stack.settings,
                airflow_home=tmp / "airflow",
                password=stack.env["AIRFLOW_PASSWORD"],
                base=stack.env,
            )
            stack.airflow_env["AIRFLOW__CORE__DAGS_FOLDER"] = str(_dags_folder(tmp))
            started = time.monotonic()
            try:
                stack.spawn(
                    "receiver",
                    receiver_command(f"127.0.0.1:{stack.receiver_port}"),
                    stack.env,
                )
                stack.start_forwarder()
                _start_airflow(stack)
                stack.startup_seconds = round(time.monotonic() - started, 1)  # type: ignore[attr-defined]
                _wait_receiver(stack)
                yield stack, simulator
            finally:
                stack.stop_all()


def _start_airflow(stack: Stack, timeout: float = 600) -> None:
    """``airflow standalone``, then wait for health and for the DAGs the benchmarks use."""
    process = stack.spawn(
        "airflow", [str(Path(sys.executable).parent / "airflow"), "standalone"], stack.airflow_env
    )
    if not wait_for_airflow(stack.airflow_url, timeout=timeout, process=process):
        raise RuntimeError(f"Airflow did not become healthy; see {stack.log_dir}/airflow.log")
    api = AirflowApi(stack)
    deadline = time.monotonic() + timeout
    for dag_id in ("sintegre_generic", "bench_noop", "bench_imports"):
        while api.request("GET", f"/api/v2/dags/{dag_id}").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"DAG {dag_id} never appeared in Airflow")
            time.sleep(2)


def _wait_receiver(stack: Stack, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{stack.receiver_url}/readyz", timeout=2).ok:
                return
        time.sleep(0.5)
    raise RuntimeError("the receiver did not become ready")


class AirflowApi:
    """Airflow's REST API for the benchmarks: one token, patient timeouts, a few retries.

    The shared 2-core machine can make Airflow's API take seconds to answer; a benchmark
    must not die of one slow answer, and fetching a token per call would add load.
    """

    def __init__(self, stack: Stack) -> None:
        import requests

        self.stack = stack
        self.session = requests.Session()
        self._token: str | None = None

    def _authorise(self) -> None:
        response = self.session.post(
            f"{self.stack.airflow_url}/auth/token",
            json={"username": "admin", "password": self.stack.env["AIRFLOW_PASSWORD"]},
            timeout=60,
        )
        response.raise_for_status()
        self._token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self._token}"

    def request(self, method: str, path: str, *, attempts: int = 5, **kwargs):
        """One API call; retried on connection errors, timeouts, 401 (token expiry) and, for
        GET and PATCH, 5xx."""
        import requests

        kwargs.setdefault("timeout", 60)
        for attempt in range(attempts):
            try:
                if self._token is None:
                    self._authorise()
                response = self.session.request(method, f"{self.stack.airflow_url}{path}", **kwargs)
            except requests.RequestException:
                if attempt == attempts - 1:
                    raise
                time.sleep(2 * (attempt + 1))
                continue
            if response.status_code == 401 and attempt < attempts - 1:
                self._token = None
                continue
            if (
                response.status_code >= 500
                and method in ("GET", "PATCH")
                and attempt < attempts - 1
            ):
                # Airflow on SQLite answers 500 ("database is locked") under load; reads and
                # pauses are idempotent (a trigger's 5xx is left to its caller: 409 on retry).
                time.sleep(2 * (attempt + 1))
                continue
            return response
        raise RuntimeError("unreachable")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG."""
        response = self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})
        response.raise_for_status()

    def trigger(self, dag_id: str, run_id: str, conf: dict) -> int:
        """Create a run; returns the HTTP status (409: it already exists)."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body).status_code

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """A run's state, ``None`` while Airflow does not know it."""
        response = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return response.json()["state"] if response.ok else None

    def runs(self, dag_id: str, prefix: str) -> list[dict]:
        """Every run whose id starts with ``prefix``."""
        runs: list[dict] = []
        while True:
            response = self.request(
                "GET",
                f"/api/v2/dags/{dag_id}/dagRuns",
                params={"limit": 100, "offset": len(runs), "run_id_pattern": prefix},
            )
            response.raise_for_status()
            page = response.json()["dag_runs"]
            runs.extend(page)
            if len(page) < 100:
                return [r for r in runs if r["dag_run_id"].startswith(prefix)]
