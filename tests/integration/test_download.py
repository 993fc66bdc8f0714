"""Integration tests for ``sintegre.ingest.download``: the real HTTPS simulator, real files, no
mocks.

Every :class:`DownloadError` raised here is checked for the bearer token: it must be in
neither ``str(exc)`` nor ``repr(exc)`` nor any log record of the project's code. Records of
``urllib3`` (which logs the request path, query string included) are checked separately by
``test_no_log_record_carries_the_token``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from helpers.pipeline import ALLOWED_HOSTS, CSV_BYTES, conf_for, past_nbf, publish
from sintegre.ingest.download import (
    DownloadError,
    DownloadResult,
    download_to_raw,
    sanitize_file_name,
)
from sintegre_dev.simulator import SimulatorServer

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ACCENTED_NAME = "Carga_2° nível de contingência.csv"
LOGGERS = ("", "urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests", "sintegre")


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def ca(sim: SimulatorServer) -> str:
    """The simulator's CA, always passed explicitly (the environment sets its own bundle)."""
    return str(sim.ca_path)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture everything, urllib3's DEBUG lines included."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def download(conf: dict[str, Any], lake: Path, verify: str, **kwargs: Any) -> DownloadResult:
    kwargs.setdefault("allowed_hosts", ALLOWED_HOSTS)
    kwargs.setdefault("timeout", 10.0)
    kwargs.setdefault("retries", 2)
    return download_to_raw(conf, lake_root=lake, verify=verify, **kwargs)


def _record_texts(records: list[logging.LogRecord]) -> Iterator[tuple[str, str]]:
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text += record.exc_text
        yield record.name, text


def leaked_records(
    caplog: pytest.LogCaptureFixture, token: str, *, include_urllib3: bool
) -> list[str]:
    return [
        f"{name}: {text[:160]}"
        for name, text in _record_texts(caplog.records)
        if token in text and (include_urllib3 or not name.startswith("urllib3"))
    ]


def assert_token_hidden(
    exc: DownloadError,
    token: str,
    caplog: pytest.LogCaptureFixture,
    *,
    include_urllib3: bool = True,
) -> None:
    """The token is neither in the error nor in a captured log record.

    ``include_urllib3=True`` for downloads that reached the network: urllib3 logs the
    request path with its query string; the redacting filter must catch it.
    """
    assert token not in str(exc)
    assert token not in repr(exc)
    assert token not in " ".join(map(str, exc.args))
    assert not leaked_records(caplog, token, include_urllib3=include_urllib3)


def raw_files(lake: Path) -> list[Path]:
    raw = lake / "raw"
    return sorted(p for p in raw.rglob("*") if p.is_file()) if raw.exists() else []


# --- success -----------------------------------------------------------------------------


def test_download_lands_content_addressed(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)
    conf = conf_for(pub)

    result = download(conf, lake, ca)

    sha = hashlib.sha256(CSV_BYTES).hexdigest()
    expected = PurePosixPath("raw", "carga_dessem", "2024", "03", sha, pub.file_name)
    assert result.raw_path == str(expected)
    assert result.sha256 == sha
    assert result.size == len(CSV_BYTES)
    assert result.file_name == pub.file_name
    assert result.content_type == "text/csv"
    landed = lake / result.raw_path
    assert landed.read_bytes() == CSV_BYTES
    assert hashlib.sha256(landed.read_bytes()).hexdigest() == result.sha256
    assert raw_files(lake) == [landed]  # no .part left in raw/_incoming
    assert sim.request_count(pub) == 1
    assert result.to_dict()["raw_path"] == result.raw_path
    assert not leaked_records(logs, pub.token, include_urllib3=True)


def test_same_bytes_twice_give_one_raw_file(sim: SimulatorServer, ca: str, lake: Path) -> None:
    first = download(conf_for(publish(sim)), lake, ca)
    # A resend: same bytes, new token, new notification.
    second = download(conf_for(publish(sim)), lake, ca)

    assert second.raw_path == first.raw_path
    assert second.sha256 == first.sha256
    assert raw_files(lake) == [lake / first.raw_path]
    assert (lake / first.raw_path).read_bytes() == CSV_BYTES


