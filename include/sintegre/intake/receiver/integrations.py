"""Webhook integrations, as SINtegre has them: a name (URL path), an auth mode, secrets.

Without ``SINTEGRE_INTEGRATIONS_FILE`` one integration, ``default``, comes from the
environment (``SINTEGRE_WEBHOOK_AUTH`` and friends).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from werkzeug.datastructures import Authorization

from sintegre.core.settings import SecretReferenceError, Settings, read_secret
from sintegre.core.slugs import slugify

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
    # Secrets: never in a repr (a repr reaches logs and tracebacks).
    credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    tokens: tuple[str, ...] = field(default=(), repr=False)
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

    def expects(self, product_id: int | None, nome: str) -> bool:
        """Whether a product is on this integration's list (no list: everything is expected)."""
        if not self.expected_products and not self.expected_product_ids:
            return True
        if product_id is not None and product_id in self.expected_product_ids:
            return True
        return slugify(nome) in self.expected_products

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
        given = parse_basic(authorization)
        if given is None:
            return False
        user, password = given
        # Compare every pair fully (no early exit) so timing says nothing about which part failed.
        results = [
            hmac.compare_digest(user.encode(), u.encode())
            & hmac.compare_digest(password.encode(), p.encode())
            for u, p in self.credentials
        ]
        return any(results)


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """User and password of a Basic ``Authorization`` header, parsed by Werkzeug.

    Returns:
        ``None`` for another scheme or a malformed header (bad base64, not UTF-8, non-ASCII:
        Werkzeug raises ``ValueError`` for that last one), so it is a 401, never a 5xx.
    """
    try:
        given = Authorization.from_header(authorization)
    except ValueError:
        return None
    if given is None or given.type != "basic":
        return None
    return given.username or "", given.password or ""


def integrations_from_environment(settings: Settings) -> dict[str, Integration]:
    """The ``default`` integration described by the ``SINTEGRE_WEBHOOK_*`` variables."""
    credentials: tuple[tuple[str, str], ...] = ()
    if settings.webhook_user and settings.webhook_password:
        credentials = ((settings.webhook_user, settings.webhook_password.get_secret_value()),)
    tokens = (settings.webhook_token.get_secret_value(),) if settings.webhook_token else ()
    default = Integration(
        name="default", auth=settings.webhook_auth, credentials=credentials, tokens=tokens
    )
    return {"default": default}


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SECRETS = 2  # the current one and the next one, during a rotation


def _secrets(
    entry: dict[str, Any], key: str, name: str, env: Mapping[str, str] | None
) -> list[Any]:
    items = entry.get(key) or []
    if not isinstance(items, list):
        items = [items]
    if len(items) > MAX_SECRETS:
        raise IntegrationConfigError(
            f"integration {name!r}: at most {MAX_SECRETS} {key} (current and next, for rotation)"
        )
    return items


def load_integrations_file(
    path: str | Path, env: Mapping[str, str] | None = None
) -> dict[str, Integration]:
    """Read integrations from a YAML file; secrets are resolved from their references.

    Example::

        integrations:
          - name: default
            auth: basic
            credentials:
              - {user: ons, password: {env: SINTEGRE_WEBHOOK_PASSWORD}}
              - {user: ons, password: {file: /run/secrets/webhook_next}}
            expected_products: ["Acomph", 230]
          - name: meteorologia
            auth: token
            tokens: [{env: METEO_TOKEN}]

    Raises:
        IntegrationConfigError: Naming the entry and the problem (never a secret's value).
    """
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise IntegrationConfigError(
            f"cannot read integrations file {path}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise IntegrationConfigError(f"integrations file {path} is not valid YAML: {exc}") from None
    entries = (document or {}).get("integrations") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise IntegrationConfigError(f"{path}: expected a non-empty list under 'integrations'")
    result: dict[str, Integration] = {}
    for position, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise IntegrationConfigError(f"{path}: entry {position} is not a mapping")
        name = str(entry.get("name", ""))
        if not _NAME.match(name):
            raise IntegrationConfigError(
                f"{path}: entry {position} needs a name of letters, digits, '-' or '_' "
                "(it becomes the URL path)"
            )
        if name in result:
            raise IntegrationConfigError(f"{path}: integration {name!r} is defined twice")
        auth = str(entry.get("auth", "none")).lower()
        try:
            credentials = tuple(
                (str(item["user"]), read_secret(item.get("password"), env))
                for item in _secrets(entry, "credentials", name, env)
            )
            tokens = tuple(read_secret(item, env) for item in _secrets(entry, "tokens", name, env))
        except SecretReferenceError as exc:
            raise IntegrationConfigError(f"integration {name!r}: {exc}") from None
        except (KeyError, TypeError):
            raise IntegrationConfigError(
                f"integration {name!r}: each credential needs 'user' and 'password'"
            ) from None
        expected = entry.get("expected_products") or []
        result[name] = Integration(
            name=name,
            auth=auth,
            credentials=credentials,
            tokens=tokens,
            expected_products=tuple(slugify(str(p)) for p in expected if not isinstance(p, int)),
            expected_product_ids=tuple(p for p in expected if isinstance(p, int)),
        )
    return result


def load_integrations(
    settings: Settings, env: Mapping[str, str] | None = None
) -> dict[str, Integration]:
    """Integrations from ``SINTEGRE_INTEGRATIONS_FILE``, else ``default`` from the environment."""
    if settings.integrations_file:
        return load_integrations_file(settings.integrations_file, env)
    return integrations_from_environment(settings)
