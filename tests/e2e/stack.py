"""The whole system as real processes: one base :class:`Stack` and the standalone shape.

:class:`Stack` does what every shape needs: spawn a process in its own process group with
its output in ``logs/<name>.log``, wait for ports and health endpoints, stop process groups
(SIGTERM, then SIGKILL), build the shared environment (a CA bundle that trusts the
simulator, ports, credentials, the test speed-ups), start the receiver and the forwarder, and
talk to Airflow's REST API patiently (one cached token, long timeouts, retries).

:class:`StandaloneStack` is Airflow standalone (SQLite) + gunicorn receiver + forwarder,
started once per test session (Airflow takes ~25 s to come up); the drills stop, kill and
restart its parts. ``production_stack.ProductionStack`` is the other shape.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import requests

from helpers.processes import free_port, wait_until
from sintegre.core.settings import PROJECT_ROOT, Settings, load_settings
from sintegre_dev.devstack import airflow_environment, stop_process_group, wait_for_airflow

PY = sys.executable
AIRFLOW = str(Path(PY).parent / "airflow")
#: Filled by the tests, printed at the end of the session (closing-note measurements).
MEASUREMENTS: dict[str, Any] = {}


def daily_notification(
    publication: Any,
    day: date,
    *,
    processo: str = "Drill",
    macro_processo: str = "Programação da Operação",
) -> dict[str, Any]:
    """SINtegre's notification for a daily product of ``day`` (naive Brasília times)."""
    from sintegre_dev.simulator import build_notification

    return build_notification(
        publication,
        processo=processo,
        macro_processo=macro_processo,
        data_produto=day.strftime("%d/%m/%Y"),
        periodicidade=datetime(day.year, day.month, day.day, 0, 0, 0),
        periodicidade_final=datetime(day.year, day.month, day.day, 23, 59, 59),
    )


def system_ca_bundle() -> Path:
    """The system CA bundle (what a normal deployment trusts)."""
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).exists():
            return Path(candidate)
    import certifi

    return Path(certifi.where())


