"""Webhook integrations, as SINtegre has them: a name (URL path), an auth mode, secrets.

Without ``SINTEGRE_INTEGRATIONS_FILE`` one integration, ``default``, comes from the
environment (``SINTEGRE_WEBHOOK_AUTH`` and friends).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field

from sintegre.settings import Settings

AUTH_MODES = ("basic", "token", "none")


class IntegrationConfigError(ValueError):
    """The integrations configuration is unusable; the message says which entry and why."""


@dataclass(frozen=True)
class Integration:
    """One SINtegre webhook integration.

    ``credentials`` and ``tokens`` hold up to two accepted values each, so a secret can be
    rotated without a window where SINtegre is refused.
    """

    name: str
    auth: str
    credentials: tuple[tuple[str, str], ...] = ()
    tokens: tuple[str, ...] = ()
    expected_products: tuple[str, ...] = ()
    expected_product_ids: tuple[int, ...] = ()
    realm: str = field(default="SINtegre webhook")

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise IntegrationConfigError(
                f"integration {self.name!r}: auth must be one of {', '.join(AUTH_MODES)}, "
                f"not {self.auth!r}"
            )
        if self.auth == "basic" and not self.credentials:
            raise IntegrationConfigError(
                f"integration {self.name!r}: basic auth needs a user and a password"
            )
        if self.auth == "token" and not self.tokens:
            raise IntegrationConfigError(f"integration {self.name!r}: token auth needs a token")

    def authenticate(self, authorization: str | None) -> bool:
        """Check the ``Authorization`` header in constant time against every accepted secret."""
        if self.auth == "none":
            return True
        if not authorization:
            return False
        if self.auth == "token":
            presented = authorization.strip()
            # ONS's sample compares the raw header; some relays add "Bearer ": accept both.
            if presented[:7].lower() == "bearer ":
                presented = presented[7:].strip()
            matches = [
                hmac.compare_digest(presented.encode(), token.encode()) for token in self.tokens
            ]
            return any(matches)
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        # Compare every pair fully (no early exit) so timing says nothing about which part failed.
        results = [
            hmac.compare_digest(user.encode(), u.encode())
            & hmac.compare_digest(password.encode(), p.encode())
            for u, p in self.credentials
        ]
        return any(results)


def integrations_from_environment(settings: Settings) -> dict[str, Integration]:
    """The ``default`` integration described by the ``SINTEGRE_WEBHOOK_*`` variables."""
    credentials: tuple[tuple[str, str], ...] = ()
    if settings.webhook_user and settings.webhook_password:
        credentials = ((settings.webhook_user, settings.webhook_password),)
    tokens = (settings.webhook_token,) if settings.webhook_token else ()
    default = Integration(
        name="default", auth=settings.webhook_auth, credentials=credentials, tokens=tokens
    )
    return {"default": default}
