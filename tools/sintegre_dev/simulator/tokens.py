"""Mint and verify download tokens shaped like the ones the ONS SINtegre proxy issues.

The real proxy signs an HS256 JWT with a key only ONS knows; the simulator uses its own
key (:data:`DEFAULT_SECRET`) so tests can mint, tamper with and expire tokens at will.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

# Long enough (>= 32 bytes) that PyJWT does not warn about a weak HMAC key.
DEFAULT_SECRET = "sintegre-simulator-hs256-key-not-for-production-use"
# ONS tokens live 24 h plus 4 minutes (observed: exp - nbf == 86640 s).
TOKEN_LIFETIME_SECONDS = 86_640
# ONS puts the same value in ``iss`` and ``aud``.
ISSUER = "http://local.ons.org.br"
AUDIENCE = "http://local.ons.org.br"
ALGORITHM = "HS256"


class TokenError(Exception):
    """Base class for tokens the simulated proxy refuses."""


class InvalidTokenError(TokenError):
    """The token is malformed, tampered with or signed with another key (HTTP 401)."""


class TokenExpiredError(TokenError):
    """The token's ``exp`` has passed (HTTP 403)."""


class TokenNotYetValidError(TokenError):
    """The token's ``nbf`` is still in the future (HTTP 403)."""


def mint_token(
    *,
    url_claim: str,
    nome_produto: str,
    is_file: bool = True,
    username: str = "analista@example.com.br",
    nbf: int | None = None,
    lifetime: int = TOKEN_LIFETIME_SECONDS,
    secret: str = DEFAULT_SECRET,
) -> str:
    """Sign a download token with the claims ONS puts in its webhook URLs.

    Args:
        url_claim: The ``URL`` claim: an absolute SharePoint URL for files or a relative
            ``/sites/...`` folder path for folder products.
        nome_produto: The ``nomeProduto`` claim (the product's display name).
        is_file: Rendered as the strings ``"True"``/``"False"`` because that is how the
            .NET side serialises it.
        username: The subscriber's e-mail (``username`` claim).
        nbf: Delivery instant in epoch seconds; defaults to now.
        lifetime: Seconds from ``nbf`` to ``exp``.
        secret: HS256 key.

    Returns:
        The compact JWT string.
    """
    not_before = int(time.time()) if nbf is None else int(nbf)
    claims: dict[str, Any] = {
        "URL": url_claim,
        "username": username,
        "nomeProduto": nome_produto,
        "IsFile": "True" if is_file else "False",
        "nbf": not_before,
        "exp": not_before + int(lifetime),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(
    token: str, *, secret: str = DEFAULT_SECRET, now: float | None = None
) -> dict[str, Any]:
    """Check a token the way the simulated proxy does and return its claims.

    The signature, ``iss`` and ``aud`` are checked by PyJWT; the time window is checked
    here so that the boundary is explicit: expired when ``now >= exp``, not yet valid
    when ``now < nbf``, no leeway.

    Args:
        token: Compact JWT.
        secret: HS256 key.
        now: Epoch seconds to judge the time window against; defaults to now.

    Returns:
        The decoded claims.

    Raises:
        InvalidTokenError: Bad signature, malformed token or wrong issuer/audience.
        TokenExpiredError: ``now >= exp``.
        TokenNotYetValidError: ``now < nbf``.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "require": ["exp", "nbf", "iss", "aud", "URL"],
            },
        )
        nbf = int(claims["nbf"])
        exp = int(claims["exp"])
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        # Chain nothing that could echo the token back into a log line.
        raise InvalidTokenError(type(exc).__name__) from None
    instant = time.time() if now is None else now
    if instant >= exp:
        raise TokenExpiredError("token expired")
    if instant < nbf:
        raise TokenNotYetValidError("token not yet valid")
    return claims
