"""The inbox on real databases: SQLite durability and locking, PostgreSQL for several replicas.

The PostgreSQL tests use the server at 127.0.0.1:5432 (trust auth, user ``postgres``) and a
fresh database per module; they are skipped, saying why, only when that server is unreachable.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.patched import run_patched
from helpers.postgres import PG_ADMIN_DSN, pg_unreachable
from helpers.webhook import (
    ONS_HOST,
    WEBHOOK_PASSWORD,
    WEBHOOK_USER,
    basic,
    make_payload,
    ons_url,
    to_body,
)
from sintegre.core.settings import load_settings
from sintegre.intake.forwarder import postgres_advisory_lock, single_instance_lock
from sintegre.intake.inbox import Inbox, StoreResult
from sintegre.intake.notification import Notification, normalize
from sintegre.intake.receiver import create_app

INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"


def notification_for(nbf: int, **overrides) -> tuple[Notification, bytes]:
    """A normalised notification on a body made unique by its token's ``nbf``."""
    body = to_body(make_payload(url=ons_url(nbf=nbf), **overrides))
    return normalize(body, allowed_hosts=(ONS_HOST,)), body


def store(inbox: Inbox, notification: Notification, body: bytes, **kwargs) -> StoreResult:
    return inbox.store(
        notification, integration="default", body=body, dag_id="sintegre_generic", **kwargs
    )


