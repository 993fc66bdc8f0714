"""The forwarder: feeds Airflow from the inbox, one request at a time.

Airflow on SQLite answers "database is locked" when several triggers arrive together, so one
loop, and only one (a lock guarantees it), sends them in order. Its state is the inbox: a
restarted forwarder simply carries on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sintegre.core.forwarder_contract import INGEST_TASK_ID, MISMATCH_XCOM_KEY
from sintegre.core.redact import redact
from sintegre.intake.airflow_api import AirflowClient, AirflowRejected, AirflowUnavailable
from sintegre.intake.inbox import Inbox
from sintegre.intake.wakeup import Wakeup

log = logging.getLogger(__name__)

#: Airflow run states that end a run, and the inbox state each one leads to.
FINAL_RUN_STATES = {"success": "succeeded", "failed": "failed"}
#: 4xx answers that will never change by retrying (the conf itself is refused).
PERMANENT_REJECTIONS = {400, 422}

RescueFn = Callable[[dict[str, Any]], str]


def run_note(conf: dict[str, Any]) -> str:
    """The run note shown in the Airflow UI: product and its ``dataProduto`` label."""
    label = conf.get("dataProduto") or "sem dataProduto"
    return f"{conf.get('nome')} — dataProduto {label} (notificação {conf.get('notification_id')})"


#: Triggered runs recorded per inbox transaction, at most this long after the first of them.
TRIGGER_BATCH = 25
TRIGGER_BATCH_SECONDS = 0.5
#: Rows one cycle takes from the inbox (``Inbox.due``'s limit).
DUE_BATCH = 50
#: A running DAG run's state is asked at most this far apart (see ``poll_outcomes``).
OUTCOME_POLL_MAX_SECONDS = 10.0


class Forwarder:
    """Moves notifications from ``received`` to ``triggered`` and learns run outcomes."""

    def __init__(
        self,
        inbox: Inbox,
        client: AirflowClient,
        *,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        rescue_window_seconds: int = 7200,
        rescue: RescueFn | None = None,
    ) -> None:
        """Build a forwarder.

        Args:
            inbox: Where notifications wait.
            client: The Airflow API client.
            poll_seconds: Pause between cycles with nothing to do, and between run-state checks.
            max_backoff_seconds: Upper bound of the exponential backoff after failures.
            rescue_window_seconds: When a trigger fails and the token expires within this many
                seconds, download the file ourselves (``rescue``) so it is not lost.
            rescue: Downloads a notification's file into the raw zone and returns its path.
        """
        self.inbox = inbox
        self.client = client
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.rescue_window_seconds = rescue_window_seconds
        self.rescue = rescue
        self._next_rescue: dict[str, float] = {}
        self._last_poll = float("-inf")

    def _backoff(self, attempts: int) -> float:
        return min(self.max_backoff_seconds, self.poll_seconds * (2.0 ** min(attempts, 16)))

    def trigger_due(self, now: float | None = None) -> int:
        """Trigger every due ``received`` notification; stop at the first outage.

        Returns:
            How many were triggered.
        """
        done = 0
        # "triggered" is recorded in batches (one inbox transaction, one fsync, for up to
        # TRIGGER_BATCH runs or TRIGGER_BATCH_SECONDS): a burst is not slowed by a commit per
        # trigger. A crash before the batch is written only means those notifications are
        # triggered again, and Airflow answers 409 (the same dag_run_id): counted as done.
        pending: list[tuple[str, dict[str, Any]]] = []

        def flush() -> None:
            self.inbox.update_many(pending, event="triggered")
            pending.clear()

        try:
            done = self._trigger_rows(now, pending, flush)
        finally:
            flush()
        return done

    def _trigger_rows(
        self,
        now: float | None,
        pending: list[tuple[str, dict[str, Any]]],
        flush: Callable[[], None],
    ) -> int:
        done = 0
        first_pending = time.monotonic()
        for row in self.inbox.due("received", now=now, limit=DUE_BATCH):
            current = time.time() if now is None else now
            conf = json.loads(row["conf"])
            # Airflow keeps the conf and shows it in its UI: the bearer token stays in the
            # inbox, and the download step reads it from there (pipeline.download_step).
            conf["url"] = redact(conf["url"])
            if row.get("raw_path"):
                conf["raw_path"] = row["raw_path"]
            try:
                result = self.client.trigger(
                    row["dag_id"], row["dag_run_id"], conf, note=run_note(conf)
                )
            except AirflowUnavailable as exc:
                self._failed_attempt(row, str(exc), current)
                return done  # Airflow is away: the rest waits too, in order.
            except AirflowRejected as exc:
                if exc.status in PERMANENT_REJECTIONS:
                    log.error("notification %s refused by Airflow: %s", row["id"], exc)
                    self.inbox.update(
                        row["id"], status="failed", last_error=redact(str(exc)), event="failed"
                    )
                else:
                    # 404 while the DAG processor has not parsed the DAG yet, 403 while
                    # permissions are being set up: both pass.
                    self._failed_attempt(row, str(exc), current)
                continue
            log.info(
                "triggered notification %s → %s run %s (%s)",
                row["id"],
                row["dag_id"],
                row["dag_run_id"],
                result.outcome,
                extra={
                    "notification_id": row["id"],
                    "dag_run_id": row["dag_run_id"],
                    "event": "trigger",
                    "trigger_latency_s": round(current - row["received_at"], 3),
                },
            )
            if not pending:
                first_pending = time.monotonic()
            pending.append(
                (
                    row["id"],
                    {
                        "status": "triggered",
                        "attempts": row["attempts"] + 1,
                        "last_error": None,
                        "next_attempt_at": current + self.poll_seconds,
                        "triggered_at": current,
                    },
                )
            )
            done += 1
            if len(pending) >= TRIGGER_BATCH or (
                time.monotonic() - first_pending >= TRIGGER_BATCH_SECONDS
            ):
                flush()
        return done

    def _failed_attempt(self, row: dict[str, Any], error: str, now: float) -> None:
        attempts = row["attempts"] + 1
        log.warning(
            "notification %s not triggered yet (attempt %d): %s",
            row["id"],
            attempts,
            redact(error),
        )
        self.inbox.update(
            row["id"],
            attempts=attempts,
            last_error=redact(error),
            next_attempt_at=now + self._backoff(attempts),
        )

    def rescue_expiring(self, now: float | None = None) -> int:
        """Save what waits for a trigger while its token dies: fetch the file ourselves.

        Runs every cycle over every untriggered notification, whatever its place in the
        queue: a long queue behind an Airflow outage must not starve a token about to die.
        Those whose token is already dead and that have no copy are marked ``expired``.

        Returns:
            How many were rescued or expired.
        """
        current = time.time() if now is None else now
        changed = 0
        for row in self.inbox.expiring(before=current + self.rescue_window_seconds):
            if self._next_rescue.get(row["id"], 0.0) > current:
                continue
            values = self._rescue(row, current)
            if values:
                event = "expired" if values.get("status") == "expired" else "rescued"
                self.inbox.update(row["id"], event=event, **values)
                self._next_rescue.pop(row["id"], None)
                changed += 1
            else:
                # Failed but the token still lives: try again a little later.
                self._next_rescue[row["id"]] = current + min(30.0, self.poll_seconds * 10)
        return changed

    def _rescue(self, row: dict[str, Any], now: float) -> dict[str, Any]:
        """Download the file before its token dies, so the DAG can use our copy later."""
        expired = row["token_exp"] <= now
        if self.rescue is None:
            if expired:
                return {"status": "expired", "last_error": "the download token expired"}
            return {}
        conf = json.loads(row["conf"])
        try:
            raw_path = self.rescue(conf)
        except Exception as exc:  # any failure: record it, or the notification is lost silently
            reason = redact(f"the file could not be fetched before its token expired: {exc}")
            log.error("notification %s: %s", row["id"], reason)
            return {"status": "expired", "last_error": reason} if expired else {}
        log.info(
            "notification %s: file saved into the raw zone before its token expired", row["id"]
        )
        return {"raw_path": raw_path}

    def poll_outcomes(self, now: float | None = None) -> int:
        """Ask Airflow how triggered runs ended; returns how many reached a final state.

        A run is asked about again after a quarter of its age (at least ``poll_seconds``, at
        most ``OUTCOME_POLL_MAX_SECONDS``): a run that just started is watched closely, one
        queued behind a burst of 500 is not asked about 500 times a minute, and Airflow's API
        keeps its time for triggers. What is learnt is written in one inbox transaction.
        """
        finished = 0
        changes: dict[str | None, list[tuple[str, dict[str, Any]]]] = {}
        try:
            for row in self.inbox.due("triggered", now=now, limit=DUE_BATCH):
                current = time.time() if now is None else now
                try:
                    state = self.client.dag_run_state(row["dag_id"], row["dag_run_id"])
                except (AirflowUnavailable, AirflowRejected) as exc:
                    log.warning("cannot read run %s yet: %s", row["dag_run_id"], exc)
                    return finished
                age = current - (row.get("triggered_at") or current)
                values: dict[str, Any] = {
                    "dag_run_state": state,
                    "next_attempt_at": current
                    + min(OUTCOME_POLL_MAX_SECONDS, max(self.poll_seconds, age / 4)),
                }
                event: str | None = None
                if state in FINAL_RUN_STATES:
                    values.update(self._final_status(row, state))
                    values["finished_at"] = current
                    event = values["status"]
                    values.update(self._raw_copy(row))
                    finished += 1
                    log.info(
                        "notification %s: run %s ended %s", row["id"], row["dag_run_id"], state
                    )
                elif state is None:
                    # The run vanished (deleted in the UI, or a new Airflow database).
                    # Triggering it again behind the operator's back would surprise; record
                    # it, replay by hand.
                    values["status"] = "failed"
                    values["last_error"] = "the DAG run is no longer in Airflow (deleted?)"
                    event = "failed"
                    finished += 1
                changes.setdefault(event, []).append((row["id"], values))
        finally:
            for event, batch in changes.items():
                self.inbox.update_many(batch, event=event)
        return finished

    def _raw_copy(self, row: dict[str, Any]) -> dict[str, Any]:
        """Remember where the run stored the file, so a replay works after the token died."""
        if row.get("raw_path"):
            return {}
        with contextlib.suppress(AirflowUnavailable, AirflowRejected):
            result = self.client.xcom(row["dag_id"], row["dag_run_id"], INGEST_TASK_ID)
            downloaded = result.get("download") if isinstance(result, dict) else None
            if isinstance(downloaded, dict) and downloaded.get("raw_path"):
                return {"raw_path": downloaded["raw_path"]}
        return {}

    def _final_status(self, row: dict[str, Any], state: str) -> dict[str, Any]:
        """The inbox fields a finished run sets: its status and any schema drift it reported."""
        status = FINAL_RUN_STATES[state]
        if status == "failed":
            return self._failure(row)
        if status != "succeeded":
            return {"status": status}
        values: dict[str, Any] = {"status": status}
        # The land step says whether the content changed since the last landed version, and
        # which tables' columns differ from the catalog (they landed anyway).
        with contextlib.suppress(AirflowUnavailable, AirflowRejected):
            result = self.client.xcom(row["dag_id"], row["dag_run_id"], INGEST_TASK_ID)
            landed = result.get("land") if isinstance(result, dict) else None
            if isinstance(landed, dict):
                if landed.get("unchanged") is True:
                    values["status"] = "unchanged"
                drift = {
                    entry["dataset"]: entry["drift"]
                    for entry in landed.get("datasets") or []
                    if isinstance(entry, dict) and entry.get("drift")
                }
                values["schema_drift"] = json.dumps(drift, ensure_ascii=False) if drift else None
                implausible = {
                    entry["dataset"]: entry["implausible"]
                    for entry in landed.get("datasets") or []
                    if isinstance(entry, dict) and entry.get("implausible")
                }
                values["implausible"] = (
                    json.dumps(implausible, ensure_ascii=False) if implausible else None
                )
        return values

    def _failure(self, row: dict[str, Any]) -> dict[str, Any]:
        """A failed run: ``layout_mismatch`` when the parse step said the file did not fit."""
        with contextlib.suppress(AirflowUnavailable, AirflowRejected):
            details = self.client.xcom(
                row["dag_id"], row["dag_run_id"], INGEST_TASK_ID, key=MISMATCH_XCOM_KEY
            )
            if isinstance(details, dict) and details.get("message"):
                return {
                    "status": "layout_mismatch",
                    "layout_mismatch": json.dumps(details, ensure_ascii=False),
                    "last_error": redact(str(details["message"]))[:2000],
                }
        return {"status": "failed"}

    def run_once(self, now: float | None = None) -> int:
        """One cycle: rescue expiring files, trigger what is due, learn outcomes.

        While a backlog is being triggered (a whole batch was due), outcomes are learnt at most
        every ``OUTCOME_POLL_MAX_SECONDS``: the triggers go first, the outcomes can wait.
        """
        work = self.rescue_expiring(now)
        triggered = self.trigger_due(now)
        work += triggered
        current = time.monotonic()
        if triggered < DUE_BATCH or current - self._last_poll >= OUTCOME_POLL_MAX_SECONDS:
            self._last_poll = current
            work += self.poll_outcomes(now)
        return work

    def run_forever(
        self,
        stop: threading.Event,
        still_held: Callable[[], bool] | None = None,
        wakeup: Wakeup | None = None,
    ) -> bool:
        """Cycle until ``stop`` is set; a broken cycle is logged and retried, never fatal.

        Args:
            stop: Set to stop.
            still_held: Checked before every cycle: whether this process still holds the
                single-forwarder lock. When it says no (or cannot tell), the loop ends at once:
                two forwarders must never trigger side by side.

        Returns:
            True when stopped on request, False when the lock was lost.
        """
        log.info("forwarder started: Airflow at %s", self.client.base_url)
        while not stop.is_set():
            if still_held is not None and not _safely(still_held):
                log.error("the single-forwarder lock is no longer held: standing by")
                return False
            try:
                work = self.run_once()
            except sa.exc.OperationalError as exc:
                log.error("inbox unavailable, retrying: %s", exc.orig)
                work = 0
            except Exception:
                log.exception("forwarder cycle failed; retrying")
                work = 0
            if not work:
                if wakeup is not None:
                    wakeup.wait(self.poll_seconds)
                else:
                    stop.wait(self.poll_seconds)
        log.info("forwarder stopped")
        return True


def _safely(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # cannot tell: assume lost (a second forwarder is the worse outcome)
        log.exception("could not verify the single-forwarder lock")
        return False


class AdvisoryLock:
    """A PostgreSQL session advisory lock held on one dedicated connection.

    Truthy when acquired. The lock lives as long as that connection: if the connection dies
    (a network cut, a server restart, an idle timeout), PostgreSQL releases the lock and a
    standby may take over, while this process would go on believing it holds it.
    :meth:`still_held` asks the server, on the same connection, before every cycle.
    """

    def __init__(self, conn: sa.Connection, key: int, held: bool) -> None:
        self.conn, self.key, self.held = conn, key, held

    def __bool__(self) -> bool:
        return self.held

    def still_held(self) -> bool:
        """Whether the server still records this session as holding the lock."""
        query = sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() "
            "AND ((classid::bigint << 32) | objid::bigint) = :k"
        )
        found = self.conn.execute(query, {"k": self.key}).scalar()
        self.conn.commit()
        return bool(found)


@contextlib.contextmanager
def postgres_advisory_lock(inbox: Inbox, key: int = 0x51_4E_74_65) -> Iterator[AdvisoryLock]:
    """One forwarder per PostgreSQL inbox, whichever host runs it (a session advisory lock).

    Yields:
        An :class:`AdvisoryLock`, truthy when this process holds the lock; it is released
        when the connection closes, so a killed forwarder frees it at once.
    """
    with inbox.engine.connect() as conn:
        held = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield AdvisoryLock(conn, key, held)
        finally:
            if held:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


@contextlib.contextmanager
def single_instance_lock(lock_path: Path) -> Iterator[bool]:
    """Hold an exclusive lock so one forwarder runs per state folder, whatever starts it.

    Yields:
        True when this process holds the lock, False when another one does.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield True
    finally:
        os.close(fd)
