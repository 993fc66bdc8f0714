"""The few settings the DAG files' shape depends on, read without pydantic-settings.

Airflow parses every DAG file again and again (the DAG processor, and each task process before
its task runs), so what a file does at import is paid on every parse: the full
:class:`~sintegre.core.settings.Settings` (pydantic-settings; 50+ fields validated) was most of
a one-task file's parse time. The schedules, alert targets, retry delay and time limits below
are all a parse needs; tasks load the full settings when they run. Values follow the same rules
as ``Settings``: the same variables and defaults (:data:`sintegre.core.environment.DEFAULTS`),
empty counts as unset, numbers are coerced by pydantic (already imported by Airflow itself), and
a bad value raises :class:`~sintegre.core.environment.SettingsError` naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError

from sintegre.core.environment import DEFAULTS, SettingsError, environ_value

__all__ = ["DagSettings", "load_dag_settings"]

_FLOAT = TypeAdapter(float)


@dataclass(frozen=True)
class DagSettings:
    """The parse-time settings; each field is the ``Settings`` field of the same name."""

    freshness_schedule: str
    maintenance_schedule: str
    alert_webhook_url: str | None
    alert_email_to: str | None
    task_retry_delay_seconds: float
    download_deadline_seconds: float
    lake_lock_wait_seconds: float
    lake_lock: str


def load_dag_settings(env: Mapping[str, str] | None = None) -> DagSettings:
    """Read the parse-time settings from ``env`` (``os.environ`` when omitted).

    Raises:
        SettingsError: A number that is not one; every such variable is named, not its value.
    """
    problems: list[str] = []

    def text(name: str) -> str:
        return environ_value(name, env) or DEFAULTS[name]

    def number(name: str) -> float:
        try:
            return _FLOAT.validate_python(text(name))
        except ValidationError as error:
            problems.append(f"{name}: {error.errors(include_url=False)[0]['msg']}")
            return 0.0

    settings = DagSettings(
        freshness_schedule=text("SINTEGRE_FRESHNESS_SCHEDULE"),
        maintenance_schedule=text("SINTEGRE_MAINTENANCE_SCHEDULE"),
        alert_webhook_url=environ_value("SINTEGRE_ALERT_WEBHOOK_URL", env),
        alert_email_to=environ_value("SINTEGRE_ALERT_EMAIL_TO", env),
        task_retry_delay_seconds=number("SINTEGRE_TASK_RETRY_DELAY_SECONDS"),
        download_deadline_seconds=number("SINTEGRE_DOWNLOAD_DEADLINE_SECONDS"),
        lake_lock_wait_seconds=number("SINTEGRE_LAKE_LOCK_WAIT_SECONDS"),
        lake_lock=text("SINTEGRE_LAKE_LOCK").strip().lower(),
    )
    if problems:
        raise SettingsError("invalid settings: " + "; ".join(problems))
    return settings
