"""Housekeeping the ``sintegre_maintenance`` DAG runs every night: nothing grows for ever.

- **Inbox retention.** Finished notifications (``succeeded``, ``unchanged``, ``failed``,
  ``layout_mismatch``, ``expired``) older than ``SINTEGRE_INBOX_RETENTION_DAYS`` and refusal
  traces older than ``SINTEGRE_REFUSALS_RETENTION_DAYS`` are deleted. Notifications still open
  (``received``, ``triggered``) are never deleted, whatever their age: they are promises.
  The counters behind ``/metrics`` are totals and are kept.
- **Stale files.** Partial downloads (``raw/_incoming/*.part``) left by killed tasks, staging
  folders (``_staging/<run>/``) of runs that died between parse and land, and partition lock
  files nobody holds, once older than ``SINTEGRE_STALE_FILE_HOURS``. A download or landing in
  progress is younger than that (its task has an ``execution_timeout`` well below it), and a
  lock file is only removed while this process holds it.

Nothing an analyst can query (``history/``, ``curated/``, ``catalog/``, ``raw/`` files) is
touched here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass

from sintegre.inbox import Inbox, notifications, refusals
from sintegre.storage import LakeStore

__all__ = ["FINISHED", "SweepReport", "prune_inbox", "sweep_stale_files"]

log = logging.getLogger(__name__)

#: States a notification never leaves by itself (a replay starts a new attempt).
FINISHED = ("succeeded", "unchanged", "failed", "layout_mismatch", "expired")


def prune_inbox(
    inbox: Inbox, *, keep_days: float, refusals_keep_days: float, now: float | None = None
) -> dict[str, int]:
    """Delete finished notifications and refusal traces older than their retention.

    Returns:
        ``{"notifications": n, "refusals": m}`` deleted.
    """
    current = time.time() if now is None else now
    with inbox.engine.begin() as conn:
        gone = conn.execute(
            notifications.delete().where(
                notifications.c.status.in_(FINISHED),
                notifications.c.updated_at < current - keep_days * 86_400,
            )
        ).rowcount
        traces = conn.execute(
            refusals.delete().where(refusals.c.received_at < current - refusals_keep_days * 86_400)
        ).rowcount
    log.info("inbox retention: %d notification(s), %d refusal trace(s) deleted", gone, traces)
    return {"notifications": int(gone or 0), "refusals": int(traces or 0)}


@dataclass(frozen=True)
class SweepReport:
    """What a sweep removed (lake keys)."""

    partial_downloads: tuple[str, ...]
    staging: tuple[str, ...]
    locks: tuple[str, ...]

    def as_dict(self) -> dict[str, int]:
        """Counts, for the task's XCom and log."""
        return {
            "partial_downloads": len(self.partial_downloads),
            "staging": len(self.staging),
            "locks": len(self.locks),
        }


def sweep_stale_files(
    store: LakeStore, *, older_than_hours: float, now: float | None = None
) -> SweepReport:
    """Remove partial downloads, dead runs' staging and free lock files older than the limit."""
    limit = (time.time() if now is None else now) - older_than_hours * 3600
    partial = tuple(
        key
        for key, mtime in store.list_modified("raw/_incoming")
        if key.endswith(".part") and mtime < limit
    )
    for key in partial:
        store.delete(key)
    staging_runs: dict[str, float] = {}
    for key, mtime in store.list_modified("_staging"):
        run = "/".join(key.split("/")[:2])
        staging_runs[run] = max(staging_runs.get(run, 0.0), mtime)
    stale_runs = tuple(sorted(run for run, newest in staging_runs.items() if newest < limit))
    for run in stale_runs:
        store.delete_prefix(run)
    locks: list[str] = []
    if store.is_local:
        for key, mtime in store.list_modified("_locks"):
            if key.endswith(".lock") and mtime < limit and _remove_if_free(store, key):
                locks.append(key)
    report = SweepReport(partial, stale_runs, tuple(locks))
    log.info("stale files swept: %s", report.as_dict())
    return report


def _remove_if_free(store: LakeStore, key: str) -> bool:
    """Delete a lock file only while holding it: a landing that holds it keeps it."""
    path = store.local_path(key)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a landing holds it right now
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True
    finally:
        os.close(fd)
