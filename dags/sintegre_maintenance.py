"""Maintenance: the catalog table's compaction, inbox retention and a sweep of stale files, hourly.

Two independent tasks, each logging what it removed (and returning the counts as XCom):

- ``prune_inbox``: finished notifications older than ``SINTEGRE_INBOX_RETENTION_DAYS``
  (default 365) and refusal traces older than ``SINTEGRE_REFUSALS_RETENTION_DAYS`` (30). Open
  notifications (received, triggered) are never deleted;
- ``sweep_stale_files``: partial downloads, dead runs' staging folders and free partition lock
  files older than ``SINTEGRE_STALE_FILE_HOURS`` (24);
- ``maintain_catalog``: the catalog Delta table's compaction, checkpoint and log cleanup
  (entries older than ``SINTEGRE_LAKE_LOG_RETENTION_DAYS``, 7); ``vacuum`` only when
  ``SINTEGRE_LAKE_VACUUM_RETENTION_HOURS`` is set (default: never).

Nothing an analyst can query is deleted here (``history/``, ``curated/``, ``raw/``, the
catalog's rows). Schedule: ``SINTEGRE_MAINTENANCE_SCHEDULE`` (hourly: every landing adds one
small file to the catalog table, and reads slow down with the files since the last compaction;
``none`` turns it off). See docs/OPERATIONS.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from sintegre.core.dag_settings import load_dag_settings

# The schedule only (environment, no I/O): the tasks load the full settings when they run.
SETTINGS = load_dag_settings()


@dag(
    dag_id="sintegre_maintenance",
    schedule=None
    if SETTINGS.maintenance_schedule.lower() == "none"
    else SETTINGS.maintenance_schedule,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["sintegre", "maintenance"],
    doc_md=__doc__,
)
def sintegre_maintenance() -> None:
    @task(retries=1, execution_timeout=timedelta(minutes=10))
    def prune_inbox() -> dict[str, int]:
        """Delete finished notifications and refusal traces past their retention."""
        from sintegre.core.settings import load_settings
        from sintegre.intake.inbox import Inbox
        from sintegre.lake.maintenance import prune_inbox as prune

        settings = load_settings()
        inbox = Inbox(settings.inbox_url, synchronous=settings.inbox_synchronous)
        try:
            return prune(
                inbox,
                keep_days=settings.inbox_retention_days,
                refusals_keep_days=settings.refusals_retention_days,
            )
        finally:
            inbox.dispose()

    @task(retries=1, execution_timeout=timedelta(minutes=20))
    def sweep_stale_files() -> dict[str, int]:
        """Remove partial downloads, dead runs' staging and free locks past their age."""
        from sintegre.core.settings import load_settings
        from sintegre.lake.maintenance import sweep_stale_files as sweep
        from sintegre.lake.storage import open_store

        settings = load_settings()
        store = open_store(settings.lake_uri, settings)
        return sweep(store, older_than_hours=settings.stale_file_hours).as_dict()

    @task(retries=1, execution_timeout=timedelta(minutes=30))
    def maintain_catalog() -> dict[str, int]:
        """Compact, checkpoint and trim the catalog Delta table (vacuum only if allowed)."""
        # deltalake is imported here, in the task process, never at DAG parse time: its
        # runtime does not survive the fork of a process that already used it.
        from sintegre.core.settings import load_settings
        from sintegre.lake.maintenance import maintain_catalog as maintain
        from sintegre.lake.storage import open_store

        settings = load_settings()
        store = open_store(settings.lake_uri, settings)
        return maintain(
            store,
            log_retention_days=settings.lake_log_retention_days,
            vacuum_retention_hours=settings.lake_vacuum_retention_hours,
            tombstone_retention_hours=settings.lake_tombstone_retention_hours,
        )

    prune_inbox()
    sweep_stale_files()
    maintain_catalog()


sintegre_maintenance()
