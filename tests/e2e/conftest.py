"""One real Airflow (standalone, SQLite), receiver and forwarder for the whole e2e session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from stack import MEASUREMENTS, AlertRecorder, StandaloneStack, build_stack

from helpers.webhook import basic
from sintegre_dev.simulator import SimulatorServer

E2E_WEBHOOK_PASSWORD = "webhook-e2e-s3nh4"
E2E_ADMIN_PASSWORD = "admin-e2e-s3nh4"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorServer]:
    """The SINtegre stand-in over HTTPS on localhost, with a CA the stack is told to trust."""
    with SimulatorServer(cert_dir=tmp_path_factory.mktemp("sim-ca")) as server:
        yield server


@pytest.fixture(scope="session")
def alerts() -> Iterator[AlertRecorder]:
    """Where the freshness DAG's webhook notifier posts."""
    recorder = AlertRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, simulator: SimulatorServer, alerts: AlertRecorder
) -> Iterator[StandaloneStack]:
    """Airflow standalone + gunicorn receiver + forwarder, started once."""
    root = tmp_path_factory.mktemp("stack")
    running = build_stack(
        root,
        simulator.ca_path,
        webhook_password=E2E_WEBHOOK_PASSWORD,
        admin_password=E2E_ADMIN_PASSWORD,
        alert_url=alerts.url,
    )
    started = time.monotonic()
    try:
        running.start_receiver()
        running.start_forwarder()
        running.start_airflow()
        MEASUREMENTS["stack_start_seconds"] = round(time.monotonic() - started, 1)
        yield running
    finally:
        running.stop_all()


class Webhook:
    """Send notifications to the running receiver and follow them through the admin API."""

    def __init__(self, stack: StandaloneStack) -> None:
        self.stack = stack
        #: Every token sent and every id accepted, for the secrets-in-logs check.
        self.sent_tokens: list[str] = []
        self.accepted_ids: list[str] = []
        self.auth = basic("ons", E2E_WEBHOOK_PASSWORD)
        self.admin = basic("operador", E2E_ADMIN_PASSWORD)

    def send(self, payload: dict[str, Any], integration: str = "default") -> requests.Response:
        import json

        url = str(payload.get("url", ""))
        if "token=" in url:
            self.sent_tokens.append(url.split("token=", 1)[1])
        response = requests.post(
            f"{self.stack.receiver_url}/sintegre/{integration}",
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Authorization": self.auth, "Content-Type": "application/json"},
            timeout=30,
        )
        if response.status_code == 200:
            self.accepted_ids.append(response.json()["id"])
        return response

    def notification(self, notification_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.stack.receiver_url}/api/notifications/{notification_id}",
            headers={"Authorization": self.admin},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def wait_for(
        self, notification_id: str, statuses: set[str], timeout: float = 240
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        view: dict[str, Any] = {}
        while time.monotonic() < deadline:
            view = self.notification(notification_id)
            if view["status"] in statuses:
                return view
            time.sleep(0.5)
        raise AssertionError(f"{notification_id} stuck in {view.get('status')}: {view}")

    def wait_for_field(
        self, notification_id: str, field: str, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        view: dict[str, Any] = {}
        while time.monotonic() < deadline:
            view = self.notification(notification_id)
            if view.get(field):
                return view
            time.sleep(0.5)
        raise AssertionError(f"{notification_id} never got {field}: {view}")


@pytest.fixture(scope="session")
def webhook(stack: StandaloneStack) -> Webhook:
    return Webhook(stack)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASUREMENTS:
        terminalreporter.write_sep("-", "e2e measurements")
        for key, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{key}: {value}")
