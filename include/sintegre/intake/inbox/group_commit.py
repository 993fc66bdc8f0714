"""SQLite's write path: concurrent stores share one transaction (and one fsync)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import operator
import os
import sqlite3
import threading
import time
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


def _fdatasync_wal(wal_path: str) -> None:
    """Put every frame committed to the WAL so far on disk (``synchronous=FULL``'s promise).

    By the file's name, not through a descriptor kept open: the frames just committed are
    either in the file now named ``-wal`` (a WAL is only restarted or removed after a
    checkpoint), or a checkpoint copied them into the database file, and SQLite syncs the WAL
    before it checkpoints (``NORMAL`` too) and the database file after: on disk either way.
    The name is SQLite's own (``PRAGMA database_list``: symbolic links resolved), and a WAL
    that is not there raises (503): the writer's connection keeps it, so it cannot be gone.
    """
    fd = os.open(wal_path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


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

    Under gunicorn's gevent worker (``make run``; one OS thread a process) the same happens
    without locks or thread switches: see :meth:`_submit_cooperative`. There the commit runs
    at ``NORMAL`` and the WAL is fsynced after the write turn is released and before anyone is
    answered (a process waiting for the turn waits with its whole loop, so the turn is held
    for the commit only): issue #17 measured 0.48× → 0.50× a trivial endpoint with it.
    """

    def __init__(self, inbox: Inbox, *, synchronous: str = "FULL") -> None:
        self.inbox = inbox
        self._synchronous = synchronous
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._connection: Any = None
        self._pid = 0
        #: The WAL this class syncs itself after each commit ("" when SQLite syncs it).
        self._wal_path = ""
        db_path = inbox.url.split("///", 1)[-1]
        #: Written when the WAL's fsync failed: every store is refused while it exists.
        self._failed_path = f"{db_path}.fsync-failed"
        self._refusing = False
        self._turn_path = f"{db_path}.writer" if db_path and db_path != ":memory:" else None
        self._turn_fd: int | None = None
        self._turn_pid = 0
        self._turn_lock = threading.Lock()
        #: Under gevent: set once the batch being gathered now is committed.
        self._carrier = threading.Event()
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
            self._wal_path = ""
            if (
                cooperative.active()
                and self._turn_path is not None
                and self._synchronous in ("FULL", "EXTRA")
            ):
                # Under gevent a process waiting for the write turn waits with its whole loop:
                # the fsync moves out of the turn (the commit at NORMAL, then this class syncs
                # the WAL itself before anyone is answered; see _fdatasync_wal).
                cursor = self._connection.cursor()
                cursor.execute("PRAGMA synchronous=NORMAL")
                # SQLite's own name for the file (a symbolic link resolved): its WAL is beside it.
                files = {row[1]: row[2] for row in cursor.execute("PRAGMA database_list")}
                cursor.close()
                self._wal_path = f"{files['main']}-wal"
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
        """Return once ``job``'s row is committed (or ``job.error`` says why it is not)."""
        if cooperative.active():
            self._submit_cooperative(job)
            return
        with self._queue_lock:
            self._queue.append(job)
        with self._commit_lock:
            if job.done:
                return
            with self.turn():
                self._commit_queued()
        # After the commit and outside the write turn: the forwarder may read the rows now, and
        # the other process need not wait for this system call.
        self.inbox.signal.send()

    def _submit_cooperative(self, job: _Job) -> None:
        """:meth:`submit` under gevent's loop (gunicorn's gevent worker: one OS thread).

        Nobody can queue while a greenlet commits (SQLite and the ``flock`` hold the thread),
        so the first row queued leads: it lets every request the loop has ready queue its row
        first, then commits them all and wakes their greenlets. No lock is needed (one thread,
        and no switch between taking the queue and committing it); each follower waits on its
        batch's event only, instead of taking the commit lock in turn.
        """
        carrier = self._carrier
        self._queue.append(job)
        if len(self._queue) > 1:  # a leader is gathering this batch: it wakes us
            carrier.wait()
            if not job.done:  # the leader was killed before it could commit (worker exit)
                job.error = sqlite3.OperationalError("the commit carrying this row was cut off")
                job.done = True
            return
        batch: list[_Job] = []
        try:
            cooperative.let_ready_run()
            # This batch is what is queued now; rows queued from here on (while this greenlet
            # waits for the write turn, say) wait for the next batch's event.
            batch, self._queue, self._carrier = self._queue, [], threading.Event()
            self._writer()  # a new connection may wait for the pool: not with the turn held
            if self._wal_path and self.refusing():
                self._finish_failed(batch)
                return
            with self.turn():
                self._commit_batch(batch)
            if self._wal_path:
                try:
                    _fdatasync_wal(self._wal_path)
                except OSError as exc:  # committed, maybe not on disk: promise nothing (503)
                    self._fsync_failed(batch, exc)
        finally:
            if self._carrier is carrier:  # cut off while gathering: nobody commits this batch
                self._queue, self._carrier = [], threading.Event()
            carrier.set()
        self.inbox.signal.send()

    def _fsync_failed(self, batch: list[_Job], exc: OSError) -> None:
        """The WAL's fsync failed after the batch committed: its rows are visible (the
        forwarder may deliver them, a resend would be answered ``duplicate``) but perhaps not
        on disk, and after an I/O error the kernel may call those pages clean. As PostgreSQL
        stops at a failed fsync, every receiver process now refuses to store (503, so SINtegre
        resends later) until an operator has checked the disk, removed the marker file and
        restarted the receiver."""
        for one in batch:
            one.error = exc
        self._refusing = True  # even if the marker cannot be written (the disk is failing)
        reason = f"{exc.strerror or exc} (errno {exc.errno})"
        with contextlib.suppress(OSError), open(self._failed_path, "a", encoding="utf-8") as marker:
            marker.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {reason}\n")
        log.critical(
            "fsync of the inbox's WAL failed: %s; every store is refused (503) until the disk is "
            "checked, %s removed and the receiver restarted",
            reason,
            self._failed_path,
        )

    def refusing(self) -> bool:
        """Whether stores are refused after a failed WAL fsync (in any process)."""
        return self._refusing or os.path.exists(self._failed_path)

    def _finish_failed(self, batch: list[_Job]) -> None:
        error = OSError(
            errno.EIO,
            f"an earlier fsync of the inbox's WAL failed: stores are refused until the disk is "
            f"checked, {self._failed_path} removed and the receiver restarted",
        )
        for one in batch:
            one.error, one.done = error, True

    def _commit_queued(self) -> None:
        """Commit every store queued so far (called with both locks held)."""
        with self._queue_lock:
            batch, self._queue = self._queue, []
        self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Job]) -> None:
        """Commit ``batch`` (with the write turn held); each job is told its outcome."""
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
