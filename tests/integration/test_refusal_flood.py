"""Drill: a flood of unauthenticated requests does not slow down or refuse valid ones.

A real threaded HTTP server runs the receiver on a SQLite inbox (synchronous=FULL). While 8
threads send requests with no credentials as fast as they can, valid notifications are sent
one at a time: every one must be answered 200 and stored, none 503. Their latency with and
without the flood is recorded (``record_property``: ``valid_median_ms_quiet`` /
``valid_median_ms_flood``) for the drills table; before refusals were buffered, each 401 was
an fsync'd transaction under the inbox's write lock and the valid ones queued behind them.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from helpers.webhook import WEBHOOK_PASSWORD, WEBHOOK_USER, basic, make_payload, ons_url, to_body
from sintegre.core.settings import load_settings
from sintegre.intake.receiver import create_app

VALID = 60
FLOOD_THREADS = 8


@pytest.fixture
def receiver(env: dict[str, str]) -> Iterator[tuple[str, object]]:
    app = create_app(load_settings(env))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sintegre/default", app
    finally:
        server.shutdown()


def _send_valid(url: str, first_nbf: int) -> tuple[list[float], Counter[int]]:
    latencies, statuses = [], Counter()
    headers = {"Authorization": basic(WEBHOOK_USER, WEBHOOK_PASSWORD)}
    with requests.Session() as session:
        for index in range(VALID):
            body = to_body(make_payload(url=ons_url(nbf=first_nbf - index)))
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1
    return latencies, statuses


@pytest.mark.drill(
    "#14.7 8 threads flooding 401s: every valid notification answered 200 and stored, every"
    " refusal counted"
)
def test_an_unauthenticated_flood_does_not_hurt_valid_notifications(
    receiver, record_property: Callable[[str, object], None]
) -> None:
    url, app = receiver
    now = int(time.time())
    quiet, quiet_statuses = _send_valid(url, now - 10)

    stop = threading.Event()
    flood_statuses: Counter[int] = Counter()

    def flood() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = session.post(url, data=b'{"nome": "x"}', timeout=30)
                flood_statuses[response.status_code] += 1

    threads = [threading.Thread(target=flood) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        loud, loud_statuses = _send_valid(url, now - 1000)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert quiet_statuses == {200: VALID}
    assert loud_statuses == {200: VALID}, loud_statuses  # never a 503 behind the flood
    assert set(flood_statuses) == {401}
    assert sum(flood_statuses.values()) > VALID
    inbox = app.extensions["sintegre"]["inbox"]
    assert inbox.count() == 2 * VALID
    app.extensions["sintegre"]["refusals"].flush()
    rejected = inbox.counter_values().get("rejected:unauthorized", 0)
    assert rejected == sum(flood_statuses.values())  # every refusal counted, none lost
    record_property(
        "outcome",
        f"{VALID} valid all 200 beside {sum(flood_statuses.values())} refusals; median "
        f"{statistics.median(quiet) * 1000:.1f} ms quiet, "
        f"{statistics.median(loud) * 1000:.1f} ms under the flood",
    )