def stack_env(
    tmp: Path,
    ca_path: Path,
    *,
    receiver_port: int,
    airflow_port: int,
    airflow_password: str,
    webhook_password: str,
    admin_password: str,
    lake_uri: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment every process of a stack under ``tmp`` shares (``os.environ`` + ours).

    Writes ``tmp/ca-bundle.pem``: the system CAs plus the simulator's ``ca_path``. Includes
    the test speed-ups (forwarder poll and backoff, retry delay, retries) and turns the
    scheduled DAGs off; ``extra`` adds or overrides variables.
    """
    bundle = tmp / "ca-bundle.pem"
    bundle.write_bytes(system_ca_bundle().read_bytes() + b"\n" + ca_path.read_bytes())
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT / "include"),
            "SINTEGRE_PROJECT_ROOT": str(PROJECT_ROOT),
            "SINTEGRE_STATE_DIR": str(tmp / "state"),
            "LAKE_URI": lake_uri or str(tmp / "lake"),
            "RECEIVER_PORT": str(receiver_port),
            "AIRFLOW_PORT": str(airflow_port),
            "AIRFLOW_URL": f"http://localhost:{airflow_port}",
            "AIRFLOW_USER": "admin",
            "AIRFLOW_PASSWORD": airflow_password,
            "SINTEGRE_WEBHOOK_AUTH": "basic",
            "SINTEGRE_WEBHOOK_USER": "ons",
            "SINTEGRE_WEBHOOK_PASSWORD": webhook_password,
            "SINTEGRE_ADMIN_USER": "operador",
            "SINTEGRE_ADMIN_PASSWORD": admin_password,
            "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": "localhost",
            "REQUESTS_CA_BUNDLE": str(bundle),
            "SSL_CERT_FILE": str(bundle),
            "FORWARDER_POLL_SECONDS": "0.5",
            "FORWARDER_MAX_BACKOFF_SECONDS": "3",
            "SINTEGRE_TASK_RETRY_DELAY_SECONDS": "1",
            "SINTEGRE_DOWNLOAD_RETRIES": "2",
            "SINTEGRE_FRESHNESS_SCHEDULE": "none",
            "SINTEGRE_MAINTENANCE_SCHEDULE": "none",
            **extra,
        }
    )
    return env


@dataclass
class Stack:
    """Handles on every running process of a stack, and the environments they share.

    ``env`` is the project's processes' environment (receiver, forwarder); ``airflow_env``
    Airflow's. Each process runs in its own process group, logging to ``log_dir/<name>.log``.
    """

    tmp: Path
    env: dict[str, str]
    airflow_env: dict[str, str]
    receiver_port: int
    airflow_port: int
    log_dir: Path
    root: Path = PROJECT_ROOT
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = field(default=None, repr=False)
    _token_at: float = field(default=0.0, repr=False)

    #: Processes :meth:`stop_all` stops first, in this order; then the rest, newest first.
    STOP_FIRST: ClassVar[tuple[str, ...]] = ()
    #: Seconds between SIGTERM and SIGKILL when stopping a process group.
    STOP_GRACE: ClassVar[float | None] = None

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://localhost:{self.airflow_port}"

    @property
    def airflow_password(self) -> str:
        return self.env["AIRFLOW_PASSWORD"]

    @property
    def lake(self) -> Path:
        """The lake folder (a local lake: ``LAKE_URI`` is a path)."""
        return Path(self.env["LAKE_URI"])

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    # --- processes ------------------------------------------------------------------------
    def spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start ``args`` as ``name`` in a new process group, appending to ``<name>.log``."""
        handle = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - child owns it
        process = subprocess.Popen(
            args,
            env=self.env if env is None else env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        """What process ``name`` has written so far ("" before it started)."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_files(self) -> dict[str, str]:
        """Path → text of every log the stack wrote: its processes' and Airflow's task logs."""
        found: dict[str, str] = {}
        for root in (self.log_dir, Path(self.airflow_env["AIRFLOW_HOME"]) / "logs"):
            if root.exists():
                for path in root.rglob("*"):
                    if path.is_file():
                        found[str(path)] = path.read_text(encoding="utf-8", errors="replace")
        return found

    def wait_for_url(self, url: str, name: str, timeout: float = 60) -> None:
        """Until ``url`` answers 2xx; fails early if process ``name`` exits."""
        process = self.processes[name]
        wait_until(
            lambda: _ok(url),
            timeout=timeout,
            interval=0.1,
            what=f"{name} at {url} (see {self.log_dir}/{name}.log)",
            alive=lambda: process.poll() is None,
        )

    def wait_for_airflow(self, name: str, timeout: float = 240) -> None:
        """Until Airflow's health endpoint reports the scheduler and the database healthy."""
        if not wait_for_airflow(self.airflow_url, timeout=timeout, process=self.processes[name]):
            raise RuntimeError(f"Airflow did not become healthy; see {self.log_dir}/{name}.log")

    def stop(self, name: str) -> None:
        """SIGTERM process ``name``'s group, SIGKILL what is left after the grace period."""
        process = self.processes.pop(name)
        if self.STOP_GRACE is None:
            stop_process_group(process)
        else:
            stop_process_group(process, grace=self.STOP_GRACE)

    def kill(self, name: str) -> None:
        """SIGKILL process ``name``'s whole group at once (a crash, not a shutdown)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        """Stop every process: :attr:`STOP_FIRST` first, then the newest first."""
        first = [name for name in self.STOP_FIRST if name in self.processes]
        for name in [*first, *reversed([n for n in self.processes if n not in first])]:
            self.stop(name)

    # --- receiver and forwarder -----------------------------------------------------------
    def start_receiver(self, workers: int = 2, timeout: float = 60) -> None:
        """gunicorn with ``workers`` workers, until ``/healthz`` answers."""
        self.spawn(
            "receiver",
            [
                PY,
                "-m",
                "gunicorn",
                "--no-control-socket",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.receiver_port}",
                "sintegre.intake.receiver.wsgi:app",
            ],
        )
        self.wait_for_url(f"{self.receiver_url}/healthz", "receiver", timeout)

    def kill_receiver(self) -> None:
        self.kill("receiver")

    def start_forwarder(self) -> None:
        self.spawn("forwarder", [PY, "-m", "sintegre.cli.forwarder"])

    def stop_forwarder(self) -> None:
        self.stop("forwarder")

    # --- Airflow's REST API ---------------------------------------------------------------
    def airflow_token(self) -> str:
        """A JWT, reused for a few minutes: a login per call is slow under load."""
        if self._token and time.monotonic() - self._token_at < 300:
            return self._token
        last: Exception | None = None
        for _ in range(3):  # a loaded 2-core machine can take long to answer a login
            try:
                response = requests.post(
                    f"{self.airflow_url}/auth/token",
                    json={"username": "admin", "password": self.airflow_password},
                    timeout=60,
                )
                response.raise_for_status()
                self._token, self._token_at = response.json()["access_token"], time.monotonic()
                return self._token
            except requests.RequestException as error:
                last = error
                time.sleep(2)
        assert last is not None
        raise last

    def forget_token(self) -> None:
        """Log in again next time (a restarted Airflow may sign with another secret)."""
        self._token = None

    def airflow_request(
        self, method: str, path: str, *, attempts: int = 6, **kwargs: Any
    ) -> requests.Response:
        """One API call, patiently: 60 s timeout, retried on connection errors and on 401.

        On the shared 2-core machine Airflow's API sometimes takes long to answer, or is
        being restarted by a drill; a test must not fail for that.
        """
        kwargs.setdefault("timeout", 60)
        for attempt in range(attempts):
            try:
                response = requests.request(
                    method,
                    f"{self.airflow_url}{path}",
                    headers={"Authorization": f"Bearer {self.airflow_token()}"},
                    **kwargs,
                )
            except requests.RequestException:
                if attempt == attempts - 1:
                    raise
                time.sleep(2 * (attempt + 1))
                continue
            if response.status_code == 401 and attempt < attempts - 1:
                self.forget_token()
                continue
            return response
        raise AssertionError("unreachable")

    def airflow_get(self, path: str, **params: Any) -> requests.Response:
        return self.airflow_request("GET", path, params=params)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """A GET's JSON body; raises on an error status."""
        response = self.airflow_get(path, **params)
        response.raise_for_status()
        return response.json()

    def paged(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list endpoint, 100 at a time."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(path, limit=100, offset=len(items), **params)[key]
            items.extend(page)
            if len(page) < 100:
                return items

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id`` and the API knows it."""
        wait_until(
            lambda: self.airflow_get(f"/api/v2/dags/{dag_id}").status_code == 200,
            timeout=timeout,
            interval=1,
            what=f"DAG {dag_id} in Airflow",
        )

    def set_paused(self, dag_id: str, paused: bool) -> None:
        response = self.airflow_request(
            "PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused}
        )
        response.raise_for_status()

    def dag_runs(self, dag_id: str, run_id_prefix: str) -> list[dict[str, Any]]:
        """Every run whose id starts with ``run_id_prefix`` (paged, 100 at a time)."""
        runs = self.paged(
            f"/api/v2/dags/{dag_id}/dagRuns", "dag_runs", run_id_pattern=run_id_prefix
        )
        return [r for r in runs if r["dag_run_id"].startswith(run_id_prefix)]

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any] | None:
        """A task instance, or None while it does not exist yet."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        response = self.airflow_get(path)
        return response.json() if response.ok else None

    def mark_failed(self, dag_id: str, run_ids: list[str]) -> None:
        """End queued runs without executing them (one request at a time: SQLite)."""
        for run_id in run_ids:
            self.airflow_request(
                "PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"}
            ).raise_for_status()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        run_id = f"manual__{uuid.uuid4().hex[:10]}"
        response = self.airflow_request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf},
        )
        response.raise_for_status()
        return run_id

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise AssertionError(f"{dag_id} run {run_id} stuck in {state}")


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