# --- file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "served_name"),
    [
        pytest.param(
            "rfc5987",
            ACCENTED_NAME,
            id="rfc5987-accented",
        ),
        pytest.param("rfc5987", "IPDO-30-04-2025.pdf", id="rfc5987-ascii"),
        pytest.param("rfc2047", ACCENTED_NAME, id="rfc2047-accented"),
        pytest.param("plain", "ACOMPH_29.04.2025.xls", id="plain-ascii"),
        pytest.param(
            "plain",
            ACCENTED_NAME,
            id="plain-raw-utf8",
        ),
        pytest.param("none", ACCENTED_NAME, id="none-falls-back-to-url-claim"),
    ],
)
def test_file_name_from_content_disposition(
    sim: SimulatorServer, ca: str, lake: Path, disposition: str, served_name: str
) -> None:
    pub = publish(sim, file_name=served_name, disposition=disposition)
    conf = conf_for(pub)

    result = download(conf, lake, ca)

    assert result.file_name == served_name
    assert PurePosixPath(result.raw_path).name == served_name
    assert (lake / result.raw_path).read_bytes() == CSV_BYTES


@pytest.mark.parametrize("disposition", ["rfc2047", "none"])
def test_folder_product_is_named_after_nome(
    sim: SimulatorServer, ca: str, lake: Path, tmp_path: Path, disposition: str
) -> None:
    folder = tmp_path / "pasta"
    folder.mkdir()
    (folder / "carga.csv").write_bytes(CSV_BYTES)
    nome = "Previsão de Carga"
    pub = publish(sim, folder, nome=nome, is_file=False, disposition=disposition)
    conf = conf_for(pub)
    assert conf["token_is_file"] is False

    result = download(conf, lake, ca)

    assert result.file_name == f"{nome}.zip"
    assert PurePosixPath(result.raw_path).name == f"{nome}.zip"
    assert (lake / result.raw_path).read_bytes()[:4] == b"PK\x03\x04"
    assert result.sha256 == hashlib.sha256(pub.content).hexdigest()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.csv", "evil.csv"),
        ("C:\\Users\\ons\\Carga.csv", "Carga.csv"),
        ("a\x00b\nc\x1f.csv", "a_b_c_.csv"),
        ('re:la*t?o"r<i>o|.csv', "re_la_t_o_r_i_o_.csv"),
        ("  .hidden. ", "hidden"),
        (ACCENTED_NAME, ACCENTED_NAME),
        # NFD (macOS) spelling comes out NFC.
        ("Previsa\u0303o.csv", "Previsão.csv"),
        ("", "arquivo"),
        ("   ", "arquivo"),
        ("..", "arquivo"),
        ("../", "arquivo"),
        ("\x00\x01", "_"),
    ],
)
def test_sanitize_file_name(name: str, expected: str) -> None:
    assert sanitize_file_name(name) == expected


def test_sanitize_file_name_custom_fallback() -> None:
    assert sanitize_file_name("../..", fallback="produto.bin") == "produto.bin"


@pytest.mark.parametrize("stem_char", ["a", "é", "°"])
def test_sanitize_long_name_keeps_extension(stem_char: str) -> None:
    name = stem_char * 400 + ".xlsx"

    result = sanitize_file_name(name)

    assert result.endswith(".xlsx")
    assert len(result.encode("utf-8")) <= 200
    assert set(result[: -len(".xlsx")]) == {stem_char}  # no broken multi-byte character
    assert result == sanitize_file_name(result)  # stable


# --- expired tokens ---------------------------------------------------------------------------


