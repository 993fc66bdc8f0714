"""What operators see: status page, metrics, health, replay, JSON logs (Flask test client)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, basic, make_payload, ons_url, to_body
from sintegre.core.logs import JsonFormatter
from sintegre.intake.inbox import Inbox
from sintegre.intake.receiver.metrics import CONTENT_TYPE_LATEST, LATENCY_BUCKETS, render_metrics

ADMIN = {"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)}


def _inbox(app) -> Inbox:
    return app.extensions["sintegre"]["inbox"]


def _metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing"
    return float(match.group(1))


def test_metrics_after_a_known_sequence(client, post, app):
    first = post(make_payload(url=ons_url(nbf=1_900_000_001))).get_json()["id"]
    post(make_payload(url=ons_url(nbf=1_900_000_002)))
    body = to_body(make_payload(url=ons_url(nbf=1_900_000_003)))
    post(body)
    post(body)  # duplicate
    post(b"{broken")  # 400
    post(make_payload(nome=None))  # 422 nome
    post(make_payload(), auth=basic("ons", "wrong"))  # 401
    post(make_payload(), path="nope")  # 404
    inbox = _inbox(app)
    inbox.update(
        first,
        status="triggered",
        triggered_at=inbox.get(first)["received_at"] + 2.5,
        event="triggered",
    )
    inbox.update(first, status="failed", event="failed")

    text = client.get("/metrics").get_data(as_text=True)
    assert client.get("/metrics").mimetype == "text/plain"
    assert _metric(text, "sintegre_notifications_accepted_total") == 3
    assert _metric(text, "sintegre_notifications_duplicate_total") == 1
    assert _metric(text, "sintegre_notifications_triggered_total") == 1
    assert _metric(text, "sintegre_notifications_failed_total") == 1
    assert _metric(text, "sintegre_notifications_succeeded_total") == 0
    assert _metric(text, "sintegre_notifications_expired_total") == 0
    rejected = "sintegre_notifications_rejected_total"
    assert _metric(text, rejected, '{reason="unreadable_body"}') == 1
    assert _metric(text, rejected, '{reason="invalid_nome"}') == 1
    assert _metric(text, rejected, '{reason="unauthorized"}') == 1
    assert _metric(text, rejected, '{reason="unknown_integration"}') == 1
    assert _metric(text, "sintegre_inbox_backlog") == 2
    assert _metric(text, "sintegre_notifications", '{status="failed"}') == 1
    assert _metric(text, "sintegre_trigger_latency_seconds_count") == 1
    assert _metric(text, "sintegre_trigger_latency_seconds_bucket", '{le="2"}') == 0
    assert _metric(text, "sintegre_trigger_latency_seconds_bucket", '{le="5"}') == 1
    assert _metric(text, "sintegre_inbox_oldest_pending_age_seconds") >= 0


def test_metrics_are_shared_by_every_process(app, post, settings):
    post(make_payload())
    # A second Inbox on the same file stands for another gunicorn worker.
    other = Inbox(settings.inbox_url)
    assert _metric(render_metrics(other), "sintegre_notifications_accepted_total") == 1


def test_metrics_parse_as_prometheus_exposition(client, post, app):
    """Names, types, help texts and labels as Prometheus reads them (its own parser)."""
    post(make_payload())
    post(b"{broken")
    answer = client.get("/metrics")
    assert answer.content_type == CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(answer.get_data(as_text=True))}
    accepted = families["sintegre_notifications_accepted"]
    assert (accepted.type, accepted.documentation) == (
        "counter",
        "Notifications stored (answered 200 received).",
    )
    assert [(s.name, s.value) for s in accepted.samples] == [
        ("sintegre_notifications_accepted_total", 1)
    ]
    rejected = families["sintegre_notifications_rejected"].samples
    assert [(s.labels, s.value) for s in rejected] == [({"reason": "unreadable_body"}, 1)]
    states = {s.labels["status"]: s.value for s in families["sintegre_notifications"].samples}
    assert families["sintegre_notifications"].type == "gauge"
    assert states["received"] == 1 and "duplicate" not in states
    assert families["sintegre_inbox_backlog"].samples[0].value == 1
    assert families["sintegre_inbox_oldest_pending_age_seconds"].type == "gauge"
    latency = families["sintegre_trigger_latency_seconds"]
    assert latency.type == "histogram"
    buckets = [s.labels["le"] for s in latency.samples if s.name.endswith("_bucket")]
    assert buckets == [*(str(b) for b in LATENCY_BUCKETS), "+Inf"]
    assert {s.name: s.value for s in latency.samples if not s.name.endswith("_bucket")} == {
        "sintegre_trigger_latency_seconds_count": 0,
        "sintegre_trigger_latency_seconds_sum": 0,
    }


def test_healthz_and_readyz(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["inbox_writable"] is True
    assert body["airflow_reachable"] is False  # nothing listens: reported, still ready


def test_readyz_is_503_when_the_inbox_cannot_write(client, app, monkeypatch):
    monkeypatch.setattr(_inbox(app), "writable", lambda: False)
    assert client.get("/readyz").status_code == 503


def test_status_page_shows_each_state_and_refusals(client, post, app):
    ids = {}
    for index, state in enumerate(["received", "succeeded", "failed", "expired"]):
        payload = make_payload(
            nome=f"Produto {state}", url=ons_url(nbf=1_900_000_100 + index, product_id=900 + index)
        )
        ids[state] = post(payload).get_json()["id"]
    inbox = _inbox(app)
    inbox.update(ids["succeeded"], status="succeeded")
    inbox.update(ids["failed"], status="failed", last_error="SINtegre refused the download (403)")
    inbox.update(ids["expired"], status="expired")
    drift = {"produto_901": {"missing": ["carga"], "unexpected": ["carga_mwmed"]}}
    inbox.update(ids["succeeded"], schema_drift=json.dumps(drift))
    post(make_payload(url="http://apps08.ons.org.br/x?token=abc"))  # refused 422, redacted
    assert client.get("/").status_code == 401
    page = client.get("/", headers=ADMIN).get_data(as_text=True)
    for state in ("received", "succeeded", "failed", "expired"):
        assert f"Produto {state}" in page
        assert f'<span class="badge s-{state}">{state}</span>' in page
    assert "SINtegre refused the download (403)" in page
    assert page.count('class="alert"') >= 2  # failed and expired stand out
    assert "invalid_url" in page
    assert "token=&lt;redacted&gt;" in page and "token=abc" not in page
    assert f"/dags/sintegre_generic/runs/{inbox.get(ids['failed'])['dag_run_id']}" in page
    assert "/lake/produto_902" in page  # uncatalogued: named by the token's product id
    # A landing whose columns differ from the catalog says so (it landed anyway).
    assert "schema drift" in page and "missing carga" in page and "new carga_mwmed" in page
    assert page.count('class="alert"') >= 3


def test_status_page_flags_unexpected_products(env, tmp_path):
    from sintegre.core.settings import load_settings
    from sintegre.intake.receiver import create_app
    from sintegre.intake.receiver.integrations import Integration

    integrations = {
        "default": Integration(name="default", auth="none", expected_product_ids=(230,))
    }
    app = create_app(load_settings(env), integrations=integrations)
    client = app.test_client()
    client.post(
        "/sintegre/default", data=to_body(make_payload(nome="Outro", url=ons_url(product_id=777)))
    )
    page = client.get("/", headers=ADMIN).get_data(as_text=True)
    assert '<span class="badge unexpected">unexpected</span>' in page


def test_replay_endpoint_gives_a_new_run_id(client, post, app):
    notification_id = post(make_payload()).get_json()["id"]
    inbox = _inbox(app)
    first_run = inbox.get(notification_id)["dag_run_id"]
    inbox.update(notification_id, status="triggered")
    assert (
        client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN).status_code
        == 409
    )
    inbox.update(notification_id, status="failed", last_error="boom")
    assert client.post(f"/api/notifications/{notification_id}/replay").status_code == 401
    response = client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN)
    assert response.status_code == 200
    view = response.get_json()
    assert view["status"] == "received"
    assert view["dag_run_id"] == f"{first_run}__r1"
    assert view["last_error"] is None
    inbox.update(notification_id, status="failed")
    client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN)
    assert inbox.get(notification_id)["dag_run_id"] == f"{first_run}__r2"
    assert client.post("/api/notifications/nope/replay", headers=ADMIN).status_code == 404


@pytest.mark.drill(
    "#14.6 a cross-site POST with the operator's cached credentials: 403, nothing replayed;"
    " same-origin and curl still work"
)
def test_cross_site_replays_are_refused_same_site_and_scripts_are_not(client, post, app):
    """CSRF: a form on another site POSTing with the operator's cached Basic credentials."""
    inbox = _inbox(app)
    notification_id = post(make_payload()).get_json()["id"]
    inbox.update(notification_id, status="failed", last_error="boom")
    hostile = [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},  # an older browser without Sec-Fetch-*
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site too
        {"Origin": "null"},  # sandboxed iframes, data: URLs
    ]
    for headers in hostile:
        for url in (f"/api/notifications/{notification_id}/replay", "/api/replay"):
            response = client.post(url, headers={**ADMIN, **headers})
            assert response.status_code == 403, (url, headers)
            assert "cross-site" in response.get_json()["error"]
    assert inbox.get(notification_id)["status"] == "failed"  # nothing replayed
    own = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    response = client.post(f"/api/notifications/{notification_id}/replay", headers={**ADMIN, **own})
    assert response.status_code == 200  # the status page's own origin
    inbox.update(notification_id, status="failed")
    # curl and the CLI send neither header: allowed
    assert (
        client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN).status_code
        == 200
    )
    # reading stays possible from anywhere with the credentials (no state changes)
    assert client.get("/api/notifications", headers={**ADMIN, **hostile[0]}).status_code == 200


