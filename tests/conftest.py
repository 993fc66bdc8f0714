"""Shared fixtures: settings on a temporary state folder, the Flask app and its client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpers.webhook import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ONS_HOST,
    WEBHOOK_PASSWORD,
    WEBHOOK_USER,
    basic,
    to_body,
)
from sintegre.core.settings import Settings, load_settings
from sintegre.intake.receiver import create_app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A complete environment for the receiver, isolated in ``tmp_path``."""
    return {
        "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
        "LAKE_URI": str(tmp_path / "lake"),
        "SINTEGRE_WEBHOOK_AUTH": "basic",
        "SINTEGRE_WEBHOOK_USER": WEBHOOK_USER,
        "SINTEGRE_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
        "SINTEGRE_ADMIN_USER": ADMIN_USER,
        "SINTEGRE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": ONS_HOST,
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    """Settings read from ``env``."""
    return load_settings(env)


@pytest.fixture
def app(settings: Settings) -> Flask:
    """The receiver app on a fresh SQLite inbox."""
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client."""
    return app.test_client()


@pytest.fixture
def post(client: FlaskClient) -> Callable[..., Any]:
    """POST a payload (dict or bytes) to the default integration with valid Basic auth."""

    def _post(payload: dict[str, Any] | bytes, *, auth: str | None = None, path: str = "default"):
        body = payload if isinstance(payload, bytes) else to_body(payload)
        headers = {"Content-Type": "application/json"}
        headers["Authorization"] = (
            auth if auth is not None else basic(WEBHOOK_USER, WEBHOOK_PASSWORD)
        )
        return client.post(f"/sintegre/{path}", data=body, headers=headers)

    return _post


def _expected_of(item: pytest.Item) -> str | None:
    """What a test promises: its docstring's ``expected: ...`` paragraph, or its status param."""
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    if paragraph.lower().startswith("expected:"):
        return paragraph[len("expected:") :].strip()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if isinstance(params.get("status"), int):
        field = params.get("field")
        return f"HTTP {params['status']}" + (f", the answer names {field!r}" if field else "")
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Carry each test's expectation into pytest's junit XML (``make test`` writes one).

    junit XML has no docstrings; ``bench/report.py`` builds the drills table of BENCHMARKS.md
    from these properties. Same effect as ``record_property``, set once at collection.
    """
    marker = item.get_closest_marker("drill")
    if marker is not None:
        # @pytest.mark.drill("what must happen"): a row of BENCHMARKS.md's drills table.
        item.user_properties.append(("drill", item.name))
        item.user_properties.append(("expected", str(marker.args[0])))
        return
    expected = _expected_of(item)
    if expected:
        item.user_properties.append(("expected", expected))
