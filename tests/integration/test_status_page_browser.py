"""The status page rendered by a real headless Chromium (Debian's package, no download)."""

from __future__ import annotations

import pytest

from helpers.browser import ARTIFACTS, chromium, needs_chromium, serve
from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, make_payload, ons_url, to_body
from sintegre.intake.receiver import create_app

pytestmark = needs_chromium


@pytest.fixture
def served(settings, tmp_path):
    app = create_app(settings)
    client = app.test_client()
    inbox = app.extensions["sintegre"]["inbox"]
    ids = {}
    for index, state in enumerate(["succeeded", "failed", "expired", "received"]):
        payload = make_payload(
            nome=f"Produto {state}", url=ons_url(nbf=1_900_000_300 + index, product_id=950 + index)
        )
        response = client.post(
            "/sintegre/default",
            data=to_body(payload),
            headers={"Authorization": _basic()},
        )
        ids[state] = response.get_json()["id"]
        if state != "received":
            inbox.update(ids[state], status=state, last_error=f"motivo {state}")
    client.post("/sintegre/default", data=b"{quebrado", headers={"Authorization": _basic()})
    server = serve(app)
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def _basic() -> str:
    from helpers.webhook import WEBHOOK_PASSWORD, WEBHOOK_USER, basic

    return basic(WEBHOOK_USER, WEBHOOK_PASSWORD)


def test_status_page_in_a_real_browser(served, tmp_path):
    url = f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@{served}/"
    dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom").stdout
    assert "<title>SINtegre → lake: status</title>" in dom
    for state in ("succeeded", "failed", "expired", "received"):
        assert f"Produto {state}" in dom
        assert f"motivo {state}" in dom or state == "received"
    assert 'class="alert"' in dom  # failed and expired stand out
    assert "unreadable_body" in dom  # the refused request is listed
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status_page.png"
    shot.unlink(missing_ok=True)
    chromium(
        f"--screenshot={shot}", "--window-size=1400,900", url, profile=tmp_path / "profile-png"
    )
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
