"""Hostile and malformed webhook bodies: every refusal is a 4xx that names the culprit.

The receiver faces whatever reaches its URL. A refusal must be a clean 4xx naming the field at
fault (SINtegre's operator reads it) and must store nothing; a 5xx would make SINtegre resend a
body that can never succeed. Odd-but-valid notifications (casing, offsets, BOM...) must pass.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from helpers.webhook import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ONS_HOST,
    basic,
    make_payload,
    ons_url,
    to_body,
)

NOW = int(time.time())
TOKEN = ons_url().split("token=", 1)[1]
PATH = "/ONS.Sintegre.Proxy/webhook"


def with_value(field: str, value: Any) -> dict[str, Any]:
    """A valid payload whose ``field`` is present with ``value`` (``None`` stays as JSON null)."""
    payload = make_payload()
    payload[field] = value
    return payload


def without(field: str) -> dict[str, Any]:
    payload = make_payload()
    payload.pop(field)
    return payload


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def raw_jwt(claims_json: str) -> str:
    """A JWT whose payload is ``claims_json`` verbatim (lets a test put Infinity or NaN in)."""
    return ".".join([b64url('{"alg":"HS256","typ":"JWT"}'), b64url(claims_json), b64url("sig")])


def url_with_token(token: str) -> str:
    return f"https://{ONS_HOST}{PATH}?token={token}"


# --- the refusal table --------------------------------------------------------------------------

_REQUIRED = ("nome", "macroProcesso", "periodicidade", "periodicidadeFinal", "url")
_BAD_VALUES: list[tuple[str, Any]] = [
    ("empty", ""),
    ("whitespace", " \t\n "),
    ("null", None),
    ("number", 42),
    ("list", ["Acomph"]),
    ("object", {"valor": "Acomph"}),
]

_required_cases = [
    pytest.param(without(field), 422, field, id=f"{field}-missing") for field in _REQUIRED
] + [
    pytest.param(with_value(field, value), 422, field, id=f"{field}-{label}")
    for field in _REQUIRED
    for label, value in _BAD_VALUES
]

_body_cases = [
    pytest.param(to_body(make_payload(padding="x" * 70_000)), 413, "larger than", id="over-64KB"),
    pytest.param(b"x" * (64 * 1024 + 1), 413, "larger than", id="64KB-plus-one-byte"),
    pytest.param(b"nome=Acomph&url=x", 400, "not valid JSON", id="form-encoded-not-json"),
    pytest.param(b"   \r\n\t ", 400, "empty", id="whitespace-only-body"),
    pytest.param(to_body(make_payload())[:-7], 400, "not valid JSON", id="truncated-json"),
    pytest.param(
        json.dumps(make_payload(), ensure_ascii=False).encode("latin-1"),
        400,
        "UTF-8",
        id="latin-1-not-utf8",
    ),
    pytest.param(
        json.dumps(make_payload(), ensure_ascii=False).encode("utf-16"),
        400,
        "UTF-8",
        id="utf-16-with-bom",
    ),
    pytest.param(
        json.dumps(make_payload(), ensure_ascii=False).encode("utf-16-le"),
        400,
        "UTF-8",
        id="utf-16le-without-bom",
    ),
    pytest.param(
        to_body(make_payload(extra={"a": {"b": {"c": 1}}})), 400, "nested", id="nested-5-levels"
    ),
    pytest.param(b"[" * 30_000 + b"]" * 30_000, 400, "nested", id="nested-30000-arrays"),
    pytest.param(
        b'{"nome": ' + b"[" * 600 + b"]" * 600 + b"}",
        400,
        "nested",
        id="nested-600-inside-object",
    ),
    pytest.param(b'[{"nome": "Acomph"}]', 400, "JSON object", id="top-level-array"),
    pytest.param(b'"Acomph"', 400, "JSON object", id="top-level-string"),
    pytest.param(b"42", 400, "JSON object", id="top-level-number"),
    pytest.param(b"null", 400, "JSON object", id="top-level-null"),
    pytest.param(b"true", 400, "JSON object", id="top-level-true"),
]

_date_cases = [
    pytest.param(
        make_payload(periodicidade="2025-02-30T00:00:00"), 422, "periodicidade", id="feb-30"
    ),
    pytest.param(
        make_payload(periodicidadeFinal="2025-13-01T00:00:00"),
        422,
        "periodicidadeFinal",
        id="month-13",
    ),
    pytest.param(
        make_payload(periodicidade="2025-04-29T24:61:00"), 422, "periodicidade", id="time-24-61"
    ),
    pytest.param(
        make_payload(periodicidade="29/04/2025 00:00:00"),
        422,
        "periodicidade",
        id="start-dd/mm/yyyy",
    ),
    pytest.param(
        make_payload(periodicidadeFinal="29/04/2025"),
        422,
        "periodicidadeFinal",
        id="final-dd/mm/yyyy",
    ),
    pytest.param(
        make_payload(periodicidade="2025-04-29T00:00:00", periodicidadeFinal="2025-04-28T23:59:59"),
        422,
        "periodicidadeFinal",
        id="final-before-start-naive",
    ),
    pytest.param(
        make_payload(
            periodicidade="2025-04-29T03:00:00.000Z", periodicidadeFinal="2025-04-29T02:59:59.000Z"
        ),
        422,
        "periodicidadeFinal",
        id="final-before-start-aware",
    ),
    pytest.param(
        make_payload(
            periodicidade="2025-04-29T00:00:00", periodicidadeFinal="2025-04-29T02:00:00+00:00"
        ),
        422,
        "periodicidadeFinal",
        id="final-before-start-mixed-naive-aware",
    ),
    pytest.param(
        make_payload(periodicidade="0001-01-01T00:00:00+00:00"),
        422,
        "periodicidade",
        id="aware-year-1-out-of-range",
    ),
    pytest.param(
        make_payload(
            periodicidade="9999-12-31T00:00:00", periodicidadeFinal="9999-12-31T22:00:00-12:00"
        ),
        422,
        "periodicidadeFinal",
        id="aware-year-10000-out-of-range",
    ),
]

_duplicate_cases = [
    pytest.param(
        {**make_payload(), "Uri": ons_url(nbf=NOW - 5)}, 422, "url", id="url-and-Uri-differ"
    ),
    pytest.param({**make_payload(), "NOME": "Acomph 2"}, 422, "nome", id="nome-and-NOME-differ"),
    pytest.param(
        {**make_payload(), "PeriodicidadeFinal": "2025-04-30T23:59:59"},
        422,
        "periodicidadeFinal",
        id="periodicidadeFinal-twice-differ",
    ),
]


def _url(netloc: str, *, scheme: str = "https", query: str = f"token={TOKEN}") -> str:
    return f"{scheme}://{netloc}{PATH}?{query}"


def _url_with_claim(url_claim: object) -> str:
    """A proxy URL whose (unsigned-here) token carries ``url_claim`` as its ``URL`` claim.

    The claims are written as raw JSON text, so values Python would refuse to serialise (an
    integer of 5,000 digits) or that json escapes (a lone surrogate) reach the receiver as
    ONS's portal could send them.
    """

    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    value = json.dumps(url_claim) if isinstance(url_claim, str) else "1" + "0" * 5000
    now = int(time.time())
    payload = (
        f'{{"URL": {value}, "username": "x@example.org", "nomeProduto": "Acomph", '
        f'"nbf": {now}, "exp": {now + 3600}}}'
    )
    header = part('{"alg":"HS256","typ":"JWT"}')
    return f"https://{ONS_HOST}/ONS.Sintegre.Proxy/webhook?token={header}.{part(payload)}.c2ln"


_url_cases = [
    pytest.param(ons_url(nbf=1_000_000_000), "expired", id="token-already-expired"),
    pytest.param(ons_url(nbf=NOW - 86_640), "expired", id="token-expires-right-now"),
    pytest.param(_url(ONS_HOST, scheme="http"), "https", id="http"),
    pytest.param(f"file:///etc/passwd?token={TOKEN}", "https", id="file"),
    pytest.param(_url(ONS_HOST, scheme="ftp"), "https", id="ftp"),
    pytest.param(f"{ONS_HOST}{PATH}?token={TOKEN}", "no scheme", id="no-scheme"),
    pytest.param(f"//{ONS_HOST}{PATH}?token={TOKEN}", "no scheme", id="scheme-relative"),
    pytest.param(_url("200.198.128.10"), "IP address", id="ipv4-literal"),
    pytest.param(_url("[2001:db8::1]"), "IP address", id="ipv6-literal"),
    pytest.param(_url("[::ffff:200.198.128.10]"), "IP address", id="ipv4-mapped-ipv6"),
    pytest.param(_url("sintegre.ons.org.br"), "not in", id="host-off-allowlist"),
    pytest.param(_url(f"{ONS_HOST}.evil.com"), "not in", id="allowlisted-host-as-prefix"),
    pytest.param(f"https://evil.com/{ONS_HOST}?token={TOKEN}", "not in", id="host-in-path"),
    pytest.param(_url(f"{ONS_HOST}@evil.com"), "credentials", id="host-as-userinfo"),
    pytest.param(_url(f"user:pass@{ONS_HOST}"), "credentials", id="user-pass-credentials"),
    pytest.param(_url(f"evil.com\\@{ONS_HOST}"), "credentials", id="backslash-at-trick"),
    pytest.param(_url("аpps08.ons.org.br"), "not in", id="cyrillic-lookalike-host"),
    pytest.param(_url(ONS_HOST, query="id=1"), "no token", id="no-token-parameter"),
    pytest.param(_url(ONS_HOST, query="token="), "no token", id="empty-token"),
    pytest.param(
        _url(ONS_HOST, query=f"token={TOKEN}&token={TOKEN}"), "no token", id="two-token-parameters"
    ),
    pytest.param(_url(ONS_HOST, query="token=not-a-jwt"), "JWT", id="token-not-a-jwt"),
    pytest.param(_url(ONS_HOST, query="token=a.b.c"), "JWT", id="token-three-junk-segments"),
    pytest.param(_url(f"{ONS_HOST}:99999"), "not a valid URL", id="port-out-of-range"),
    pytest.param(_url(f"{ONS_HOST}:https"), "not a valid URL", id="port-not-a-number"),
    pytest.param(
        url_with_token(raw_jwt('{"exp": Infinity}')),
        "expir",
        id="token-exp-infinity",
    ),
    pytest.param(
        url_with_token(raw_jwt('{"exp": NaN}')),
        "expir",
        id="token-exp-nan",
    ),
    pytest.param(
        url_with_token(raw_jwt('{"nbf": Infinity, "exp": 4102444800}')),
        "token",
        id="token-nbf-infinity",
    ),
    pytest.param(
        url_with_token(raw_jwt('{"exp": 100000000000000000000}')),
        "expir",
        id="token-exp-beyond-int64",
    ),
]

REFUSALS = [
    *_body_cases,
    *_required_cases,
    *_date_cases,
    *_duplicate_cases,
    *[
        pytest.param(make_payload(url=p.values[0]), 422, "url", id=f"url-{p.id}", marks=p.marks)
        for p in _url_cases
    ],
    pytest.param(
        make_payload(periodicidade="2099-01-01T00:00:00", periodicidadeFinal="2099-01-01T23:59:59"),
        422,
        "periodicidade",
        id="period-in-2099",
    ),
    pytest.param(
        make_payload(periodicidade="0001-01-01T00:00:00"),
        422,
        "periodicidade",
        id="period-in-year-1",
    ),
    pytest.param(
        make_payload(periodicidadeFinal="9999-12-31T23:59:59"),
        422,
        "periodicidadeFinal",
        id="period-ends-in-9999",
    ),
    pytest.param(
        json.dumps(make_payload(nome="Acomph \ud800")).encode(),
        400,
        "nome",
        id="nome-lone-surrogate-escape",
    ),
    pytest.param(
        json.dumps(make_payload(processo="Processo \udfff")).encode(),
        400,
        "processo",
        id="processo-lone-surrogate-escape",
    ),
    pytest.param(
        json.dumps({**make_payload(), "extra\udc00": "x"}).encode(),
        400,
        "a key",
        id="key-lone-surrogate-escape",
    ),
    pytest.param(
        to_body(make_payload())[:-1] + b', "nota": ' + b"9" * 5000 + b"}",
        400,
        "an integer of 5000 digits",
        id="integer-of-5000-digits",
    ),
    pytest.param(
        to_body(make_payload())[:-1] + b', "nota": ' + b"9" * 31 + b"}",
        400,
        "an integer of 31 digits",
        id="integer-of-31-digits",
    ),
    pytest.param(
        to_body(make_payload())[:-1] + b', "url": "https://example.org/?token=x"}',
        400,
        "duplicate key 'url'",
        id="duplicate-url-key",
    ),
    pytest.param(
        to_body(make_payload())[:-1] + b', "nota": NaN}',
        400,
        "NaN is not a JSON number",
        id="nan-constant",
    ),
    pytest.param(
        to_body(
            make_payload(url=_url_with_claim("https://sintegre.ons.org.br/Produtos/230/\ud800.xls"))
        ),
        422,
        "url",
        id="token-url-claim-lone-surrogate",
    ),
    pytest.param(
        to_body(make_payload(url=_url_with_claim(None))),
        422,
        "url",
        id="token-url-claim-huge-integer",
    ),
]

# The message substrings each URL refusal must contain, keyed by the case id.
URL_NEEDLES = {f"url-{p.id}": p.values[1] for p in _url_cases}


def test_the_refusal_table_is_big_enough():
    assert len(REFUSALS) >= 45
    assert len({p.id for p in REFUSALS}) == len(REFUSALS)


@pytest.mark.parametrize(("payload", "status", "field"), REFUSALS)
def test_refusals_are_4xx_naming_the_field_and_store_nothing(
    request, post, app, payload, status, field
):
    body = payload if isinstance(payload, bytes) else to_body(payload)
    response = post(body)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code == status
    answer = response.get_json()
    assert isinstance(answer, dict) and isinstance(answer.get("error"), str)
    if status == 422:
        assert answer["field"] == field
        assert f"'{field}'" in answer["error"]
        needle = URL_NEEDLES.get(request.node.callspec.id)
        if needle:
            assert needle in answer["error"]
    else:
        assert field in answer["error"]
        assert "field" not in answer
    assert "eyJ" not in answer["error"], "a refusal message must never echo the token"
    assert app.extensions["sintegre"]["inbox"].count() == 0


@pytest.mark.parametrize(
    "product_id_digits",
    [
        pytest.param("99999999999999999999", id="product-id-beyond-int64"),
        pytest.param("9" * 5000, id="product-id-5000-digits"),
    ],
)
def test_an_absurd_product_id_in_the_token_never_causes_a_5xx(post, app, product_id_digits):
    claims = {
        "URL": f"https://sintegre.ons.org.br/sites/9/13/56/Produtos/{product_id_digits}/x.xls",
        "nbf": NOW,
        "exp": NOW + 86_640,
    }
    response = post(make_payload(url=url_with_token(raw_jwt(json.dumps(claims)))))
    assert response.status_code in (200, 422)
    stored = app.extensions["sintegre"]["inbox"].count()
    assert stored == (1 if response.status_code == 200 else 0)


# --- odd but valid ------------------------------------------------------------------------------


def _pascal(url: str) -> bytes:
    return to_body(
        {
            "Nome": "Acomph",
            "Processo": "Acompanhamento das Condições Hidroenergéticas",
            "DataProduto": "29/04/2025",
            "MacroProcesso": "Programação da Operação",
            "Periodicidade": "2025-04-29T00:00:00",
            "PeriodicidadeFinal": "2025-04-29T23:59:59",
            "Uri": url,
        }
    )


def _upper(url: str) -> bytes:
    return to_body({key.upper(): value for key, value in make_payload(url=url).items()})


def _payload(url: str, **overrides: Any) -> bytes:
    return to_body(make_payload(url=url, **overrides))


def _escaped_accents(url: str) -> bytes:
    payload = make_payload(
        url=url, nome="Previsão de Geração Eólica", macroProcesso="Programação da Operação"
    )
    body = json.dumps(payload, ensure_ascii=True).encode("ascii")
    assert b"\\u00e7\\u00e3o" in body
    return body


def _padded(url: str) -> bytes:
    return to_body(
        {
            "nome": "  Acomph \t",
            "processo": " Acompanhamento das Condições Hidroenergéticas ",
            "dataProduto": " 29/04/2025 ",
            "macroProcesso": "\tProgramação da Operação  ",
            "periodicidade": " 2025-04-29T00:00:00 ",
            "periodicidadeFinal": "2025-04-29T23:59:59\n",
            "url": f"  {url} ",
        }
    )


DAILY = {"periodicidade": "2025-04-29", "periodicidade_final": "2025-04-29", "granularity": "daily"}

OddBuilder = Callable[[str], bytes]
ODD_BUT_VALID = [
    pytest.param(_pascal, {"product": "Acomph", **DAILY}, (), id="pascal-case-and-Uri"),
    pytest.param(_upper, {"product": "Acomph", "data_produto": "29/04/2025"}, (), id="upper-keys"),
    pytest.param(
        _escaped_accents,
        {
            "product": "Previsão de Geração Eólica",
            # The token says product 230: the catalog routes by id, whatever the name.
            "dataset": "acomph",
            "macroprocesso": "Programação da Operação",
        },
        (),
        id="escaped-accents",
    ),
    pytest.param(
        lambda url: _payload(url, origem="portal", versao=2),
        {"product": "Acomph"},
        ("extra_keys",),
        id="extra-unknown-keys",
    ),
    pytest.param(
        lambda url: _payload(url, dataProduto="Semana 18 de 2025"),
        {"data_produto": "Semana 18 de 2025"},
        ("data_produto_unknown_shape",),
        id="unknown-dataProduto-shape",
    ),
    pytest.param(
        lambda url: _payload(url, dataProduto=None, processo=None),
        {"data_produto": None, "processo": None},
        ("data_produto_missing", "processo_missing"),
        id="missing-dataProduto-and-processo",
    ),
    pytest.param(
        None,  # built in the test: the token must name the unknown product and id
        {"product": "Produto Que Ninguém Conhece", "product_id": 987_654},
        (),
        id="unknown-product-name-and-id",
    ),
    pytest.param(
        lambda url: _payload(
            url,
            dataProduto="08/2025",
            periodicidade="2025-08-01T03:00:00.000Z",
            periodicidadeFinal="2025-09-01T02:59:59.000Z",
        ),
        {
            "periodicidade": "2025-08-01",
            "periodicidade_final": "2025-08-31",
            "granularity": "monthly",
        },
        (),
        id="aware-utc-Z-august-stays-august",
    ),
    pytest.param(
        lambda url: _payload(
            url,
            periodicidade="2025-04-29T03:00:00+00:00",
            periodicidadeFinal="2025-04-30T02:59:59+00:00",
        ),
        DAILY,
        (),
        id="offset-plus-00-00",
    ),
    pytest.param(
        lambda url: _payload(
            url,
            periodicidade="2025-04-29T00:00:00-03:00",
            periodicidadeFinal="2025-04-29T23:59:59-03:00",
        ),
        DAILY,
        (),
        id="offset-minus-03-00",
    ),
    pytest.param(
        lambda url: _payload(
            url,
            periodicidade="2025-04-29T00:00:00.123",
            periodicidadeFinal="2025-04-29T23:59:59.999999",
        ),
        DAILY,
        (),
        id="fractional-seconds",
    ),
    pytest.param(
        lambda url: b"\xef\xbb\xbf" + _payload(url), {"product": "Acomph"}, (), id="utf8-bom"
    ),
    pytest.param(
        _padded,
        {"product": "Acomph", "data_produto": "29/04/2025", **DAILY},
        (),
        id="whitespace-around-values",
    ),
    pytest.param(
        lambda url: _payload(url.replace(ONS_HOST, ONS_HOST.upper())),
        {"product": "Acomph"},
        (),
        id="host-upper-case",
    ),
    pytest.param(
        lambda url: _payload(url.replace(ONS_HOST, f"{ONS_HOST}:443")),
        {"product": "Acomph"},
        (),
        id="explicit-port-443",
    ),
    pytest.param(
        lambda url: to_body({**make_payload(url=url), "Uri": url}),
        {"product": "Acomph"},
        (),
        id="url-and-Uri-identical",
    ),
    pytest.param(
        lambda url: _payload(url.replace("https://", "HTTPS://")),
        {"product": "Acomph", "dag_id": "sintegre__acomph"},
        (),
        id="scheme-upper-case",
    ),
    pytest.param(
        lambda url: _payload(url, nome="Acomph\u200b\u200f"),
        {"dataset": "acomph", "dag_id": "sintegre__acomph"},
        (),
        id="zero-width-space-and-rtl-mark-in-nome",
    ),
]


def test_the_odd_but_valid_table_is_big_enough():
    assert len(ODD_BUT_VALID) >= 12


@pytest.mark.parametrize(("build", "view_expected", "flags"), ODD_BUT_VALID)
def test_odd_but_valid_notifications_are_accepted(
    request, post, client: FlaskClient, app, build: OddBuilder | None, view_expected, flags
):
    # A distinct nbf per case (near now) gives each case a different token, hence body.
    index = [p.id for p in ODD_BUT_VALID].index(request.node.callspec.id)
    nbf = NOW - 10 * (index + 1)
    if build is None:
        url = ons_url(nbf=nbf, product_id=987_654, nome="Produto Que Ninguém Conhece")
        body = _payload(url, nome="Produto Que Ninguém Conhece")
    else:
        body = build(ons_url(nbf=nbf))
    response = post(body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "received"
    assert set(flags) <= set(answer["flags"])
    assert "unexpected_product" not in answer["flags"]

    view = client.get(
        f"/api/notifications/{answer['id']}",
        headers={"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)},
    )
    assert view.status_code == 200
    shown = view.get_json()
    assert shown["status"] == "received"
    assert set(flags) <= set(shown["flags"])
    for key, value in view_expected.items():
        assert shown[key] == value, key
    row = app.extensions["sintegre"]["inbox"].get(answer["id"])
    assert row["body"] == body, "the body is kept exactly as received (extra keys included)"
    # What the receiver accepts, the DAG accepts: the stored conf passes the DAG's Params.
    conf = json.loads(row["conf"])
    assert conf["url"].startswith("https://")
    assert re.fullmatch(r"[a-z0-9_]+", conf["dataset"])
    assert len(conf["dataset"]) <= 80


# --- refusals never log the token ---------------------------------------------------------------


def test_refusals_never_log_the_token(post, app, caplog):
    expired = ons_url(nbf=1_000_000_000)
    off_list = ons_url(nbf=NOW - 999, host="evil.example.com")
    caplog.set_level(logging.DEBUG)
    assert post(make_payload(url=expired)).status_code == 422
    assert post(make_payload(url=off_list)).status_code == 422
    assert "refused a notification" in caplog.text, "the refusals must be logged at all"
    for url in (expired, off_list):
        token = parse_qs(urlsplit(url).query)["token"][0]
        assert token not in caplog.text
        assert token.split(".")[1] not in caplog.text, "not even the claims segment"
    assert app.extensions["sintegre"]["inbox"].count() == 0
