"""Integration tests for the SINtegre simulator: real HTTPS, real sockets, no mocks."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import os
import queue
import ssl
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote

import jwt
import pytest
import requests

from sintegre_dev.simulator import (
    DEFAULT_SECRET,
    HTML_ERROR_PAGE,
    TOKEN_LIFETIME_SECONDS,
    Publication,
    SimulatorServer,
    build_notification,
    mint_token,
    send_notification,
)
from sintegre_dev.simulator.cli import main as cli_main

INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"
XLS_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"fake-acomph" * 100  # OLE2 magic + filler
OTHER_SECRET = "another-key-that-is-also-at-least-32-bytes-long"


def _publish(
    sim: SimulatorServer, name: str = "ACOMPH_29.04.2025.xls", **kwargs: object
) -> Publication:
    kwargs.setdefault("product_id", 230)
    kwargs.setdefault("nome", "Acomph")
    return sim.publish(kwargs.pop("content", XLS_BYTES), file_name=name, **kwargs)  # type: ignore[arg-type]


def _decode(token: str) -> dict:
    return jwt.decode(
        token, DEFAULT_SECRET, algorithms=["HS256"], audience="http://local.ons.org.br"
    )


# --- server basics -----------------------------------------------------------------


def test_server_urls_and_ca(sim: SimulatorServer) -> None:
    assert sim.base_url == f"https://localhost:{sim.port}"
    assert sim.port > 0
    assert sim.ca_path.is_file()
    assert sim.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_download_rfc5987(sim: SimulatorServer) -> None:
    name = "Relatório_Operação 29.04.2025.xls"
    pub = _publish(sim, name, disposition="rfc5987")
    assert pub.url == f"{sim.base_url}/ONS.Sintegre.Proxy/webhook?token={pub.token}"

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 200
    assert response.content == XLS_BYTES
    assert response.headers["Content-Type"] == "application/vnd.ms-excel"
    assert response.headers["Content-Length"] == str(len(XLS_BYTES))
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Relatorio_Operacao 29.04.2025.xls"; ')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert " " not in encoded
    assert unquote(encoded, encoding="utf-8") == name


def test_download_rfc2047(sim: SimulatorServer) -> None:
    name = "Previsão de Vazões.xlsx"
    pub = _publish(sim, name, disposition="rfc2047")

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 200
    assert response.content == XLS_BYTES
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="=?utf-8?B?')
    encoded_word = disposition.split('filename="', 1)[1].rstrip('"')
    [(raw, charset)] = decode_header(encoded_word)
    assert raw.decode(charset) == name


def test_download_plain_ascii(sim: SimulatorServer) -> None:
    pub = _publish(sim, "IPDO-30-04-2025.pdf", disposition="plain")

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.headers["Content-Disposition"] == 'attachment; filename="IPDO-30-04-2025.pdf"'
    assert response.headers["Content-Type"] == "application/pdf"


def test_download_plain_non_ascii_is_raw_utf8(sim: SimulatorServer) -> None:
    # The hazard: raw UTF-8 bytes in the header, which HTTP clients decode as Latin-1.
    name = "Energia Armazenada – Região.csv"
    pub = _publish(sim, name, disposition="plain")

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    mojibake = response.headers["Content-Disposition"]
    assert mojibake != f'attachment; filename="{name}"'
    assert mojibake.encode("latin-1").decode("utf-8") == f'attachment; filename="{name}"'


def test_download_without_disposition(sim: SimulatorServer) -> None:
    pub = _publish(sim, "dados.zip", disposition="none")

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 200
    assert "Content-Disposition" not in response.headers
    assert response.headers["Content-Type"] == "application/zip"


def test_large_file_streams_intact(sim: SimulatorServer, tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "big.xlsx"
    source.write_bytes(big)
    pub = _publish(sim, "big.xlsx", content=source)

    with requests.get(pub.url, verify=sim.ca_path, timeout=10, stream=True) as response:
        received = b"".join(response.iter_content(256 * 1024))

    assert received == big
    assert pub.content == big


def test_keep_alive_session_and_head(sim: SimulatorServer) -> None:
    pub = _publish(sim, "keepalive.xls")
    with requests.Session() as session:
        # Per request: requests lets REQUESTS_CA_BUNDLE override session.verify.
        head = session.head(pub.url, verify=sim.ca_path, timeout=10)
        first = session.get(pub.url, verify=sim.ca_path, timeout=10)
        second = session.get(pub.url, verify=sim.ca_path, timeout=10)

    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(XLS_BYTES))
    assert head.content == b""
    assert first.content == second.content == XLS_BYTES
    assert sim.request_count(pub) == 3


def test_certificate_valid_for_loopback_ip(sim: SimulatorServer) -> None:
    pub = _publish(sim, "loopback.xls")
    url = pub.url.replace("://localhost:", "://127.0.0.1:")

    response = requests.get(url, verify=sim.ca_path, timeout=10)

    assert response.content == XLS_BYTES


def test_client_without_ca_fails_tls(sim: SimulatorServer) -> None:
    pub = _publish(sim, "untrusted.xls")

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pub.url, timeout=10)
    # The failed handshake must not take the server down.
    assert requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code == 200


def test_plain_http_request_does_not_break_server(sim: SimulatorServer) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://localhost:{sim.port}/ONS.Sintegre.Proxy/webhook?token=x", timeout=5)
    assert requests.get(f"{sim.base_url}/", verify=sim.ca_path, timeout=10).status_code == 404


def test_other_paths_are_404(sim: SimulatorServer) -> None:
    pub = _publish(sim, "path.xls")
    token_query = pub.url.split("?", 1)[1]

    for path in ("/", "/ONS.Sintegre.Proxy/other", f"/webhook?{token_query}"):
        response = requests.get(f"{sim.base_url}{path}", verify=sim.ca_path, timeout=10)
        assert response.status_code == 404, path


# --- token checks ------------------------------------------------------------------


def test_expired_token_is_403(sim: SimulatorServer) -> None:
    pub = _publish(sim, "expired.xls", nbf=int(time.time()) - 100, lifetime=10)

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert 0 < len(response.content) < 200
    assert XLS_BYTES not in response.content
    assert sim.request_count(pub) == 1


def test_token_expires_at_exp_boundary(sim: SimulatorServer) -> None:
    # exp == now (nbf = now - lifetime) already counts as expired: now >= exp.
    lifetime = 60
    pub = _publish(sim, "boundary.xls", nbf=int(time.time()) - lifetime, lifetime=lifetime)

    assert requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code == 403


def test_not_yet_valid_token_is_403(sim: SimulatorServer) -> None:
    pub = _publish(sim, "future.xls", nbf=int(time.time()) + 3600)

    assert requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code == 403


def test_tampered_token_is_401(sim: SimulatorServer) -> None:
    pub = _publish(sim, "tampered.xls")
    header, payload, signature = pub.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["URL"] = claims["URL"].replace("tampered.xls", "other.xls")
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged_url = pub.url.replace(pub.token, f"{header}.{forged_payload}.{signature}")

    response = requests.get(forged_url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 401
    assert sim.request_count(pub) == 0


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-jwt", "?other=1"])
def test_missing_or_garbage_token_is_401(sim: SimulatorServer, query: str) -> None:
    response = requests.get(
        f"{sim.base_url}/ONS.Sintegre.Proxy/webhook{query}", verify=sim.ca_path, timeout=10
    )

    assert response.status_code == 401


def test_token_signed_with_other_key_is_401(sim: SimulatorServer) -> None:
    token = mint_token(
        url_claim="https://sintegre.ons.org.br/x.xls", nome_produto="X", secret=OTHER_SECRET
    )

    response = requests.get(
        f"{sim.base_url}/ONS.Sintegre.Proxy/webhook?token={token}", verify=sim.ca_path, timeout=10
    )

    assert response.status_code == 401


def test_valid_but_unpublished_token_is_401(sim: SimulatorServer) -> None:
    token = mint_token(
        url_claim="https://sintegre.ons.org.br/never-published.xls", nome_produto="X"
    )

    response = requests.get(
        f"{sim.base_url}/ONS.Sintegre.Proxy/webhook?token={token}", verify=sim.ca_path, timeout=10
    )

    assert response.status_code == 401


def test_file_token_claims(sim: SimulatorServer) -> None:
    nbf = int(time.time()) - 5
    pub = _publish(sim, "ACOMPH_29.04.2025.xls", product_id=230, nome="Acomph", nbf=nbf)

    claims = _decode(pub.token)

    assert claims == pub.claims
    assert claims == {
        "URL": "https://sintegre.ons.org.br/sites/9/13/56/Produtos/230/ACOMPH_29.04.2025.xls",
        "username": "analista@example.com.br",
        "nomeProduto": "Acomph",
        "IsFile": "True",
        "iss": "http://local.ons.org.br",
        "aud": "http://local.ons.org.br",
        "nbf": nbf,
        "exp": nbf + 86_640,
    }
    assert jwt.get_unverified_header(pub.token)["alg"] == "HS256"
    assert pub.file_name == "ACOMPH_29.04.2025.xls"


def test_mint_token_defaults() -> None:
    before = int(time.time())
    token = mint_token(
        url_claim="/sites/9/52/71/Produtos/288/22-04-2025_122000",
        nome_produto="Pasta",
        is_file=False,
    )

    claims = _decode(token)

    assert before <= claims["nbf"] <= int(time.time())
    assert claims["exp"] - claims["nbf"] == TOKEN_LIFETIME_SECONDS == 86_640
    assert claims["IsFile"] == "False"
    assert claims["username"] == "analista@example.com.br"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, OTHER_SECRET, algorithms=["HS256"], audience="http://local.ons.org.br")


def test_folder_product_is_zipped_and_named_after_nome(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    folder = tmp_path / "deck"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha", encoding="utf-8")
    (folder / "sub" / "b.csv").write_text("x;y\n1;2\n", encoding="utf-8")
    # 22/04/2025 12:20:00 in Brasília (UTC-3) is 15:20:00 UTC.
    nbf = int(datetime(2025, 4, 22, 15, 20, tzinfo=UTC).timestamp())
    pub = sim.publish(
        folder,
        file_name="ignored",
        product_id=288,
        nome="Deck Decomp",
        is_file=False,
        nbf=nbf,
        lifetime=10 * 365 * 86400,
    )

    assert pub.claims["URL"] == "/sites/9/52/71/Produtos/288/22-04-2025_122000"
    assert pub.claims["IsFile"] == "False"
    assert pub.file_name == "Deck Decomp.zip"

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''Deck%20Decomp.zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["a.txt", "sub/b.csv"]
        assert archive.read("sub/b.csv") == b"x;y\n1;2\n"


def test_publish_rejects_bad_arguments(sim: SimulatorServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        _publish(sim, "x.xls", disposition="weird")
    with pytest.raises(ValueError):
        sim.publish(tmp_path, file_name="d", product_id=1, nome="d", is_file=True)
    with pytest.raises(RuntimeError):
        SimulatorServer().publish(b"x", file_name="x.xls", product_id=1, nome="x")


# --- injected hazards --------------------------------------------------------------


def test_set_failures_then_file(sim: SimulatorServer) -> None:
    pub = _publish(sim, "retry.xls")
    sim.set_failures(pub.token, [503, 503])

    statuses = [requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert sim.request_count(pub.token) == 3
    assert sim.request_count(pub.url) == 3


def test_set_failures_by_url_mixed_statuses(sim: SimulatorServer) -> None:
    pub = _publish(sim, "retry2.xls")
    sim.set_failures(pub.url, [500, 429])

    first = requests.get(pub.url, verify=sim.ca_path, timeout=10)
    second = requests.get(pub.url, verify=sim.ca_path, timeout=10)
    third = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert (first.status_code, second.status_code, third.status_code) == (500, 429, 200)
    assert third.content == XLS_BYTES


def test_set_failures_unknown_publication(sim: SimulatorServer) -> None:
    with pytest.raises(KeyError) as excinfo:
        sim.set_failures("no-such-token", [503])
    assert "no-such-token" not in str(excinfo.value)
    assert sim.request_count("no-such-token") == 0


def test_html_error_page_with_200(sim: SimulatorServer) -> None:
    pub = _publish(sim, "html.xls")
    sim.set_html_error(pub.token)

    for _ in range(2):
        response = requests.get(pub.url, verify=sim.ca_path, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Content-Disposition" not in response.headers
        assert response.content == HTML_ERROR_PAGE
        assert response.content.lstrip().lower().startswith(b"<!doctype html")


def test_html_error_limited_times(sim: SimulatorServer) -> None:
    pub = _publish(sim, "html-once.xls")
    sim.set_html_error(pub.url, times=1)

    first = requests.get(pub.url, verify=sim.ca_path, timeout=10)
    second = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert first.content == HTML_ERROR_PAGE
    assert second.content == XLS_BYTES


def test_fault_404_then_file(sim: SimulatorServer) -> None:
    pub = _publish(sim, "fault-404.xls")
    sim.set_fault(pub, "404", times=1)

    first = requests.get(pub.url, verify=sim.ca_path, timeout=10)
    second = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert first.status_code == 404
    assert first.headers["Content-Type"].startswith("text/plain")
    assert "Content-Disposition" not in first.headers
    assert XLS_BYTES not in first.content
    assert second.status_code == 200
    assert second.content == XLS_BYTES
    assert sim.request_count(pub) == 2


def test_fault_500_every_time_until_cleared(sim: SimulatorServer) -> None:
    pub = _publish(sim, "fault-500.xls")
    sim.set_fault(pub.url, "500")

    statuses = [requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code for _ in range(3)]
    sim.clear_faults(pub)
    after = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert statuses == [500, 500, 500]
    assert after.status_code == 200
    assert after.content == XLS_BYTES


def test_fault_slow_waits_slow_seconds(tmp_path: Path) -> None:
    with SimulatorServer(cert_dir=tmp_path, slow_seconds=1.0) as server:
        assert server.slow_seconds == 1.0
        pub = server.publish(XLS_BYTES, file_name="slow.xls", product_id=230, nome="Acomph")
        server.set_fault(pub, "slow", times=2)

        started = time.monotonic()
        slow = requests.get(pub.url, verify=server.ca_path, timeout=10)
        elapsed = time.monotonic() - started
        # A client that gives up sooner times out; the server survives it.
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(pub.url, verify=server.ca_path, timeout=0.3)
        started = time.monotonic()
        fast = requests.get(pub.url, verify=server.ca_path, timeout=10)
        fast_elapsed = time.monotonic() - started

    assert elapsed >= server.slow_seconds
    assert slow.status_code == 200
    assert slow.content == XLS_BYTES
    assert fast.content == XLS_BYTES
    assert fast_elapsed < server.slow_seconds


def test_fault_slow_default_and_per_fault_seconds(sim: SimulatorServer) -> None:
    assert sim.slow_seconds == 3.0  # the default
    pub = _publish(sim, "slow-override.xls")
    sim.set_fault(pub, "slow", times=1, seconds=0.5)

    started = time.monotonic()
    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert time.monotonic() - started >= 0.5
    assert response.content == XLS_BYTES


def test_fault_truncated_announces_full_length_sends_half(sim: SimulatorServer) -> None:
    content = os.urandom(200_001)
    pub = _publish(sim, "truncated.xlsx", content=content)
    sim.set_fault(pub, "truncated", times=1)
    context = ssl.create_default_context(cafile=str(sim.ca_path))
    connection = http.client.HTTPSConnection("localhost", sim.port, context=context, timeout=10)
    try:
        connection.request("GET", pub.url.split(str(sim.port), 1)[1])
        response = connection.getresponse()
        announced = int(response.getheader("Content-Length", "0"))
        # http.client keeps what did arrive in IncompleteRead.partial.
        with pytest.raises(http.client.IncompleteRead) as excinfo:
            response.read()
    finally:
        connection.close()
    again = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status == 200
    assert announced == len(content)
    assert excinfo.value.partial == content[: len(content) // 2]
    assert again.content == content


def test_fault_truncated_requests_notices(sim: SimulatorServer) -> None:
    content = os.urandom(100_000)
    pub = _publish(sim, "truncated-requests.xlsx", content=content)
    sim.set_fault(pub, "truncated", times=1)

    with requests.get(pub.url, verify=sim.ca_path, timeout=10, stream=True) as response:
        assert response.headers["Content-Length"] == str(len(content))
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(response.iter_content(8192))


def test_fault_truncated_plain_get_raises_or_is_short(sim: SimulatorServer) -> None:
    pub = _publish(sim, "truncated-plain.xls")
    sim.set_fault(pub, "truncated")

    try:
        body: bytes | None = requests.get(pub.url, verify=sim.ca_path, timeout=10).content
    except requests.exceptions.ChunkedEncodingError:
        body = None

    assert body is None or len(body) < len(XLS_BYTES)


def test_fault_head_truncated_still_answers_headers(sim: SimulatorServer) -> None:
    pub = _publish(sim, "truncated-head.xls")
    sim.set_fault(pub, "truncated", times=1)

    head = requests.head(pub.url, verify=sim.ca_path, timeout=10)

    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(XLS_BYTES))


def test_faults_queue_after_failures_and_before_html(sim: SimulatorServer) -> None:
    pub = _publish(sim, "fault-order.xls")
    sim.set_html_error(pub, times=1)
    sim.set_failures(pub, [503])
    sim.set_fault(pub, "404", times=1)
    sim.set_fault(pub, "500", times=2)

    answers = []
    for _ in range(6):
        response = requests.get(pub.url, verify=sim.ca_path, timeout=10)
        answers.append("html" if response.content == HTML_ERROR_PAGE else response.status_code)

    assert answers == [503, 404, 500, 500, "html", 200]


def test_set_fault_rejects_bad_arguments(sim: SimulatorServer) -> None:
    pub = _publish(sim, "fault-args.xls")
    with pytest.raises(ValueError):
        sim.set_fault(pub, "418")
    with pytest.raises(ValueError):
        sim.set_fault(pub, "404", seconds=1.0)
    with pytest.raises(KeyError) as excinfo:
        sim.set_fault("no-such-token", "404")
    assert "no-such-token" not in str(excinfo.value)
    sim.set_fault(pub, "500", times=0)  # nothing to do
    assert requests.get(pub.url, verify=sim.ca_path, timeout=10).status_code == 200


def test_traversal_disposition(sim: SimulatorServer) -> None:
    pub = _publish(sim, "IPDO-30-04-2025.pdf", disposition="traversal")

    response = requests.get(pub.url, verify=sim.ca_path, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="../../etc/IPDO-30-04-2025.pdf"'
    )
    assert response.content == XLS_BYTES


def test_reused_ca_survives_restarts(tmp_path: Path) -> None:
    with SimulatorServer(cert_dir=tmp_path, reuse_ca=True) as first:
        ca_pem = first.ca_path.read_bytes()
    key = tmp_path / "sintegre-simulator-ca.key"
    assert key.stat().st_mode & 0o777 == 0o600
    trusted = tmp_path / "trusted-ca.pem"
    trusted.write_bytes(ca_pem)

    with SimulatorServer(cert_dir=tmp_path, reuse_ca=True) as second:
        pub = second.publish(b"abc", file_name="a.txt", product_id=1, nome="a")
        # A client configured with the first run's CA still trusts the second run.
        assert requests.get(pub.url, verify=trusted, timeout=10).content == b"abc"
    assert (tmp_path / "sintegre-simulator-ca.pem").read_bytes() == ca_pem

    with SimulatorServer(cert_dir=tmp_path) as fresh:  # without reuse_ca: a new CA
        assert fresh.ca_path.read_bytes() != ca_pem


def test_token_never_logged(sim: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    pub = _publish(sim, "secret.xls")
    caplog.set_level(logging.DEBUG, logger="sintegre_dev.simulator")

    requests.get(pub.url, verify=sim.ca_path, timeout=10)
    requests.get(f"{sim.base_url}/nope?token={pub.token}", verify=sim.ca_path, timeout=10)
    # Let the handler threads finish logging before inspecting the records.
    time.sleep(0.2)

    assert "/ONS.Sintegre.Proxy/webhook" in caplog.text
    assert pub.token not in caplog.text
    assert pub.token.split(".")[2] not in caplog.text


def test_context_manager_releases_port(tmp_path: Path) -> None:
    with SimulatorServer(cert_dir=tmp_path) as server:
        pub = server.publish(b"abc", file_name="a.txt", product_id=1, nome="a")
        assert requests.get(pub.url, verify=server.ca_path, timeout=10).content == b"abc"
        port = server.port
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(
            f"https://localhost:{port}/", verify=tmp_path / "sintegre-simulator-ca.pem", timeout=2
        )


def test_default_cert_dir_is_temporary() -> None:
    server = SimulatorServer().start()
    try:
        ca_path = server.ca_path
        assert ca_path.is_file()
    finally:
        server.stop()
    assert not ca_path.exists()


# --- notifications -----------------------------------------------------------------


def test_build_notification(sim: SimulatorServer) -> None:
    pub = _publish(sim, "ACOMPH_29.04.2025.xls")

    payload = build_notification(
        pub,
        processo="Acompanhamento das Condições Hidroenergéticas",
        macro_processo="Programação da Operação",
        data_produto="29/04/2025",
        periodicidade=datetime(2025, 4, 29),
        periodicidade_final=datetime(2025, 4, 29, 23, 59, 59, 999_999),
    )

    assert list(payload) == [
        "nome",
        "processo",
        "dataProduto",
        "macroProcesso",
        "periodicidade",
        "periodicidadeFinal",
        "url",
    ]
    assert payload == {
        "nome": "Acomph",
        "processo": "Acompanhamento das Condições Hidroenergéticas",
        "dataProduto": "29/04/2025",
        "macroProcesso": "Programação da Operação",
        "periodicidade": "2025-04-29T00:00:00",
        "periodicidadeFinal": "2025-04-29T23:59:59",
        "url": pub.url,
    }


def test_build_notification_weekly_aware_dates_and_nome_override(sim: SimulatorServer) -> None:
    pub = _publish(sim, "semanal.xls", nome="Produto Semanal")
    start = datetime(2025, 4, 26, 3, 0, tzinfo=UTC)  # Saturday 00:00 in Brasília

    payload = build_notification(
        pub,
        processo="P",
        macro_processo="M",
        data_produto="26/04/2025 - 02/05/2025",
        periodicidade=start,
        periodicidade_final=start + timedelta(days=7, seconds=-1),
        nome="Outro Nome",
    )

    assert payload["nome"] == "Outro Nome"
    assert payload["dataProduto"] == "26/04/2025 - 02/05/2025"
    assert payload["periodicidade"] == "2025-04-26T00:00:00"
    assert payload["periodicidadeFinal"] == "2025-05-02T23:59:59"


def test_build_notification_pascal_case(sim: SimulatorServer) -> None:
    pub = _publish(sim, "ACOMPH_01.05.2025.xls")

    payload = build_notification(
        pub,
        processo="P",
        macro_processo="M",
        data_produto="01/05/2025",
        periodicidade=datetime(2025, 5, 1),
        periodicidade_final=datetime(2025, 5, 1, 23, 59, 59),
        pascal_case=True,
    )

    assert list(payload) == [
        "Nome",
        "Processo",
        "DataProduto",
        "MacroProcesso",
        "Periodicidade",
        "PeriodicidadeFinal",
        "Uri",
    ]
    assert payload["Uri"] == pub.url
    assert payload["Nome"] == "Acomph"
    assert payload["PeriodicidadeFinal"] == "2025-05-01T23:59:59"


class _Recorder(BaseHTTPRequestHandler):
    """Plain-HTTP webhook that remembers what it received."""

    # Replaced per fixture by a subclass with its own list (see ``recorder``).
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook", received
    finally:
        server.shutdown()
        server.server_close()


def _last(received: list[tuple[dict[str, str], bytes]]) -> tuple[dict[str, str], bytes]:
    headers, body = received[-1]
    return {key.lower(): value for key, value in headers.items()}, body


SAMPLE = {
    "nome": "Acomph",
    "processo": "Acompanhamento das Condições Hidroenergéticas",
    "url": "https://x/y?token=t",
}


def test_send_basic_auth(recorder: tuple[str, list]) -> None:
    url, received = recorder

    response = send_notification(url, SAMPLE, auth="basic", user="ons", password="pâss:word")

    assert response.status_code == 200
    headers, body = _last(received)
    assert (
        headers["authorization"] == "Basic " + base64.b64encode("ons:pâss:word".encode()).decode()
    )
    assert headers["content-type"] == "application/json; charset=utf-8"
    # ensure_ascii=False: accents travel as UTF-8 bytes, not \u escapes.
    assert "Condições".encode() in body
    assert b"\\u" not in body
    assert json.loads(body.decode("utf-8")) == SAMPLE


def test_send_raw_token_auth(recorder: tuple[str, list]) -> None:
    url, received = recorder

    send_notification(url, SAMPLE, auth="token", token="abc123-raw-token")

    headers, _ = _last(received)
    assert headers["authorization"] == "abc123-raw-token"


def test_send_no_auth_and_raw_bytes(recorder: tuple[str, list]) -> None:
    url, received = recorder
    raw = b'{"nome": "Acomph", broken json'

    response = send_notification(url, raw)

    assert response.ok
    headers, body = _last(received)
    assert "authorization" not in headers
    assert body == raw


def test_send_rejects_bad_auth_arguments(recorder: tuple[str, list]) -> None:
    url, _ = recorder
    with pytest.raises(ValueError):
        send_notification(url, SAMPLE, auth="basic", user="only-user")
    with pytest.raises(ValueError):
        send_notification(url, SAMPLE, auth="token")
    with pytest.raises(ValueError):
        send_notification(url, SAMPLE, auth="bearer", token="x")


def test_end_to_end_notification_then_download(
    sim: SimulatorServer, recorder: tuple[str, list]
) -> None:
    url, received = recorder
    pub = _publish(sim, "ACOMPH_30.04.2025.xls")
    payload = build_notification(
        pub,
        processo="P",
        macro_processo="M",
        data_produto="30/04/2025",
        periodicidade=datetime(2025, 4, 30),
        periodicidade_final=datetime(2025, 4, 30, 23, 59, 59),
    )

    send_notification(url, payload, auth="token", token="t")
    _, body = _last(received)
    delivered = json.loads(body)

    assert requests.get(delivered["url"], verify=sim.ca_path, timeout=10).content == XLS_BYTES


# --- CLI ---------------------------------------------------------------------------


def test_cli_send(
    recorder: tuple[str, list], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, received = recorder
    payload_file = tmp_path / "payload.json"
    payload_file.write_bytes(json.dumps(SAMPLE, ensure_ascii=False).encode("utf-8"))

    code = cli_main(
        [
            "send",
            url,
            "--auth",
            "basic",
            "--user",
            "u",
            "--password",
            "p",
            "--file",
            str(payload_file),
        ]
    )

    assert code == 0
    assert "HTTP 200" in capsys.readouterr().out
    headers, body = _last(received)
    assert headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert body == payload_file.read_bytes()


def _read_lines_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """Read stdout lines until one contains ``marker`` (fail instead of hanging)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            seen.append(lines.get(timeout=remaining))
        except queue.Empty:
            break
        if marker in seen[-1]:
            return seen
    raise AssertionError(f"no {marker!r} in output: {seen}")


