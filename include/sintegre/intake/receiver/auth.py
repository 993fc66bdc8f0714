"""The admin pages' and API's authentication: one decorator, HTTP Basic, CSRF-safe POSTs."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, jsonify, request

from sintegre.intake.receiver.integrations import parse_basic
from sintegre.intake.receiver.state import state

__all__ = ["admin_required"]

F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """Require the admin's Basic credentials (constant-time) and, for state-changing methods,
    a request that does not come from another site."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _check_credentials()
        _refuse_cross_site()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _check_credentials() -> None:
    settings = state().settings
    if not settings.admin_password:
        abort(403, "the inspection API is disabled: set SINTEGRE_ADMIN_PASSWORD")
    # Werkzeug parses the Basic header (malformed, another scheme: None, so a 401 below).
    given = parse_basic(request.headers.get("Authorization"))
    user, password = given or ("", "")
    # Both compared, always: no early exit that would tell which one was wrong.
    ok = hmac.compare_digest(user.encode(), settings.admin_user.encode()) & hmac.compare_digest(
        password.encode(), settings.admin_password.get_secret_value().encode()
    )
    if not (given and ok):
        response = jsonify({"error": "admin credentials required"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="SINtegre receiver admin"'
        abort(response)


def _refuse_cross_site() -> None:
    """CSRF: a browser caches Basic credentials, so a page on another site could make an
    operator's browser POST a replay here. Browsers say where a request comes from
    (``Sec-Fetch-Site``, ``Origin``); state-changing admin requests must come from this site or
    from no site at all (curl, scripts, the CLI send neither header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        abort(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != request.host.lower():
            abort(403, "cross-site request refused (Origin is another site)")
