"""sintegre.core.cooperative: plain threads here; gevent's loop in a patched child process."""

from __future__ import annotations

import os
import threading

from helpers.patched import run_patched
from sintegre.core import cooperative


def test_with_plain_threads_everything_runs_in_the_calling_thread():
    assert cooperative.hub() is None and not cooperative.active()
    cooperative.let_ready_run()  # returns at once
    assert cooperative.off_loop(lambda a, b: (a + b, threading.get_ident()), 2, 3) == (
        5,
        threading.get_ident(),
    )


def test_under_gevent_a_blocking_call_runs_off_the_loop_while_the_loop_serves():
    result = run_patched(
        """
        import json, threading
        import gevent
        from gevent import monkey
        from sintegre.core import cooperative

        blocking_sleep = monkey.get_original("time", "sleep")  # holds its OS thread, as C does
        ticks = []

        def ticker():
            for _ in range(200):
                ticks.append(1)
                gevent.sleep(0.001)

        def slow(value):
            blocking_sleep(0.3)
            return value * 2, threading.get_native_id()

        beat = gevent.spawn(ticker)
        doubled, thread = cooperative.off_loop(slow, 21)
        ticked_meanwhile = len(ticks)
        beat.kill()
        print(json.dumps({"active": cooperative.active(), "doubled": doubled,
                          "same_thread": thread == threading.get_native_id(),
                          "ticks": ticked_meanwhile}))
        """
    )
    assert result["active"] is True
    assert result["doubled"] == 42
    assert result["same_thread"] is False
    # 0.3 s at a tick every millisecond: the loop kept running (blocked, it would tick 0-1).
    assert result["ticks"] >= 50


def test_under_gevent_let_ready_run_returns_after_every_ready_greenlet_ran():
    result = run_patched(
        """
        import json
        import gevent
        from sintegre.core import cooperative

        order = []

        def first():
            order.append("first queued")
            cooperative.let_ready_run()
            order.append("first resumes")

        def other(name):
            order.append(name)

        gevent.joinall([gevent.spawn(first), *(gevent.spawn(other, f"g{i}") for i in range(5))])
        print(json.dumps({"order": order}))
        """
    )
    order = result["order"]
    assert order[0] == "first queued" and order[-1] == "first resumes"
    assert sorted(order[1:-1]) == [f"g{i}" for i in range(5)]


def test_the_answer_is_kept_per_process(monkeypatch):
    """A child forked after the answer was cached (gunicorn forks its workers) looks again."""
    parent = os.getpid() + 1
    monkeypatch.setattr(cooperative, "_patched_in", {parent: True})
    assert not cooperative.active()  # not the other process's answer
    assert cooperative._patched_in == {os.getpid(): False}
