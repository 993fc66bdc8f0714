"""Integrations from a YAML file: secrets by reference, rotation, auth modes, expected products."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, basic, make_payload, ons_url, to_body
from sintegre.core.settings import Settings, load_settings
from sintegre.intake.receiver import create_app
from sintegre.intake.receiver.integrations import (
    Integration,
    IntegrationConfigError,
    load_integrations_file,
)

CURRENT_PASSWORD = "senha-atual-9f3a7c"
NEXT_PASSWORD = "senha-proxima-2b8d41"
CURRENT_TOKEN = "token-meteo-atual-5e6f70"
NEXT_TOKEN = "token-meteo-proximo-81a2b3"
SECRETS = (CURRENT_PASSWORD, NEXT_PASSWORD, CURRENT_TOKEN, NEXT_TOKEN)
SECRET_ENV = {"PRINCIPAL_PASSWORD": CURRENT_PASSWORD, "METEO_TOKEN": CURRENT_TOKEN}


def write_config(tmp_path: Path) -> Path:
    """Three integrations; each secret pair has one env reference and one file reference."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "principal_next").write_text(NEXT_PASSWORD + "\n", encoding="utf-8")
    (secrets / "meteo_next").write_text(f"  {NEXT_TOKEN}\n", encoding="utf-8")
    config = tmp_path / "integrations.yaml"
    config.write_text(
        f"""\
integrations:
  - name: principal
    auth: basic
    credentials:
      - {{user: ons, password: {{env: PRINCIPAL_PASSWORD}}}}
      - {{user: ons, password: {{file: {secrets / "principal_next"}}}}}
    expected_products: ["ACOMPH", 229, "Previsão de Vazões Diárias - PDP"]
  - name: meteorologia
    auth: token
    tokens:
      - {{env: METEO_TOKEN}}
      - {{file: {secrets / "meteo_next"}}}
  - name: aberta
    auth: none
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def integrations(config_file: Path) -> dict[str, Integration]:
    return load_integrations_file(config_file, SECRET_ENV)


@pytest.fixture
def yaml_client(settings: Settings, integrations) -> FlaskClient:
    app = create_app(settings, integrations=integrations)
    app.config["TESTING"] = True
    return app.test_client()


def admin_view(client: FlaskClient, notification_id: str) -> dict:
    response = client.get(
        f"/api/notifications/{notification_id}",
        headers={"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)},
    )
    assert response.status_code == 200
    return response.get_json()


# --- loading ------------------------------------------------------------------------------------


def test_the_file_yields_three_integrations_with_their_modes(integrations):
    assert set(integrations) == {"principal", "meteorologia", "aberta"}
    assert integrations["principal"].auth == "basic"
    assert integrations["meteorologia"].auth == "token"
    assert integrations["aberta"].auth == "none"
    assert integrations["principal"].expected_product_ids == (229,)
    assert integrations["principal"].expected_products == (
        "acomph",
        "previsao_de_vazoes_diarias_pdp",
    )


def test_both_rotation_credentials_are_accepted_and_a_third_is_refused(integrations):
    principal = integrations["principal"]
    assert principal.credentials == (("ons", CURRENT_PASSWORD), ("ons", NEXT_PASSWORD))
    assert principal.authenticate(basic("ons", CURRENT_PASSWORD))
    assert principal.authenticate(basic("ons", NEXT_PASSWORD))
    assert not principal.authenticate(basic("ons", "senha-antiga"))
    assert not principal.authenticate(basic("outro", CURRENT_PASSWORD))
    assert not principal.authenticate(None)
    assert not principal.authenticate(CURRENT_PASSWORD)


def test_both_rotation_tokens_are_accepted_with_or_without_bearer(integrations):
    meteo = integrations["meteorologia"]
    assert meteo.tokens == (CURRENT_TOKEN, NEXT_TOKEN), "file secrets are stripped"
    for token in (CURRENT_TOKEN, NEXT_TOKEN):
        assert meteo.authenticate(token)
        assert meteo.authenticate(f"Bearer {token}")
        assert meteo.authenticate(f"bearer {token}")
    assert not meteo.authenticate("token-meteo-antigo")
    assert not meteo.authenticate("Bearer token-meteo-antigo")
    assert not meteo.authenticate(basic("ons", CURRENT_TOKEN))
    assert not meteo.authenticate(None)


def test_auth_none_accepts_anything(integrations):
    assert integrations["aberta"].authenticate(None)
    assert integrations["aberta"].authenticate("whatever")


# --- configuration errors -----------------------------------------------------------------------

_CONFIG_ERRORS = [
    pytest.param(
        """\
integrations:
  - name: literal
    auth: basic
    credentials: [{user: ons, password: senha-literal-no-yaml}]
""",
        "'literal'",
        "reference",
        id="literal-password",
    ),
    pytest.param(
        """\
integrations:
  - name: literal_token
    auth: token
    tokens: [token-literal-no-yaml]
""",
        "'literal_token'",
        "reference",
        id="literal-token",
    ),
    pytest.param(
        """\
integrations:
  - name: semvar
    auth: basic
    credentials: [{user: ons, password: {env: VARIAVEL_QUE_NAO_EXISTE}}]
""",
        "'semvar'",
        "VARIAVEL_QUE_NAO_EXISTE",
        id="unset-env-var",
    ),
    pytest.param(
        """\
integrations:
  - name: semarquivo
    auth: token
    tokens: [{file: /nao/existe/segredo}]
""",
        "'semarquivo'",
        "/nao/existe/segredo",
        id="missing-secret-file",
    ),
    pytest.param(
        """\
integrations:
  - name: tres
    auth: token
    tokens: [{env: PRINCIPAL_PASSWORD}, {env: METEO_TOKEN}, {env: THIRD_TOKEN}]
""",
        "'tres'",
        "at most 2",
        id="three-tokens",
    ),
    pytest.param(
        """\
integrations:
  - name: tres_credenciais
    auth: basic
    credentials:
      - {user: a, password: {env: PRINCIPAL_PASSWORD}}
      - {user: b, password: {env: METEO_TOKEN}}
      - {user: c, password: {env: THIRD_TOKEN}}
""",
        "'tres_credenciais'",
        "at most 2",
        id="three-credentials",
    ),
    pytest.param(
        """\
integrations:
  - name: dupla
    auth: none
  - name: dupla
    auth: token
    tokens: [{env: METEO_TOKEN}]
""",
        "'dupla'",
        "twice",
        id="duplicate-names",
    ),
    pytest.param(
        """\
integrations:
  - name: boa
    auth: none
  - name: "nome/com barra"
    auth: none
""",
        "entry 2",
        "name",
        id="bad-name",
    ),
    pytest.param(
        """\
integrations:
  - name: estranha
    auth: digest
""",
        "'estranha'",
        "auth must be one of",
        id="unknown-auth",
    ),
    pytest.param(
        """\
integrations:
  - name: semcredencial
    auth: basic
""",
        "'semcredencial'",
        "needs a user and a password",
        id="basic-without-credentials",
    ),
    pytest.param(
        """\
integrations:
  - name: semtoken
    auth: token
""",
        "'semtoken'",
        "needs a token",
        id="token-without-tokens",
    ),
]


@pytest.mark.parametrize(("text", "names", "why"), _CONFIG_ERRORS)
def test_config_errors_name_the_integration_and_never_a_secret(tmp_path, text, names, why):
    config = tmp_path / "integrations.yaml"
    config.write_text(text, encoding="utf-8")
    env = {**SECRET_ENV, "THIRD_TOKEN": "token-terceiro-c4d5e6"}
    with pytest.raises(IntegrationConfigError) as caught:
        load_integrations_file(config, env)
    message = str(caught.value)
    assert names in message
    assert why in message
    for secret in (*env.values(), "senha-literal-no-yaml", "token-literal-no-yaml"):
        assert secret not in message


def test_missing_integrations_file_is_a_config_error(tmp_path):
    with pytest.raises(IntegrationConfigError, match="cannot read integrations file"):
        load_integrations_file(tmp_path / "nope.yaml", SECRET_ENV)


# --- through the receiver -----------------------------------------------------------------------


def test_each_integration_path_accepts_its_own_auth(yaml_client):
    cases = [
        ("principal", basic("ons", CURRENT_PASSWORD)),
        ("principal", basic("ons", NEXT_PASSWORD)),
        ("meteorologia", CURRENT_TOKEN),
        ("meteorologia", f"Bearer {NEXT_TOKEN}"),
        ("aberta", None),
    ]
    for nbf_offset, (name, auth) in enumerate(cases, 1):
        headers = {"Authorization": auth} if auth else {}
        body = to_body(make_payload(url=ons_url(nbf=1_900_000_000 - nbf_offset)))
        response = yaml_client.post(f"/sintegre/{name}", data=body, headers=headers)
        assert response.status_code == 200, (name, response.get_json())
        assert response.get_json()["status"] == "received"
        row = yaml_client.application.extensions["sintegre"]["inbox"].get(response.get_json()["id"])
        assert row["integration"] == name


def test_an_integration_does_not_accept_another_ones_secret(yaml_client):
    body = to_body(make_payload())
    assert (
        yaml_client.post(
            "/sintegre/meteorologia",
            data=body,
            headers={"Authorization": basic("ons", CURRENT_PASSWORD)},
        ).status_code
        == 401
    )
    assert (
        yaml_client.post(
            "/sintegre/principal", data=body, headers={"Authorization": CURRENT_TOKEN}
        ).status_code
        == 401
    )
    assert yaml_client.application.extensions["sintegre"]["inbox"].count() == 0


def test_unknown_integration_is_404_even_with_valid_credentials(yaml_client):
    response = yaml_client.post(
        "/sintegre/default",
        data=to_body(make_payload()),
        headers={"Authorization": basic("ons", CURRENT_PASSWORD)},
    )
    assert response.status_code == 404
    assert yaml_client.get("/sintegre/default").status_code == 404
    assert yaml_client.get("/sintegre/meteorologia").status_code == 200


def test_basic_401_challenges_and_token_401_does_not_ask_for_basic(yaml_client):
    body = to_body(make_payload())
    basic_refused = yaml_client.post(
        "/sintegre/principal", data=body, headers={"Authorization": basic("ons", "x")}
    )
    assert basic_refused.status_code == 401
    assert basic_refused.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert "error" in basic_refused.get_json()
    token_refused = yaml_client.post(
        "/sintegre/meteorologia", data=body, headers={"Authorization": "errado"}
    )
    assert token_refused.status_code == 401
    assert "error" in token_refused.get_json()
    assert not token_refused.headers.get("WWW-Authenticate", "").startswith("Basic")


@pytest.mark.parametrize(
    ("nome", "product_id", "expected"),
    [
        pytest.param("Carga Horária Verificada", 555, False, id="outside-the-list"),
        pytest.param("Nome Qualquer", 229, True, id="inside-by-id"),
        pytest.param("acomph", 230, True, id="inside-by-name-other-case"),
        pytest.param("PREVISAO DE VAZOES DIARIAS – PDP", 231, True, id="inside-by-name-no-accents"),
    ],
)
def test_expected_products_flag_but_never_refuse(yaml_client, nome, product_id, expected):
    url = ons_url(nbf=1_900_000_000 - product_id, product_id=product_id, nome=nome)
    response = yaml_client.post(
        "/sintegre/principal",
        data=to_body(make_payload(nome=nome, url=url)),
        headers={"Authorization": basic("ons", CURRENT_PASSWORD)},
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "received"
    assert ("unexpected_product" in answer["flags"]) is not expected
    view = admin_view(yaml_client, answer["id"])
    assert view["expected"] is expected
    assert view["product_id"] == product_id
    assert view["product"] == nome
    assert ("unexpected_product" in view["flags"]) is not expected


def test_integrations_without_a_list_expect_everything(yaml_client):
    url = ons_url(nbf=1_900_000_000 - 7, product_id=555, nome="Carga Horária Verificada")
    response = yaml_client.post(
        "/sintegre/aberta", data=to_body(make_payload(nome="Carga Horária Verificada", url=url))
    )
    assert response.status_code == 200
    assert "unexpected_product" not in response.get_json()["flags"]
    assert admin_view(yaml_client, response.get_json()["id"])["expected"] is True


def test_load_settings_with_an_integrations_file_is_used_by_create_app(
    env, config_file, monkeypatch
):
    # Env references are resolved from the process environment when the app loads them.
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    settings = load_settings({**env, "SINTEGRE_INTEGRATIONS_FILE": str(config_file)})
    assert settings.integrations_file == str(config_file)
    app = create_app(settings)
    assert set(app.extensions["sintegre"]["integrations"]) == {
        "principal",
        "meteorologia",
        "aberta",
    }
    client = app.test_client()
    ok = client.post(
        "/sintegre/meteorologia",
        data=to_body(make_payload()),
        headers={"Authorization": f"Bearer {NEXT_TOKEN}"},
    )
    assert ok.status_code == 200
    # The environment's "default" integration is gone once a file is given.
    assert client.get("/sintegre/default").status_code == 404


def test_create_app_refuses_to_start_on_a_broken_integrations_file(env, tmp_path, monkeypatch):
    monkeypatch.delenv("PRINCIPAL_PASSWORD", raising=False)
    monkeypatch.delenv("METEO_TOKEN", raising=False)
    settings = load_settings({**env, "SINTEGRE_INTEGRATIONS_FILE": str(write_config(tmp_path))})
    with pytest.raises(IntegrationConfigError, match=r"'principal'.*PRINCIPAL_PASSWORD"):
        create_app(settings)


def test_no_password_or_token_reaches_the_logs(yaml_client, caplog):
    caplog.set_level(logging.DEBUG)
    body = to_body(make_payload())
    attempts = [
        ("principal", basic("ons", CURRENT_PASSWORD)),
        ("principal", basic("ons", NEXT_PASSWORD)),
        ("principal", basic("ons", "senha-errada-77aa")),
        ("principal", basic(CURRENT_PASSWORD, "x")),
        ("meteorologia", CURRENT_TOKEN),
        ("meteorologia", f"Bearer {NEXT_TOKEN}"),
        ("meteorologia", "token-errado-77bb"),
        ("nao-existe", f"Bearer {CURRENT_TOKEN}"),
    ]
    statuses = [
        yaml_client.post(
            f"/sintegre/{name}", data=body, headers={"Authorization": auth}
        ).status_code
        for name, auth in attempts
    ]
    assert statuses == [200, 200, 401, 401, 200, 200, 401, 404]
    assert caplog.records, "the requests must have been logged"
    for record in caplog.records:
        line = record.getMessage()
        for secret in (*SECRETS, "senha-errada-77aa", "token-errado-77bb"):
            assert secret not in line, (record.name, line)
    for secret in SECRETS:
        assert secret not in caplog.text


@pytest.mark.drill(
    "#14.13 repr() of Settings and Integration shows no password, token, key or URL password"
)
def test_secrets_never_appear_in_a_repr() -> None:
    from sintegre.core.settings import load_settings
    from sintegre.intake.receiver.integrations import Integration

    settings = load_settings(
        {
            "AIRFLOW_PASSWORD": "airflow-secret-1",
            "SINTEGRE_WEBHOOK_PASSWORD": "webhook-secret-2",
            "SINTEGRE_WEBHOOK_TOKEN": "webhook-token-3",
            "SINTEGRE_ADMIN_PASSWORD": "admin-secret-4",
            "SINTEGRE_INBOX_URL": "postgresql://sintegre:inbox-secret-5@db:5432/inbox",
            "SINTEGRE_ALERT_WEBHOOK_URL": "https://alert:hook-secret-6@hooks.example/x",
            "AWS_SECRET_ACCESS_KEY": "aws-secret-7",
        }
    )
    integration = Integration(
        name="ons", auth="basic", credentials=(("ons", "cred-secret-8"),), tokens=()
    )
    shown = repr(settings) + str(settings) + repr(integration) + repr([settings, integration])
    for n, secret in enumerate(
        [
            "airflow-secret",
            "webhook-secret",
            "webhook-token",
            "admin-secret",
            "inbox-secret",
            "hook-secret",
            "aws-secret",
            "cred-secret",
        ],
        start=1,
    ):
        assert f"{secret}-{n}" not in shown
    assert "postgresql://sintegre:<redacted>@db:5432/inbox" in shown
    assert "admin_password='<redacted>'" in shown


def test_a_bad_setting_is_named_and_its_value_never_shown() -> None:
    from pydantic import SecretStr

    from sintegre.core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as raised:
        load_settings({"RECEIVER_PORT": "port-secret-1", "SINTEGRE_DEMO": "maybe-secret-2"})
    message = str(raised.value)
    assert "RECEIVER_PORT" in message and "SINTEGRE_DEMO" in message
    assert "secret" not in message
    settings = load_settings({"SINTEGRE_ADMIN_PASSWORD": "s3nh4", "AIRFLOW_PASSWORD": ""})
    assert isinstance(settings.admin_password, SecretStr)
    assert settings.admin_password.get_secret_value() == "s3nh4"
    assert settings.airflow_password.get_secret_value() == ""  # empty is unset: the default


def test_settings_read_the_process_environment_by_the_same_names(monkeypatch) -> None:
    from sintegre.core.settings import Settings, load_settings

    monkeypatch.setenv("RECEIVER_PORT", "8123")
    monkeypatch.setenv("SINTEGRE_S3_ENDPOINT_URL", "")  # empty: AWS_ENDPOINT_URL is next
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    for settings in (load_settings(), Settings()):
        assert settings.receiver_port == 8123
        assert settings.s3_endpoint_url == "http://minio:9000"


def test_an_auth_mode_exported_empty_is_refused_not_opened():
    """``SINTEGRE_WEBHOOK_AUTH=`` (an unfilled template) fails closed: never ``none``."""
    from sintegre.core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="SINTEGRE_WEBHOOK_AUTH is set but empty"):
        load_settings({"SINTEGRE_WEBHOOK_AUTH": "  "})
    assert load_settings({}).webhook_auth == "none"  # unset: the documented default


def test_a_notification_and_its_run_conf_never_show_the_token_in_a_repr() -> None:
    """The download token is a bearer credential: not in a repr/str of the notification or of
    the run conf built from it (the values themselves keep it: the download needs it)."""
    import time

    from helpers.webhook import ONS_HOST, make_payload, ons_url, to_body
    from sintegre.core.runconf import RunConf
    from sintegre.intake.notification import normalize

    body = to_body(make_payload(url=ons_url(nbf=int(time.time()) - 60)))
    notification = normalize(body, allowed_hosts=(ONS_HOST,))
    token = notification.url.split("token=")[1]
    run_conf = RunConf.from_conf(notification.to_conf())
    for text in (repr(notification), str(notification), repr(run_conf), str(run_conf)):
        assert token not in text
        assert "apps08.ons.org.br" in text  # the rest stays readable
    assert run_conf.url is not None and token in run_conf.url
