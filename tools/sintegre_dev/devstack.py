"""``make run``: Airflow standalone (SQLite), the receiver and the forwarder on one machine.

Every child runs in its own process group, so stopping (Ctrl-C, or SIGTERM to ``make``) takes
down Airflow's own subprocesses too. Nothing reads the terminal: it also runs in the
background (``nohup make run &``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from sintegre.core.settings import Settings, load_settings

STOP_GRACE_SECONDS = 20.0


def _persisted_secret(path: Path) -> str:
    """A random secret kept in the state folder, so restarts keep the same credentials."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    path.write_text(value)
    path.chmod(0o600)
    return value


def airflow_environment(
    settings: Settings,
    *,
    airflow_home: Path,
    password: str,
    base: Mapping[str, str] | None = None,
    fast: bool = False,
) -> dict[str, str]:
    """The environment under which ``airflow standalone`` and its task workers run.

    Args:
        settings: Project settings (ports, paths).
        airflow_home: ``AIRFLOW_HOME`` (SQLite database, logs, generated config).
        password: The admin password, pre-seeded so it is known before Airflow starts.
        base: The environment to extend (``os.environ`` when omitted).
        fast: Short heartbeats and parsing intervals, for tests.
    """
    env = dict(os.environ if base is None else base)
    venv_bin = str(Path(sys.executable).parent)
    include = str(settings.project_root / "include")
    airflow_home.mkdir(parents=True, exist_ok=True)
    # standalone reads this file instead of generating a random password.
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    passwords.write_text(json.dumps({settings.airflow_user: password}))
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            # standalone spawns `airflow` subprocesses: the venv's bin must come first.
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(p for p in (include, env.get("PYTHONPATH")) if p),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.project_root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.project_root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_user}:admin",
            "AIRFLOW__API__PORT": str(settings.airflow_port),
            # Task workers reach the execution API through this URL: it must match the port.
            "AIRFLOW__API__BASE_URL": f"http://localhost:{settings.airflow_port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": (
                f"http://localhost:{settings.airflow_port}/execution/"
            ),
            "SINTEGRE_PROJECT_ROOT": str(settings.project_root),
            "LAKE_URI": settings.lake_uri,
            # SQLite has one writer: with a task per DAG of a burst running at once (one DAG
            # per product), task state updates and the scheduler's lock each other out until
            # the scheduler dies on "database is locked". Four at a time keeps it alive.
            "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM", "4"),
        }
    )
    if fast:
        env.update(
            {
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
                # A task whose supervisor died is failed (and retried) after 30 s, not 5 min.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "SINTEGRE_TASK_RETRY_DELAY_SECONDS": env.get(
                    "SINTEGRE_TASK_RETRY_DELAY_SECONDS", "1"
                ),
            }
        )
    return env


