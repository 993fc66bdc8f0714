"""Every setting of the project, read from the environment in one place.

Each setting is listed in README.md and in .env.example, under the environment variable name
that is its alias here. Nothing else in the package reads ``os.environ`` directly, so a test can
build a :class:`Settings` from any mapping (:func:`load_settings`). Secrets are
:class:`~pydantic.SecretStr`: callers ask for ``.get_secret_value()`` where they need one, and
no repr, log line or validation error shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError
from pydantic import model_validator as _model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The defaults and the error live in an import-light module the DAG files' parse can afford.
from sintegre.core.environment import DEFAULTS, SettingsError

__all__ = [
    "DEFAULT_DAG_ID",
    "PROJECT_ROOT",
    "REDACTED",
    "SecretReferenceError",
    "Settings",
    "SettingsError",
    "env_names",
    "load_settings",
    "read_secret",
]

#: The repository root: ``include/sintegre/core/settings.py`` → three levels up.
PROJECT_ROOT = Path(__file__).resolve().parents[3]

DEFAULT_DAG_ID = DEFAULTS["SINTEGRE_DAG_ID"]


def _resolve(path_or_uri: str, root: Path) -> str:
    """Resolve a relative local path against ``root``; leave URIs (s3://, file://) alone."""
    if "://" in path_or_uri:
        return path_or_uri
    path = Path(path_or_uri).expanduser()
    return str(path if path.is_absolute() else (root / path).resolve())


def _csv(value: object) -> object:
    if not isinstance(value, str):
        return value
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


#: ``scheme://user:password@`` in a URL (the inbox's PostgreSQL URL, an alert webhook).
_URL_PASSWORD = re.compile(r"(://[^/:@]*:)[^@/]*@")
REDACTED = "<redacted>"

Lower = Annotated[str, BeforeValidator(_lower)]


def _env(name: str, *more: str) -> Any:
    """The field's environment variable(s): the first one set (and not empty) wins."""
    return Field(validation_alias=AliasChoices(name, *more) if more else name)


def _opt(name: str, *more: str) -> Any:
    """An optional setting: ``None`` when its variable(s) are unset or empty."""
    return Field(None, validation_alias=AliasChoices(name, *more) if more else name)


class Settings(BaseSettings):
    """The resolved configuration. Build it with :func:`load_settings`.

    Every field is read from the environment variable named beside it; an empty variable
    counts as unset (``.env.example`` lists them all, empty).
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    project_root: Path = _env("SINTEGRE_PROJECT_ROOT")
    state_dir: Path = _env("SINTEGRE_STATE_DIR")
    lake_uri: str = _env("LAKE_URI")
    receiver_host: str = _env("RECEIVER_HOST")
    receiver_port: int = _env("RECEIVER_PORT")
    airflow_port: int = _env("AIRFLOW_PORT")
    airflow_url: str = _env("AIRFLOW_URL")
    airflow_user: str = _env("AIRFLOW_USER")
    airflow_password: SecretStr = _env("AIRFLOW_PASSWORD")
    dag_id: str = _env("SINTEGRE_DAG_ID")
    inbox_url: str = _env("SINTEGRE_INBOX_URL")
    inbox_synchronous: Annotated[str, BeforeValidator(lambda v: str(v).upper())] = _env(
        "SINTEGRE_INBOX_SYNCHRONOUS"
    )
    inbox_busy_timeout_ms: int = _env("SINTEGRE_INBOX_BUSY_TIMEOUT_MS")
    integrations_file: str | None = _opt("SINTEGRE_INTEGRATIONS_FILE")
    webhook_auth: Lower = _env("SINTEGRE_WEBHOOK_AUTH")
    webhook_user: str | None = _opt("SINTEGRE_WEBHOOK_USER")
    webhook_password: SecretStr | None = _opt("SINTEGRE_WEBHOOK_PASSWORD")
    webhook_token: SecretStr | None = _opt("SINTEGRE_WEBHOOK_TOKEN")
    admin_user: str = _env("SINTEGRE_ADMIN_USER")
    admin_password: SecretStr | None = _opt("SINTEGRE_ADMIN_PASSWORD")
    allowed_download_hosts: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_csv)] = _env(
        "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS"
    )
    # requests honours REQUESTS_CA_BUNDLE itself but not SSL_CERT_FILE; we pass both explicitly.
    ca_bundle: str | None = _opt("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
    forwarder_poll_seconds: float = _env("FORWARDER_POLL_SECONDS")
    forwarder_max_backoff_seconds: float = _env("FORWARDER_MAX_BACKOFF_SECONDS")
    token_rescue_window_seconds: int = _env("SINTEGRE_TOKEN_RESCUE_WINDOW_SECONDS")
    download_timeout_seconds: float = _env("SINTEGRE_DOWNLOAD_TIMEOUT_SECONDS")
    download_deadline_seconds: float = _env("SINTEGRE_DOWNLOAD_DEADLINE_SECONDS")
    download_retries: int = _env("SINTEGRE_DOWNLOAD_RETRIES")
    task_retry_delay_seconds: float = _env("SINTEGRE_TASK_RETRY_DELAY_SECONDS")
    max_body_bytes: int = _env("SINTEGRE_MAX_BODY_BYTES")
    log_format: Lower = _env("SINTEGRE_LOG_FORMAT")
    alert_webhook_url: str | None = _opt("SINTEGRE_ALERT_WEBHOOK_URL")
    alert_email_to: str | None = _opt("SINTEGRE_ALERT_EMAIL_TO")
    freshness_schedule: str = _env("SINTEGRE_FRESHNESS_SCHEDULE")
    demo: bool = _env("SINTEGRE_DEMO")
    #: How landings on one partition are serialised: ``auto`` or ``none`` (see lake.py).
    lake_lock: Lower = _env("SINTEGRE_LAKE_LOCK")
    #: How long a landing waits for its partition's lock before failing (it retries later).
    lake_lock_wait_seconds: float = _env("SINTEGRE_LAKE_LOCK_WAIT_SECONDS")
    #: Retention (the sintegre_maintenance DAG): finished notifications, refusal traces, and
    #: the age after which partial downloads, dead runs' staging and free locks are swept.
    inbox_retention_days: float = _env("SINTEGRE_INBOX_RETENTION_DAYS")
    refusals_retention_days: float = _env("SINTEGRE_REFUSALS_RETENTION_DAYS")
    stale_file_hours: float = _env("SINTEGRE_STALE_FILE_HOURS")
    maintenance_schedule: str = _env("SINTEGRE_MAINTENANCE_SCHEDULE")
    #: The catalog Delta table's log entries older than this are dropped by the maintenance
    #: (after a checkpoint): bounds the table's *version* time travel, not ``<dataset>_as_of``.
    lake_log_retention_days: float = _env("SINTEGRE_LAKE_LOG_RETENTION_DAYS")
    #: ``vacuum`` of the catalog table's unreferenced files older than this; None: never.
    lake_vacuum_retention_hours: float | None = _opt("SINTEGRE_LAKE_VACUUM_RETENTION_HOURS")
    #: How long the catalog table's log remembers the files compaction replaced (Delta's
    #: ``delta.deletedFileRetentionDuration``, at least the vacuum retention): every commit,
    #: decision and view reads them, so a week of them made a commit ~4x slower at 1M.
    lake_tombstone_retention_hours: float = _env("SINTEGRE_LAKE_TOMBSTONE_RETENTION_HOURS")
    #: S3 (or MinIO...) endpoint for an ``s3://`` lake; None: AWS itself. The project's own
    #: name wins over the AWS SDK's, so the lake can use another endpoint than the host's tools.
    s3_endpoint_url: str | None = _opt("SINTEGRE_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")
    s3_region: str | None = _opt("AWS_REGION", "AWS_DEFAULT_REGION")
    s3_ca_bundle: str | None = _opt("SINTEGRE_S3_CA_BUNDLE")
    # Credentials: unset falls through to the AWS SDK's chain (profile, instance role...).
    aws_access_key_id: SecretStr | None = _opt("AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = _opt("AWS_SECRET_ACCESS_KEY")
    aws_session_token: SecretStr | None = _opt("AWS_SESSION_TOKEN")

    @_model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Defaults, some derived from other settings; relative paths resolved against the root."""
        if not isinstance(data, dict):
            return data
        env = {key: value for key, value in data.items() if str(value).strip()}
        root = Path(env.get("SINTEGRE_PROJECT_ROOT", str(PROJECT_ROOT))).resolve()
        state_dir = Path(_resolve(str(env.get("SINTEGRE_STATE_DIR", ".state")), root))
        port = env.setdefault("AIRFLOW_PORT", DEFAULTS["AIRFLOW_PORT"])
        derived = {
            "AIRFLOW_URL": f"http://localhost:{port}",
            "SINTEGRE_INBOX_URL": f"sqlite:///{state_dir / 'inbox.sqlite3'}",
        }
        env = {**DEFAULTS, **derived} | env
        env["SINTEGRE_PROJECT_ROOT"], env["SINTEGRE_STATE_DIR"] = root, state_dir
        env["LAKE_URI"] = _resolve(str(env.get("LAKE_URI", "data/lake")), root)
        env["AIRFLOW_URL"] = str(env["AIRFLOW_URL"]).rstrip("/")
        return env

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """Every field, with secrets masked and URL passwords removed (reprs reach logs)."""
        for name, value in super().__repr_args__():
            if isinstance(value, SecretStr):
                value = REDACTED if value.get_secret_value() else ""
            elif isinstance(value, str) and "://" in value:
                value = _URL_PASSWORD.sub(r"\1" + REDACTED + "@", value)
            yield name, value

    @property
    def webhook_base_url(self) -> str:
        """The URL SINtegre should be given, without the integration name."""
        host = "localhost" if self.receiver_host in {"0.0.0.0", "::", ""} else self.receiver_host
        return f"http://{host}:{self.receiver_port}/sintegre"

    @property
    def tls_verify(self) -> bool | str:
        """What ``requests`` gets as ``verify``: always verify, with a custom bundle when set."""
        return self.ca_bundle or True


def env_names() -> frozenset[str]:
    """Every environment variable :class:`Settings` reads (its fields' aliases)."""
    names: set[str] = set()
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(choice for choice in choices if isinstance(choice, str))
    return frozenset(names)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (``os.environ`` when omitted).

    Args:
        env: The environment to read; tests pass a dict.

    Returns:
        A frozen :class:`Settings`.

    Raises:
        SettingsError: A variable holds a value of the wrong kind (``RECEIVER_PORT=http``);
            every such variable is named, and no value is repeated (it may be a secret).
    """
    source = os.environ if env is None else env
    # Fail closed: an authentication mode exported empty (a template left unfilled) must not
    # quietly become "none" and open the webhook.
    if "SINTEGRE_WEBHOOK_AUTH" in source and not source["SINTEGRE_WEBHOOK_AUTH"].strip():
        raise SettingsError(
            "invalid settings: SINTEGRE_WEBHOOK_AUTH is set but empty; say none, basic or token"
        )
    try:
        # Empty is unset (as env_ignore_empty does for Settings() itself).
        return Settings.model_validate({k: v for k, v in source.items() if v.strip()})
    except ValidationError as error:
        problems = [
            f"{'/'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_url=False, include_input=False)
        ]
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


class SecretReferenceError(ValueError):
    """A secret reference that cannot be resolved (the message never holds the secret)."""


def read_secret(reference: object, env: Mapping[str, str] | None = None) -> str:
    """Resolve a secret given by reference: ``{"env": NAME}`` or ``{"file": PATH}``.

    Secrets are never written in configuration files themselves, only where to find them.

    Args:
        reference: The mapping from the integrations file.
        env: The environment (``os.environ`` when omitted).

    Returns:
        The secret, stripped of surrounding whitespace (files usually end in a newline).

    Raises:
        SecretReferenceError: Not a reference, an unset variable, an unreadable or empty file.
    """
    env = os.environ if env is None else env
    if not isinstance(reference, Mapping) or len(reference) != 1:
        raise SecretReferenceError(
            "a secret must be given by reference, as {env: VARIABLE} or {file: /path}, "
            "never as a value"
        )
    ((kind, target),) = reference.items()
    if kind == "env":
        value = env.get(str(target), "")
        if not value.strip():
            raise SecretReferenceError(f"environment variable {target} is unset or empty")
        return value.strip()
    if kind == "file":
        try:
            value = Path(str(target)).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise SecretReferenceError(
                f"cannot read secret file {target}: {exc.strerror}"
            ) from None
        if not value.strip():
            raise SecretReferenceError(f"secret file {target} is empty")
        return value.strip()
    raise SecretReferenceError(f"unknown secret reference kind {kind!r} (use env or file)")
