"""Fault drills: what a bad day at the SINtegre proxy does to one ingestion.

Each drill runs the pipeline's real download step (and, when the download succeeds, its real
parse step) against the local HTTPS simulator of the ONS proxy
(:class:`sintegre_dev.simulator.SimulatorServer`, real TLS with a trustme CA), with one fault
injected. For every drill the test checks:

- the outcome: success, or a :class:`DownloadError` / :class:`ReaderError` whose message says
  what happened, and whether the failure is retryable (worth an Airflow retry) or not;
- the raw zone holds no partial or temporary file (``*.part`` or anything in
  ``raw/_incoming``), and a failed download left no file at all;
- the lake holds no curated or history file, and nothing is staged.

Test ids name the drills (``drill_404`` ...). With ``-o junit_family=xunit1`` each case records
``drill``, ``expected`` and ``outcome`` properties in the JUnit XML; :func:`drill_table` gives
every drill's expected outcome whatever the JUnit family.

Decisions the drills pin down:

- 404 is NOT retried: on the proxy it means the link points at a file that is gone (expired
  link, file replaced); asking again gets the same answer, so it fails at once, clearly,
  telling the operator to resend from SINtegre.
- 403 (expired or revoked token) is not retried either: only a fresh notification helps.
- 500/502/503/504 and 429 are retried inside the download (urllib3 ``Retry``, backoff), and
  once retries are exhausted the error is retryable at the task level.
- A stalled server (read timeout) and a body cut short are retryable.
- An HTML page served with 200 is refused with the page title quoted, not retryable (the
  existing contract of ``download_to_raw``).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fixtures.hostile import make_bomb_zip, make_corrupt_xlsx, make_slip_zip
from helpers.pipeline import CSV_BYTES, conf_for, past_nbf, publish
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.download import DownloadError
from sintegre.ingest.pipeline import download_step, parse_step
from sintegre.readers import ReaderError
from sintegre_dev.simulator import Publication, SimulatorServer

TIMEOUT_SECONDS = 0.5
RETRIES = 1


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorServer]:
    with SimulatorServer(
        cert_dir=tmp_path_factory.mktemp("drill-certs"), slow_seconds=3.0
    ) as server:
        yield server


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def settings(sim: SimulatorServer, tmp_path: Path, lake: Path) -> Settings:
    return load_settings(
        {
            "LAKE_URI": str(lake),
            "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
            "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": "localhost",
            "REQUESTS_CA_BUNDLE": str(sim.ca_path),
            "SINTEGRE_DOWNLOAD_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "SINTEGRE_DOWNLOAD_RETRIES": str(RETRIES),
        }
    )


def drill_table() -> dict[str, str]:
    """Every drill id and its expected outcome, for reports built from the JUnit XML."""
    drills: dict[str, DownloadDrill | ReaderDrill | RedirectDrill] = {
        **DOWNLOAD_DRILLS,
        **READER_DRILLS,
        **REDIRECT_DRILLS,
    }
    return {drill_id: drill.expected for drill_id, drill in drills.items()}


@pytest.fixture
def record(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[[str, object], None]:
    """``record_property`` when the JUnit family keeps properties (xunit1/legacy), else a no-op.

    Run with ``-o junit_family=xunit1`` to get ``drill``/``expected``/``outcome`` properties in
    the XML; :func:`drill_table` gives the expectations in any case.
    """
    if request.config.getini("junit_family") == "xunit2":
        return lambda name, value: None
    return record_property


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_raw_has_no_partial_file(lake: Path) -> None:
    raw = lake / "raw"
    leftovers = (
        [
            name
            for name in files_under(raw)
            if name.startswith("_incoming/") or name.endswith(".part")
        ]
        if raw.exists()
        else []
    )
    assert leftovers == []


def assert_nothing_curated(lake: Path) -> None:
    for zone in ("curated", "history", "_staging"):
        assert not (lake / zone).exists() or files_under(lake / zone) == [], zone


# --------------------------------------------------------------------------- download drills


@dataclass(frozen=True)
class DownloadDrill:
    """One fault at the proxy and the outcome it must have."""

    arrange: Callable[[SimulatorServer], tuple[Publication, dict[str, Any]]]
    expected: str
    match: str | None  # None: the download succeeds
    retryable: bool = False
    requests: int | None = None  # requests the proxy must have seen


def _published(
    fault: Callable[[SimulatorServer, Publication], None] | None = None,
    content: bytes = CSV_BYTES,
) -> Callable[[SimulatorServer], tuple[Publication, dict[str, Any]]]:
    def arrange(sim: SimulatorServer) -> tuple[Publication, dict[str, Any]]:
        pub = publish(sim, content, nbf=past_nbf())
        if fault is not None:
            fault(sim, pub)
        return pub, conf_for(pub)

    return arrange


def _expired_token(sim: SimulatorServer) -> tuple[Publication, dict[str, Any]]:
    nbf = past_nbf() - 120
    pub = publish(sim, nbf=nbf, lifetime=30)
    conf = conf_for(pub, now=nbf + 1)
    conf["token_exp"] = int(time.time()) + 3600  # our clock believes it is still valid
    return pub, conf


DOWNLOAD_DRILLS = {
    "drill_404": DownloadDrill(
        _published(lambda sim, pub: sim.set_fault(pub, "404")),
        expected="fails at once, not retryable: 'SINtegre answered 404 ... Reenviar'; "
        "one request only",
        match=r"404: the product file is no longer there.*Reenviar",
        requests=1,
    ),
    "drill_500_then_200": DownloadDrill(
        _published(lambda sim, pub: sim.set_fault(pub, "500", times=1)),
        expected="urllib3 retries the 500 and the second request downloads the file",
        match=None,
        requests=2,
    ),
    "drill_500_exhausted": DownloadDrill(
        _published(lambda sim, pub: sim.set_fault(pub, "500")),
        expected=f"fails retryable after {RETRIES} retry: 'SINtegre answered HTTP 500 after "
        f"{RETRIES} retries'",
        match=rf"HTTP 500 after {RETRIES} retries",
        retryable=True,
        requests=RETRIES + 1,
    ),
    "drill_stalled_connection": DownloadDrill(
        _published(lambda sim, pub: sim.set_fault(pub, "slow", seconds=3.0)),
        expected=f"read timeout ({TIMEOUT_SECONDS} s) on every try, then fails retryable: "
        "'did not answer within ... (read timeout ...)'",
        match=rf"did not answer within {TIMEOUT_SECONDS:g} s \(read timeout",
        retryable=True,
        requests=RETRIES + 1,
    ),
    "drill_truncated_body": DownloadDrill(
        _published(lambda sim, pub: sim.set_fault(pub, "truncated")),
        expected="Content-Length longer than the body: fails retryable, 'the download was cut "
        "short ... of <n> bytes', nothing stored",
        match=rf"cut short: .*of {len(CSV_BYTES)} bytes.*nothing was stored",
        retryable=True,
        requests=1,
    ),
    "drill_html_error_page_200": DownloadDrill(
        _published(lambda sim, pub: sim.set_html_error(pub)),
        expected="HTML page with status 200: fails, not retryable, quoting the page title "
        "'SINtegre - Erro'",
        match=r'HTML page instead of the product file \(page title: "SINtegre - Erro"\)',
        requests=1,
    ),
    "drill_expired_token_403": DownloadDrill(
        _expired_token,
        expected="proxy answers 403: fails at once, not retryable, 'token has expired ... "
        "Reenviar'",
        match=r"403\): the link's token has expired or was revoked.*Reenviar",
        requests=1,
    ),
    "drill_empty_body": DownloadDrill(
        _published(content=b""),
        expected="200 with a 0-byte body: fails, not retryable, 'SINtegre sent an empty file'",
        match=r"SINtegre sent an empty file \(0 bytes\)",
        requests=1,
    ),
}


@pytest.mark.parametrize("drill_id", list(DOWNLOAD_DRILLS), ids=list(DOWNLOAD_DRILLS))
def test_download_drill(
    drill_id: str,
    sim: SimulatorServer,
    settings: Settings,
    lake: Path,
    record: Callable[[str, object], None],
) -> None:
    """Download-phase drills; expected, per drill id:

    - drill_404: fails at once, not retryable, message says the file is gone and to resend
      (Reenviar); one request.
    - drill_500_then_200: the download succeeds on the retry; two requests.
    - drill_500_exhausted: fails retryable, "HTTP 500 after 1 retries".
    - drill_stalled_connection: read timeout on every try, fails retryable, "did not answer
      within 0.5 s".
    - drill_truncated_body: fails retryable, "the download was cut short".
    - drill_html_error_page_200: fails, not retryable, page title in the message.
    - drill_expired_token_403: fails, not retryable, "token has expired", Reenviar.
    - drill_empty_body: fails, not retryable, "SINtegre sent an empty file".

    Every drill: no partial/temporary file in raw, nothing curated, staged or in history.
    """
    drill = DOWNLOAD_DRILLS[drill_id]
    record("drill", drill_id)
    record("expected", drill.expected)
    pub, conf = drill.arrange(sim)

    if drill.match is None:
        result = download_step(conf, settings)
        landed = lake / result["raw_path"]
        assert landed.read_bytes() == pub.content
        assert result["sha256"] == hashlib.sha256(pub.content).hexdigest()
        record("outcome", "downloaded")
    else:
        with pytest.raises(DownloadError, match=drill.match) as caught:
            download_step(conf, settings)
        assert caught.value.retryable is drill.retryable
        assert pub.token not in str(caught.value)
        # A failed download stores nothing at all, not even a delivery marker.
        assert not (lake / "raw").exists() or files_under(lake / "raw") == []
        record(
            "outcome",
            f"{'retryable' if drill.retryable else 'failed'}: {caught.value}",
        )
    if drill.requests is not None:
        assert sim.request_count(pub) == drill.requests
    assert_raw_has_no_partial_file(lake)
    assert_nothing_curated(lake)


# --------------------------------------------------------------------------- redirects


class _Internal(http.server.BaseHTTPRequestHandler):
    """An internal service the worker can reach and SINtegre must never make it fetch."""

    hits: ClassVar[int] = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b"Data;Segredo\r\n01/03/2024;internal-only\r\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def internal() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/admin/export.csv"
    finally:
        server.shutdown()


@dataclass(frozen=True)
class RedirectDrill:
    """The allowlisted proxy answers a redirect: where to, and what must happen."""

    location: Callable[[SimulatorServer, Publication, str], str]
    expected: str
    match: str | None  # None: the redirect is followed and the file downloaded
    times: int | None = 1


REDIRECT_DRILLS = {
    "drill_redirect_to_internal_http": RedirectDrill(
        lambda sim, pub, internal: internal,
        expected="#14.1 302 to http://127.0.0.1:<port>/...: refused before any request to it, "
        "'refusing to follow the redirect ... must use https'; nothing stored",
        match=r"refusing to follow the redirect from localhost: redirect hop 1 must use https",
    ),
    "drill_redirect_to_ip_literal": RedirectDrill(
        lambda sim, pub, internal: pub.url.replace("localhost", "127.0.0.1"),
        expected="#14.1 302 to https://127.0.0.1:<port>/...: refused, 'must name a host, not an "
        "IP address'",
        match=r"redirect hop 1 must name a host, not an IP address",
    ),
    "drill_redirect_off_the_allowlist": RedirectDrill(
        lambda sim, pub, internal: "https://files.example.invalid/x.csv",
        expected="#14.1 302 to a host outside SINTEGRE_ALLOWED_DOWNLOAD_HOSTS: refused naming it",
        match=r"redirect hop 1 points to host 'files\.example\.invalid', which is not in",
    ),
    "drill_redirect_with_credentials": RedirectDrill(
        lambda sim, pub, internal: pub.url.replace("https://", "https://user:pw@"),
        expected="#14.1 302 to a URL carrying credentials: refused",
        match=r"redirect hop 1 must not carry credentials",
    ),
    "drill_redirect_loop": RedirectDrill(
        lambda sim, pub, internal: pub.url,
        expected="#14.1 the proxy redirects to itself for ever: fails after 5 hops",
        match=r"more than 5 redirects",
        times=None,
    ),
    "drill_redirect_allowed_hop": RedirectDrill(
        lambda sim, pub, internal: pub.url,
        expected="#14.1 302 to an https URL on the allowlisted host: followed, the file lands",
        match=None,
    ),
}


@pytest.mark.parametrize("drill_id", list(REDIRECT_DRILLS), ids=list(REDIRECT_DRILLS))
def test_redirect_drill(
    drill_id: str,
    sim: SimulatorServer,
    settings: Settings,
    lake: Path,
    internal: str,
    record: Callable[[str, object], None],
) -> None:
    """Every ``Location`` is checked like the notification's URL before it is fetched."""
    drill = REDIRECT_DRILLS[drill_id]
    record("drill", drill_id)
    record("expected", drill.expected)
    pub, conf = _published()(sim)
    sim.set_fault(pub, "redirect", times=drill.times, location=drill.location(sim, pub, internal))
    hits = _Internal.hits
    if drill.match is None:
        result = download_step(conf, settings)
        assert (lake / result["raw_path"]).read_bytes() == pub.content
        assert sim.request_count(pub) == 2
        record("outcome", "followed, downloaded")
    else:
        with pytest.raises(DownloadError, match=drill.match) as caught:
            download_step(conf, settings)
        assert caught.value.retryable is False
        assert pub.token not in str(caught.value)
        assert not (lake / "raw").exists() or files_under(lake / "raw") == []
        record("outcome", f"failed: {caught.value}")
    assert _Internal.hits == hits, "the internal service was fetched"
    assert_raw_has_no_partial_file(lake)
    assert_nothing_curated(lake)


