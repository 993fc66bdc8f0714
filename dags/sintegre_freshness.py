"""Freshness: which products did not arrive by the end of their usual window (plus margin)?

Reads the receiver's inbox (every notification ever accepted) and the product catalog's
arrival windows. Late products fail the ``check`` task, so the run is red in the UI and the
configured notifiers fire (``SINTEGRE_ALERT_WEBHOOK_URL``, ``SINTEGRE_ALERT_EMAIL_TO``; none by
default). Trigger it with ``{"now": "2025-04-30T18:00:00-03:00"}`` to judge another moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from sintegre.core.dag_settings import load_dag_settings
from sintegre_airflow.assets import catalog_assets

# The schedule and the alert targets only (environment, no I/O): the task loads the full
# settings when it runs.
SETTINGS = load_dag_settings()


class LateProducts(AirflowFailException):
    """Raised with the late products attached, for the notifiers to send."""

    def __init__(self, late: list[dict[str, Any]], message: str) -> None:
        super().__init__(message)
        self.late = late


def _notifiers() -> list[Any]:
    notifiers: list[Any] = []
    if SETTINGS.alert_webhook_url:
        from sintegre_airflow.notifiers import SintegreWebhookNotifier

        notifiers.append(SintegreWebhookNotifier(url=SETTINGS.alert_webhook_url))
    if SETTINGS.alert_email_to:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifiers.append(
            SmtpNotifier(
                to=SETTINGS.alert_email_to,
                subject="SINtegre: produtos atrasados",
                html_content="{{ exception }}",
            )
        )
    return notifiers


@dag(
    dag_id="sintegre_freshness",
    # "none" turns the schedule off (tests trigger it by hand).
    schedule=None if SETTINGS.freshness_schedule.lower() == "none" else SETTINGS.freshness_schedule,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["sintegre", "monitoring"],
    doc_md=__doc__,
    params={"now": Param(None, type=["null", "string"], description="Judge at this instant")},
)
def sintegre_freshness() -> None:
    # Every catalogued product is an Asset; the check reads them all (lineage in the UI).
    @task(
        retries=0,
        on_failure_callback=_notifiers(),
        inlets=catalog_assets(),
        execution_timeout=timedelta(minutes=5),
    )
    def check() -> dict[str, Any]:
        """Fail, naming each late product, when any watched product is late."""
        from sintegre.catalog.freshness import check_inbox, parse_now
        from sintegre.core.settings import load_settings
        from sintegre.intake.inbox import Inbox
        from sintegre.intake.receiver.integrations import load_integrations

        settings = load_settings()
        now = parse_now(get_current_context()["params"].get("now"))
        inbox = Inbox(settings.inbox_url, synchronous=settings.inbox_synchronous)
        expected = {i for c in load_integrations(settings).values() for i in c.expected_product_ids}
        late = check_inbox(inbox, expected_ids=expected, now=now)
        if late:
            lines = "\n".join(f"- {item.describe()}" for item in late)
            raise LateProducts([item.to_dict() for item in late], f"late products:\n{lines}")
        return {"late": 0}

    check()


sintegre_freshness()
