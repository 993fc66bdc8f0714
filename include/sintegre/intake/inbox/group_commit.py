"""SQLite's write path: concurrent stores share one transaction (and one fsync)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql.schema import ScalarElementColumnDefault

from sintegre.intake.inbox.schema import notifications

if TYPE_CHECKING:
    from sintegre.intake.inbox.store import Inbox

log = logging.getLogger(__name__)


def _sqlite_pragmas(synchronous: str, busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer; FULL: a 2xx means the row survived a power cut.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        # Bounded wait for the write lock: past it the receiver answers 503 and SINtegre resends.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return on_connect


@dataclass
class _Job:
    """One :meth:`Inbox.store` waiting for the group commit that will carry it."""

    row: dict[str, Any]
    done: bool = False
    duplicate: bool = False
    error: Exception | None = None


class _GroupCommit:
    """Concurrent stores of one process share a transaction, and so one fsync.

    Whoever holds the commit lock takes every store queued so far and commits them together;
    the others find their row already committed when the lock comes to them. Nobody is
    answered before the transaction that holds its row committed (``synchronous`` still
    applies to it), so "a 2xx means stored" holds as before. The statements are prepared
    once, on one connection kept for writing: no per-call SQL building.

    Between processes (gunicorn's workers), the writers take turns on a ``flock`` next to the
    database before they start a transaction. Without it they meet on SQLite's own lock, whose
    busy handler *sleeps* (1, 2, 5 … 100 ms) before trying again: most of a burst's time went
    into those sleeps. A ``flock`` wakes the next writer the moment the lock is released, and
    while a process waits its threads keep queueing, so its next batch is bigger.
    """

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._connection: Any = None
        self._pid = 0
        db_path = inbox.url.split("///", 1)[-1]
        self._turn_path = f"{db_path}.writer" if db_path and db_path != ":memory:" else None
        self._turn_fd: int | None = None
        self._turn_pid = 0
        self._turn_lock = threading.Lock()
        columns = [c.name for c in notifications.columns]
        self.columns = columns
        # The columns' Python-side defaults (what SQLAlchemy would have filled in).
        self.defaults = {
            c.name: c.default.arg
            for c in notifications.columns
            if isinstance(c.default, ScalarElementColumnDefault)
        }
        self.insert_sql = (
            f"INSERT INTO notifications ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT(id) DO NOTHING"
        )

    def _writer(self) -> Any:
        # A connection opened before a fork (gunicorn --preload) must not be shared.
        if self._connection is None or self._pid != os.getpid():
            self._connection = self.inbox.engine.raw_connection()
            self._pid = os.getpid()
        return self._connection

    def _drop_writer(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closing a broken connection: nothing more can be done with it.
            with contextlib.suppress(Exception):
                connection.invalidate()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """This process's turn to write (an exclusive ``flock``; see the class docstring).

        A ``flock`` is held by an open file, not a thread: the threads of one process first
        take turns on a thread lock, so one cannot release the ``flock`` under another.
        """
        if self._turn_path is None:
            yield
            return
        with self._turn_lock:
            if self._turn_fd is None or self._turn_pid != os.getpid():
                # Per process: a descriptor inherited across a fork would share the lock.
                self._turn_fd = os.open(self._turn_path, os.O_RDWR | os.O_CREAT, 0o644)
                self._turn_pid = os.getpid()
            fcntl.flock(self._turn_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._turn_fd, fcntl.LOCK_UN)

    def submit(self, job: _Job) -> None:
        with self._queue_lock:
            self._queue.append(job)
        with self._commit_lock:
            if job.done:
                return
            with self.turn():
                self._commit_queued()

    def _commit_queued(self) -> None:
        """Commit every store queued so far (called with both locks held)."""
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except Exception as exc:
            if len(batch) == 1:  # nothing committed: its caller is told
                batch[0].error, batch[0].done = exc, True
                return
            # Nothing of the batch committed. One row may be at fault (a constraint, a
            # value the driver cannot bind): commit them one by one, so a valid
            # notification never fails because of a neighbour; a failure of the database
            # itself fails each of them on its own.
            for one in batch:
                try:
                    self._commit([one])
                except Exception as own:  # this row's own failure, told to its caller
                    one.error, one.done = own, True

    def _commit(self, batch: list[_Job]) -> None:
        connection = self._writer()
        try:
            cursor = connection.cursor()
            accepted = duplicates = 0
            outcomes = []
            for job in batch:
                cursor.execute(
                    self.insert_sql,
                    [job.row.get(c, self.defaults.get(c)) for c in self.columns],
                )
                if cursor.rowcount == 1:
                    accepted += 1
                    outcomes.append(False)
                else:
                    cursor.execute(
                        "UPDATE notifications SET duplicates = duplicates + 1 WHERE id = ?",
                        (job.row["id"],),
                    )
                    duplicates += 1
                    outcomes.append(True)
            for name, amount in (("accepted", accepted), ("duplicate", duplicates)):
                if amount:
                    cursor.execute(
                        "INSERT INTO counters (name, value) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        (name, amount),
                    )
            cursor.close()
            connection.commit()
            self.inbox.signal.send()  # after the commit: the forwarder may read the rows now
        except BaseException:
            try:
                connection.rollback()
            except Exception:  # a connection that cannot roll back is replaced
                self._drop_writer()
            raise
        for job, duplicate in zip(batch, outcomes, strict=True):
            job.duplicate, job.done = duplicate, True