@dataclass
class StandaloneStack(Stack):
    """``airflow standalone`` (SQLite) + gunicorn receiver + forwarder."""

    STOP_FIRST: ClassVar[tuple[str, ...]] = ("forwarder", "receiver", "airflow")

    def start_airflow(self, timeout: float = 240) -> None:
        """``airflow standalone``, until healthy and the DAGs the tests use are parsed."""
        self.spawn("airflow", [AIRFLOW, "standalone"], self.airflow_env)
        self.wait_for_airflow("airflow", timeout)
        self.wait_for_dag(self.env.get("SINTEGRE_DAG_ID", "sintegre_generic"))
        self.wait_for_dag("sintegre_freshness")

    def stop_airflow(self) -> None:
        self.forget_token()
        self.stop("airflow")

    def restart_airflow(self, dag_id: str = "sintegre_generic", timeout: float = 600) -> None:
        """Stop ``airflow standalone`` (SIGTERM to its group) and start it again."""
        self.stop_airflow()
        time.sleep(3)  # the forwarder meets the outage and backs off
        self.spawn("airflow", [AIRFLOW, "standalone"], self.airflow_env)
        self.wait_for_airflow("airflow", timeout)
        self.wait_for_dag(dag_id, timeout=300)


class AlertRecorder:
    """A real HTTP endpoint standing for an alerting webhook; keeps every JSON body posted."""

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def build_stack(
    tmp: Path,
    ca_path: Path,
    *,
    webhook_password: str,
    admin_password: str,
    alert_url: str | None = None,
) -> StandaloneStack:
    """Prepare (not start) a standalone stack under ``tmp`` that trusts the simulator's CA."""
    log_dir = tmp / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    receiver_port, airflow_port = free_port(), free_port()
    airflow_password = "airflow-e2e-pass"
    env = stack_env(
        tmp,
        ca_path,
        receiver_port=receiver_port,
        airflow_port=airflow_port,
        airflow_password=airflow_password,
        webhook_password=webhook_password,
        admin_password=admin_password,
        SINTEGRE_ALERT_WEBHOOK_URL=alert_url or "",
    )
    airflow_env = airflow_environment(
        load_settings(env),
        airflow_home=tmp / "airflow",
        password=airflow_password,
        base=env,
        fast=True,
    )
    return StandaloneStack(
        tmp=tmp,
        env=env,
        airflow_env=airflow_env,
        receiver_port=receiver_port,
        airflow_port=airflow_port,
        log_dir=log_dir,
    )
