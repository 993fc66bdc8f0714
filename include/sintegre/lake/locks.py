"""Partition locks: two landings on one partition never interleave.

Delta serialises commits, but two appends never conflict, so two landings could both decide
``new`` from the same read and ``curated/`` end with the older copy: the read-decide-write of
a landing is held under a lock per (macroprocesso, periodicidade). On the local disk a
``flock`` per partition does it. Object storage has no locks: a PostgreSQL advisory lock (on
the inbox database, ``SINTEGRE_INBOX_URL``) does it there, and without PostgreSQL the landing
refuses to run unless ``SINTEGRE_LAKE_LOCK=none`` says something else already serialises them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sintegre.lake.storage import LakeStore

if TYPE_CHECKING:
    from sintegre.core.settings import Settings

#: ``SINTEGRE_LAKE_LOCK`` values.
LOCK_MODES = ("auto", "none")


class LakeLockError(RuntimeError):
    """Landings on this lake cannot be serialised with the current settings."""


class LakeLockTimeout(LakeLockError):
    """Another landing held the partition longer than we wait (the task retries later)."""


#: How long a landing waits for its partition's lock by default (settings:
#: ``SINTEGRE_LAKE_LOCK_WAIT_SECONDS``). A landing of ONS's files takes seconds; a lock held for
#: minutes belongs to a stuck process, and waiting for ever would hide it.
LOCK_WAIT_SECONDS = 300.0
_LOCK_POLL_SECONDS = 0.2


@contextlib.contextmanager
def partition_lock(
    store: LakeStore, macro: str, period: str, settings: Settings | None = None
) -> Iterator[None]:
    """Hold the partition's landing lock: ``flock`` locally, a PostgreSQL lock on S3.

    Raises:
        LakeLockError: Object storage, no PostgreSQL inbox and ``SINTEGRE_LAKE_LOCK`` not
            ``none``; or an unknown ``SINTEGRE_LAKE_LOCK``.
    """
    wait = settings.lake_lock_wait_seconds if settings is not None else LOCK_WAIT_SECONDS
    if store.is_local:
        lock_dir = store.local_path("_locks")
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock_path = lock_dir / f"{macro}__{period}.lock"
        deadline = time.monotonic() + wait
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() > deadline:
                    raise LakeLockTimeout(_lock_timeout_message(macro, period, wait)) from None
                time.sleep(_LOCK_POLL_SECONDS)
                continue
            # The maintenance sweep deletes free lock files: if ours was unlinked between
            # open and flock, it locks nothing anyone else sees; start again on the new file.
            try:
                same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            yield
        finally:
            os.close(fd)
        return
    if settings is None:
        from sintegre.core.settings import load_settings

        settings = load_settings()
    mode = settings.lake_lock
    if mode not in LOCK_MODES:
        raise LakeLockError(f"SINTEGRE_LAKE_LOCK must be one of {', '.join(LOCK_MODES)}: {mode!r}")
    if mode == "none":
        yield  # the operator says the scheduler serialises landings (max_active_tis_per_dag=1)
        return
    if not settings.inbox_url.startswith("postgresql"):
        raise LakeLockError(
            f"the lake is on object storage ({store.uri}), where files cannot be locked: "
            "landings are serialised with a PostgreSQL advisory lock, so set SINTEGRE_INBOX_URL "
            "to the PostgreSQL inbox, or set SINTEGRE_LAKE_LOCK=none if only one landing can "
            "run at a time (land tasks with max_active_tis_per_dag=1, one DAG)"
        )
    key = _lock_key(store.uri, macro, period)
    with _advisory_lock(settings.inbox_url, key, wait, _lock_timeout_message(macro, period, wait)):
        yield


def _lock_timeout_message(macro: str, period: str, wait: float) -> str:
    return (
        f"another landing has held partition macroprocesso={macro}/periodicidade={period} for "
        f"more than {wait:g} s (SINTEGRE_LAKE_LOCK_WAIT_SECONDS); nothing was "
        "landed, the task retries later. A process stuck in a landing holds it: see "
        "docs/OPERATIONS.md"
    )


def _lock_key(lake_uri: str, macro: str, period: str) -> int:
    """A signed 64-bit advisory-lock key per lake partition (stable across hosts)."""
    digest = hashlib.sha256(f"sintegre-lake|{lake_uri}|{macro}|{period}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory_lock(url: str, key: int, wait: float, timeout_message: str) -> Iterator[None]:
    """A session advisory lock, waited for at most ``wait`` seconds; freed when the connection
    closes (a dead worker's lock goes with its connection)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + wait
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                conn.commit()
                if time.monotonic() > deadline:
                    raise LakeLockTimeout(timeout_message)
                time.sleep(_LOCK_POLL_SECONDS)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        engine.dispose()
