"""The DAG files' parse-time settings agree with the full Settings, variable by variable."""

from __future__ import annotations

import pytest

from sintegre.core.dag_settings import DagSettings, load_dag_settings
from sintegre.core.settings import SettingsError, load_settings

ENVIRONMENTS = [
    {},
    {
        "SINTEGRE_FRESHNESS_SCHEDULE": "none",
        "SINTEGRE_MAINTENANCE_SCHEDULE": "5 * * * *",
        "SINTEGRE_ALERT_WEBHOOK_URL": "https://alerts.example/hook",
        "SINTEGRE_ALERT_EMAIL_TO": "ops@example.com",
        "SINTEGRE_TASK_RETRY_DELAY_SECONDS": "7",
        "SINTEGRE_DOWNLOAD_DEADLINE_SECONDS": " 99.5 ",
        "SINTEGRE_LAKE_LOCK_WAIT_SECONDS": "1e2",
        "SINTEGRE_LAKE_LOCK": " NONE ",
    },
    # Empty or blank counts as unset: the defaults.
    {
        "SINTEGRE_FRESHNESS_SCHEDULE": "",
        "SINTEGRE_ALERT_WEBHOOK_URL": "  ",
        "SINTEGRE_TASK_RETRY_DELAY_SECONDS": "",
        "SINTEGRE_LAKE_LOCK": " ",
    },
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_field_matches_the_full_settings(env: dict[str, str]) -> None:
    light, full = load_dag_settings(env), load_settings(env)
    for name in DagSettings.__dataclass_fields__:
        assert getattr(light, name) == getattr(full, name), name


def test_a_bad_number_is_named_like_the_full_settings_name_it() -> None:
    env = {"SINTEGRE_TASK_RETRY_DELAY_SECONDS": "soon", "SINTEGRE_LAKE_LOCK_WAIT_SECONDS": "x"}
    with pytest.raises(SettingsError) as light:
        load_dag_settings(env)
    with pytest.raises(SettingsError):
        load_settings(env)
    message = str(light.value)
    assert "SINTEGRE_TASK_RETRY_DELAY_SECONDS" in message
    assert "SINTEGRE_LAKE_LOCK_WAIT_SECONDS" in message
    assert "soon" not in message  # values are never repeated (they may be secrets elsewhere)