def test_expired_token_refused_before_any_request(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    nbf = past_nbf() - 120
    pub = publish(sim, nbf=nbf, lifetime=30)  # expired 90 s ago
    conf = conf_for(pub, now=nbf + 1)  # the receiver saw it while it was valid
    assert conf["token_exp"] == nbf + 30

    with pytest.raises(DownloadError, match="expired") as info:
        download(conf, lake, ca)

    assert info.value.retryable is False
    assert "Reenviar" in str(info.value)
    assert sim.request_count(pub) == 0
    assert raw_files(lake) == []
    assert_token_hidden(info.value, pub.token, logs)


def test_conf_with_past_token_exp_refused(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)
    conf = conf_for(pub)
    conf["token_exp"] = int(time.time()) - 1

    with pytest.raises(DownloadError, match="expired") as info:
        download(conf, lake, ca)

    assert info.value.retryable is False
    assert sim.request_count(pub) == 0
    assert_token_hidden(info.value, pub.token, logs)


def test_now_argument_judges_expiry(sim: SimulatorServer, ca: str, lake: Path) -> None:
    pub = publish(sim)
    conf = conf_for(pub)

    with pytest.raises(DownloadError, match="expired"):
        download(conf, lake, ca, now=conf["token_exp"])  # exp itself is already too late

    assert sim.request_count(pub) == 0


def test_server_says_expired_403(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    nbf = past_nbf() - 120
    pub = publish(sim, nbf=nbf, lifetime=30)
    conf = conf_for(pub, now=nbf + 1)
    conf["token_exp"] = int(time.time()) + 3600  # our clock believes it is still valid

    with pytest.raises(DownloadError, match="403") as info:
        download(conf, lake, ca)

    assert info.value.retryable is False
    assert sim.request_count(pub) == 1  # a 403 is not retried
    assert raw_files(lake) == []
    assert_token_hidden(info.value, pub.token, logs, include_urllib3=True)


def test_token_the_proxy_cannot_verify_401(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)
    conf = conf_for(pub)
    head, claims, signature = pub.token.split(".")
    forged = f"{head}.{claims}.{signature[::-1]}"
    conf["url"] = pub.url.replace(pub.token, forged)

    with pytest.raises(DownloadError, match="401") as info:
        download(conf, lake, ca)

    assert info.value.retryable is False
    assert raw_files(lake) == []
    for token in (pub.token, forged):
        assert_token_hidden(info.value, token, logs, include_urllib3=True)


def test_unretried_status_does_not_claim_retries(sim: SimulatorServer, ca: str, lake: Path) -> None:
    pub = publish(sim)
    conf = conf_for(pub)
    conf["url"] = pub.url.replace(pub.token, pub.token[:-2] + "xx")

    with pytest.raises(DownloadError, match="401") as info:
        download(conf, lake, ca, retries=2)

    assert "retries" not in str(info.value)


# --- transient failures -----------------------------------------------------------------------


def test_transient_503s_are_retried(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)
    sim.set_failures(pub, [503, 503])

    result = download(conf_for(pub), lake, ca, retries=2)

    assert sim.request_count(pub) == 3
    assert (lake / result.raw_path).read_bytes() == CSV_BYTES
    assert not leaked_records(logs, pub.token, include_urllib3=True)


def test_503s_beyond_retries_fail_retryable(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)
    sim.set_failures(pub, [503] * 5)

    with pytest.raises(DownloadError, match="503") as info:
        download(conf_for(pub), lake, ca, retries=2)

    assert info.value.retryable is True
    assert sim.request_count(pub) == 3
    assert raw_files(lake) == []
    assert_token_hidden(info.value, pub.token, logs, include_urllib3=True)


# --- HTML instead of the file -----------------------------------------------------------------


def test_html_error_page_is_refused(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim, file_name="Carga_DESSEM_01-03-2024.xlsx")
    sim.set_html_error(pub)

    with pytest.raises(DownloadError, match="HTML") as info:
        download(conf_for(pub), lake, ca)

    assert info.value.retryable is False
    assert sim.request_count(pub) == 1
    assert raw_files(lake) == []  # nothing stored, no .part in raw/_incoming
    assert list((lake / "raw" / "_incoming").iterdir()) == []
    assert_token_hidden(info.value, pub.token, logs, include_urllib3=True)


def test_html_error_once_then_file(sim: SimulatorServer, ca: str, lake: Path) -> None:
    pub = publish(sim)
    sim.set_html_error(pub, times=1)
    conf = conf_for(pub)

    with pytest.raises(DownloadError, match="HTML"):
        download(conf, lake, ca)
    result = download(conf, lake, ca)  # the task's retry

    assert (lake / result.raw_path).read_bytes() == CSV_BYTES
    assert raw_files(lake) == [lake / result.raw_path]


# --- TLS and URL checks -------------------------------------------------------------------------


def test_untrusted_certificate_fails_with_tls_message(
    sim: SimulatorServer, lake: Path, logs: pytest.LogCaptureFixture
) -> None:
    pub = publish(sim)

    with pytest.raises(DownloadError, match=r"TLS.*certificate") as info:
        download(conf_for(pub), lake, SYSTEM_BUNDLE)

    assert "localhost" in str(info.value)
    assert sim.request_count(pub) == 0  # the handshake failed: no HTTP request was made
    assert raw_files(lake) == []
    assert_token_hidden(info.value, pub.token, logs, include_urllib3=True)


@pytest.mark.parametrize(
    ("mutate", "allowed", "message"),
    [
        pytest.param(lambda url: url, ("apps08.ons.org.br",), "ALLOWED_DOWNLOAD_HOSTS", id="host"),
        pytest.param(
            lambda url: url.replace("https://", "http://"), ALLOWED_HOSTS, "https", id="http"
        ),
        pytest.param(
            lambda url: url.replace("https://", "https://user:pw@"),
            ALLOWED_HOSTS,
            "credentials",
            id="credentials",
        ),
        pytest.param(
            lambda url: url.replace("localhost", "127.0.0.1"),
            (*ALLOWED_HOSTS, "127.0.0.1"),
            "IP address",
            id="ip",
        ),
    ],
)
def test_url_refused_before_any_request(
    sim: SimulatorServer,
    ca: str,
    lake: Path,
    logs: pytest.LogCaptureFixture,
    mutate: Any,
    allowed: tuple[str, ...],
    message: str,
) -> None:
    pub = publish(sim)
    conf = conf_for(pub)
    conf["url"] = mutate(conf["url"])

    with pytest.raises(DownloadError, match=message) as info:
        download(conf, lake, ca, allowed_hosts=allowed)

    assert str(info.value).startswith("refusing to download")
    assert info.value.retryable is False
    assert sim.request_count(pub) == 0
    assert raw_files(lake) == []
    assert_token_hidden(info.value, pub.token, logs)


# --- the token in log records ------------------------------------------------------------------


def _scenario(name: str, sim: SimulatorServer, ca: str, lake: Path) -> str:
    """Run one download scenario and return its token."""
    pub = publish(sim)
    conf = conf_for(pub)
    verify = ca
    if name == "403":
        nbf = past_nbf() - 120
        pub = publish(sim, nbf=nbf, lifetime=30)
        conf = conf_for(pub, now=nbf + 1)
        conf["token_exp"] = int(time.time()) + 3600
    elif name == "503-exhausted":
        sim.set_failures(pub, [503] * 3)
    elif name == "html":
        sim.set_html_error(pub)
    elif name == "tls":
        verify = SYSTEM_BUNDLE
    try:
        download(conf, lake, verify, retries=1)
    except DownloadError as exc:
        assert pub.token not in str(exc)
    return pub.token


@pytest.mark.parametrize("scenario", ["success", "403", "503-exhausted", "html", "tls"])
def test_no_log_record_carries_the_token(
    sim: SimulatorServer, ca: str, lake: Path, logs: pytest.LogCaptureFixture, scenario: str
) -> None:
    token = _scenario(scenario, sim, ca, lake)

    assert leaked_records(logs, token, include_urllib3=True) == []


def test_no_warning_record_carries_the_token(
    sim: SimulatorServer, lake: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pub = publish(sim)

    with pytest.raises(DownloadError, match="TLS"):
        download(conf_for(pub), lake, SYSTEM_BUNDLE, retries=1)

    assert [r.name for r in caplog.records if pub.token in r.getMessage()] == []