def test_cli_serve_redacts_tokens(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "ACOMPH_29.04.2025.xls").write_bytes(XLS_BYTES)
    (files / "Deck").mkdir()
    (files / "Deck" / "x.txt").write_text("x")
    payload_dir = tmp_path / "payloads"
    env = {**os.environ, "PYTHONPATH": str(INCLUDE_DIR)}
    stderr_log = tmp_path / "stderr.log"
    command = [sys.executable, "-u", "-m", "sintegre_dev.simulator", "serve", "--port", "0"]
    command += ["--cert-dir", str(tmp_path / "c"), "--files", str(files)]
    command += ["--payload-dir", str(payload_dir)]
    with (
        stderr_log.open("w") as stderr,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        ) as process,
    ):
        try:
            lines = _read_lines_until(process, "serving https://localhost:", timeout=30)
            published = [line for line in lines if line.startswith("published")]
            assert len(published) == 2
            assert all("?token=REDACTED" in line for line in published)
            payloads = sorted(payload_dir.glob("*.json"))
            names = [p.name for p in payloads]
            assert names == ["01_ACOMPH_29.04.2025.xls.json", "02_Deck.zip.json"]
            notification = json.loads(payloads[0].read_text(encoding="utf-8"))
            assert notification["nome"] == "ACOMPH_29.04.2025"
            ca = tmp_path / "c" / "sintegre-simulator-ca.pem"
            assert requests.get(notification["url"], verify=ca, timeout=10).content == XLS_BYTES
            assert notification["url"].split("token=")[1] not in "".join(lines)
        finally:
            # SIGTERM must shut down cleanly (exit 0), as under a process supervisor.
            process.terminate()
            process.wait(timeout=15)
    assert process.returncode == 0, stderr_log.read_text()