def auth_headers() -> dict[str, str]:
    return {"Authorization": basic(WEBHOOK_USER, WEBHOOK_PASSWORD)}


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_inbox(tmp_path: Path) -> Iterator[Inbox]:
    inbox = Inbox(f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    yield inbox
    inbox.dispose()


def test_sqlite_inbox_runs_in_wal_mode_with_synchronous_full(sqlite_inbox):
    with sqlite_inbox.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_sqlite_pragmas_follow_the_settings(env, tmp_path):
    env |= {"SINTEGRE_INBOX_SYNCHRONOUS": "extra", "SINTEGRE_INBOX_BUSY_TIMEOUT_MS": "1234"}
    app = create_app(load_settings(env))
    inbox: Inbox = app.extensions["sintegre"]["inbox"]
    with inbox.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 3  # EXTRA
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    inbox.dispose()


def test_503_while_the_write_lock_is_held_then_200_on_resend(env):
    env |= {"SINTEGRE_INBOX_BUSY_TIMEOUT_MS": "200"}
    settings = load_settings(env)
    app = create_app(settings)
    inbox: Inbox = app.extensions["sintegre"]["inbox"]
    client = app.test_client()
    db_path = settings.inbox_url.split("///", 1)[1]
    body = to_body(make_payload())

    blocker = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        refused = client.post("/sintegre/default", data=body, headers=auth_headers())
        waited = time.monotonic() - started
        assert refused.status_code == 503
        assert refused.is_json
        assert "inbox" in refused.get_json()["error"]
        assert waited < 5, "the busy timeout (200 ms) bounds the wait"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    resent = client.post("/sintegre/default", data=body, headers=auth_headers())
    assert resent.status_code == 200
    assert resent.get_json()["status"] == "received", "nothing was stored by the refused try"
    assert inbox.count() == 1
    assert inbox.get(resent.get_json()["id"])["duplicates"] == 0
    inbox.dispose()


def test_concurrent_writers_store_each_notification_once(sqlite_inbox):
    threads_count, per_thread = 8, 25
    base = int(time.time())
    own = [
        [notification_for(base - (t * per_thread + i) - 1) for i in range(per_thread)]
        for t in range(threads_count)
    ]
    shared = [notification_for(base - 10_000 - i) for i in range(3)]
    barrier = threading.Barrier(threads_count)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(mine: list[tuple[Notification, bytes]]) -> None:
        try:
            barrier.wait()
            # Every thread stores its own 25, re-sends its first 2 and all shared ones.
            for notification, body in [*mine, *shared, *mine[:2]]:
                outcome = store(sqlite_inbox, notification, body)
                with lock:
                    results.append((outcome.id, outcome.status))
        except BaseException as exc:
            with lock:
                errors.append(exc)

    workers = [threading.Thread(target=work, args=(own[t],)) for t in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert len(results) == threads_count * (per_thread + len(shared) + 2)

    received = Counter(i for i, status in results if status == "received")
    duplicate = Counter(i for i, status in results if status == "duplicate")
    own_ids = {n.id for mine in own for n, _ in mine}
    shared_ids = {n.id for n, _ in shared}
    assert len(own_ids) == threads_count * per_thread
    assert set(received) == own_ids | shared_ids
    assert all(count == 1 for count in received.values())
    for notification_id in shared_ids:
        assert duplicate[notification_id] == threads_count - 1
    assert sum(duplicate.values()) == len(shared) * (threads_count - 1) + threads_count * 2
    assert sqlite_inbox.count() == len(own_ids) + len(shared_ids)
    for notification_id in shared_ids:
        assert sqlite_inbox.get(notification_id)["duplicates"] == threads_count - 1
    # The counters agree with the answers.
    counted = sqlite_inbox.counter_values()
    assert counted["accepted"] == len(own_ids) + len(shared_ids)
    assert counted["duplicate"] == sum(duplicate.values())


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh database for this module, dropped at the end."""
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"sintegre_inbox_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_inbox(pg_url: str) -> Iterator[Inbox]:
    """An inbox on the module's database, emptied for each test."""
    inbox = Inbox(pg_url)
    with inbox.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM notifications"))
    yield inbox
    inbox.dispose()


@pytest.mark.postgres
def test_postgres_store_duplicate_list_due_update(pg_inbox):
    assert pg_inbox.healthy()
    first, first_body = notification_for(1_900_000_001)
    second, second_body = notification_for(1_900_000_002)
    third, third_body = notification_for(1_900_000_003)

    assert store(pg_inbox, first, first_body, now=1000.0) == StoreResult(
        first.id, "received", duplicate=False
    )
    assert store(pg_inbox, second, second_body, now=2000.0).status == "received"
    assert store(pg_inbox, third, third_body, now=3000.0).status == "received"
    assert store(pg_inbox, first, first_body, now=4000.0) == StoreResult(
        first.id, "duplicate", duplicate=True
    )

    row = pg_inbox.get(first.id)
    assert row["duplicates"] == 1
    assert row["body"] == first_body
    assert row["expected"] is True
    assert row["periodicidade"] == "2025-04-29"
    assert row["token_exp"] == first.token_exp
    assert pg_inbox.count() == 3
    assert pg_inbox.count("received") == 3

    assert [r["id"] for r in pg_inbox.list()] == [third.id, second.id, first.id]
    assert [r["id"] for r in pg_inbox.list(limit=2)] == [third.id, second.id]

    assert [r["id"] for r in pg_inbox.due("received", now=2500.0)] == [first.id, second.id]
    pg_inbox.update(first.id, status="triggered", attempts=1, next_attempt_at=5000.0)
    assert [r["id"] for r in pg_inbox.due("received", now=9999.0)] == [second.id, third.id]
    assert pg_inbox.due("triggered", now=4999.0) == []
    assert [r["id"] for r in pg_inbox.due("triggered", now=5000.0)] == [first.id]
    updated = pg_inbox.get(first.id)
    assert updated["status"] == "triggered" and updated["attempts"] == 1
    assert updated["updated_at"] > 4000.0
    assert [r["id"] for r in pg_inbox.list(status="triggered")] == [first.id]
    assert {r["id"] for r in pg_inbox.iter_open()} == {first.id, second.id, third.id}
    assert pg_inbox.get("does-not-exist") is None


@pytest.mark.postgres
def test_postgres_receiver_accepts_a_post_into_the_database(env, pg_url, pg_inbox):
    app = create_app(load_settings({**env, "SINTEGRE_INBOX_URL": pg_url}))
    client = app.test_client()
    response = client.post(
        "/sintegre/default", data=to_body(make_payload()), headers=auth_headers()
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "received"
    assert client.get("/healthz").get_json() == {"status": "ok"}
    row = pg_inbox.get(answer["id"])  # read through another engine: it is really committed
    assert row is not None and row["status"] == "received"
    assert row["integration"] == "default"
    app.extensions["sintegre"]["inbox"].dispose()


def store_together(inboxes: list[Inbox], notification: Notification, body: bytes) -> list[str]:
    """Store one body from each inbox at the same instant, one thread per inbox."""
    barrier = threading.Barrier(len(inboxes))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def work(inbox: Inbox) -> None:
        try:
            barrier.wait()
            outcomes.append(store(inbox, notification, body).status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(inbox,)) for inbox in inboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return outcomes


@pytest.mark.postgres
def test_postgres_two_replicas_storing_the_same_body_agree(pg_url, pg_inbox):
    replicas = [Inbox(pg_url), Inbox(pg_url)]
    try:
        for round_number in range(10):
            notification, body = notification_for(1_900_000_100 + round_number)
            outcomes = store_together(replicas, notification, body)
            assert sorted(outcomes) == ["duplicate", "received"], round_number
            assert pg_inbox.get(notification.id)["duplicates"] == 1
        assert pg_inbox.count() == 10
    finally:
        for replica in replicas:
            replica.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"nome": "Acomph\u0000"}, id="nul-in-nome"),
        pytest.param({"url": ons_url(nbf=1_900_000_200, product_id=3_000_000_000)}, id="big-id"),
    ],
)
def test_postgres_receiver_never_answers_5xx_to_values_sqlite_accepts(
    env, pg_url, pg_inbox, overrides
):
    app = create_app(load_settings({**env, "SINTEGRE_INBOX_URL": pg_url}))
    app.config["TESTING"] = True
    try:
        response = app.test_client().post(
            "/sintegre/default", data=to_body(make_payload(**overrides)), headers=auth_headers()
        )
        assert response.status_code in (200, 422)
    finally:
        app.extensions["sintegre"]["inbox"].dispose()


