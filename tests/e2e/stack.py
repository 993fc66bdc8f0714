"""The whole system as real processes: Airflow standalone, gunicorn receiver, forwarder.

Started once per test session (Airflow takes ~25 s to come up); individual parts can be
stopped, killed and restarted by the drills.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

from sintegre.core.settings import PROJECT_ROOT, load_settings
from sintegre_dev.devstack import airflow_environment, stop_process_group, wait_for_airflow

PY = sys.executable
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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def system_ca_bundle() -> Path:
    """The system CA bundle (what a normal deployment trusts)."""
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).exists():
            return Path(candidate)
    import certifi

    return Path(certifi.where())


@dataclass
class Stack:
    """Handles on every running part and the environment they share."""

    root: Path
    env: dict[str, str]
    airflow_env: dict[str, str]
    receiver_port: int
    airflow_port: int
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://localhost:{self.airflow_port}"

    @property
    def lake(self) -> Path:
        return Path(self.env["LAKE_URI"])

    @property
    def settings(self):
        return load_settings(self.env)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        handle = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - child owns it
        process = subprocess.Popen(
            args,
            env=env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        self.processes[name] = process
        return process

    # --- receiver -------------------------------------------------------------------------
    def start_receiver(self, workers: int = 2) -> None:
        self._spawn(
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
            self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.receiver_url}/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("the receiver did not come up; see receiver.log")

    def kill_receiver(self) -> None:
        process = self.processes.pop("receiver")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    # --- forwarder ------------------------------------------------------------------------
    def start_forwarder(self) -> None:
        self._spawn("forwarder", [PY, "-m", "sintegre.cli.forwarder"], self.env)

    def stop_forwarder(self) -> None:
        stop_process_group(self.processes.pop("forwarder"))

    # --- airflow --------------------------------------------------------------------------
    def start_airflow(self) -> None:
        process = self._spawn(
            "airflow", [str(Path(PY).parent / "airflow"), "standalone"], self.airflow_env
        )
        if not wait_for_airflow(self.airflow_url, timeout=240, process=process):
            raise RuntimeError(f"Airflow did not become healthy; see {self.log_dir}/airflow.log")
        self.wait_for_dag(self.env.get("SINTEGRE_DAG_ID", "sintegre_generic"))
        self.wait_for_dag("sintegre_freshness")

    def stop_airflow(self) -> None:
        self._token = None  # a restarted Airflow may sign with another secret
        stop_process_group(self.processes.pop("airflow"))

    def airflow_token(self) -> str:
        """A JWT, reused for a few minutes: a login per call is slow under load."""
        cached = getattr(self, "_token", None)
        if cached and time.monotonic() - cached[1] < 300:
            return cached[0]
        last: Exception | None = None
        for _ in range(3):  # a loaded 2-core machine can take long to answer a login
            try:
                response = requests.post(
                    f"{self.airflow_url}/auth/token",
                    json={"username": "admin", "password": self.env["AIRFLOW_PASSWORD"]},
                    timeout=60,
                )
                response.raise_for_status()
                token = response.json()["access_token"]
                self._token = (token, time.monotonic())
                return token
            except requests.RequestException as error:
                last = error
                time.sleep(2)
        assert last is not None
        raise last

    def airflow_get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.airflow_url}{path}",
            headers={"Authorization": f"Bearer {self.airflow_token()}"},
            params=params,
            timeout=30,
        )

    def _airflow(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.airflow_url}{path}",
            headers={"Authorization": f"Bearer {self.airflow_token()}"},
            timeout=30,
            **kwargs,
        )

    def set_paused(self, dag_id: str, paused: bool) -> None:
        response = self._airflow("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})
        response.raise_for_status()

    def dag_runs(self, dag_id: str, run_id_prefix: str) -> list[dict[str, Any]]:
        """Every run whose id starts with ``run_id_prefix`` (paged, 100 at a time)."""
        runs: list[dict[str, Any]] = []
        token = self.airflow_token()
        while True:
            response = requests.get(
                f"{self.airflow_url}/api/v2/dags/{dag_id}/dagRuns",
                headers={"Authorization": f"Bearer {token}"},
                params={"limit": 100, "offset": len(runs), "run_id_pattern": run_id_prefix},
                timeout=30,
            )
            response.raise_for_status()
            page = response.json()["dag_runs"]
            runs.extend(page)
            if len(page) < 100:
                return [r for r in runs if r["dag_run_id"].startswith(run_id_prefix)]

    def mark_failed(self, dag_id: str, run_ids: list[str]) -> None:
        """End queued drill runs without executing them (one request at a time: SQLite)."""
        token = self.airflow_token()
        for run_id in run_ids:
            response = requests.patch(
                f"{self.airflow_url}/api/v2/dags/{dag_id}/dagRuns/{run_id}",
                headers={"Authorization": f"Bearer {token}"},
                json={"state": "failed"},
                timeout=30,
            )
            response.raise_for_status()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        import uuid

        run_id = f"manual__{uuid.uuid4().hex[:10]}"
        response = self._airflow(
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
            state = self.airflow_get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise AssertionError(f"{dag_id} run {run_id} stuck in {state}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.airflow_get(f"/api/v2/dags/{dag_id}").status_code == 200:
                return
            time.sleep(1)
        raise RuntimeError(f"DAG {dag_id} never appeared in Airflow")

    def stop_all(self) -> None:
        for name in ("forwarder", "receiver", "airflow"):
            if name in self.processes:
                stop_process_group(self.processes.pop(name))


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
) -> Stack:
    """Prepare (not start) a stack under ``tmp`` that trusts the simulator's CA."""
    log_dir = tmp / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    bundle = tmp / "ca-bundle.pem"
    bundle.write_bytes(system_ca_bundle().read_bytes() + b"\n" + ca_path.read_bytes())
    receiver_port, airflow_port = free_port(), free_port()
    airflow_password = "airflow-e2e-pass"
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT / "include"),
            "SINTEGRE_PROJECT_ROOT": str(PROJECT_ROOT),
            "SINTEGRE_STATE_DIR": str(tmp / "state"),
            "LAKE_URI": str(tmp / "lake"),
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
            "SINTEGRE_ALERT_WEBHOOK_URL": alert_url or "",
        }
    )
    settings = load_settings(env)
    airflow_env = airflow_environment(
        settings, airflow_home=tmp / "airflow", password=airflow_password, base=env, fast=True
    )
    return Stack(
        root=PROJECT_ROOT,
        env=env,
        airflow_env=airflow_env,
        receiver_port=receiver_port,
        airflow_port=airflow_port,
        log_dir=log_dir,
    )
