"""The download URL (https, allowlisted host, no IP literal) and the ONS token's claims."""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import re
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

import msgspec

from sintegre.intake.notification.body import _lone_surrogate
from sintegre.intake.notification.errors import NotificationError

if TYPE_CHECKING:
    pass


_decode_json = msgspec.json.Decoder().decode
_PRODUCT_ID = re.compile(r"/Produtos/([0-9]{1,9})(?:/|$)", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _is_ip_literal(host: str) -> bool:
    """Whether a host is an IP address. Cached: every notification names the same few hosts,
    and ``ipaddress`` takes ~8 µs to say no."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_fetch_target(
    url: str, allowed_hosts: tuple[str, ...], *, what: str = "field 'url'"
) -> SplitResult:
    """Refuse any address we would not fetch: only https on an allowlisted host, by name, with
    no credentials. Applied to the notification's URL and to every redirect hop.

    Returns:
        The split URL.

    Raises:
        NotificationError: 422 naming ``what`` and what is wrong (never the token itself).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise NotificationError(f"{what} is not a valid URL", field="url") from None
    if parts.scheme.lower() != "https":
        raise NotificationError(
            f"{what} must use https, not {parts.scheme or 'no scheme'!r}", field="url"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise NotificationError(f"{what} must not carry credentials", field="url")
    _check_host(host, allowed_hosts, what)
    return parts


def _check_host(host: str, allowed_hosts: tuple[str, ...], what: str) -> None:
    """Refuse a missing host, an IP literal, or a host off the allowlist."""
    if not host:
        raise NotificationError(f"{what} has no host", field="url")
    if _is_ip_literal(host):
        raise NotificationError(f"{what} must name a host, not an IP address", field="url")
    if host not in allowed_hosts:
        raise NotificationError(
            f"{what} points to host {host!r}, which is not in SINTEGRE_ALLOWED_DOWNLOAD_HOSTS",
            field="url",
        )


#: The URL every ONS notification carries, in its plain form
#: (``https://apps08.ons.org.br/ONS.Sintegre.Proxy/webhook?token=<JWT>``): lower-case scheme
#: and host, no port, credentials, escapes or fragment, a path of plain characters, and the
#: token as the only query parameter, in JWT characters. Such a URL is its own canonical form
#: and its parts are read by this match alone; ``urlsplit`` and ``parse_qs`` took ~30 µs of
#: an accept (issue #17). Any other URL takes the general path (the same verdicts:
#: ``tests/unit/test_download_url.py``).
_PLAIN_URL = re.compile(
    r"https://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?:/[A-Za-z0-9._~/-]*)?\?token=([A-Za-z0-9_.=-]+)"
)


def check_download_url(url: str, allowed_hosts: tuple[str, ...]) -> str:
    """Refuse any URL we would not fetch (see :func:`check_fetch_target`); it needs a token.

    Returns:
        The token query parameter.

    Raises:
        NotificationError: 422 naming ``url`` and what is wrong (never the token itself).
    """
    return checked_download_url(url, allowed_hosts)[0]


def checked_download_url(url: str, allowed_hosts: tuple[str, ...]) -> tuple[str, str]:
    """:func:`check_download_url`, and the URL in canonical form, from one split of it.

    Returns:
        The token query parameter, and the URL with its scheme and host in lower case
        (``HTTPS://APPS08…`` → ``https://apps08…``), path and query untouched.

    Raises:
        NotificationError: 422 naming ``url`` and what is wrong (never the token itself).
    """
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        _check_host(plain.group(1), allowed_hosts, "field 'url'")
        return plain.group(2), url
    parts = check_fetch_target(url, allowed_hosts)
    tokens = parse_qs(parts.query).get("token") or []
    if len(tokens) != 1 or not tokens[0].strip():
        raise NotificationError("field 'url' has no token query parameter", field="url")
    canonical = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower())
    return tokens[0], urlunsplit(canonical)


#: A base64url segment of a compact JWS (RFC 7515 §2: no padding; some issuers add it).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


#: The base64url characters a canonical encoding may end with, by the length of the segment
#: (without padding) modulo 4: the last character's spare bits (4 or 2) are zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def _base64url_segment(segment: str) -> bytes:
    """Decode one segment as strictly as PyJWT does: the base64url alphabet only, at most two
    trailing ``=`` (then a whole number of quads), and canonical (re-encoding gives it back,
    so stray bits in the last character are refused).

    Raises:
        ValueError: The segment is not canonical base64url.
    """
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("not base64url")
    stripped = segment.rstrip("=")
    size = len(stripped) % 4
    if (stripped != segment and len(segment) % 4) or size == 1:
        raise ValueError("bad base64url padding")
    # Canonical without re-encoding (issue #17): all but the last character are decoded
    # whole, so only the last one's spare bits can differ from what encoding would write.
    if size and stripped[-1] not in _CANONICAL_LAST[size]:
        raise ValueError("non-canonical base64url")
    return base64.urlsafe_b64decode(stripped + "=" * (-size % 4))


#: At most this many ``[`` and ``{`` for msgspec to read a segment's JSON: the ``json``
#: module refuses nesting past the recursion limit, which msgspec does not share.
_MSGSPEC_MAX_OPENINGS = 32


def _json_object_bytes(raw: bytes) -> Any:
    """``json.loads(raw)``, the same value or the same refusal, faster on plain segments.

    msgspec reads plain ASCII JSON to what ``json`` reads, ~5× faster (issue #17); it
    refuses more (``NaN``, lone-surrogate escapes, UTF-16, a BOM), and those go to ``json``.
    What ``json`` refuses and msgspec would read is kept from it: integers longer than
    Python's digit limit (a segment shorter than the limit holds none) and deep nesting.
    """
    limit = sys.get_int_max_str_digits()
    if (
        raw.isascii()
        and (limit == 0 or len(raw) < limit)
        and raw.count(b"[") + raw.count(b"{") <= _MSGSPEC_MAX_OPENINGS
    ):
        try:
            return _decode_json(raw)
        except msgspec.DecodeError:
            pass  # json's own verdict, below
    return json.loads(raw)


def read_token_claims(token: str) -> dict[str, Any]:
    """Decode the ONS JWT without verifying it (only ONS holds the key).

    What ``jwt.decode(token, options={"verify_signature": False})`` does, by hand: PyJWT
    (2.10 and later) checks every character of each segment in a Python loop, ~40 µs of the
    receiver's ~0.5 ms per accepted notification (issue #17, measured under gunicorn). The
    rules are PyJWT's: three segments, each canonical base64url, a JSON-object header and a
    JSON-object payload (``tests/unit/test_token_claims.py`` holds both to the same verdicts).

    Raises:
        NotificationError: 422 when the token is not a readable JWT.
    """
    try:
        header, payload, signature = token.split(".")
        _base64url_segment(signature)
        if not isinstance(_json_object_bytes(_base64url_segment(header)), dict):
            raise ValueError("the header is not a JSON object")
        raw_claims = _base64url_segment(payload)
        claims = _json_object_bytes(raw_claims)
    except (ValueError, binascii.Error, RecursionError):
        # ValueError: not three segments, bad base64url or JSON, a header that is no object,
        # an integer claim beyond Python's digit limit, bytes that are not UTF-8.
        raise NotificationError(
            "field 'url' carries a token that is not a readable JWT", field="url"
        ) from None
    if not isinstance(claims, dict):
        raise NotificationError("field 'url' carries a token without claims", field="url")
    if _may_hold_surrogate(raw_claims) and _lone_surrogate(claims):
        raise NotificationError(
            "field 'url' carries a token whose claims hold a lone UTF-16 surrogate", field="url"
        )
    return claims


def _may_hold_surrogate(raw: bytes) -> bool:
    """Whether JSON bytes can decode to a lone surrogate (else the walk over them is skipped).

    ``json.loads`` of bytes reads UTF-8 with ``surrogatepass`` and also UTF-16/32 (told by
    their NUL bytes): a surrogate can come from any non-ASCII byte, a NUL, or a ``\\u``
    escape. Plain ASCII without those (every real ONS token) cannot hold one.
    """
    return not raw.isascii() or b"\x00" in raw or b"\\u" in raw


def product_id_from_claim(url_claim: str | None) -> int | None:
    """The stable product id: the number after ``/Produtos/`` in the token's ``URL`` claim."""
    if not url_claim:
        return None
    match = _PRODUCT_ID.search(url_claim)
    return int(match.group(1)) if match else None


#: Epoch seconds a token claim may hold (an unverified JWT can carry anything).
_MAX_EPOCH = 2**40


def _epoch_claim(value: Any, claim: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or not (0 <= value < _MAX_EPOCH):  # NaN, infinities, absurd values
        what = "expiry (exp)" if claim == "exp" else f"'{claim}' date"
        raise NotificationError(
            f"field 'url' carries a token whose {what} is impossible", field="url"
        )
    return int(value)
