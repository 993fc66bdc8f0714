"""Download a product from the SINtegre proxy into the raw zone, content-addressed.

Always the notification's ``url`` (the proxy), never the token's ``URL`` claim, which the
token does not open. The URL carries a bearer token: no message here ever contains it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from sintegre.core.redact import install_redaction, redact
from sintegre.intake.notification import NotificationError, check_download_url, check_fetch_target

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
#: Redirect hops followed (each checked like the notification's URL); SINtegre's proxy uses
#: at most one or two.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Wall-clock limit of one download (connect, redirects and body): read timeouts are per read,
#: so a server trickling a byte a minute would otherwise never end.
DEFAULT_DEADLINE_SECONDS = 1800.0
_HTML_HEAD_BYTES = 8192
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


class DownloadError(RuntimeError):
    """The file could not be fetched; the message says why in plain words (never the token)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(redact(message))
        self.retryable = retryable


@dataclass(frozen=True)
class DownloadResult:
    """Where the file landed in the raw zone and what it is."""

    raw_path: str  # relative to the lake root
    sha256: str
    file_name: str
    size: int
    content_type: str | None

    def to_dict(self) -> dict[str, Any]:
        """A small dict for XCom."""
        return asdict(self)


def sanitize_file_name(name: str, *, fallback: str = "arquivo") -> str:
    """Keep the base name only, with no path, control or shell-hostile characters.

    Accents stay (ONS names carry them, e.g. ``_2° nível de contingência``); NFC keeps one
    spelling of each accented letter.
    """
    base = re.split(r"[/\\]", name.strip())[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" .")
    if not base or base in {".", ".."}:
        return fallback
    if len(base.encode("utf-8")) > 200:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        stem = (stem if dot else base).encode("utf-8")[:190].decode("utf-8", "ignore")
        base = f"{stem}.{ext}" if ext else stem
    return base


