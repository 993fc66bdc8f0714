"""The receiver through Flask's test client: every status code it can answer."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from helpers.webhook import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ONS_HOST,
    SUBSCRIBER_EMAIL,
    basic,
    make_payload,
    ons_url,
    to_body,
)
from sintegre.core.settings import load_settings
from sintegre.intake.inbox import Inbox
from sintegre.intake.receiver import create_app

RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]+$")


def admin(client: FlaskClient, path: str):
    return client.get(path, headers={"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)})


def test_accepts_a_valid_notification_and_stores_it_before_answering(post, app):
    response = post(make_payload())
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "received"
    assert body["dag_id"] == "sintegre__acomph"  # routed by the token's product id (230)
    assert RUN_ID.match(body["dag_run_id"])
    assert body["dag_run_id"].startswith("sintegre__acomph__2025-04-29__")
    inbox: Inbox = app.extensions["sintegre"]["inbox"]
    row = inbox.get(body["id"])
    assert row is not None and row["status"] == "received"


def test_byte_identical_repeat_is_a_duplicate_with_the_first_id(post, app):
    body = to_body(make_payload())
    first = post(body).get_json()
    second = post(body)
    assert second.status_code == 200
    assert second.get_json()["status"] == "duplicate"
    assert second.get_json()["id"] == first["id"]
    inbox: Inbox = app.extensions["sintegre"]["inbox"]
    assert inbox.count() == 1
    assert inbox.get(first["id"])["duplicates"] == 1


def test_same_product_and_period_with_a_new_token_is_a_new_delivery(post):
    first = post(make_payload(url=ons_url(nbf=1_900_000_000 - 100))).get_json()
    second = post(make_payload(url=ons_url(nbf=1_900_000_000 - 200))).get_json()
    assert first["id"] != second["id"]
    assert first["dag_run_id"] != second["dag_run_id"]
    assert second["status"] == "received"


@pytest.mark.parametrize(
    "auth",
    [
        None,
        basic("ons", "wrong"),
        basic("other", "s3nh4-do-webhook"),
        "Bearer x",
        "Basic !!!",
        "Basic é",  # non-ASCII: Werkzeug's parser raises ValueError, must still be a 401
        "Basic //8=",  # not UTF-8
        "Basic",
        "Basic b25z",  # no colon
    ],
    ids=[
        "missing",
        "wrong-password",
        "wrong-user",
        "bearer",
        "garbage",
        "non-ascii",
        "not-utf8",
        "empty",
        "no-colon",
    ],
)
def test_basic_auth_refusals_are_401_with_a_challenge(client, auth):
    headers = {"Authorization": auth} if auth else {}
    response = client.post("/sintegre/default", data=to_body(make_payload()), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "authentication" in response.get_json()["error"]


@pytest.mark.parametrize("header", ["t0k3n-ons", "Bearer t0k3n-ons", "bearer t0k3n-ons"])
def test_token_auth_takes_the_raw_header_with_or_without_bearer(env, header):
    env |= {"SINTEGRE_WEBHOOK_AUTH": "token", "SINTEGRE_WEBHOOK_TOKEN": "t0k3n-ons"}
    client = create_app(load_settings(env)).test_client()
    ok = client.post(
        "/sintegre/default", data=to_body(make_payload()), headers={"Authorization": header}
    )
    assert ok.status_code == 200
    bad = client.post(
        "/sintegre/default", data=to_body(make_payload()), headers={"Authorization": "nope"}
    )
    assert bad.status_code == 401


def test_auth_none_accepts_without_header(env):
    env |= {"SINTEGRE_WEBHOOK_AUTH": "none"}
    client = create_app(load_settings(env)).test_client()
    assert client.post("/sintegre/default", data=to_body(make_payload())).status_code == 200


def test_get_probe_answers_200_without_auth_and_without_data(client):
    response = client.get("/sintegre/default")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "integration": "default"}


def test_unknown_integration_is_404(post, client):
    assert post(make_payload(), path="nope").status_code == 404
    assert client.get("/sintegre/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"\xff\xfe\x00garbage", 400, "UTF-8"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"a": {"b": {"c": {"d": {"e": 1}}}}}', 400, "nested"),
    ],
)
def test_unreadable_bodies_are_400(post, app, body, status, needle):
    response = post(body)
    assert response.status_code == status
    assert needle in response.get_json()["error"]
    assert app.extensions["sintegre"]["inbox"].count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nome": None}, "nome"),
        ({"nome": "  "}, "nome"),
        ({"macroProcesso": 7}, "macroProcesso"),
        ({"periodicidade": None}, "periodicidade"),
        ({"periodicidade": "29/04/2025"}, "periodicidade"),
        ({"periodicidadeFinal": "2025-02-30T23:59:59"}, "periodicidadeFinal"),
        ({"periodicidadeFinal": "2025-04-28T23:59:59"}, "periodicidadeFinal"),
        ({"url": None}, "url"),
        ({"url": "http://apps08.ons.org.br/ONS.Sintegre.Proxy/webhook?token=x"}, "url"),
        ({"url": ons_url(host="apps08.ons.org.br.evil.com")}, "url"),
        ({"url": ons_url(nbf=1_000_000_000)}, "url"),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, str) else None,
)
def test_invalid_fields_are_422_naming_the_field(post, app, overrides, field):
    response = post(make_payload(**overrides))
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["field"] == field
    assert field in payload["error"]
    assert app.extensions["sintegre"]["inbox"].count() == 0


def test_oversized_body_is_413(post):
    response = post(to_body(make_payload(padding="x" * 70_000)))
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]


def test_missing_data_produto_or_unknown_shape_is_accepted_and_flagged(post):
    missing = post(make_payload(dataProduto=None, processo=None)).get_json()
    assert missing["status"] == "received"
    assert {"data_produto_missing", "processo_missing"} <= set(missing["flags"])
    odd = post(make_payload(dataProduto="Semana 18 de 2025", url=ons_url(nbf=1_900_000_001)))
    assert "data_produto_unknown_shape" in odd.get_json()["flags"]


def test_inspection_api_requires_admin_credentials(client, post):
    post(make_payload())
    assert client.get("/api/notifications").status_code == 401
    wrong = client.get("/api/notifications", headers={"Authorization": basic(ADMIN_USER, "x")})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    for malformed in ("Basic é", "Basic !!!", "Basic //8=", "Bearer x", "Basic"):
        answer = client.get("/api/notifications", headers={"Authorization": malformed})
        assert answer.status_code == 401, malformed


def test_inspection_api_shows_the_normalised_notification_without_secrets(client, post):
    payload = make_payload(
        nome="Previsões de carga mensal e por patamar - NEWAVE",
        processo="Previsão de Carga para o PMO",
        dataProduto="08/2025",
        periodicidade="2025-08-01T03:00:00.000Z",
        periodicidadeFinal="2025-09-01T02:59:59.000Z",
        url=ons_url(product_id=229, file_name="RV0_PMO_Agosto_2025_carga_mensal.zip"),
    )
    notification_id = post(payload).get_json()["id"]
    response = admin(client, f"/api/notifications/{notification_id}")
    assert response.status_code == 200
    view = response.get_json()
    assert view["id"] == notification_id
    assert view["status"] == "received"
    assert view["product"] == "Previsões de carga mensal e por patamar - NEWAVE"
    assert view["product_id"] == 229
    assert view["dataset"] == "previsoes_de_carga_mensal_e_por_patamar_newave"
    assert view["dag_id"] == "sintegre__previsoes_de_carga_mensal_e_por_patamar_newave"
    assert view["dag_run_id"].startswith(
        "sintegre__previsoes_de_carga_mensal_e_por_patamar_newave__2025-08-01__"
    )
    assert view["macroprocesso_slug"] == "programacao_da_operacao"
    assert view["periodicidade"] == "2025-08-01"
    assert view["periodicidade_final"] == "2025-08-31"
    assert view["granularity"] == "monthly"
    text = json.dumps(view)
    assert "token=" not in text and "eyJ" not in text and SUBSCRIBER_EMAIL not in text
    assert admin(client, "/api/notifications/does-not-exist").status_code == 404


def test_listing_is_newest_first(client, post):
    ids = [
        post(make_payload(url=ons_url(nbf=1_900_000_000 + i))).get_json()["id"] for i in range(3)
    ]
    listed = admin(client, "/api/notifications").get_json()["notifications"]
    assert [n["id"] for n in listed] == list(reversed(ids))


def test_healthz_reports_the_inbox(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.drill(
    "#14.3 an unexpected error while storing: 503 (SINtegre resends), counted as internal_error,"
    " never a 500"
)
def test_an_unexpected_error_answers_503_and_is_counted(app, post, monkeypatch) -> None:
    inbox = app.extensions["sintegre"]["inbox"]

    def broken(*args, **kwargs):
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(inbox, "store", broken)
    response = post(make_payload())
    assert response.status_code == 503
    assert "send again" in response.get_json()["error"]
    assert inbox.counter_values().get("internal_error") == 1


@pytest.mark.drill(
    "#14.8 a URL sent as HTTPS://HOST: accepted, stored as https://host, and the stored conf"
    " passes the DAG's url Param (^https://)"
)
def test_what_the_receiver_accepts_the_dag_accepts(app, post) -> None:
    url = ons_url().replace("https://", "HTTPS://").replace(ONS_HOST, ONS_HOST.upper())
    response = post(make_payload(url=url))
    assert response.status_code == 200
    row = app.extensions["sintegre"]["inbox"].get(response.get_json()["id"])
    stored = json.loads(row["conf"])["url"]
    assert re.match(r"^https://", stored) and f"//{ONS_HOST}/" in stored
    assert stored.split("?", 1)[1] == url.split("?", 1)[1]  # the token untouched


def test_the_json_log_line_reads_plain_and_other_extras_as_json_would(caplog) -> None:
    # Plain extras go through msgspec (issue #17); others keep json's default=str reading.
    import dataclasses
    import json as stdjson
    import logging as stdlogging

    from sintegre.core.logs import JsonFormatter

    @dataclasses.dataclass
    class Secretive:
        url: str

        def __str__(self) -> str:
            return "Secretive(<redacted>)"

    formatter = JsonFormatter()
    plain = stdlogging.LogRecord("x", stdlogging.INFO, __file__, 1, "m %s", ("ã",), None)
    plain.__dict__.update({"n": 1, "f": 1.5, "b": True, "none": None, "s": "ação\n"})
    line = formatter.format(plain)
    assert stdjson.loads(line) | {"ts": None} == {
        "ts": None,
        "level": "info",
        "logger": "x",
        "msg": "m ã",
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
        "s": "ação\n",
    }
    assert "ação" in line  # not escaped, as ensure_ascii=False wrote it
    other = stdlogging.LogRecord("x", stdlogging.INFO, __file__, 1, "m", (), None)
    other.__dict__["obj"] = Secretive("https://h/?token=abc")
    assert stdjson.loads(formatter.format(other))["obj"] == "Secretive(<redacted>)"
