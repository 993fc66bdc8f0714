"""Runs last in the e2e session: nothing any process printed holds a secret.

Reads everything the receiver, the forwarder and Airflow (its own log and every task log)
wrote during the session. The accepted notification ids must appear (so the check can fail);
no download token, password or subscriber e-mail may.
"""

from __future__ import annotations

from pathlib import Path

from e2e_secrets import collect_logs

from helpers.webhook import SUBSCRIBER_EMAIL

SIMULATOR_DEFAULT_EMAIL = "analista@example.com.br"


def test_logs_hold_ids_but_no_secrets(stack, webhook):
    logs = collect_logs(stack.log_dir, Path(stack.airflow_env["AIRFLOW_HOME"]) / "logs")
    assert logs, "no log files found: the check would be vacuous"
    text = "\n".join(logs.values())
    task_logs = [p for p in logs if "dag_id=" in p]
    assert task_logs, "no Airflow task logs found"
    assert any("downloaded" in logs[p] for p in task_logs)
    accepted = set(webhook.accepted_ids)
    assert accepted, "the suite accepted no notification"
    seen = {i for i in accepted if i in text}
    assert len(seen) >= len(accepted) * 0.9, f"only {len(seen)} of {len(accepted)} ids logged"

    secrets = {
        "webhook password": stack.env["SINTEGRE_WEBHOOK_PASSWORD"],
        "admin password": stack.env["SINTEGRE_ADMIN_PASSWORD"],
        "airflow password": stack.env["AIRFLOW_PASSWORD"],
        "subscriber e-mail": SUBSCRIBER_EMAIL,
        "simulator e-mail": SIMULATOR_DEFAULT_EMAIL,
    }
    assert webhook.sent_tokens
    leaks = [
        f"{label} in {path}"
        for path, content in logs.items()
        for label, secret in secrets.items()
        if secret in content
    ]
    leaks += [
        f"token #{n} in {path}"
        for n, token in enumerate(set(webhook.sent_tokens))
        for path, content in logs.items()
        if token in content or token.split(".")[1] in content
    ]
    assert leaks == []


def test_airflow_keeps_no_download_token(stack, webhook):
    """Airflow stores every run's conf and shows it in its UI: the token stays in the inbox."""
    runs = stack.dag_runs("~", "sintegre__")  # every DAG: generic and per product
    confs = [run["conf"] for run in runs if (run.get("conf") or {}).get("url")]
    assert confs, "no stored conf with a url: the check would be vacuous"
    assert all(c["url"].endswith("token=<redacted>") for c in confs)
    stored = repr(confs)
    assert not [n for n, token in enumerate(set(webhook.sent_tokens)) if token in stored]
