"""`make run` as a user runs it: in the background, answering before Airflow, stopping cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests
from stack import MEASUREMENTS

from helpers.processes import free_port
from helpers.webhook import make_payload, to_body
from sintegre.core.settings import PROJECT_ROOT


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment holds ``marker`` (every child inherits our unique state dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_for_line(log: Path, pattern: str, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never printed:\n{log.read_text(errors='replace')}")


def test_make_run_in_background_then_sigterm_to_make(tmp_path: Path):
    state = tmp_path / "state"
    receiver_port, airflow_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "SINTEGRE_STATE_DIR": str(state),
            "LAKE_URI": str(tmp_path / "lake"),
            "RECEIVER_PORT": str(receiver_port),
            "AIRFLOW_PORT": str(airflow_port),
            "SINTEGRE_WEBHOOK_AUTH": "none",
        }
    )
    for key in ("AIRFLOW_URL", "AIRFLOW_PASSWORD", "SINTEGRE_ADMIN_PASSWORD", "AIRFLOW_HOME"):
        env.pop(key, None)
    log = tmp_path / "make-run.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        # No terminal, stdin closed: as `nohup make run &` would run it.
        make = subprocess.Popen(
            ["make", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        webhook = _wait_for_line(log, r"Webhook \(give this to SINtegre\): (\S+)", 60).group(1)
        assert webhook == f"http://127.0.0.1:{receiver_port}/sintegre/default"
        admin = _wait_for_line(log, r"user admin / password (\S+)\n", 5).group(1)
        airflow_line = _wait_for_line(log, r"Airflow UI:\s+(\S+)\s+user admin / password (\S+)", 5)
        assert airflow_line.group(1) == f"http://localhost:{airflow_port}"

        # The receiver answers before Airflow is ready; the inbox keeps the notification.
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.post(webhook, data=to_body(make_payload()), timeout=5)
                break
            # Bound but still booting (a loaded machine): connection refused or no answer yet.
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "receiver never answered"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "Airflow is ready" not in log.read_text()
        MEASUREMENTS["make_run_receiver_answering_seconds"] = round(time.monotonic() - started, 1)
        listed = requests.get(
            f"http://127.0.0.1:{receiver_port}/api/notifications", auth=("admin", admin), timeout=5
        )
        assert listed.json()["notifications"][0]["id"] == response.json()["id"]

        _wait_for_line(log, r"Airflow is ready after \d+s", 180)
        MEASUREMENTS["make_run_airflow_ready_seconds"] = round(time.monotonic() - started, 1)
        token = requests.post(
            f"http://localhost:{airflow_port}/auth/token",
            json={"username": "admin", "password": airflow_line.group(2)},
            timeout=10,
        )
        assert token.status_code in (200, 201)
        assert _processes_with(str(state))
    finally:
        # SIGTERM to make alone (not its group): make passes it on, the launcher stops all.
        make.send_signal(signal.SIGTERM)
        make.wait(90)
    _wait_for_line(log, r"all stopped", 5)
    deadline = time.monotonic() + 10
    while _processes_with(str(state)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with(str(state)) == []