def file_name_from_content_disposition(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header, decoded.

    Handles RFC 6266/5987 ``filename*=UTF-8''...`` (preferred when both are present) and the
    RFC 2047 ``=?utf-8?B?...?=`` encoded words that SINtegre sometimes sends.
    """
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    params = message.get_params(header="content-disposition") or []
    plain: str | None = None
    for key, value in params[1:]:
        if key.lower() != "filename":
            continue
        if isinstance(value, tuple):
            # The RFC 2231/5987 form (filename*=UTF-8''...) arrives as a tuple: it wins.
            return collapse_rfc2231_value(value).strip() or None
        plain = plain or str(value)
    if not plain:
        return None
    name = plain.strip('"')
    if "=?" in name:
        with contextlib.suppress(ValueError, LookupError):
            name = str(make_header(decode_header(name)))
    return _undo_latin1_mojibake(name).strip() or None


def _undo_latin1_mojibake(name: str) -> str:
    """Raw UTF-8 bytes in a header reach us decoded as latin-1 (``nÃ­vel``): undo that."""
    try:
        return name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def fallback_file_name(conf: dict[str, Any]) -> str:
    """A name when the server gives none: the token's ``URL`` claim, else ``<nome>.zip``."""
    claim = conf.get("token_url_claim")
    is_file = conf.get("token_is_file")
    if claim and is_file is not False:
        candidate = unquote(PurePosixPath(urlsplit(claim).path).name)
        if "." in candidate:
            return candidate
    if is_file is False:
        # Folder products are zipped by the proxy and named after the product.
        return f"{conf.get('nome') or 'produto'}.zip"
    return f"{conf.get('dataset') or 'produto'}.bin"


def _session(retries: int) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=1.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _refuse_html(head: bytes) -> None:
    """Raise when the body starts like an HTML page (ONS error and login pages come as 200)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return
    # Imported here: the readers pull in pyarrow, which the download does not otherwise need.
    from sintegre.readers.detect import html_title, is_html

    if not (is_html(head) or text.lower().startswith((b"<head", b"<body"))):
        return
    title = html_title(head)
    hint = f' (page title: "{title}")' if title else ""
    raise DownloadError(
        f"the server sent an HTML page instead of the product file{hint} "
        "(usually an ONS error or login page); nothing was stored"
    )


def _is_timeout(exc: BaseException) -> bool:
    """Whether a requests/urllib3 error (possibly wrapped in retries) is a timeout."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TimeoutError | requests.exceptions.Timeout | ReadTimeoutError):
            return True
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


def _check_status(status: int, retries: int) -> None:
    """Refuse anything but 200 with a message an operator can act on."""
    if status == 200:
        return
    if status == 403:
        raise DownloadError(
            "SINtegre refused the download (403): the link's token has expired or was revoked; "
            "resend the product from SINtegre (Reenviar) to get a fresh link"
        )
    if status == 404:
        # Not retried: on the proxy a 404 means the link points at a file that is gone
        # (replaced by a newer version or expired), and asking again gets the same answer.
        raise DownloadError(
            "SINtegre answered 404: the product file is no longer there (the link expired or "
            "the file was replaced); resend the product from SINtegre (Reenviar)"
        )
    tried = f" after {retries} retries" if status >= 500 or status == 429 else ""
    raise DownloadError(f"SINtegre answered HTTP {status}{tried}", retryable=status >= 500)


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: ``read1`` returns whatever bytes are there (up to a chunk), so
    the caller sees the clock between small pieces (``iter_content`` would wait for a whole
    chunk, and a trickling server would hold it for ever)."""
    raw = response.raw
    while True:
        chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        if not chunk:
            return
        yield chunk


def _stream_body(
    response: requests.Response,
    fd: int,
    file_name: str,
    expected: str | None,
    timeout: float,
    deadline: float,
) -> tuple[str, int]:
    """Write the body to ``fd`` and return its sha256 and size; raise if it is not whole.

    ``deadline`` is a ``time.monotonic()`` instant: past it the download is abandoned.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            first = True
            for chunk in _chunks(response):
                if time.monotonic() > deadline:
                    raise DownloadError(
                        f"the download took longer than its deadline (received {size} bytes "
                        "so far, too slowly); nothing was stored",
                        retryable=True,
                    )
                if first and not file_name.lower().endswith((".html", ".htm")):
                    _refuse_html(chunk[:_HTML_HEAD_BYTES])
                first = False
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        if _is_timeout(exc):
            raise DownloadError(
                f"the download stalled after {size} bytes (no data for {timeout:g} s); "
                "nothing was stored",
                retryable=True,
            ) from None
        of = f" of {expected}" if expected and expected.isdigit() else ""
        raise DownloadError(
            f"the download was cut short: the connection closed after {size}{of} bytes "
            f"({type(exc).__name__}); nothing was stored",
            retryable=True,
        ) from None
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    # With a Content-Encoding, Content-Length counts the encoded bytes, not the decoded ones
    # written here; urllib3 still checks the raw length and raises above when it falls short.
    if expected and expected.isdigit() and not encoded and int(expected) != size:
        raise DownloadError(
            f"the download was cut short: {size} of {expected} bytes; nothing was stored",
            retryable=True,
        )
    if size == 0:
        raise DownloadError("SINtegre sent an empty file (0 bytes); nothing was stored")
    return digest.hexdigest(), size


def _get_following_checked_redirects(
    session: requests.Session,
    url: str,
    allowed_hosts: tuple[str, ...],
    *,
    timeout: float,
    verify: bool | str,
    deadline: float,
) -> requests.Response:
    """GET ``url``, following redirects by hand: every ``Location`` is checked like the
    notification's URL (https, allowlisted host by name, no credentials) before it is fetched,
    so an allowlisted host cannot send the worker to an internal address.

    Raises:
        DownloadError: A refused or missing ``Location``, too many hops, or the deadline.
    """
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        if time.monotonic() > deadline:
            raise DownloadError("the download took longer than its deadline", retryable=True)
        response = session.get(
            current, stream=True, timeout=timeout, verify=verify, allow_redirects=False
        )
        if response.status_code not in _REDIRECTS:
            return response
        location = response.headers.get("Location")
        response.close()
        if not location:
            raise DownloadError(
                f"SINtegre answered a redirect ({response.status_code}) without a Location; "
                "nothing was stored"
            )
        target = urljoin(current, location)
        try:
            check_fetch_target(target, allowed_hosts, what=f"redirect hop {hop + 1}")
        except NotificationError as exc:
            raise DownloadError(
                f"refusing to follow the redirect from {urlsplit(current).hostname}: {exc}; "
                "nothing was stored"
            ) from None
        current = target
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects; nothing was stored")


def download_to_raw(
    conf: dict[str, Any],
    *,
    lake_root: Path,
    allowed_hosts: tuple[str, ...],
    verify: bool | str = True,
    timeout: float = 60.0,
    retries: int = 3,
    now: float | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
) -> DownloadResult:
    """Stream the notification's file into ``raw/<dataset>/<yyyy>/<mm>/<sha256>/<name>``.

    Args:
        conf: The DAG run conf (a normalised notification).
        lake_root: Local root of the lake.
        allowed_hosts: Hosts the URL may point to.
        verify: TLS verification: True (system CAs) or a CA bundle path. Never False.
        timeout: Connect and read timeout, in seconds.
        retries: Retries for connection errors and 5xx answers.
        now: Current epoch seconds (tests).
        deadline_seconds: Wall-clock limit of the whole download (redirects and body).

    Returns:
        The :class:`DownloadResult`.

    Raises:
        DownloadError: With a message a person understands and no token in it.
    """
    # urllib3 logs request paths (with ?token=...) at DEBUG and on every retry at WARNING.
    install_redaction()
    url = conf["url"]
    try:
        check_download_url(url, allowed_hosts)
    except NotificationError as exc:
        raise DownloadError(f"refusing to download: {exc}") from None
    current = time.time() if now is None else now
    exp = conf.get("token_exp")
    if exp is not None and current >= exp:
        when = datetime.fromtimestamp(exp, tz=UTC).isoformat(timespec="seconds")
        raise DownloadError(
            f"the download link of '{conf.get('nome')}' expired at {when} (SINtegre tokens last "
            "about 24 h); resend the product from SINtegre (Reenviar) to get a fresh link"
        )

    incoming = lake_root / "raw" / "_incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    host = urlsplit(url).hostname
    session = _session(retries)
    deadline = time.monotonic() + deadline_seconds
    try:
        response = _get_following_checked_redirects(
            session, url, allowed_hosts, timeout=timeout, verify=verify, deadline=deadline
        )
    except requests.exceptions.SSLError:
        raise DownloadError(
            f"TLS verification failed for {host}; the certificate is not "
            "trusted (set REQUESTS_CA_BUNDLE / SSL_CERT_FILE for a private CA)"
        ) from None
    except requests.RequestException as exc:
        if _is_timeout(exc):
            raise DownloadError(
                f"{host} did not answer within {timeout:g} s (read timeout, {retries} retries): "
                "the proxy is stalled or overloaded; try again later",
                retryable=True,
            ) from None
        raise DownloadError(f"cannot reach {host}: {type(exc).__name__}", retryable=True) from None
    with response:
        _check_status(response.status_code, retries)
        name = file_name_from_content_disposition(response.headers.get("Content-Disposition"))
        file_name = sanitize_file_name(name or fallback_file_name(conf))
        expected = response.headers.get("Content-Length")
        # The body goes to a temporary file in the raw zone (same file system, so the final
        # rename is atomic) and is renamed only once complete and hashed; on any failure,
        # whatever the cause, the temporary file is removed: raw never holds a partial file.
        fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix=".download-", suffix=".part")
        tmp_path = Path(tmp_name)
        try:
            sha, size = _stream_body(response, fd, file_name, expected, timeout, deadline)
            period = str(conf.get("periodicidade_date") or "0000-00-00")
            relative = PurePosixPath(
                "raw",
                str(conf.get("dataset") or "produto"),
                period[:4],
                period[5:7],
                sha,
                file_name,
            )
            final = lake_root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            if not final.exists():
                os.replace(tmp_path, final)
            # else: the same bytes are already there (raw is content-addressed).
        finally:
            tmp_path.unlink(missing_ok=True)

    log.info("downloaded %s (%d bytes, sha256 %s) into %s", file_name, size, sha[:12], relative)
    return DownloadResult(
        raw_path=str(relative),
        sha256=sha,
        file_name=file_name,
        size=size,
        content_type=response.headers.get("Content-Type"),
    )
