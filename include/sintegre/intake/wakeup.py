"""Wake the forwarder the moment the inbox commits a notification, instead of letting it sleep.

The forwarder used to poll the inbox once a second: up to a second lost on every delivery, on
the path from SINtegre's POST to the rows in the lake. Now the receiver signals each commit:

- **PostgreSQL inbox**: ``NOTIFY sintegre_inbox`` inside the transaction that stores the row
  (PostgreSQL delivers it when, and only when, that transaction commits); the forwarder holds
  a connection that ``LISTEN``s. Works across hosts and containers.
- **SQLite inbox** (``make run``): a datagram on a Unix socket next to the inbox file
  (``<inbox>.wake``), sent after the commit; receiver and forwarder share that folder.

The signal is only a hint: a lost one (forwarder restarting, socket buffer full) costs at most
one poll interval, because the forwarder still polls. Nothing is ever acknowledged on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The PostgreSQL channel the receiver notifies and the forwarder listens on.
CHANNEL = "sintegre_inbox"
NOTIFY_SQL = f"NOTIFY {CHANNEL}"


class Wakeup(Protocol):
    """What the forwarder waits on between cycles."""

    def wait(self, timeout: float) -> bool:
        """Block until a notification was committed or ``timeout`` seconds passed."""

    def close(self) -> None:
        """Release the socket or connection."""


def socket_path(sqlite_url: str) -> Path | None:
    """The wake-up socket of a SQLite inbox (``<db file>.wake``); None for an in-memory one.

    Unix socket paths are limited to ~107 bytes: a deeper inbox folder gets no socket (the
    forwarder then simply polls).
    """
    db_path = sqlite_url.split("///", 1)[-1]
    if not db_path or db_path == ":memory:":
        return None
    path = Path(db_path).with_name(Path(db_path).name + ".wake")
    return path if len(os.fsencode(path)) < 100 else None


class SocketSignal:
    """The receiver's side for a SQLite inbox: one datagram per commit, never blocking."""

    def __init__(self, path: Path | None) -> None:
        self._path = str(path) if path is not None else None
        self._sock: socket.socket | None = None

    def send(self) -> None:
        """Wake the forwarder if one listens; silently nothing otherwise."""
        if self._path is None:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.setblocking(False)
            self._sock.sendto(b"1", self._path)
        except OSError:
            # No forwarder bound (ENOENT, ECONNREFUSED) or its buffer is full (EAGAIN): it
            # is either not running or already has a wake-up pending. The poll covers both.
            pass


class SocketWakeup:
    """The forwarder's side for a SQLite inbox: a bound datagram socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a stale socket of a previous forwarder (we hold the lock)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)

    def wait(self, timeout: float) -> bool:
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if not readable:
            return False
        with contextlib.suppress(BlockingIOError):
            while self._sock.recv(64):  # drain: one cycle serves every commit so far
                pass
        return True

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class PostgresWakeup:
    """The forwarder's side for a PostgreSQL inbox: a connection that LISTENs."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self._conn: Any = psycopg.connect(conninfo, autocommit=True)
        self._conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        woken = False
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            woken = True
        if woken:  # drain what else arrived meanwhile
            for _ in self._conn.notifies(timeout=0):
                pass
        return woken

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


class SleepWakeup:
    """No signal available: just sleep (the forwarder's former behaviour)."""

    def __init__(self) -> None:
        import threading

        self._event = threading.Event()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def close(self) -> None:
        self._event.set()


def listen(inbox_url: str) -> Wakeup:
    """The wake-up the forwarder waits on for this inbox; falls back to sleeping."""
    try:
        if inbox_url.startswith("sqlite"):
            path = socket_path(inbox_url)
            return SocketWakeup(path) if path is not None else SleepWakeup()
        if inbox_url.startswith("postgresql"):
            from sqlalchemy.engine import make_url

            url = make_url(inbox_url).set(drivername="postgresql")
            return PostgresWakeup(url.render_as_string(hide_password=False))
    except Exception as exc:  # never fatal: polling still works
        log.warning("no wake-up signal from the inbox (%s): polling only", type(exc).__name__)
    return SleepWakeup()
