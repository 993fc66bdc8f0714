"""Refusals (4xx) kept off the accept path: buffered in memory, written in batches.

Recording every 401 or 404 as its own fsync'd transaction made an unauthenticated flood take
the inbox's write lock away from valid notifications (which then answered 503). A refusal is
now appended to an in-memory buffer (a lock and a deque: microseconds) and a background thread
writes the buffer in one transaction at most every ``interval`` seconds. A flood therefore
costs one small write a second, whatever its rate; past ``capacity`` pending refusals, the
oldest traces are dropped (the count of dropped ones is itself recorded), never the answer.
Readers (the status page, ``/metrics``, the refusals API) flush first, so what they show is
current.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from sintegre.intake.inbox import Inbox

__all__ = ["PendingRefusal", "RefusalBuffer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingRefusal:
    """One 4xx answer waiting to be written (already redacted)."""

    integration: str
    status: int
    reason: str
    message: str
    excerpt: str | None
    received_at: float


class RefusalBuffer:
    """Per-process buffer of refusals with a background writer."""

    def __init__(self, inbox: Inbox, *, interval: float = 0.5, capacity: int = 5000) -> None:
        self.inbox = inbox
        self.interval = interval
        self._pending: deque[PendingRefusal] = deque()
        self._capacity = capacity
        self._dropped = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, refusal: PendingRefusal) -> None:
        """Queue a refusal (never blocks on the database, never raises)."""
        with self._lock:
            if len(self._pending) >= self._capacity:
                self._pending.popleft()
                self._dropped += 1
            self._pending.append(refusal)
        self._ensure_writer()

    def flush(self) -> None:
        """Write whatever is pending now, in one transaction (readers call this first)."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = list(self._pending), deque()
                dropped, self._dropped = self._dropped, 0
            if batch or dropped:
                self.inbox.record_refusals(batch, dropped=dropped)

    def _ensure_writer(self) -> None:
        # Threads do not survive a fork (gunicorn --preload): one writer per process.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="refusal-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # the next round retries; a refusal trace is not worth a crash
                log.exception("could not record refusals; retrying")