@pytest.mark.drill(
    "#14.10 a server trickling 16 bytes every 0.05 s: the download fails at its wall-clock "
    "deadline, retryable, nothing stored"
)
def test_a_trickling_server_is_abandoned_at_the_download_deadline(
    sim: SimulatorServer, tmp_path: Path, lake: Path
) -> None:
    """Read timeouts are per read: 16 bytes every 0.05 s never trips one, the deadline does."""
    settings = load_settings(
        {
            "LAKE_URI": str(lake),
            "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
            "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": "localhost",
            "REQUESTS_CA_BUNDLE": str(sim.ca_path),
            "SINTEGRE_DOWNLOAD_TIMEOUT_SECONDS": "2",
            "SINTEGRE_DOWNLOAD_RETRIES": "0",
            "SINTEGRE_DOWNLOAD_DEADLINE_SECONDS": "1",
        }
    )
    pub, conf = _published(content=CSV_BYTES * 40)(sim)
    sim.set_fault(pub, "trickle", seconds=0.05)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"longer than its deadline") as caught:
        download_step(conf, settings)
    assert time.monotonic() - started < 5
    assert caught.value.retryable is True
    assert_raw_has_no_partial_file(lake)


# --------------------------------------------------------------------------- reader drills


@dataclass(frozen=True)
class ReaderDrill:
    """A file the proxy serves fine but that must not reach the lake."""

    make: Callable[[Path], Path]
    file_name: str
    expected: str
    match: str


