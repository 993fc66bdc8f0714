"""The hourly housekeeping: inbox retention and the sweep of stale files, on a real lake."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from helpers.webhook import ONS_HOST, make_payload, ons_url, to_body
from sintegre.intake.inbox import Inbox
from sintegre.intake.notification import normalize
from sintegre.lake.maintenance import prune_inbox, sweep_stale_files
from sintegre.lake.storage import open_store

DAY = 86_400.0


@pytest.fixture
def inbox(tmp_path: Path):
    inbox = Inbox(f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    yield inbox
    inbox.dispose()


def _stored(inbox: Inbox, nbf: int, status: str, updated_at: float) -> str:
    body = to_body(make_payload(url=ons_url(nbf=nbf)))
    notification = normalize(body, allowed_hosts=(ONS_HOST,))
    inbox.store(notification, integration="default", body=body, dag_id="x", now=updated_at)
    inbox.update(notification.id, status=status, updated_at=updated_at)
    return notification.id


@pytest.mark.drill(
    "#14.15 retention deletes finished notifications and refusal traces past their age, "
    "never open ones, counters kept"
)
def test_retention_deletes_old_finished_notifications_and_never_open_ones(inbox: Inbox) -> None:
    now = time.time()
    nbf = int(now) - 500
    old_done = _stored(inbox, nbf, "succeeded", now - 400 * DAY)
    old_failed = _stored(inbox, nbf - 1, "layout_mismatch", now - 400 * DAY)
    old_open = _stored(inbox, nbf - 2, "received", now - 400 * DAY)
    recent = _stored(inbox, nbf - 3, "failed", now - 10 * DAY)
    inbox.record_refusal(
        integration="default",
        status=401,
        reason="unauthorized",
        message="x",
        excerpt=None,
        now=now - 40 * DAY,
    )
    inbox.record_refusal(
        integration="default",
        status=401,
        reason="unauthorized",
        message="y",
        excerpt=None,
        now=now - 1 * DAY,
    )
    before = inbox.counter_values()

    gone = prune_inbox(inbox, keep_days=365, refusals_keep_days=30, now=now)

    assert gone == {"notifications": 2, "refusals": 1}
    assert inbox.get(old_done) is None and inbox.get(old_failed) is None
    assert inbox.get(old_open) is not None  # a promise, whatever its age
    assert inbox.get(recent) is not None
    assert [r["message"] for r in inbox.recent_refusals()] == ["y"]
    assert inbox.counter_values() == before  # /metrics totals are kept


@pytest.mark.drill(
    "#14.15 stale .part files, dead runs' staging and free locks are swept; held locks, "
    "fresh files and the lake stay"
)
def test_sweep_removes_stale_partials_staging_and_free_locks_only(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    store = open_store(str(lake))
    old = time.time() - 3 * DAY

    def write(relative: str, age: float | None = old) -> Path:
        path = lake / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if age is not None:
            os.utime(path, (age, age))
        return path

    stale_part = write("raw/_incoming/.download-abc.part")
    fresh_part = write("raw/_incoming/.download-new.part", age=None)
    kept_raw = write("raw/acomph/2025/08/sha/ACOMPH.xls")
    stale_run = write("_staging/run-dead/000.parquet")
    live_run = write("_staging/run-live/000.parquet", age=None)
    free_lock = write("_locks/m__2025-08-01.lock")
    held_lock = write("_locks/m__2025-08-02.lock")
    curated = write("curated/acomph/macroprocesso=m/periodicidade=2025-08-01/data.parquet")

    fd = os.open(held_lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a landing in progress
    try:
        report = sweep_stale_files(store, older_than_hours=24)
    finally:
        os.close(fd)

    assert report.as_dict() == {"partial_downloads": 1, "staging": 1, "locks": 1}
    assert not stale_part.exists() and not stale_run.exists() and not free_lock.exists()
    for kept in (fresh_part, kept_raw, live_run, held_lock, curated):
        assert kept.exists(), kept
