"""Every setting of the project, read from the environment in one place.

Each setting is listed in README.md and in .env.example. Nothing else in the package reads
``os.environ`` directly, so a test can build a :class:`Settings` from any mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

#: The repository root: ``include/sintegre/core/settings.py`` → three levels up.
PROJECT_ROOT = Path(__file__).resolve().parents[3]

DEFAULT_DAG_ID = "sintegre_generic"


def _resolve(path_or_uri: str, root: Path) -> str:
    """Resolve a relative local path against ``root``; leave URIs (s3://, file://) alone."""
    if "://" in path_or_uri:
        return path_or_uri
    path = Path(path_or_uri).expanduser()
    return str(path if path.is_absolute() else (root / path).resolve())


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


#: Fields whose values never appear in a repr, a log or an error message.
_SECRET_FIELDS = frozenset(
    {
        "airflow_password",
        "webhook_password",
        "webhook_token",
        "admin_password",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    }
)
#: ``scheme://user:password@`` in a URL (the inbox's PostgreSQL URL, an alert webhook).
_URL_PASSWORD = re.compile(r"(://[^/:@]*:)[^@/]*@")
REDACTED = "<redacted>"


@dataclass(frozen=True, repr=False)
class Settings:
    """The resolved configuration. Build it with :func:`load_settings`."""

    project_root: Path
    state_dir: Path
    lake_uri: str
    receiver_host: str
    receiver_port: int
    airflow_port: int
    airflow_url: str
    airflow_user: str
    airflow_password: str
    dag_id: str
    inbox_url: str
    inbox_synchronous: str
    inbox_busy_timeout_ms: int
    integrations_file: str | None
    webhook_auth: str
    webhook_user: str | None
    webhook_password: str | None
    webhook_token: str | None
    admin_user: str
    admin_password: str | None
    allowed_download_hosts: tuple[str, ...]
    ca_bundle: str | None
    forwarder_poll_seconds: float
    forwarder_max_backoff_seconds: float
    token_rescue_window_seconds: int
    download_timeout_seconds: float
    download_deadline_seconds: float
    download_retries: int
    task_retry_delay_seconds: float
    max_body_bytes: int
    log_format: str
    alert_webhook_url: str | None
    alert_email_to: str | None
    freshness_schedule: str
    demo: bool
    #: How landings on one partition are serialised: ``auto`` or ``none`` (see lake.py).
    lake_lock: str = "auto"
    #: How long a landing waits for its partition's lock before failing (it retries later).
    lake_lock_wait_seconds: float = 300.0
    #: Retention (the sintegre_maintenance DAG): finished notifications, refusal traces, and
    #: the age after which partial downloads, dead runs' staging and free locks are swept.
    inbox_retention_days: float = 365.0
    refusals_retention_days: float = 30.0
    stale_file_hours: float = 24.0
    maintenance_schedule: str = "30 6 * * *"
    #: The catalog Delta table's log entries older than this are dropped by the maintenance
    #: (after a checkpoint): bounds the table's *version* time travel, not ``<dataset>_as_of``.
    lake_log_retention_days: float = 30.0
    #: ``vacuum`` of the catalog table's unreferenced files older than this; None: never.
    lake_vacuum_retention_hours: float | None = None
    #: S3 (or MinIO...) endpoint for an ``s3://`` lake; None: AWS itself.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_ca_bundle: str | None = None
    # Credentials: unset falls through to the AWS SDK's chain (profile, instance role...).
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Every field, with secrets masked and URL passwords removed (reprs reach logs)."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRET_FIELDS:
                value = REDACTED if value else value
            elif isinstance(value, str) and "://" in value:
                value = _URL_PASSWORD.sub(r"\1" + REDACTED + "@", value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def webhook_base_url(self) -> str:
        """The URL SINtegre should be given, without the integration name."""
        host = "localhost" if self.receiver_host in {"0.0.0.0", "::", ""} else self.receiver_host
        return f"http://{host}:{self.receiver_port}/sintegre"

    @property
    def tls_verify(self) -> bool | str:
        """What ``requests`` gets as ``verify``: always verify, with a custom bundle when set."""
        return self.ca_bundle or True


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (``os.environ`` when omitted).

    Args:
        env: The environment to read; tests pass a dict.

    Returns:
        A frozen :class:`Settings`.
    """
    env = os.environ if env is None else env
    root = Path(env.get("SINTEGRE_PROJECT_ROOT", str(PROJECT_ROOT))).resolve()
    state_dir = Path(_resolve(env.get("SINTEGRE_STATE_DIR", ".state"), root))
    airflow_port = int(env.get("AIRFLOW_PORT", "8080"))
    inbox_default = f"sqlite:///{state_dir / 'inbox.sqlite3'}"
    return Settings(
        project_root=root,
        state_dir=state_dir,
        lake_uri=_resolve(env.get("LAKE_URI", "data/lake"), root),
        receiver_host=env.get("RECEIVER_HOST", "127.0.0.1"),
        receiver_port=int(env.get("RECEIVER_PORT", "8000")),
        airflow_port=airflow_port,
        airflow_url=env.get("AIRFLOW_URL", f"http://localhost:{airflow_port}").rstrip("/"),
        airflow_user=env.get("AIRFLOW_USER", "admin"),
        airflow_password=env.get("AIRFLOW_PASSWORD", ""),
        dag_id=env.get("SINTEGRE_DAG_ID", DEFAULT_DAG_ID),
        inbox_url=env.get("SINTEGRE_INBOX_URL", inbox_default),
        inbox_synchronous=env.get("SINTEGRE_INBOX_SYNCHRONOUS", "FULL").upper(),
        inbox_busy_timeout_ms=int(env.get("SINTEGRE_INBOX_BUSY_TIMEOUT_MS", "5000")),
        integrations_file=env.get("SINTEGRE_INTEGRATIONS_FILE") or None,
        webhook_auth=env.get("SINTEGRE_WEBHOOK_AUTH", "none").strip().lower(),
        webhook_user=env.get("SINTEGRE_WEBHOOK_USER") or None,
        webhook_password=env.get("SINTEGRE_WEBHOOK_PASSWORD") or None,
        webhook_token=env.get("SINTEGRE_WEBHOOK_TOKEN") or None,
        admin_user=env.get("SINTEGRE_ADMIN_USER", "admin"),
        admin_password=env.get("SINTEGRE_ADMIN_PASSWORD") or None,
        allowed_download_hosts=_csv(
            env.get("SINTEGRE_ALLOWED_DOWNLOAD_HOSTS", "apps08.ons.org.br")
        ),
        # requests honours REQUESTS_CA_BUNDLE itself but not SSL_CERT_FILE; we pass both explicitly.
        ca_bundle=env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or None,
        forwarder_poll_seconds=float(env.get("FORWARDER_POLL_SECONDS", "1.0")),
        forwarder_max_backoff_seconds=float(env.get("FORWARDER_MAX_BACKOFF_SECONDS", "60")),
        token_rescue_window_seconds=int(env.get("SINTEGRE_TOKEN_RESCUE_WINDOW_SECONDS", "7200")),
        download_timeout_seconds=float(env.get("SINTEGRE_DOWNLOAD_TIMEOUT_SECONDS", "60")),
        download_deadline_seconds=float(env.get("SINTEGRE_DOWNLOAD_DEADLINE_SECONDS", "1800")),
        download_retries=int(env.get("SINTEGRE_DOWNLOAD_RETRIES", "3")),
        task_retry_delay_seconds=float(env.get("SINTEGRE_TASK_RETRY_DELAY_SECONDS", "120")),
        max_body_bytes=int(env.get("SINTEGRE_MAX_BODY_BYTES", str(64 * 1024))),
        log_format=env.get("SINTEGRE_LOG_FORMAT", "json").lower(),
        alert_webhook_url=env.get("SINTEGRE_ALERT_WEBHOOK_URL") or None,
        alert_email_to=env.get("SINTEGRE_ALERT_EMAIL_TO") or None,
        freshness_schedule=env.get("SINTEGRE_FRESHNESS_SCHEDULE", "*/30 * * * *"),
        demo=env.get("SINTEGRE_DEMO", "").strip().lower() in {"1", "true", "yes"},
        lake_lock=env.get("SINTEGRE_LAKE_LOCK", "auto").strip().lower() or "auto",
        lake_lock_wait_seconds=float(env.get("SINTEGRE_LAKE_LOCK_WAIT_SECONDS", "300")),
        inbox_retention_days=float(env.get("SINTEGRE_INBOX_RETENTION_DAYS", "365")),
        refusals_retention_days=float(env.get("SINTEGRE_REFUSALS_RETENTION_DAYS", "30")),
        stale_file_hours=float(env.get("SINTEGRE_STALE_FILE_HOURS", "24")),
        maintenance_schedule=env.get("SINTEGRE_MAINTENANCE_SCHEDULE", "30 6 * * *"),
        lake_log_retention_days=float(env.get("SINTEGRE_LAKE_LOG_RETENTION_DAYS", "30")),
        lake_vacuum_retention_hours=(
            float(env["SINTEGRE_LAKE_VACUUM_RETENTION_HOURS"])
            if env.get("SINTEGRE_LAKE_VACUUM_RETENTION_HOURS", "").strip()
            else None
        ),
        # The project's own name wins over the AWS SDK's, so the lake can use another
        # endpoint than the rest of the host's AWS tooling.
        s3_endpoint_url=env.get("SINTEGRE_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None,
        s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        s3_ca_bundle=env.get("SINTEGRE_S3_CA_BUNDLE") or None,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
    )


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