READER_DRILLS = {
    "drill_zip_bomb": ReaderDrill(
        lambda p: make_bomb_zip(p, expanded_bytes=32 * 1024 * 1024),
        "Blocos_2024-03-01.zip",
        expected='downloaded whole; parse refuses it before extraction: \'member "dados.csv": '
        "the member expands 1029:1 ... (zip bomb?)'",
        match=r'member "dados\.csv": the member expands \d+:1 .*zip bomb',
    ),
    "drill_zip_slip": ReaderDrill(
        lambda p: make_slip_zip(p, "../../etc/cron.d/sintegre.csv"),
        "Blocos_2024-03-01.zip",
        expected="downloaded whole; parse refuses the whole archive naming the member "
        "'../../etc/cron.d/sintegre.csv' (zip slip)",
        match=r'member "\.\./\.\./etc/cron\.d/sintegre\.csv": refused: .*zip slip',
    ),
    "drill_corrupt_xlsx": ReaderDrill(
        make_corrupt_xlsx,
        "RDH_05AGO2025.xlsx",
        expected='downloaded whole; parse fails: \'"RDH_05AGO2025.xlsx": the spreadsheet '
        "could not be opened (...)'",
        match=r'"RDH_05AGO2025\.xlsx": .*(spreadsheet|sheet).*could not be',
    ),
}