def wait_for_airflow(
    url: str, timeout: float = 180.0, process: subprocess.Popen | None = None
) -> bool:
    """Poll Airflow's health endpoint until the scheduler and the database are healthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            health = requests.get(f"{url}/api/v2/monitor/health", timeout=3).json()
            if (
                health.get("metadatabase", {}).get("status") == "healthy"
                and health.get("scheduler", {}).get("status") == "healthy"
            ):
                return True
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    return False


def stop_process_group(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM a child's whole process group, then SIGKILL what is left after ``grace``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    # Stragglers of the group get SIGKILL, even when the leader already left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


#: The receiver's gunicorn shape; see :func:`receiver_command` for why.
RECEIVER_WORKERS = 2


def receiver_command(
    bind: str,
    *,
    app: str = "sintegre.intake.receiver.wsgi:app",
    workers: int = RECEIVER_WORKERS,
    threads: int | None = None,
) -> list[str]:
    """The gunicorn command line that serves the receiver (``make run``, and the benchmark).

    gevent's worker (one OS thread a process, a greenlet a request) rather than threads: the
    notifications a process has read share one SQLite commit, and so one fsync (see
    ``Inbox.store``), with no thread waiting for the GIL or a core in between (issue #17:
    +40% accepted/s over eight ``gthread`` threads, measured with ``bench.receiver_ab``);
    keep-alive connections are kept. Two processes use both cores of the reference machine.

    Args:
        bind: ``host:port``.
        app: The WSGI app (the benchmark serves its trivial baseline app the same way).
        workers: Processes.
        threads: ``None`` for gevent's worker; else threads per process (``gthread`` when
            more than one, gunicorn's sync worker for one), as the benchmark compares.

    Returns:
        ``argv`` for :class:`subprocess.Popen`.
    """
    args = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(workers)]
    if threads is None:
        args += ["--worker-class", "gevent"]
    elif threads > 1:
        args += ["--worker-class", "gthread", "--threads", str(threads)]
    return [*args, "--bind", bind, app]


@dataclass
class Child:
    """A supervised child process."""

    name: str
    process: subprocess.Popen
    log_path: Path


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
    log_path = log_dir / f"{name}.log"
    handle = open(log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    process = subprocess.Popen(
        args,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    return Child(name, process, log_path)


def main() -> int:
    """Start everything, print where to go, and stop everything on SIGINT/SIGTERM."""
    settings = load_settings()
    state = settings.state_dir
    log_dir = state / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if "://" not in settings.lake_uri:  # an s3:// lake has no local folder to make
        Path(settings.lake_uri).mkdir(parents=True, exist_ok=True)
    if shutil.which("airflow", path=str(Path(sys.executable).parent)) is None:
        print("airflow is not installed in this venv; run `make install`", file=sys.stderr)
        return 2

    airflow_password = settings.airflow_password.get_secret_value() or _persisted_secret(
        state / "secrets" / "airflow_admin_password"
    )
    admin_password = (
        settings.admin_password.get_secret_value() if settings.admin_password else None
    ) or _persisted_secret(state / "secrets" / "receiver_admin_password")
    base_env = dict(os.environ)
    base_env.update(
        {
            "AIRFLOW_PASSWORD": airflow_password,
            "SINTEGRE_ADMIN_PASSWORD": admin_password,
            "SINTEGRE_PROJECT_ROOT": str(settings.project_root),
            "PYTHONPATH": os.pathsep.join(
                p
                for p in (str(settings.project_root / "include"), os.environ.get("PYTHONPATH"))
                if p
            ),
        }
    )
    demo = settings.demo
    if demo:
        # The one demo setting: downloads from the local simulator (https://localhost, its CA).
        from sintegre_dev.demo import ensure_simulator_ca

        bundle = str(ensure_simulator_ca(settings))
        hosts = ",".join(dict.fromkeys([*settings.allowed_download_hosts, "localhost"]))
        base_env.update(
            {
                "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": hosts,
                "REQUESTS_CA_BUNDLE": bundle,
                "SSL_CERT_FILE": bundle,
            }
        )
    airflow_env = airflow_environment(
        settings, airflow_home=state / "airflow", password=airflow_password, base=base_env
    )
    py = sys.executable
    bind = f"{settings.receiver_host}:{settings.receiver_port}"
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)

    children = [
        _start("receiver", receiver_command(bind), base_env, log_dir),
        _start("forwarder", [py, "-m", "sintegre.cli.forwarder"], airflow_env | base_env, log_dir),
        _start("airflow", [str(Path(py).parent / "airflow"), "standalone"], airflow_env, log_dir),
    ]
    webhook = f"{settings.webhook_base_url}/default"
    print(
        "\nSINtegre lake is starting (Ctrl-C stops everything)\n"
        f"  Webhook (give this to SINtegre): {webhook}   auth: {settings.webhook_auth}\n"
        f"  Receiver admin API:  http://localhost:{settings.receiver_port}/api/notifications"
        f"   user {settings.admin_user} / password {admin_password}\n"
        f"  Airflow UI:          {settings.airflow_url}   user {settings.airflow_user} / "
        f"password {airflow_password}\n"
        f"  Lake:                {settings.lake_uri}\n"
        f"  Logs:                {log_dir}/{{receiver,forwarder,airflow}}.log\n"
        + (
            "  Demo mode:           the local simulator is a download source: `make demo`\n"
            if demo
            else ""
        ),
        flush=True,
    )
    airflow_ready_reported = False
    exit_code = 0
    started = time.monotonic()
    while not stopping:
        for child in children:
            code = child.process.poll()
            if code is not None:
                print(f"{child.name} exited with code {code}; see {child.log_path}", flush=True)
                stopping, exit_code = True, 1
        if not airflow_ready_reported and not stopping:
            try:
                health = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=2)
                if health.ok and health.json().get("scheduler", {}).get("status") == "healthy":
                    airflow_ready_reported = True
                    print(
                        f"Airflow is ready after {time.monotonic() - started:.0f}s: "
                        f"{settings.airflow_url}",
                        flush=True,
                    )
            except (requests.RequestException, ValueError):
                pass
        time.sleep(1)
    print("stopping…", flush=True)
    for child in reversed(children):
        stop_process_group(child.process)
    print("all stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
