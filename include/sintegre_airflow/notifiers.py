"""Airflow notifiers for SINtegre alerts, driven by an Airflow connection."""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import BaseNotifier


class SintegreWebhookNotifier(BaseNotifier):
    """POST a JSON alert to a webhook (Slack/Teams relays, Alertmanager, an HTTP inbox).

    Body: ``{"title", "dag_id", "run_id", "task_id", "message", "late": [...]}``; ``late`` comes
    from the exception the freshness check raised, when it carries one.
    """

    template_fields = ("url", "title")

    def __init__(self, url: str, title: str = "SINtegre: produtos atrasados") -> None:
        super().__init__()
        self.url = url
        self.title = title

    def notify(self, context: Any) -> None:
        """Send the alert; a failing target raises, so the callback failure is visible."""
        exception = context.get("exception")
        ti = context.get("ti")
        body = {
            "title": self.title,
            "dag_id": getattr(ti, "dag_id", None),
            "run_id": getattr(ti, "run_id", None),
            "task_id": getattr(ti, "task_id", None),
            "message": str(exception) if exception else None,
            "late": getattr(exception, "late", None),
        }
        import requests  # here, not at the top: the DAG file builds this notifier at parse time

        response = requests.post(
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            timeout=15,
        )
        response.raise_for_status()
