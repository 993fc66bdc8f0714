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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sintegre.notification import NotificationError, check_download_url
from sintegre.redact import install_redaction, redact

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
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


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def download_to_raw(
    conf: dict[str, Any],
    *,
    lake_root: Path,
    allowed_hosts: tuple[str, ...],
    verify: bool | str = True,
    timeout: float = 60.0,
    retries: int = 3,
    now: float | None = None,
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
    digest = hashlib.sha256()
    size = 0
    session = _session(retries)
    try:
        response = session.get(url, stream=True, timeout=timeout, verify=verify)
    except requests.exceptions.SSLError:
        raise DownloadError(
            f"TLS verification failed for {urlsplit(url).hostname}; the certificate is not "
            "trusted (set REQUESTS_CA_BUNDLE / SSL_CERT_FILE for a private CA)"
        ) from None
    except requests.RequestException as exc:
        raise DownloadError(
            f"cannot reach {urlsplit(url).hostname}: {type(exc).__name__}", retryable=True
        ) from None
    with response:
        status = response.status_code
        if status == 403:
            raise DownloadError(
                "SINtegre refused the download (403): the link's token has expired or was revoked"
            )
        if status == 404:
            raise DownloadError("SINtegre answered 404: the product file is no longer there")
        if status != 200:
            tried = f" after {retries} retries" if status >= 500 or status == 429 else ""
            raise DownloadError(f"SINtegre answered HTTP {status}{tried}", retryable=status >= 500)
        name = file_name_from_content_disposition(response.headers.get("Content-Disposition"))
        file_name = sanitize_file_name(name or fallback_file_name(conf))
        fd, tmp_name = tempfile.mkstemp(dir=incoming, suffix=".part")
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                first = True
                for chunk in response.iter_content(CHUNK_BYTES):
                    if (
                        first
                        and _looks_like_html(chunk[:512])
                        and not file_name.lower().endswith((".html", ".htm"))
                    ):
                        raise DownloadError(
                            "the server sent an HTML page instead of the product file "
                            "(usually an ONS error or login page); nothing was stored"
                        )
                    first = False
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            expected = response.headers.get("Content-Length")
            if expected and expected.isdigit() and int(expected) != size:
                raise DownloadError(
                    f"the download was cut short: {size} of {expected} bytes", retryable=True
                )
            if size == 0:
                raise DownloadError("SINtegre sent an empty file")
        except requests.RequestException as exc:
            tmp_path.unlink(missing_ok=True)
            raise DownloadError(
                f"the download broke off after {size} bytes: {type(exc).__name__}", retryable=True
            ) from None
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    sha = digest.hexdigest()
    period = str(conf.get("periodicidade_date") or "0000-00-00")
    relative = PurePosixPath(
        "raw", str(conf.get("dataset") or "produto"), period[:4], period[5:7], sha, file_name
    )
    final = lake_root / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        tmp_path.unlink()  # the same bytes are already there: raw is content-addressed
    else:
        os.replace(tmp_path, final)
    log.info("downloaded %s (%d bytes, sha256 %s) into %s", file_name, size, sha[:12], relative)
    return DownloadResult(
        raw_path=str(relative),
        sha256=sha,
        file_name=file_name,
        size=size,
        content_type=response.headers.get("Content-Type"),
    )
