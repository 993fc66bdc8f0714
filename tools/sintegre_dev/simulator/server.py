"""A local HTTPS stand-in for the ONS SINtegre download proxy.

``GET /ONS.Sintegre.Proxy/webhook?token=<jwt>`` answers like the real proxy: the file with
its name in ``Content-Disposition`` while the token is valid, 401 for a token it cannot
verify, 403 once it has expired. Tests can also inject transient failures and the HTML
error page ONS sometimes serves with a 200, and faults on demand
(:meth:`SimulatorServer.set_fault`): a 404 or 500, a slow answer, a body cut short with the full
``Content-Length`` announced. The ``traversal`` Content-Disposition style sends
``filename="../../etc/<name>"`` for receivers that must not trust the name.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import mimetypes
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import unicodedata
import zipfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import trustme

from sintegre_dev.simulator.tokens import (
    DEFAULT_SECRET,
    TOKEN_LIFETIME_SECONDS,
    InvalidTokenError,
    TokenError,
    mint_token,
    verify_token,
)

logger = logging.getLogger("sintegre_dev.simulator")

WEBHOOK_PATH = "/ONS.Sintegre.Proxy/webhook"
CA_FILE_NAME = "sintegre-simulator-ca.pem"
# The CA's private key, kept only when the CA is meant to be reused across runs.
CA_KEY_FILE_NAME = "sintegre-simulator-ca.key"
DISPOSITIONS = ("rfc5987", "rfc2047", "plain", "none", "traversal")
# Faults :meth:`SimulatorServer.set_fault` can inject.
FAULT_KINDS = ("404", "500", "slow", "truncated", "redirect", "trickle")
DEFAULT_SLOW_SECONDS = 3.0
# Brasília has had no DST since 2019; a fixed offset avoids depending on tzdata.
BRASILIA = timezone(timedelta(hours=-3), "BRT")

# What ONS returns (with HTTP 200!) when the proxy fails behind the scenes: receivers
# must notice they got HTML instead of a spreadsheet.
HTML_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="pt-BR"><head><meta charset="utf-8">'
    "<title>SINtegre - Erro</title></head>\n<body><h1>Ocorreu um erro</h1>"
    "<p>Não foi possível processar sua solicitação. Tente novamente mais tarde.</p>"
    "</body></html>\n"
).encode()

# Explicit so the simulator answers the same on every OS, whatever /etc/mime.types says.
_CONTENT_TYPES = {
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".xml": "application/xml",
    ".7z": "application/x-7z-compressed",
}
_CHUNK = 64 * 1024
_TOKEN_IN_TEXT = re.compile(r"token=[^&\s'\"]*")
# RFC 5987 attr-char punctuation; everything else is percent-encoded.
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


@dataclass(frozen=True)
class Publication:
    """One file the simulator serves, and the webhook URL that downloads it.

    Attributes:
        url: ``https://<host>:<port>/ONS.Sintegre.Proxy/webhook?token=<jwt>``.
        token: The JWT in ``url``.
        claims: The token's claims.
        file_name: The name the download is served under.
        content: The bytes served.
    """

    url: str
    token: str
    claims: dict
    file_name: str
    content: bytes


@dataclass
class _Fault:
    """One injected fault (guarded by the server's lock)."""

    kind: str
    remaining: int  # -1 = every request
    seconds: float | None = None  # "slow"/"trickle"; None = the server's slow_seconds
    location: str | None = None  # "redirect" only


@dataclass
class _Entry:
    """Server-side state of a publication (guarded by the server's lock)."""

    publication: Publication
    content_type: str
    disposition: str
    failures: deque[int] = field(default_factory=deque)
    faults: deque[_Fault] = field(default_factory=deque)
    html_errors: int = 0  # -1 = every request
    requests: int = 0


@dataclass(frozen=True)
class _Action:
    """What the handler answers: the file, a status, the HTML page or a fault."""

    kind: str  # "file", "status", "html", "slow", "truncated", "redirect", "trickle", "unknown"
    entry: _Entry | None = None
    status: int = 200
    seconds: float = 0.0
    location: str | None = None


def content_type_for(file_name: str) -> str:
    """Guess the Content-Type the proxy sends for a file name.

    Args:
        file_name: Name with extension.

    Returns:
        A MIME type, ``application/octet-stream`` when unknown.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(file_name)
    return guessed or "application/octet-stream"


def _ascii_fallback(file_name: str) -> str:
    """ASCII version of a name for the ``filename=`` parameter next to ``filename*``."""
    decomposed = unicodedata.normalize("NFKD", file_name)
    chars = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue  # the accent of an already-emitted base letter
        chars.append(char if 0x20 <= ord(char) < 0x7F and char not in '"\\' else "_")
    return "".join(chars) or "download"


def content_disposition(file_name: str, style: str) -> str | None:
    """Render a Content-Disposition value in one of the styles seen from ONS.

    Args:
        file_name: The real (possibly non-ASCII) file name.
        style: ``"rfc5987"`` (ASCII ``filename`` plus ``filename*=UTF-8''...``),
            ``"rfc2047"`` (``filename="=?utf-8?B?...?="``), ``"plain"`` (the raw name;
            non-ASCII names go out as UTF-8 bytes that clients decode as Latin-1) or
            ``"none"``; ``"traversal"`` sends ``filename="../../etc/<name>"`` (raw, like
            ``"plain"``), a hostile name a receiver must reduce to its last component.

    Returns:
        The header value as a ``str`` ready for ``send_header`` (which encodes Latin-1),
        or ``None`` for ``"none"``.

    Raises:
        ValueError: Unknown style.
    """
    if style == "none":
        return None
    if style == "rfc5987":
        encoded = quote(file_name, safe=_ATTR_CHAR_SAFE, encoding="utf-8")
        return f"attachment; filename=\"{_ascii_fallback(file_name)}\"; filename*=UTF-8''{encoded}"
    if style == "rfc2047":
        b64 = base64.b64encode(file_name.encode("utf-8")).decode("ascii")
        return f'attachment; filename="=?utf-8?B?{b64}?="'
    if style == "plain":
        escaped = file_name.replace("\\", "\\\\").replace('"', '\\"')
        # http.server encodes headers as Latin-1; smuggling the UTF-8 bytes through that
        # encoding puts raw UTF-8 on the wire, like servers that ignore header encoding.
        return f'attachment; filename="{escaped}"'.encode().decode("latin-1")
    if style == "traversal":
        escaped = file_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="../../etc/{escaped}"'.encode().decode("latin-1")
    raise ValueError(f"unknown disposition style {style!r}; expected one of {DISPOSITIONS}")


def _zip_directory(directory: Path) -> bytes:
    """Zip a folder product in memory, paths relative to ``directory``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _token_from(token_or_url: str | Publication) -> str:
    """Accept a token, a webhook URL or a Publication and return the token."""
    if isinstance(token_or_url, Publication):
        return token_or_url.token
    if "token=" in token_or_url:
        values = parse_qs(urlsplit(token_or_url).query).get("token")
        if values:
            return values[0]
    return token_or_url


class _TLSThreadingServer(ThreadingHTTPServer):
    """Threaded HTTP server that does the TLS handshake in the worker thread.

    Wrapping the listening socket would run every handshake inside ``accept()`` on the
    serving thread, so one stalled or non-TLS client would block everybody.
    """

    daemon_threads = True
    handshake_timeout = 10.0

    def __init__(
        self,
        address: tuple[str, int],
        handler: type,
        context: ssl.SSLContext,
        owner: SimulatorServer,
    ):
        self.ssl_context = context
        self.owner = owner
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.handshake_timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError as exc:
            # ssl.SSLError is an OSError: the client rejected our cert, spoke plain HTTP...
            logger.debug("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except OSError as exc:  # client went away mid-response
            logger.debug("connection with %s dropped: %s", client_address[0], exc)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    """Request handler mimicking ``ONS.Sintegre.Proxy/webhook``."""

    server: _TLSThreadingServer
    protocol_version = "HTTP/1.1"  # keep-alive like IIS; every response has Content-Length
    server_version = "SINtegreSimulator/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections must not pin a thread forever

    def do_GET(self) -> None:
        """Serve a download."""
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        """Same as GET without the body."""
        self._handle(send_body=False)

    def _handle(self, *, send_body: bool) -> None:
        parts = urlsplit(self.path)
        if parts.path != WEBHOOK_PATH:
            self._send_text(HTTPStatus.NOT_FOUND, "Not Found", send_body=send_body)
            return
        token = (parse_qs(parts.query).get("token") or [""])[0]
        owner = self.server.owner
        try:
            verify_token(token, secret=owner.secret)
        except InvalidTokenError:
            self._send_text(HTTPStatus.UNAUTHORIZED, "Token inválido.", send_body=send_body)
            return
        except TokenError:
            # Judge validity before looking the publication up: a genuine but expired
            # token from an earlier run is still "expired", as on the real proxy.
            owner._count(token)
            self._send_text(
                HTTPStatus.FORBIDDEN, "Token expirado ou ainda não válido.", send_body=send_body
            )
            return
        action = owner._next_action(token)
        if action.kind == "unknown" or action.entry is None:
            self._send_text(HTTPStatus.UNAUTHORIZED, "Token inválido.", send_body=send_body)
        elif action.kind == "status":
            status = HTTPStatus(action.status)
            text = "Arquivo não encontrado." if status == HTTPStatus.NOT_FOUND else status.phrase
            self._send_text(status, text, send_body=send_body)
        elif action.kind == "redirect":
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", action.location or "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif action.kind == "html":
            self._send_bytes(
                HTTPStatus.OK,
                HTML_ERROR_PAGE,
                "text/html; charset=utf-8",
                None,
                send_body=send_body,
            )
        else:
            entry = action.entry
            if action.kind == "slow":
                time.sleep(action.seconds)
            disposition = content_disposition(entry.publication.file_name, entry.disposition)
            self._send_bytes(
                HTTPStatus.OK,
                entry.publication.content,
                entry.content_type,
                disposition,
                send_body=send_body,
                truncate=action.kind == "truncated",
                trickle=action.seconds if action.kind == "trickle" else 0.0,
            )

    def _send_text(self, status: HTTPStatus, text: str, *, send_body: bool) -> None:
        self._send_bytes(
            status, text.encode("utf-8"), "text/plain; charset=utf-8", None, send_body=send_body
        )

    def _send_bytes(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        disposition: str | None,
        *,
        send_body: bool,
        truncate: bool = False,
        trickle: float = 0.0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if disposition is not None:
            self.send_header("Content-Disposition", disposition)
        self.send_header("Cache-Control", "private")
        self.end_headers()
        if send_body:
            view = memoryview(body)
            if truncate:
                # The full Content-Length was announced; half the bytes, then hang up.
                view = view[: len(view) // 2]
            # Chunked writes so large files stream instead of being copied in one go; a
            # trickle sends 16 bytes, then waits, each wait shorter than a read timeout.
            step = 16 if trickle else _CHUNK
            for start in range(0, len(view), step):
                with contextlib.suppress(OSError):
                    self.wfile.write(view[start : start + step])
                    if trickle:
                        self.wfile.flush()
                        time.sleep(trickle)
        self.wfile.flush()
        if truncate and send_body:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log method, path and status; never the query string, which holds the token."""
        path = urlsplit(getattr(self, "path", "")).path
        code_value = code.value if isinstance(code, HTTPStatus) else code
        self.log_message('"%s %s" %s', getattr(self, "command", "-"), path, code_value)

    def log_message(self, format: str, *args: Any) -> None:
        """Route http.server logging to ``logging`` with any ``token=`` value redacted."""
        message = format % args if args else format
        logger.info("%s %s", self.client_address[0], _TOKEN_IN_TEXT.sub("token=REDACTED", message))


class SimulatorServer:
    """Threaded HTTPS server impersonating the ONS download proxy.

    Use as a context manager::

        with SimulatorServer(cert_dir=tmp) as sim:
            pub = sim.publish(b"...", file_name="ACOMPH_29.04.2025.xls",
                              product_id=230, nome="Acomph")
            requests.get(pub.url, verify=sim.ca_path)

    Attributes:
        host: Interface to bind.
        port: Bound port (the real one once started, even when 0 was requested).
        secret: HS256 key used to mint and verify tokens.
        base_url: ``https://<host>:<port>`` (``localhost`` when bound to all interfaces).
        ca_path: PEM of the CA that signed the server certificate.
        slow_seconds: How long a ``"slow"`` fault waits before answering.
    """

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 0,
        cert_dir: Path | None = None,
        secret: str = DEFAULT_SECRET,
        reuse_ca: bool = False,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
    ) -> None:
        """Prepare the server; nothing listens until :meth:`start`.

        Args:
            host: Interface to bind (``localhost`` by default).
            port: TCP port; 0 picks a free one.
            cert_dir: Where to write the CA PEM; a temporary directory when ``None``.
            secret: HS256 key for tokens.
            reuse_ca: Keep the CA across runs: load it from ``cert_dir`` when its PEM and
                key (``sintegre-simulator-ca.key``, mode 0600) are there, else create and
                save both, so a receiver told to trust the CA keeps trusting it. Without it
                every start makes a new throw-away CA (and writes only its certificate).
            slow_seconds: Default delay of the ``"slow"`` fault.
        """
        self.host = host
        self.port = port
        self.secret = secret
        self.slow_seconds = float(slow_seconds)
        self._reuse_ca = reuse_ca
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._httpd: _TLSThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._counts: dict[str, int] = {}
        self.base_url = ""
        self.ca_path = Path()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> SimulatorServer:
        """Create the CA and certificate, bind, and serve in a background thread.

        Returns:
            ``self``, so ``sim = SimulatorServer().start()`` works.

        Raises:
            RuntimeError: Already started.
        """
        if self._httpd is not None:
            raise RuntimeError("simulator already started")
        if self._cert_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="sintegre-simulator-")
            self._cert_dir = Path(self._tempdir.name)
        self._cert_dir.mkdir(parents=True, exist_ok=True)

        self.ca_path = self._cert_dir / CA_FILE_NAME
        ca = self._load_or_create_ca()
        server_cert = ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        server_cert.configure_cert(context)

        self._httpd = _TLSThreadingServer((self.host, self.port), _ProxyHandler, context, self)
        self.port = self._httpd.server_address[1]
        url_host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        self.base_url = f"https://{url_host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sintegre-simulator",
            daemon=True,
        )
        self._thread.start()
        logger.info("SINtegre simulator listening on %s", self.base_url)
        return self

    def _load_or_create_ca(self) -> trustme.CA:
        """The CA that signs the server certificate; see ``reuse_ca``."""
        assert self._cert_dir is not None
        key_path = self._cert_dir / CA_KEY_FILE_NAME
        if self._reuse_ca and self.ca_path.is_file() and key_path.is_file():
            try:
                ca = trustme.CA.from_pem(self.ca_path.read_bytes(), key_path.read_bytes())
            except ValueError as exc:
                logger.warning("cannot reuse the CA in %s (%s); making a new one", key_path, exc)
            else:
                logger.info("reusing the CA in %s", self.ca_path)
                return ca
        ca = trustme.CA(organization_name="SINtegre Simulator CA")
        if self._reuse_ca:
            # Created 0600 from the start: the key lets anyone impersonate any host to
            # whoever trusts this CA.
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(ca.private_key_pem.bytes())
        ca.cert_pem.write_to_path(str(self.ca_path))
        return ca

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
            self._cert_dir = None

    def publish(
        self,
        content: bytes | Path,
        *,
        file_name: str,
        product_id: int,
        nome: str,
        is_file: bool = True,
        nbf: int | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        disposition: str = "rfc5987",
        username: str = "analista@example.com.br",
    ) -> Publication:
        """Register a file and mint the webhook URL that downloads it.

        Args:
            content: The bytes, a file to read, or (folder products) a directory to zip.
            file_name: Served name of a file product; for folder products the download is
                named ``<nome>.zip`` instead, as on ONS.
            product_id: SharePoint product number used in the ``URL`` claim.
            nome: Product name (``nomeProduto`` claim).
            is_file: ``False`` for folder products.
            nbf: Delivery instant (epoch seconds); defaults to now.
            lifetime: Seconds until the token expires.
            disposition: Content-Disposition style, see :func:`content_disposition`.
            username: Subscriber e-mail put in the token.

        Returns:
            The publication, whose ``url`` goes into the notification.

        Raises:
            RuntimeError: The server is not started (the URL needs the port).
            ValueError: Unknown disposition, or a directory given for a file product.
        """
        if self._httpd is None:
            raise RuntimeError("start the simulator before publishing")
        if disposition not in DISPOSITIONS:
            raise ValueError(
                f"unknown disposition style {disposition!r}; expected one of {DISPOSITIONS}"
            )
        not_before = int(time.time()) if nbf is None else int(nbf)

        if isinstance(content, Path):
            if content.is_dir():
                if is_file:
                    raise ValueError(f"{content} is a directory but is_file=True")
                data = _zip_directory(content)
            else:
                data = content.read_bytes()
        else:
            data = bytes(content)

        if is_file:
            served_name = file_name
            url_claim = (
                f"https://sintegre.ons.org.br/sites/9/13/56/Produtos/{product_id}/{file_name}"
            )
        else:
            served_name = f"{nome}.zip"
            # Folder names are the publication instant in Brasília time.
            stamp = datetime.fromtimestamp(not_before, BRASILIA).strftime("%d-%m-%Y_%H%M%S")
            url_claim = f"/sites/9/52/71/Produtos/{product_id}/{stamp}"

        token = mint_token(
            url_claim=url_claim,
            nome_produto=nome,
            is_file=is_file,
            username=username,
            nbf=not_before,
            lifetime=lifetime,
            secret=self.secret,
        )
        claims = verify_token(token, secret=self.secret, now=not_before)
        publication = Publication(
            url=f"{self.base_url}{WEBHOOK_PATH}?token={token}",
            token=token,
            claims=claims,
            file_name=served_name,
            content=data,
        )
        with self._lock:
            # Identical claims mint an identical token; the newest content wins.
            self._entries[token] = _Entry(publication, content_type_for(served_name), disposition)
        return publication

    def set_failures(self, token_or_url: str | Publication, statuses: list[int]) -> None:
        """Make the next requests for a publication answer these statuses, then the file.

        Args:
            token_or_url: The publication's token or webhook URL (or the Publication).
            statuses: HTTP statuses to answer first, in order, e.g. ``[503, 503]``.

        Raises:
            KeyError: Unknown publication.
            ValueError: A status that is not a valid HTTP status.
        """
        codes = [int(HTTPStatus(status)) for status in statuses]
        with self._lock:
            self._entry(token_or_url).failures.extend(codes)

    def set_html_error(self, token_or_url: str | Publication, *, times: int | None = None) -> None:
        """Answer 200 with an HTML error page instead of the file (an ONS hazard).

        Args:
            token_or_url: The publication's token or webhook URL (or the Publication).
            times: How many requests get the HTML page before the file is served again;
                ``None`` for every request from now on.

        Raises:
            KeyError: Unknown publication.
        """
        with self._lock:
            self._entry(token_or_url).html_errors = -1 if times is None else max(0, times)

    def set_fault(
        self,
        token_or_url: str | Publication,
        kind: str,
        times: int | None = None,
        *,
        seconds: float | None = None,
        location: str | None = None,
    ) -> None:
        """Make requests for a publication fail (or misbehave) in a chosen way.

        Kinds: ``"404"`` and ``"500"`` answer that status with a short text body; ``"slow"``
        waits ``seconds`` (default :attr:`slow_seconds`) before answering with the file;
        ``"truncated"`` announces the full ``Content-Length``, sends half the bytes and
        closes the connection; ``"redirect"`` answers 302 to ``location``; ``"trickle"``
        sends the file 16 bytes at a time, ``seconds`` apart (a server that never stalls long
        enough for a read timeout, yet never finishes). Faults queue up in the order they are
        set, after any :meth:`set_failures` statuses and before :meth:`set_html_error` pages;
        a fault set with ``times=None`` stays at the head of the queue for good (until
        :meth:`clear_faults`).

        Args:
            token_or_url: The publication's token or webhook URL (or the Publication).
            kind: One of :data:`FAULT_KINDS`.
            times: How many requests get the fault; ``None`` for every request from now on.
            seconds: ``"slow"``: the delay; ``"trickle"``: the pause between pieces.
            location: ``"redirect"`` only: the ``Location`` answered.

        Raises:
            KeyError: Unknown publication.
            ValueError: Unknown kind, or ``seconds`` given for another kind or negative.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        if seconds is not None and (kind not in ("slow", "trickle") or seconds < 0):
            raise ValueError("seconds applies to 'slow' and 'trickle' only and must be >= 0")
        if (location is None) != (kind != "redirect"):
            raise ValueError("a 'redirect' fault needs a location (and only it takes one)")
        with self._lock:
            entry = self._entry(token_or_url)
            if times is None or times > 0:
                remaining = -1 if times is None else int(times)
                entry.faults.append(_Fault(kind, remaining, seconds, location))

    def clear_faults(self, token_or_url: str | Publication) -> None:
        """Serve the file again: drop queued failures, faults and HTML errors.

        Args:
            token_or_url: The publication's token or webhook URL (or the Publication).

        Raises:
            KeyError: Unknown publication.
        """
        with self._lock:
            entry = self._entry(token_or_url)
            entry.failures.clear()
            entry.faults.clear()
            entry.html_errors = 0

    def request_count(self, token_or_url: str | Publication) -> int:
        """Number of requests that carried this publication's (authentic) token.

        Args:
            token_or_url: The publication's token or webhook URL (or the Publication).

        Returns:
            Requests seen so far, refused ones included; 0 for an unknown publication.
        """
        with self._lock:
            return self._counts.get(_token_from(token_or_url), 0)

    def _entry(self, token_or_url: str | Publication) -> _Entry:
        try:
            return self._entries[_token_from(token_or_url)]
        except KeyError:
            # Never put the token itself in an exception message: it ends up in logs.
            raise KeyError("unknown publication") from None

    def _count(self, token: str) -> None:
        with self._lock:
            if token in self._entries:
                self._counts[token] = self._counts.get(token, 0) + 1

    def _next_action(self, token: str) -> _Action:
        """Count the request and decide the answer (the file unless something is queued)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return _Action("unknown")
            self._counts[token] = self._counts.get(token, 0) + 1
            if entry.failures:
                return _Action("status", entry, status=entry.failures.popleft())
            if entry.faults:
                fault = entry.faults[0]
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        entry.faults.popleft()
                if fault.kind in ("404", "500"):
                    return _Action("status", entry, status=int(fault.kind))
                seconds = self.slow_seconds if fault.seconds is None else fault.seconds
                return _Action(fault.kind, entry, seconds=seconds, location=fault.location)
            if entry.html_errors:
                if entry.html_errors > 0:
                    entry.html_errors -= 1
                return _Action("html", entry)
            return _Action("file", entry)
