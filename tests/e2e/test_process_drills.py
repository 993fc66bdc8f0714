"""Process fault drills: a task killed mid-landing, Airflow restarted mid-burst, a full disk.

Each test's docstring starts with ``expected: ...``: BENCHMARKS.md's drills table quotes it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from stack import MEASUREMENTS, daily_notification

from helpers.processes import free_port
from helpers.webhook import ONS_HOST, SUBSCRIBER_EMAIL, basic, make_payload, ons_url
from sintegre.intake.inbox import Inbox
from sintegre.lake import views as lakeviews
from sintegre_dev.devstack import receiver_command, stop_process_group
from sintegre_dev.fixtures import make_csv

DAG_ID = "sintegre_generic"


# --- helpers ------------------------------------------------------------------------------------


def _pids_holding(folder: Path) -> set[int]:
    """Processes with a file under ``folder`` open (the land task holds its partition lock)."""
    holders = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                try:
                    if os.readlink(fd).startswith(str(folder)):
                        holders.add(int(proc.name))
                        break
                except OSError:
                    continue
        except OSError:
            continue
    return holders


def _inbox_statuses(stack, ids: list[str]) -> dict[str, str]:
    inbox = Inbox(stack.settings.inbox_url)
    try:
        return {i: (inbox.get(i) or {}).get("status", "missing") for i in ids}
    finally:
        inbox.dispose()


# --- (a) a task process killed while it lands ---------------------------------------------------


def test_drill_task_process_sigkilled_during_landing_lands_once(
    stack, simulator, webhook, tmp_path: Path
):
    """expected: the ingest task's process is SIGKILLed while it lands, holding the partition
    lock; Airflow retries the task, the retry (reusing the raw file) lands the version exactly
    once (one catalog row, one history file, every row once) and the lake stays readable
    through DuckDB.
    """
    rows = 400_000  # big enough that the landing lasts seconds, so it can be caught
    make_csv(tmp_path / "big.csv", rows=rows)
    publication = simulator.publish(
        tmp_path / "big.csv",
        file_name="Killed_Landing_2025-04-29.csv",
        product_id=9301,
        nome="Drill Killed Landing",
        username=SUBSCRIBER_EMAIL,
    )
    response = webhook.send(daily_notification(publication, date(2025, 4, 29)))
    assert response.status_code == 200, response.text
    notification_id, run_id = response.json()["id"], response.json()["dag_run_id"]
    locks = stack.lake / "_locks"

    # Wait for the land task to run, then for its process to take the partition lock (the
    # task process starts seconds before land_step does): kill whoever holds it.
    deadline = time.monotonic() + 600
    state = None
    while time.monotonic() < deadline and state != "running":
        state = (stack.task_instance(DAG_ID, run_id, "ingest") or {}).get("state")  # None: not yet
        if state in ("success", "failed"):
            pytest.fail(f"the landing ended ({state}) before it could be killed")
        time.sleep(0.2)
    killed: set[int] = set()
    next_check = time.monotonic() + 2
    while time.monotonic() < deadline and not killed:
        holders = _pids_holding(locks) - {os.getpid()}
        for pid in holders:
            os.kill(pid, signal.SIGKILL)
        killed = holders
        if not killed and time.monotonic() > next_check:
            state = (stack.task_instance(DAG_ID, run_id, "ingest") or {}).get("state")
            if state in ("success", "failed"):
                pytest.fail(f"the landing ended ({state}) before it could be killed")
            next_check = time.monotonic() + 2
        time.sleep(0.01)
    assert killed, "never saw the land task hold its partition lock"

    view = webhook.wait_for(notification_id, {"succeeded", "unchanged", "failed"}, timeout=600)
    assert view["status"] == "succeeded", view
    land = stack.task_instance(DAG_ID, run_id, "ingest") or {}
    assert land["state"] == "success"
    assert land["try_number"] >= 2, land  # the killed try, then the retry

    con = lakeviews.connect(stack.lake)
    try:
        catalog = con.execute(
            "SELECT dataset, outcome, changed, rows FROM catalog WHERE notification_id = ?",
            [notification_id],
        ).fetchall()
        changed = [row for row in catalog if row[2]]
        assert len(changed) == 1, catalog  # landed exactly once
        dataset = changed[0][0]
        landed_rows = con.execute(
            f"SELECT count(*), count(DISTINCT src_version) FROM "
            f"{lakeviews.quote_identifier(dataset)} WHERE src_notification_id = ?",
            [notification_id],
        ).fetchone()
    finally:
        con.close()
    assert landed_rows == (rows, 1)
    history = list((stack.lake / "history" / dataset).rglob("*.parquet"))
    assert len(history) == 1, history
    MEASUREMENTS["killed_landing_pids"] = len(killed)
    MEASUREMENTS["killed_landing_land_tries"] = land["try_number"]


# --- (b) Airflow restarted while the forwarder feeds it -----------------------------------------


def test_drill_airflow_restarted_mid_burst_runs_each_once(
    stack, simulator, webhook, tmp_path: Path
):
    """expected: Airflow is stopped while the forwarder is triggering 30 acknowledged
    notifications and started again; every one of them ends with exactly one DAG run (none
    lost, none doubled, in-flight triggers answered 409 count as done).
    """
    make_csv(tmp_path / "restart.csv", rows=3)
    content = (tmp_path / "restart.csv").read_bytes()
    payloads = []
    for index in range(30):
        publication = simulator.publish(
            content,
            file_name=f"restart_{index:03d}.csv",
            product_id=9302,
            nome="Drill Restart",
            username=SUBSCRIBER_EMAIL,
        )
        payloads.append(daily_notification(publication, date(2025, 4, 29)))
    stack.set_paused(DAG_ID, True)  # delivery is the point, not 30 executions
    ids = []
    for payload in payloads:
        response = webhook.send(payload)
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])

    # Stop Airflow as soon as the forwarder has triggered some, before it triggered all.
    deadline = time.monotonic() + 120
    triggered_at_stop = 0
    while time.monotonic() < deadline:
        statuses = _inbox_statuses(stack, ids)
        triggered_at_stop = sum(s != "received" for s in statuses.values())
        if triggered_at_stop >= 3:
            break
        time.sleep(0.05)
    stack.restart_airflow(DAG_ID)
    assert 0 < triggered_at_stop < len(ids), triggered_at_stop

    runs: list[dict[str, Any]] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = stack.dag_runs(DAG_ID, "sintegre__")
        runs = [r for r in runs if (r.get("conf") or {}).get("notification_id") in set(ids)]
        if len(runs) >= len(ids):
            break
        time.sleep(2)
    per_notification: dict[str, int] = {}
    for run in runs:
        key = (run.get("conf") or {}).get("notification_id")
        per_notification[key] = per_notification.get(key, 0) + 1
    assert set(per_notification) == set(ids)
    assert all(count == 1 for count in per_notification.values()), per_notification
    MEASUREMENTS["restart_triggered_before_stop"] = triggered_at_stop
    stack.mark_failed(DAG_ID, [r["dag_run_id"] for r in runs])
    stack.set_paused(DAG_ID, False)


# --- (c) the inbox's disk fills up --------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}): disk-full drill")


def _fill(folder: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free the space)."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 16384
    # Unbuffered: a buffered file would hit ENOSPC again when closed, outside the try.
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    # Byte by byte for the last partial block, so not even a page is left.
    with open(filler, "ab", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def test_drill_inbox_disk_full_answers_503_and_loses_nothing(tmp_path: Path):
    """expected: with the SQLite inbox on a full 2 MB tmpfs the receiver answers 503 (and
    /readyz 503), never 200 for a notification it could not store; once space is freed the
    refused ones are accepted on resend and every acknowledged notification is in the inbox.
    """
    disk = tmp_path / "inbox-disk"
    _mount_tmpfs(disk, "2m")
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "SINTEGRE_STATE_DIR": str(tmp_path / "state"),
            "SINTEGRE_INBOX_URL": f"sqlite:///{disk / 'inbox.sqlite3'}",
            "LAKE_URI": str(tmp_path / "lake"),
            "SINTEGRE_WEBHOOK_AUTH": "basic",
            "SINTEGRE_WEBHOOK_USER": "ons",
            "SINTEGRE_WEBHOOK_PASSWORD": "disk-full-pass",
            "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": ONS_HOST,
        }
    )
    log = open(tmp_path / "receiver.log", "ab")  # noqa: SIM115 - the child owns it
    receiver = subprocess.Popen(
        receiver_command(f"127.0.0.1:{port}"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    auth = basic("ons", "disk-full-pass")
    acknowledged: list[str] = []
    refused: list[bytes] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/readyz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("the receiver did not come up")

        def post(index: int) -> int:
            payload = make_payload(url=ons_url(file_name=f"DISK_FULL_{index:04d}.xls"))
            body = json.dumps(payload, ensure_ascii=False).encode()
            response = requests.post(
                f"{url}/sintegre/default",
                data=body,
                headers={"Authorization": auth, "Content-Type": "application/json"},
                timeout=30,
            )
            assert response.status_code in (200, 503), (response.status_code, response.text)
            if response.status_code == 200:
                acknowledged.append(response.json()["id"])
            else:
                refused.append(body)
            return response.status_code

        for index in range(20):
            assert post(index) == 200
        filler = _fill(disk)
        # The WAL may still have room in pages it already holds; keep sending until refused.
        index = 20
        while index < 2000 and len(refused) < 10:
            post(index)
            index += 1
        assert refused, "the receiver never refused on a full disk"
        assert requests.get(f"{url}/readyz", timeout=10).status_code == 503

        filler.unlink()
        for body in refused:
            response = requests.post(
                f"{url}/sintegre/default",
                data=body,
                headers={"Authorization": auth, "Content-Type": "application/json"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            acknowledged.append(response.json()["id"])
        assert requests.get(f"{url}/readyz", timeout=10).status_code == 200
    finally:
        stop_process_group(receiver)

    try:
        inbox = Inbox(f"sqlite:///{disk / 'inbox.sqlite3'}")
        stored = {row["id"] for row in inbox.list(limit=5000)}
        inbox.dispose()
        assert set(acknowledged) <= stored, set(acknowledged) - stored
        with sqlite3.connect(disk / "inbox.sqlite3") as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        MEASUREMENTS["disk_full_acknowledged"] = len(acknowledged)
        MEASUREMENTS["disk_full_refused_then_resent"] = len(refused)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
