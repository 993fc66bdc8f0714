"""gevent's cooperative loop (gunicorn's ``gevent`` worker) or plain threads: what differs.

The receiver runs under gunicorn's gevent worker (``make run``): one OS thread per process,
each request a greenlet, so nothing waits for the GIL or a thread switch. Two things must then
be done differently, and only these two, so they live here:

- a group commit gathers rows by *yielding* (:func:`let_ready_run`): the requests the loop
  already has in hand queue their rows before one commit carries them all, where threads
  simply arrive while the commit lock is held;
- a long call into C that does not yield (DuckDB over the lake, pyarrow reading a file) runs
  on one of gevent's real threads (:func:`off_loop`), so the loop keeps answering webhooks
  meanwhile; with plain threads it simply runs in the calling thread.

Nothing here imports gevent unless the process was patched by it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: pid → whether gevent patched that process (a forked child looks again).
_patched_in: dict[int, bool] = {}


def active() -> bool:
    """Whether this process runs gevent's cooperative loop (gevent patched its threading)."""
    pid = os.getpid()
    try:
        return _patched_in[pid]
    except KeyError:
        pass
    monkey = sys.modules.get("gevent.monkey")
    patched = monkey is not None and bool(monkey.is_module_patched("threading"))
    _patched_in.clear()
    _patched_in[pid] = patched
    return patched


def hub() -> Any | None:
    """The calling thread's gevent hub in a gevent-patched process, else ``None``."""
    if not active():
        return None
    import gevent

    return gevent.get_hub()


def let_ready_run() -> None:
    """Under gevent, come back once the loop has nothing else ready; else return at once.

    ``gevent.idle`` returns when the loop has run every callback and greenlet that was ready:
    every request already read has had its turn (and queued its row) by then.
    """
    if active():
        import gevent

        gevent.idle()


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on one of gevent's real threads under gevent, else right here.

    For calls into C that hold the process for long without yielding (a DuckDB query, a
    pyarrow read): under gevent the loop, and every webhook of this process, would wait.
    ``function`` must not touch gevent-patched locks (SQLAlchemy's pool, the inbox): only its
    own objects.
    """
    current = hub()
    if current is None:
        return function(*args)
    result: T = current.threadpool.apply(function, args)
    return result
