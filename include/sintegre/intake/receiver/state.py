"""What every blueprint of the receiver shares: settings, inbox, integrations, refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from flask import Response, current_app, jsonify

from sintegre.core.settings import Settings
from sintegre.intake.inbox import Inbox
from sintegre.intake.receiver.integrations import Integration
from sintegre.intake.receiver.refusals import RefusalBuffer

__all__ = ["ReceiverState", "airflow_reachable", "error", "state"]


@dataclass(frozen=True)
class ReceiverState:
    """The receiver's wiring, built once by ``create_app``."""

    settings: Settings
    inbox: Inbox
    integrations: dict[str, Integration]
    refusals: RefusalBuffer

    def as_extension(self) -> dict[str, Any]:
        """The ``app.extensions["sintegre"]`` mapping (tests and tools read it by key)."""
        return {
            "settings": self.settings,
            "inbox": self.inbox,
            "integrations": self.integrations,
            "refusals": self.refusals,
            "state": self,
        }


def state() -> ReceiverState:
    """The current app's :class:`ReceiverState` (inside a request)."""
    shared: ReceiverState = current_app.extensions["sintegre"]["state"]
    return shared


def error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    """A JSON error answer: ``{"error": message, ...}``."""
    return jsonify({"error": message, **extra}), status


def airflow_reachable(settings: Settings) -> bool:
    """Whether Airflow's health endpoint answers within a second (reported, never required)."""
    try:
        return requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=1).ok
    except requests.RequestException:
        return False
