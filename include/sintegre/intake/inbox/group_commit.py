"""SQLite's write path: concurrent stores share one transaction (and one fsync)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import operator
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql.schema import ScalarElementColumnDefault

from sintegre.core import cooperative
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
    """One :meth:`Inbox.store` waiting for the group commit that will carry it.

    ``values`` (the row in the table's column order) is built here, by the storing thread,
    before it queues: the committing thread does no per-row Python work while it holds the
    write turn.
    """

    row: dict[str, Any]
    done: bool = False
    duplicate: bool = False
    error: Exception | None = None
    values: tuple[Any, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # One dict merge and one C-level lookup of every column (a generator took ~15 µs).
        self.values = _IN_ORDER({**_BLANK, **self.row})


#: The table's columns in order, and their Python-side defaults (what SQLAlchemy would have
#: filled in for a column the row leaves out).
_COLUMNS = tuple(c.name for c in notifications.columns)
_DEFAULTS = {
    c.name: c.default.arg
    for c in notifications.columns
    if isinstance(c.default, ScalarElementColumnDefault)
}
#: Every column with its default (``None`` without one), so a row may leave columns out.
_BLANK = {name: _DEFAULTS.get(name) for name in _COLUMNS}
_IN_ORDER = operator.itemgetter(*_COLUMNS)
_ROW_SQL = f"({', '.join('?' for _ in _COLUMNS)})"
#: Rows per INSERT statement (32 columns each: far below SQLite's bound-parameter limit).
_ROWS_PER_INSERT = 64
_COUNT_SQL = (
    "INSERT INTO counters (name, value) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value"
)


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
        #: Rows → its ``INSERT`` statement (sqlite3 caches each one's prepared form).
        self._insert_sql: dict[int, str] = {}

    def _insert_many_sql(self, rows: int) -> str:
        """``INSERT … VALUES (…), (…) … ON CONFLICT(id) DO NOTHING`` for ``rows`` rows."""
        sql = self._insert_sql.get(rows)
        if sql is None:
            values = ", ".join(_ROW_SQL for _ in range(rows))
            sql = f"INSERT INTO notifications ({', '.join(_COLUMNS)}) VALUES {values} "
            sql += "ON CONFLICT(id) DO NOTHING"
            self._insert_sql[rows] = sql
        return sql

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
        # Under gevent (one OS thread) nobody can queue while this greenlet commits: let every
        # request the loop has ready queue its row first, so one commit carries them all.
        cooperative.let_ready_run()
        with self._commit_lock:
            if job.done:
                return
            with self.turn():
                self._commit_queued()
        # After the commit and outside the write turn: the forwarder may read the rows now, and
        # the other process need not wait for this system call.
        self.inbox.signal.send()

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
        """One transaction for ``batch``: every row, the counters, one commit (one fsync).

        The write turn is held meanwhile, and each call into SQLite lets go of the GIL, which
        the committing thread must then win back from the request threads (up to the switch
        interval each time): so the rows go in as few statements as possible (multi-row
        ``INSERT`` statements, not one per row), and only a batch holding a repeat (rare:
        SINtegre's resends) is redone row by row to tell which rows were repeats.
        """
        connection = self._writer()
        try:
            cursor = connection.cursor()
            outcomes = self._insert_new(cursor, batch)
            if outcomes is None:
                connection.rollback()
                outcomes = self._insert_one_by_one(cursor, batch)
            accepted = outcomes.count(False)
            for name, amount in (("accepted", accepted), ("duplicate", len(batch) - accepted)):
                if amount:
                    cursor.execute(_COUNT_SQL, (name, amount))
            cursor.close()
            connection.commit()
        except BaseException:
            try:
                connection.rollback()
            except Exception:  # a connection that cannot roll back is replaced
                self._drop_writer()
            raise
        for job, duplicate in zip(batch, outcomes, strict=True):
            job.duplicate, job.done = duplicate, True

    def _insert_new(self, cursor: Any, batch: list[_Job]) -> list[bool] | None:
        """Insert the batch in multi-row statements: all new (``False`` each), or ``None`` when
        any row was a repeat (the caller rolls back and goes row by row)."""
        inserted = 0
        for start in range(0, len(batch), _ROWS_PER_INSERT):
            chunk = batch[start : start + _ROWS_PER_INSERT]
            cursor.execute(
                self._insert_many_sql(len(chunk)), [v for job in chunk for v in job.values]
            )
            inserted += cursor.rowcount
        return [False] * len(batch) if inserted == len(batch) else None

    def _insert_one_by_one(self, cursor: Any, batch: list[_Job]) -> list[bool]:
        """Insert row by row; a repeat of a stored id counts as a duplicate (``True``)."""
        sql = self._insert_many_sql(1)
        outcomes = []
        for job in batch:
            cursor.execute(sql, job.values)
            if cursor.rowcount == 1:
                outcomes.append(False)
            else:
                cursor.execute(
                    "UPDATE notifications SET duplicates = duplicates + 1 WHERE id = ?",
                    (job.row["id"],),
                )
                outcomes.append(True)
        return outcomes