def test_bulk_replay_and_cli(client, post, app, env, monkeypatch, capsys):
    from sintegre.cli import replay

    a = post(make_payload(url=ons_url(nbf=1_900_000_201))).get_json()["id"]
    b = post(make_payload(url=ons_url(nbf=1_900_000_202))).get_json()["id"]
    inbox = _inbox(app)
    inbox.update(a, status="failed")
    inbox.update(b, status="expired")
    response = client.post("/api/replay?status=failed", headers=ADMIN)
    assert sorted(response.get_json()["replayed"]) == sorted([a, b])
    inbox.update(a, status="failed")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert replay.main(["--failed"]) == 0
    assert f"{a}: received" in capsys.readouterr().out
    assert inbox.get(a)["dag_run_id"].endswith("__r2")
    assert replay.main(["does-not-exist"]) == 1


def test_request_log_lines_are_json_with_ids_and_no_secrets(client, post, caplog):
    caplog.set_level(logging.INFO)
    payload = make_payload()
    token = payload["url"].split("token=")[1]
    answer = post(payload).get_json()
    post(make_payload(url=payload["url"].replace("https://", "http://")))
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    # One line per request: an accepted notification's line carries the request's fields.
    requests_logged = [line for line in lines if line.get("event") in ("request", "notification")]
    assert len(requests_logged) == 2
    assert requests_logged[0]["event"] == "notification"
    assert requests_logged[0]["notification_id"] == answer["id"]
    assert requests_logged[0]["dag_run_id"] == answer["dag_run_id"]
    assert requests_logged[0]["status"] == 200
    assert requests_logged[0]["path"] == "/sintegre/default"
    assert requests_logged[0]["duration_ms"] >= 0
    assert requests_logged[1]["event"] == "request"
    assert requests_logged[1]["status"] == 422
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert token not in text and "s3nh4" not in text


@pytest.mark.parametrize("state", ["received", "failed"])
def test_api_view_has_dag_run_link(client, post, app, state):
    notification_id = post(make_payload()).get_json()["id"]
    _inbox(app).update(notification_id, status=state)
    view = client.get(f"/api/notifications/{notification_id}", headers=ADMIN).get_json()
    assert view["dag_run_url"].endswith(f"/runs/{view['dag_run_id']}")


def test_replay_run_id_of_a_product_whose_name_starts_with_r(client, post, app):
    # "sintegre__replay__…" contains "__r": only a trailing "__r<n>" is a replay suffix.
    notification_id = post(make_payload(nome="Replay", url=ons_url(nbf=1_900_000_400))).get_json()[
        "id"
    ]
    inbox = _inbox(app)
    first = inbox.get(notification_id)["dag_run_id"]
    inbox.update(notification_id, status="failed")
    client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN)
    assert inbox.get(notification_id)["dag_run_id"] == f"{first}__r1"
    inbox.update(notification_id, status="failed")
    client.post(f"/api/notifications/{notification_id}/replay", headers=ADMIN)
    assert inbox.get(notification_id)["dag_run_id"] == f"{first}__r2"