# --- one forwarder at a time --------------------------------------------------------------------

_TRY_LOCK = """
import sys
from pathlib import Path
from sintegre.intake.forwarder import single_instance_lock
with single_instance_lock(Path(sys.argv[1])) as held:
    print(held)
"""


def _other_process_gets_lock(lock_path: Path) -> bool:
    result = subprocess.run(
        [sys.executable, "-c", _TRY_LOCK, str(lock_path)],
        env={**os.environ, "PYTHONPATH": str(INCLUDE_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {"True": True, "False": False}[result.stdout.strip()]


def test_single_instance_lock_excludes_a_second_process(tmp_path):
    lock_path = tmp_path / "state" / "forwarder.lock"
    with single_instance_lock(lock_path) as held:
        assert held is True
        assert lock_path.read_text() == str(os.getpid())
        assert _other_process_gets_lock(lock_path) is False
    assert _other_process_gets_lock(lock_path) is True


@pytest.mark.postgres
def test_postgres_advisory_lock_excludes_a_second_inbox(pg_url):
    first, second = Inbox(pg_url), Inbox(pg_url)
    try:
        with postgres_advisory_lock(first) as held:
            assert bool(held) is True and held.still_held()
            with postgres_advisory_lock(second) as other:
                assert bool(other) is False
        with postgres_advisory_lock(second) as other:
            assert bool(other) is True
            with postgres_advisory_lock(first) as again:
                assert bool(again) is False
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.drill(
    "#14.11 the forwarder's advisory-lock connection is killed: a standby takes the lock "
    "and the first forwarder stops at its next cycle"
)
@pytest.mark.postgres
def test_a_forwarder_whose_lock_connection_dies_stops_forwarding(pg_url):
    """The server drops the lock with its session: the forwarder must notice, not carry on."""
    import psycopg

    from sintegre.intake.forwarder import Forwarder

    inbox, standby = Inbox(pg_url), Inbox(pg_url)
    client = type("Client", (), {"base_url": "http://airflow.invalid"})()
    forwarder = Forwarder(inbox, client, poll_seconds=0.05)  # type: ignore[arg-type]
    try:
        with postgres_advisory_lock(inbox) as held:
            assert held.still_held()
            pid = held.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            held.conn.commit()
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                # pg_terminate_backend only signals: the session (and its lock) ends a moment
                # later. Wait for it to be gone, as a standby would find it on its next try.
                deadline = time.monotonic() + 10
                while (
                    time.monotonic() < deadline
                    and admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
                    ).fetchone()
                ):
                    time.sleep(0.05)
            # The lock is free: a standby takes it over...
            with postgres_advisory_lock(standby) as taken:
                assert bool(taken) is True
            # ...and the first forwarder stops at its next cycle instead of triggering too.
            stop = threading.Event()
            started = time.monotonic()
            assert forwarder.run_forever(stop, still_held=held.still_held) is False
            assert time.monotonic() - started < 5
    finally:
        inbox.dispose()
        standby.dispose()


def test_many_processes_opening_a_new_inbox_at_once_all_succeed(tmp_path):
    """gunicorn workers and the forwarder create the schema at the same moment."""
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    code = "import sys; from sintegre.intake.inbox import Inbox; Inbox(sys.argv[1]).count()"
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include"), "PATH": "/usr/bin"}
    processes = [
        subprocess.Popen([sys.executable, "-c", code, url], env=env, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    errors = [p.communicate()[1].decode() for p in processes if p.wait() != 0]
    assert errors == []


@pytest.mark.drill(
    "#14.5 a received or failed notification never marks its product fresh; a landed one does"
)
def test_only_landed_deliveries_count_for_freshness(sqlite_inbox):
    """A failed or pending notification never marks its product fresh."""
    nbf = int(time.time()) - 100
    landed, body = notification_for(nbf)
    store(sqlite_inbox, landed, body)
    assert sqlite_inbox.latest_periods() == []  # received, not landed
    sqlite_inbox.update(landed.id, status="failed")
    assert sqlite_inbox.latest_periods() == []
    sqlite_inbox.update(landed.id, status="succeeded")
    assert [row["periodicidade"] for row in sqlite_inbox.latest_periods()] == ["2025-04-29"]


@pytest.mark.drill(
    "#14.3 one row of a group commit cannot be bound (lone surrogate): it alone fails, its "
    "neighbour is stored"
)
def test_a_row_that_cannot_be_stored_never_fails_its_group_commit_neighbours(sqlite_inbox):
    """Two stores share one transaction; one row's value cannot be bound: only it fails."""
    from sintegre.intake.inbox.group_commit import _Job

    group = sqlite_inbox._group
    captured: list[_Job] = []
    real_submit = group.submit
    group.submit = lambda job: captured.append(job)  # collect the rows store() builds
    try:
        for offset in (0, 1):
            notification, body = notification_for(int(time.time()) - 200 - offset)
            with contextlib.suppress(Exception):
                store(sqlite_inbox, notification, body)
    finally:
        group.submit = real_submit
    good, bad = captured
    # A lone surrogate: sqlite3 cannot encode it (a new job: its values are built from the row).
    bad = _Job(dict(bad.row, product="Acomph \ud800"))
    group._queue.append(bad)  # queued by a concurrent caller: the same group commit
    group.submit(good)
    assert good.done and good.error is None
    assert bad.done and isinstance(bad.error, UnicodeEncodeError)
    assert sqlite_inbox.count() == 1
    assert sqlite_inbox.get(good.row["id"]) is not None


@pytest.mark.drill(
    "#14.12 database default synchronous_commit=off: inbox sessions still commit with "
    "synchronous_commit=on"
)
def test_postgres_inbox_commits_synchronously_whatever_the_database_default(pg_url):
    """200 means committed: synchronous_commit is pinned on for the inbox's sessions."""
    import psycopg

    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    try:
        inbox = Inbox(pg_url)
        with inbox.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"
        inbox.dispose()
        plain = sa.create_engine(pg_url)
        with plain.connect() as conn:  # the database default really is off
            assert conn.execute(sa.text("SHOW synchronous_commit")).scalar() == "off"
        plain.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" RESET synchronous_commit')


@pytest.mark.drill(
    "#14.15 /metrics' latency histogram comes from one aggregate SQL query (bucket counts, "
    "sum, count)"
)
def test_trigger_latency_histogram_is_one_aggregate_query(sqlite_inbox):
    """/metrics reads bucket counts from SQL, not every triggered row."""
    base = int(time.time()) - 500
    latencies = [0.2, 1.5, 3.0, 45.0]
    for index, latency in enumerate(latencies):
        notification, body = notification_for(base - index)
        store(sqlite_inbox, notification, body, now=1000.0)
        sqlite_inbox.update(notification.id, status="triggered", triggered_at=1000.0 + latency)
    untriggered, body = notification_for(base - 99)
    store(sqlite_inbox, untriggered, body, now=1000.0)
    histogram = sqlite_inbox.trigger_latency_histogram((0.5, 2, 5, 60))
    assert histogram.buckets == (1, 2, 3, 4)
    assert histogram.count == 4
    assert histogram.total == pytest.approx(sum(latencies))


# --- the forwarder's wake-up (issue #17: no poll interval on the POST → rows path) -------------


_NOW = int(time.time()) - 60  # tokens valid for 24 h from here


def _woken_within(wake, seconds: float) -> float | None:
    """Seconds until ``wake`` fired, or None if it did not within ``seconds``."""
    started = time.monotonic()
    return time.monotonic() - started if wake.wait(seconds) else None


def test_a_sqlite_commit_wakes_the_listening_forwarder(sqlite_inbox):
    from sintegre.intake import wakeup

    wake = wakeup.listen(sqlite_inbox.url)
    try:
        assert isinstance(wake, wakeup.SocketWakeup)
        assert _woken_within(wake, 0.2) is None  # nothing stored: no signal
        store(sqlite_inbox, *notification_for(_NOW + 1))
        waited = _woken_within(wake, 5.0)
        assert waited is not None and waited < 0.5
        assert _woken_within(wake, 0.2) is None  # drained: one cycle per burst of commits
        sqlite_inbox.replay(notification_for(_NOW + 1)[0].id)
        assert _woken_within(wake, 5.0) is not None  # "Reenviar" wakes it too
    finally:
        wake.close()
    assert not wakeup.socket_path(sqlite_inbox.url).exists()


def test_a_sqlite_commit_without_forwarder_is_not_slowed_or_broken(sqlite_inbox):
    """No forwarder listening (socket absent): the store still succeeds, silently."""
    result = store(sqlite_inbox, *notification_for(_NOW + 2))
    assert result.status == "received"


@pytest.mark.postgres
def test_a_postgres_commit_notifies_the_listening_forwarder(pg_url):
    from sintegre.intake import wakeup

    inbox = Inbox(pg_url)
    wake = wakeup.listen(pg_url)
    try:
        assert isinstance(wake, wakeup.PostgresWakeup)
        assert _woken_within(wake, 0.2) is None
        store(inbox, *notification_for(_NOW + 3))
        waited = _woken_within(wake, 5.0)
        assert waited is not None and waited < 0.5
    finally:
        wake.close()
        inbox.dispose()


def test_the_forwarder_triggers_a_stored_notification_without_waiting_a_poll(sqlite_inbox):
    """The forwarder idles with a 30 s poll; a stored notification is triggered in < 2 s."""
    from sintegre.intake import wakeup
    from sintegre.intake.forwarder import Forwarder

    triggered: list[float] = []

    class Client:
        base_url = "http://airflow.invalid"

        def trigger(self, dag_id, dag_run_id, conf, note=None):
            from sintegre.intake.airflow_api import TriggerResult

            triggered.append(time.monotonic())
            return TriggerResult("created", dag_run_id)

        def dag_run_state(self, dag_id, dag_run_id):  # outcome polling: still running
            return "running"

    forwarder = Forwarder(sqlite_inbox, Client(), poll_seconds=30.0)  # type: ignore[arg-type]
    stop = threading.Event()
    wake = wakeup.listen(sqlite_inbox.url)
    thread = threading.Thread(target=forwarder.run_forever, args=(stop, None, wake), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the forwarder is idle, waiting
        stored_at = time.monotonic()
        store(sqlite_inbox, *notification_for(_NOW + 4))
        deadline = time.monotonic() + 10
        while not triggered and time.monotonic() < deadline:
            time.sleep(0.02)
        assert triggered, "the forwarder slept through the commit"
        assert triggered[0] - stored_at < 2.0
    finally:
        stop.set()
        sqlite_inbox.signal.send()  # wake it to see the stop
        thread.join(timeout=35)
        wake.close()


def test_triggered_runs_are_recorded_in_batches_and_none_is_lost_on_a_failure(sqlite_inbox):
    """30 due notifications: Airflow fails on the 12th; the 11 triggered before are recorded
    (the batch is written on the way out), the rest stay due, the counter matches."""
    from sintegre.intake.airflow_api import TriggerResult
    from sintegre.intake.forwarder import Forwarder

    ids = [store(sqlite_inbox, *notification_for(_NOW + 100 + i)).id for i in range(30)]
    calls: list[str] = []

    class Client:
        base_url = "http://airflow.invalid"

        def trigger(self, dag_id, dag_run_id, conf, note=None):
            calls.append(dag_run_id)
            if len(calls) == 12:
                raise RuntimeError("the forwarder process dies here")
            return TriggerResult("created", dag_run_id)

    forwarder = Forwarder(sqlite_inbox, Client(), poll_seconds=0.05)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        forwarder.trigger_due()
    statuses = [sqlite_inbox.get(i)["status"] for i in ids]
    assert statuses == ["triggered"] * 11 + ["received"] * 19
    assert sqlite_inbox.counter_values().get("triggered") == 11


def test_run_outcomes_are_asked_less_often_as_runs_age_and_written_in_one_batch(sqlite_inbox):
    """A run triggered 1 s ago is asked again after ``poll_seconds``; one triggered 100 s ago
    after 10 s (a quarter of its age, capped); a finished one is final, counted once."""
    from sintegre.intake.forwarder import OUTCOME_POLL_MAX_SECONDS, Forwarder

    now = 1_000_000.0
    ids = [store(sqlite_inbox, *notification_for(_NOW + 300 + i)).id for i in range(3)]
    for notification_id, age in zip(ids, (1.0, 100.0, 20.0), strict=True):
        sqlite_inbox.update(
            notification_id,
            status="triggered",
            triggered_at=now - age,
            next_attempt_at=now - 0.5,
        )
    states = {ids[0]: "running", ids[1]: "queued", ids[2]: "success"}
    asked: list[str] = []

    class Client:
        base_url = "http://airflow.invalid"

        def dag_run_state(self, dag_id, dag_run_id):
            row = next(
                r for r in (sqlite_inbox.get(i) for i in ids) if r["dag_run_id"] == dag_run_id
            )
            asked.append(row["id"])
            return states[row["id"]]

        def xcom(self, dag_id, dag_run_id, task_id):  # the ingest task's summary
            return {"land": {"changed": True}}

    forwarder = Forwarder(sqlite_inbox, Client(), poll_seconds=1.0)  # type: ignore[arg-type]
    assert forwarder.poll_outcomes(now=now) == 1
    assert sorted(asked) == sorted(ids)
    young, old, done = (sqlite_inbox.get(i) for i in ids)
    assert young["next_attempt_at"] == pytest.approx(now + 1.0)
    assert old["next_attempt_at"] == pytest.approx(now + OUTCOME_POLL_MAX_SECONDS)
    assert (young["dag_run_state"], old["dag_run_state"]) == ("running", "queued")
    assert done["status"] == "succeeded"
    assert sqlite_inbox.counter_values().get("succeeded") == 1
    # Nothing is due again before its time: no second question to Airflow.
    asked.clear()
    assert forwarder.poll_outcomes(now=now + 0.5) == 0
    assert asked == []


#: What the gevent children below share: the inbox at $DB and one store's outcome.
GEVENT_CHILD = """
import errno, json, os, time
import gevent
from helpers.webhook import ONS_HOST, make_payload, ons_url, to_body
from sintegre.intake.inbox import Inbox, InboxUnavailable
import sintegre.intake.inbox.group_commit as group_commit
from sintegre.intake.notification import normalize

inbox = Inbox(f"sqlite:///{os.environ['DB']}")


def body_for(age):
    return to_body(make_payload(url=ons_url(nbf=int(time.time()) - age)))


def store_outcome(body):
    # The stored row's id and status, or (None, '503: <reason>').
    notification = normalize(body, allowed_hosts=(ONS_HOST,))
    try:
        stored = inbox.store(notification, integration="default", body=body,
                             dag_id="sintegre_generic")
    except InboxUnavailable as exc:
        return None, f"503: {exc}"
    return stored.id, stored.status
"""


def run_gevent_child(code: str, db: Path) -> Any:
    """``code`` after :data:`GEVENT_CHILD`, in a child gevent patched (see run_patched)."""
    return run_patched(GEVENT_CHILD + textwrap.dedent(code), DB=str(db))


@pytest.mark.drill(
    "#17 under gunicorn's gevent worker, concurrent stores of one process share commits; "
    "each returns only after the WAL holding its row was fsynced"
)
def test_under_gevent_concurrent_stores_share_commits_and_each_waits_for_its_fsync(tmp_path):
    db = tmp_path / "inbox.sqlite3"
    result = run_gevent_child(
        """
        group = inbox._group
        committed, synced, commits = set(), set(), []
        real_commit, real_sync = group._commit, group_commit._fdatasync_wal

        def counting_commit(batch):
            real_commit(batch)
            commits.append(len(batch))
            committed.update(job.row["id"] for job in batch)

        def recording_sync(path):
            real_sync(path)
            synced.update(committed)

        group._commit = counting_commit
        group_commit._fdatasync_wal = recording_sync
        early = []

        def client(c):
            for i in range(25):
                stored_id, _status = store_outcome(body_for(1000 + c * 25 + i))
                if stored_id not in synced:
                    early.append(stored_id)
                gevent.sleep(0)  # the next request arrives later

        gevent.joinall([gevent.spawn(client, c) for c in range(8)])
        writer = group._writer().cursor()
        level = writer.execute("PRAGMA synchronous").fetchone()[0]
        print(json.dumps({"commits": commits, "early": early, "writer_synchronous": level}))
        """,
        db,
    )
    assert result["early"] == [], "a store returned before the fsync of the WAL holding its row"
    # The commit itself runs at NORMAL (no fsync inside the write turn); the class syncs.
    assert result["writer_synchronous"] == 1
    assert sum(result["commits"]) == 200
    # Eight greenlets ready together: one commit carries several rows (one each: 200 commits).
    assert len(result["commits"]) <= 60, result["commits"]
    assert max(result["commits"]) >= 6
    reopened = Inbox(f"sqlite:///{db}")  # after the child exited: every row is on disk
    try:
        assert reopened.count() == 200
    finally:
        reopened.dispose()


@pytest.mark.drill(
    "#17 under gevent the WAL's fsync fails (EIO) after the commit: that batch and every later "
    "store answer 503 (no 'duplicate' for a row perhaps not on disk) until an operator acts"
)
def test_under_gevent_a_failed_fsync_refuses_every_store_until_an_operator_acts(tmp_path):
    """The commit went in but its fsync failed: nobody of that batch is told stored, and as
    the kernel may then call those pages clean, no later store is answered either (a resend
    would be a 'duplicate' of a row perhaps not on disk): 503 until the marker is removed and
    the receiver restarted."""
    db = tmp_path / "inbox.sqlite3"
    result = run_gevent_child(
        """
        real_sync, failed = group_commit._fdatasync_wal, []

        def failing_once(path):
            if not failed:
                failed.append(path)
                raise OSError(errno.EIO, "Input/output error")
            real_sync(path)

        group_commit._fdatasync_wal = failing_once
        bodies = [body_for(700 + c) for c in range(4)]
        outcomes = {}

        def client(c):
            outcomes[c] = store_outcome(bodies[c])[1]

        gevent.joinall([gevent.spawn(client, c) for c in range(4)])
        first = dict(outcomes)
        gevent.joinall([gevent.spawn(client, c) for c in range(4)])  # SINtegre resends
        print(json.dumps({"first": first, "resent": outcomes, "wal": failed[0]}))
        """,
        db,
    )
    assert result["wal"].endswith("inbox.sqlite3-wal")
    assert all(v.startswith("503: inbox commit failed") for v in result["first"].values())
    assert "Input/output error" in result["first"]["0"]
    assert all("earlier fsync of the inbox's WAL failed" in v for v in result["resent"].values())
    marker = tmp_path / "inbox.sqlite3.fsync-failed"
    assert "Input/output error (errno 5)" in marker.read_text()
    # Another process (the other gunicorn worker, a restarted one) refuses too, and says it
    # is not ready (/readyz answers 503 from Inbox.writable).
    again = run_gevent_child(
        "print(json.dumps([store_outcome(body_for(800))[1], inbox.writable()]))", db
    )
    assert "earlier fsync of the inbox's WAL failed" in again[0]
    assert again[1] is False
    marker.unlink()  # the operator checked the disk
    after = run_gevent_child("print(json.dumps(store_outcome(body_for(801))[1]))", db)
    assert after == "received"


def test_under_gevent_a_symlinked_inbox_syncs_the_wal_sqlite_writes(tmp_path):
    """SQLite resolves a symbolic link and keeps the WAL beside the real file: that file, not
    one named after the link, is the one synced before the answer."""
    real = tmp_path / "disk" / "inbox.sqlite3"
    real.parent.mkdir()
    link = tmp_path / "inbox.sqlite3"
    Inbox(f"sqlite:///{real}").dispose()
    link.symlink_to(real)
    result = run_gevent_child(
        """
        synced = []
        real_fdatasync = os.fdatasync

        def recording(fd):
            synced.append(os.fstat(fd).st_ino)
            real_fdatasync(fd)

        os.fdatasync = recording
        outcome = store_outcome(body_for(600))[1]
        wal = os.environ["REAL_WAL"]
        print(json.dumps({"outcome": outcome, "synced_the_wal": synced == [os.stat(wal).st_ino]}))
        """.replace('os.environ["REAL_WAL"]', repr(f"{real}-wal")),
        link,
    )
    assert result == {"outcome": "received", "synced_the_wal": True}


def test_under_gevent_a_leader_cut_off_mid_commit_never_leaves_a_follower_told_stored(tmp_path):
    """A greenlet killed while it commits its batch (the worker stopping): the rows it was
    carrying for other greenlets are refused (503, SINtegre resends), never answered 200."""
    result = run_gevent_child(
        """
        class Stop(BaseException):
            pass

        real_commit = inbox._group._commit
        cut = []

        def commit_cut_off_once(batch):
            if not cut:
                cut.append(len(batch))
                raise Stop()
            real_commit(batch)

        inbox._group._commit = commit_cut_off_once
        outcomes = []

        def client(c):
            try:
                outcomes.append(store_outcome(body_for(500 + c))[1][:3])
            except Stop:
                outcomes.append("leader cut off")

        gevent.joinall([gevent.spawn(client, c) for c in range(5)])
        print(json.dumps({"cut": cut, "outcomes": sorted(outcomes), "rows": inbox.count()}))
        """,
        tmp_path / "inbox.sqlite3",
    )
    assert result["cut"] == [5], "the five stores were in one batch"
    assert result["outcomes"] == ["503"] * 4 + ["leader cut off"]
    assert result["rows"] == 0


def test_under_gevent_a_leader_cut_off_while_gathering_drops_its_batch(tmp_path):
    """Killed while it waits for the ready requests (before any commit): its followers are
    refused, and their rows are not committed later by the next batch behind their backs."""
    result = run_gevent_child(
        """
        outcomes = []

        def client(c):
            outcomes.append(store_outcome(body_for(900 + c))[1][:3])

        leader = gevent.spawn(client, 0)
        followers = [gevent.spawn(client, c) for c in (1, 2, 3)]
        gevent.sleep(0)  # the leader is gathering, the followers wait for it
        leader.kill()
        gevent.joinall(followers)
        client(4)  # a later notification: its own batch
        print(json.dumps({"outcomes": outcomes, "rows": inbox.count()}))
        """,
        tmp_path / "inbox.sqlite3",
    )
    assert result["outcomes"] == ["503", "503", "503", "rec"]
    assert result["rows"] == 1
