"""Housekeeping the ``sintegre_maintenance`` DAG runs every hour: nothing grows for ever.

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

- **The catalog table** (``catalog/delta``, :func:`maintain_catalog`): compaction of the
  day's one-file-per-landing into one file per (macroprocesso, month) partition
  (``optimize.compact``), a log checkpoint (``create_checkpoint``), and the removal of log
  entries older than ``SINTEGRE_LAKE_LOG_RETENTION_DAYS`` (``cleanup_metadata``: bounds the
  table's version time travel only; ``<dataset>_as_of(T)`` reads the catalog's rows, which are
  all kept). The files compaction replaced stay on disk, still readable as older table
  versions, unless ``SINTEGRE_LAKE_VACUUM_RETENTION_HOURS`` is set (default: unset, never
  vacuumed).

Nothing an analyst can query (``history/``, ``curated/``, ``raw/`` files, the catalog's rows)
is deleted here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass

from sintegre.intake.inbox import Inbox
from sintegre.intake.inbox.schema import notifications, refusals
from sintegre.lake import delta_catalog as catalog_delta
from sintegre.lake.storage import LakeStore

__all__ = ["FINISHED", "SweepReport", "maintain_catalog", "prune_inbox", "sweep_stale_files"]

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


def _interval(hours: float) -> str:
    """A Delta interval: whole hours as such, anything finer in whole seconds (at least 1)."""
    if float(hours).is_integer():
        return f"interval {int(hours)} hours"
    return f"interval {max(1, round(hours * 3600))} seconds"


def maintain_catalog(
    store: LakeStore,
    *,
    log_retention_days: float = 7.0,
    vacuum_retention_hours: float | None = None,
    tombstone_retention_hours: float = 1.0,
) -> dict[str, int]:
    """Compact, checkpoint and trim the log of the catalog Delta table; vacuum if allowed.

    Safe beside landings: compaction only rewrites files (Delta's conflict check lets blind
    appends through), and the log entries it removes are older than the last checkpoint.

    Args:
        store: The lake.
        log_retention_days: ``delta.logRetentionDuration`` (set on the table when it differs).
        vacuum_retention_hours: Delete files no table version newer than this many hours
            references (those compaction replaced, and a crashed landing's uncommitted file);
            None (the default) never deletes any.
        tombstone_retention_hours: ``delta.deletedFileRetentionDuration``: how long the log
            keeps the "removed" entries of replaced files (raised to the vacuum retention:
            vacuum only deletes files the log still lists as removed). Every log load reads
            them: the bench's 1M lake had ~8,700 in its checkpoint next to 253 live files,
            and its commits went from ~45 ms to ~200 ms. Without vacuum nothing needs them
            (the files stay, and reading an older version needs only its own checkpoint):
            one maintenance period (an hour) by default.

    Returns:
        Counts for the task's XCom: files compacted away and written, log files removed,
        files vacuumed, the table version after maintenance (``-1``: no table yet).
    """
    table = catalog_delta.open_or_none(store)
    if table is None:
        log.info("no catalog table yet: nothing to maintain")
        return {"version": -1}
    tombstones = max(tombstone_retention_hours, vacuum_retention_hours or 0.0)
    wanted = {
        # Tables made before a property changed get it here (older ones checkpointed every
        # 10 commits and kept statistics of every column).
        **catalog_delta.TABLE_CONFIGURATION,
        "delta.logRetentionDuration": _interval(log_retention_days * 24),
        "delta.deletedFileRetentionDuration": _interval(tombstones),
    }
    configuration = table.metadata().configuration
    changed = {key: value for key, value in wanted.items() if configuration.get(key) != value}
    if changed:
        table.alter.set_table_properties(changed)
    metrics = table.optimize.compact()
    table = catalog_delta.open_table(store)
    table.create_checkpoint()
    log_prefix = LakeStore.join(catalog_delta.TABLE_KEY, "_delta_log")
    logs_before = len(store.list(log_prefix, ".json"))
    table.cleanup_metadata()
    removed_logs = logs_before - len(store.list(log_prefix, ".json"))
    vacuumed: list[str] = []
    if vacuum_retention_hours is not None:
        vacuumed = table.vacuum(
            retention_hours=int(vacuum_retention_hours),
            enforce_retention_duration=False,
            dry_run=False,
        )
    report = {
        "files_removed": int(metrics.get("numFilesRemoved", 0)),
        "files_added": int(metrics.get("numFilesAdded", 0)),
        "log_files_removed": int(removed_logs),
        "vacuumed": len(vacuumed),
        "version": catalog_delta.open_table(store).version(),
    }
    log.info("catalog table maintained: %s", report)
    return report