@pytest.mark.parametrize("drill_id", list(READER_DRILLS), ids=list(READER_DRILLS))
def test_reader_drill(
    drill_id: str,
    sim: SimulatorServer,
    settings: Settings,
    lake: Path,
    tmp_path: Path,
    record: Callable[[str, object], None],
) -> None:
    """Hostile files served with 200; expected, per drill id:

    - drill_zip_bomb: downloaded whole into raw (content-addressed); the parse step fails
      with ParseError "... expands N:1 ... (zip bomb?)" before extracting anything.
    - drill_zip_slip: downloaded whole; the parse step fails naming the escaping member
      ("zip slip"), no table from the archive.
    - drill_corrupt_xlsx: downloaded whole; the parse step fails "the spreadsheet could not
      be opened".

    Every drill: the raw file is complete (sha256 matches), no partial file in raw, nothing
    staged, curated or in history.
    """
    drill = READER_DRILLS[drill_id]
    record("drill", drill_id)
    record("expected", drill.expected)
    content = drill.make(tmp_path / "served" / drill.file_name).read_bytes()
    pub = publish(sim, content, file_name=drill.file_name, product_id=275, nome="Blocos")
    conf = conf_for(pub)

    downloaded = download_step(conf, settings)
    raw_file = lake / downloaded["raw_path"]
    assert raw_file.read_bytes() == content
    assert downloaded["sha256"] == hashlib.sha256(content).hexdigest()

    with pytest.raises(ReaderError, match=drill.match) as caught:
        parse_step(downloaded, f"manual__{drill_id}", settings)

    record("outcome", f"failed: {caught.value}")
    assert sim.request_count(pub) == 1
    assert_raw_has_no_partial_file(lake)
    assert_nothing_curated(lake)
