"""The settings' environment layer, import-light: every fixed default and the error a value raises.

:mod:`sintegre.core.settings` builds the full :class:`~sintegre.core.settings.Settings` on top
of it (pydantic-settings: ~50 ms to import and ~10-150 ms to build); the DAG files read their
few parse-time settings through :mod:`sintegre.core.dag_settings`, which needs only this
module. Both take their defaults from :data:`DEFAULTS`, so they cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULTS", "SettingsError", "environ_value"]

#: Each setting's default when its variable is unset or empty, as the variable's text. The
#: defaults derived from other settings (``AIRFLOW_URL``, ``SINTEGRE_INBOX_URL``, the paths)
#: are computed by ``Settings`` itself.
DEFAULTS: Mapping[str, str] = MappingProxyType(
    {
        "AIRFLOW_PORT": "8080",
        "RECEIVER_HOST": "127.0.0.1",
        "RECEIVER_PORT": "8000",
        "AIRFLOW_USER": "admin",
        "AIRFLOW_PASSWORD": "",
        "SINTEGRE_DAG_ID": "sintegre_generic",
        "SINTEGRE_INBOX_SYNCHRONOUS": "FULL",
        "SINTEGRE_INBOX_BUSY_TIMEOUT_MS": "5000",
        "SINTEGRE_WEBHOOK_AUTH": "none",
        "SINTEGRE_ADMIN_USER": "admin",
        "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": "apps08.ons.org.br",
        "FORWARDER_POLL_SECONDS": "1.0",
        "FORWARDER_MAX_BACKOFF_SECONDS": "60",
        "SINTEGRE_TOKEN_RESCUE_WINDOW_SECONDS": "7200",
        "SINTEGRE_DOWNLOAD_TIMEOUT_SECONDS": "60",
        "SINTEGRE_DOWNLOAD_DEADLINE_SECONDS": "1800",
        "SINTEGRE_DOWNLOAD_RETRIES": "3",
        "SINTEGRE_TASK_RETRY_DELAY_SECONDS": "120",
        "SINTEGRE_MAX_BODY_BYTES": str(64 * 1024),
        "SINTEGRE_LOG_FORMAT": "json",
        "SINTEGRE_FRESHNESS_SCHEDULE": "*/30 * * * *",
        "SINTEGRE_DEMO": "false",
        "SINTEGRE_LAKE_LOCK": "auto",
        "SINTEGRE_LAKE_LOCK_WAIT_SECONDS": "300",
        "SINTEGRE_INBOX_RETENTION_DAYS": "365",
        "SINTEGRE_REFUSALS_RETENTION_DAYS": "30",
        "SINTEGRE_STALE_FILE_HOURS": "24",
        "SINTEGRE_MAINTENANCE_SCHEDULE": "0 * * * *",
        "SINTEGRE_LAKE_LOG_RETENTION_DAYS": "7",
        "SINTEGRE_LAKE_TOMBSTONE_RETENTION_HOURS": "1",
    }
)


class SettingsError(ValueError):
    """An environment variable with an unusable value; the message names it, never the value."""


def environ_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, ``None`` when it is unset or blank (empty counts as unset).

    Args:
        name: The environment variable.
        env: The environment to read (``os.environ`` when omitted).
    """
    value = (os.environ if env is None else env).get(name)
    return value if value is not None and value.strip() else None
