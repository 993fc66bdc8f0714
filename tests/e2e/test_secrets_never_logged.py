"""No secret reaches a log, an error message, an operator's view or an Airflow conf.

Self-contained: the module makes its own traffic through the running stack (a delivery that
lands, one whose download fails with a 404 and is logged as an error, a webhook call with a
wrong password, a notification refused for its host), every one carrying a download token
and the subscriber's e-mail, and then reads everything the receiver, the forwarder and
Airflow (its own log and every task log) wrote. It runs alone
(``pytest tests/e2e/test_secrets_never_logged.py``) or anywhere in the session: then it also
scans what the other tests made the stack log, and every token the session sent.

Its own notification ids must appear in the logs (so the check can fail); no download
token, password or subscriber e-mail may, in a log, in the receiver's answers and views
(``last_error`` included), or in a conf Airflow stores and shows in its UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests
from stack import StandaloneStack, daily_notification

from helpers.webhook import SUBSCRIBER_EMAIL, basic, make_payload, ons_url
from sintegre_dev.fixtures import make_csv
from sintegre_dev.simulator import SimulatorServer

SIMULATOR_DEFAULT_EMAIL = "analista@example.com.br"
#: Sent as a webhook password the receiver must refuse, and must never repeat.
WRONG_PASSWORD = "wr0ng-s3nh4-n40-l0gar"
DAY = date(2025, 4, 29)


@dataclass
class Traffic:
    """What this module sent: ids the receiver accepted (by outcome), tokens, answers."""

    landed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        return [*self.landed, *self.failed]


def _token(payload: dict[str, Any]) -> str:
    return str(payload["url"]).split("token=", 1)[1]


@pytest.fixture(scope="module")
def traffic(
    stack: StandaloneStack, simulator: SimulatorServer, webhook: Any, tmp_path_factory
) -> Traffic:
    """Deliveries that land and fail, a wrong password and a refusal, all carrying secrets."""
    sent = Traffic()
    files = tmp_path_factory.mktemp("secrets-files")
    make_csv(files / "secrets.csv", rows=3)

    def deliver(file_name: str, fault: str | None) -> str:
        publication = simulator.publish(
            files / "secrets.csv",
            file_name=file_name,
            product_id=9401,
            nome="Drill Secrets",
            username=SUBSCRIBER_EMAIL,
        )
        if fault:
            simulator.set_fault(publication, fault)
        payload = daily_notification(publication, DAY)
        sent.tokens.append(_token(payload))
        response = webhook.send(payload)
        assert response.status_code == 200, response.text
        sent.answers.append(response.text)
        return response.json()["id"]

    landed = deliver("Secrets_Landed_2025-04-29.csv", None)
    failed = deliver("Secrets_Gone_2025-04-29.csv", "404")  # the download fails, logged

    # A wrong password: refused, and the attempted password is not repeated anywhere.
    refused = make_payload(url=ons_url(host="localhost"))
    sent.tokens.append(_token(refused))
    response = requests.post(
        f"{stack.receiver_url}/sintegre/default",
        data=json.dumps(refused).encode(),
        headers={"Authorization": basic("ons", WRONG_PASSWORD), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 401, response.text
    sent.answers.append(response.text)
    # A host ONS never uses: refused with a reason, the token not quoted back or logged.
    foreign = make_payload(url=ons_url(host="evil.example.com"))
    sent.tokens.append(_token(foreign))
    response = webhook.send(foreign)
    assert 400 <= response.status_code < 500, response.text
    sent.answers.append(response.text)

    for notification_id, outcome, bucket in (
        (landed, "succeeded", sent.landed),
        (failed, "failed", sent.failed),
    ):
        view = webhook.wait_for(notification_id, {"succeeded", "unchanged", "failed"})
        assert view["status"] == outcome, view
        sent.views.append(view)
        bucket.append(notification_id)
    return sent


def _secrets(stack: StandaloneStack) -> dict[str, str]:
    return {
        "webhook password": stack.env["SINTEGRE_WEBHOOK_PASSWORD"],
        "admin password": stack.env["SINTEGRE_ADMIN_PASSWORD"],
        "airflow password": stack.env["AIRFLOW_PASSWORD"],
        "wrong webhook password": WRONG_PASSWORD,
        "subscriber e-mail": SUBSCRIBER_EMAIL,
        "simulator e-mail": SIMULATOR_DEFAULT_EMAIL,
    }


def _leaks(texts: dict[str, str], secrets: dict[str, str], tokens: set[str]) -> list[str]:
    """Every (secret, where) pair found; a token counts whole or by its claims part."""
    found = [
        f"{label} in {where}"
        for where, text in texts.items()
        for label, secret in secrets.items()
        if secret in text
    ]
    found += [
        f"token #{n} in {where}"
        for n, token in enumerate(sorted(tokens))
        for where, text in texts.items()
        if token in text or token.split(".")[1] in text
    ]
    return found


def test_logs_hold_ids_but_no_secrets(stack: StandaloneStack, webhook: Any, traffic: Traffic):
    logs = stack.log_files()
    assert logs, "no log files found: the check would be vacuous"
    text = "\n".join(logs.values())
    task_logs = [p for p in logs if "dag_id=" in p]
    assert task_logs, "no Airflow task logs found"
    assert any("downloaded" in logs[p] for p in task_logs)
    # This module's deliveries are in the logs (the check can fail), the failure too.
    assert [i for i in traffic.accepted if i not in text] == []
    failed_run = traffic.views[1]["dag_run_id"]
    failed_logs = [logs[p] for p in task_logs if f"run_id={failed_run}" in p]
    assert any("404" in log for log in failed_logs), "the failed download logged no error"

    tokens = set(traffic.tokens) | set(webhook.sent_tokens)  # the session's, when it ran
    assert _leaks(logs, _secrets(stack), tokens) == []


def test_answers_and_error_messages_hold_no_secrets(
    stack: StandaloneStack, webhook: Any, traffic: Traffic
):
    """What the receiver answered and shows operators (``last_error`` included)."""
    texts = {f"answer #{n}": answer for n, answer in enumerate(traffic.answers)}
    for view in traffic.views:
        fresh = webhook.notification(view["id"])  # as an operator sees it now
        texts[f"view of {view['id']}"] = json.dumps(fresh, ensure_ascii=False)
        texts[f"error of {view['id']}"] = str(fresh.get("last_error") or "")
    assert _leaks(texts, _secrets(stack), set(traffic.tokens)) == []


def test_airflow_keeps_no_download_token(stack: StandaloneStack, webhook: Any, traffic: Traffic):
    """Airflow stores every run's conf and shows it in its UI: the token stays in the inbox."""
    runs = stack.dag_runs("~", "sintegre__")  # every DAG: generic and per product
    confs = [run["conf"] for run in runs if (run.get("conf") or {}).get("url")]
    ours = [c for c in confs if c.get("notification_id") in set(traffic.accepted)]
    assert len(ours) == len(traffic.accepted), "this module's runs are not in Airflow"
    assert all(c["url"].endswith("token=<redacted>") for c in confs)
    stored = repr(confs)
    tokens = set(traffic.tokens) | set(webhook.sent_tokens)
    assert _leaks({"Airflow's stored confs": stored}, _secrets(stack), tokens) == []
