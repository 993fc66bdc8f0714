"""The inbox: every accepted notification, stored durably before the receiver answers.

SQLite (WAL, ``synchronous=FULL`` by default) for one machine; PostgreSQL through the same
code for several receiver replicas. The inbox is also the forwarder's whole state, so a
restarted forwarder carries on where the last one stopped.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from sintegre.intake.inbox.group_commit import _GroupCommit, _Job, _sqlite_pragmas
from sintegre.intake.inbox.schema import (
    OPEN_STATUSES,
    REFUSALS_KEPT,
    InboxRefused,
    InboxUnavailable,
    LatencyHistogram,
    StoreResult,
    counters,
    metadata,
    notifications,
    refusals,
)
from sintegre.intake.notification import Notification
from sintegre.intake.wakeup import NOTIFY_SQL, SocketSignal, socket_path

log = logging.getLogger(__name__)


class Inbox:
    """Durable store of notifications, shared by the receiver, the forwarder and the API."""

    def __init__(self, url: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 5000) -> None:
        """Open (and create when missing) the inbox at a SQLAlchemy URL.

        Args:
            url: ``sqlite:///path`` or ``postgresql+psycopg://...``.
            synchronous: SQLite's ``synchronous`` pragma (``FULL`` by default).
            busy_timeout_ms: How long a write waits for SQLite's lock before giving up.
        """
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(
                f"SINTEGRE_INBOX_SYNCHRONOUS must be OFF|NORMAL|FULL|EXTRA, not {synchronous!r}"
            )
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            db_path = url.split("///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = sa.create_engine(
                url,
                connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas(synchronous, busy_timeout_ms))
        else:
            # A 200 means committed: pinned for every inbox session, whatever the server, the
            # database or the role say (synchronous_commit=off would acknowledge before the
            # WAL reaches disk, and a crash could lose a notification already answered 200).
            self.engine = sa.create_engine(
                url, pool_pre_ping=True, connect_args={"options": "-c synchronous_commit=on"}
            )
        self._create_schema()
        self._group = _GroupCommit(self, synchronous=synchronous) if self.is_sqlite else None
        # Wakes the forwarder at each commit (see sintegre.intake.wakeup); PostgreSQL's
        # NOTIFY goes inside the storing transaction instead.
        self.signal = SocketSignal(socket_path(url) if self.is_sqlite else None)

    def _create_schema(self) -> None:
        # Several gunicorn workers and the forwarder open the inbox at the same moment; the
        # losers of the CREATE TABLE race see "already exists" and simply check again.
        for attempt in range(5):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                self._add_missing_columns()
                return
            except sa.exc.DBAPIError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _add_missing_columns(self) -> None:
        """Bring an inbox made by an older version up to date (columns are only ever added)."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("notifications")}
        with self.engine.begin() as conn:
            for column in notifications.columns:
                if column.name in present:
                    continue
                type_sql = column.type.compile(dialect=self.engine.dialect)
                default = " NOT NULL DEFAULT 0" if not column.nullable else ""
                conn.execute(
                    sa.text(
                        f"ALTER TABLE notifications ADD COLUMN {column.name} {type_sql}{default}"
                    )
                )

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._group is not None:
            self._group._drop_writer()
        self.engine.dispose()

    def store(
        self,
        notification: Notification,
        *,
        integration: str,
        body: bytes,
        dag_id: str,
        expected: bool = True,
        now: float | None = None,
    ) -> StoreResult:
        """Store a notification, or recognise it as a byte-identical repeat.

        Returns only after the transaction committed.

        Raises:
            InboxUnavailable: The commit failed; nothing can be promised to the sender.
        """
        current = time.time() if now is None else now
        row = {
            "id": notification.id,
            "integration": integration,
            "received_at": current,
            "updated_at": current,
            "status": "received",
            "product": notification.nome,
            "product_id": notification.product_id,
            "dataset": notification.dataset,
            "dag_id": dag_id,
            "dag_run_id": notification.dag_run_id(),
            "macroprocesso_slug": notification.macroprocesso_slug,
            "periodicidade": notification.periodicidade.isoformat(),
            "periodicidade_final": notification.periodicidade_final.isoformat(),
            "granularity": notification.granularity,
            "data_produto": notification.data_produto,
            "flags": json.dumps(list(notification.flags)),
            "token_exp": notification.token_exp,
            "conf": notification.conf_json(),
            "body": body,
            "attempts": 0,
            "next_attempt_at": current,
            "duplicates": 0,
            "expected": expected,
        }
        if self._group is not None:
            return self._store_sqlite(row)
        try:
            with self.engine.begin() as conn:
                conn.execute(notifications.insert().values(**row))
                self._count(conn, "accepted")
                conn.execute(sa.text(NOTIFY_SQL))  # delivered when this transaction commits
            return StoreResult(notification.id, "received", duplicate=False)
        except IntegrityError:
            pass
        except DataError as exc:
            raise InboxRefused(f"the notification cannot be stored: {exc.orig}") from None
        except (OperationalError, OSError) as exc:
            # An OSError carries no DBAPI error (.orig): it is its own reason.
            reason = exc.orig if isinstance(exc, OperationalError) else exc
            raise InboxUnavailable(f"inbox commit failed: {reason}") from None
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    notifications.update()
                    .where(notifications.c.id == notification.id)
                    .values(duplicates=notifications.c.duplicates + 1)
                )
                self._count(conn, "duplicate")
        except OperationalError as exc:
            raise InboxUnavailable(f"inbox commit failed: {exc.orig}") from None
        return StoreResult(notification.id, "duplicate", duplicate=True)

    def _store_sqlite(self, row: dict[str, Any]) -> StoreResult:
        """The SQLite path: one transaction per group of concurrent stores (see _GroupCommit)."""
        assert self._group is not None
        job = _Job(dict(row, expected=int(row["expected"])))
        self._group.submit(job)
        if isinstance(job.error, sqlite3.IntegrityError):
            raise InboxRefused(f"the notification cannot be stored: {job.error}") from None
        if isinstance(job.error, (sqlite3.Error, sa.exc.DBAPIError, OSError)):
            raise InboxUnavailable(f"inbox commit failed: {job.error}") from None
        if job.error is not None:
            raise job.error
        status = "duplicate" if job.duplicate else "received"
        return StoreResult(row["id"], status, duplicate=job.duplicate)

    def get(self, notification_id: str) -> dict[str, Any] | None:
        """One notification as a dict (including its conf), or ``None``."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(notifications).where(notifications.c.id == notification_id))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def list(self, *, limit: int = 100, status: str | None = None) -> list[dict[str, Any]]:
        """Notifications, newest first."""
        query = sa.select(notifications).order_by(
            notifications.c.received_at.desc(), notifications.c.id
        )
        if status:
            query = query.where(notifications.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.limit(limit)).mappings()]

    def count(self, status: str | None = None) -> int:
        """How many notifications (in one state, when given)."""
        query = sa.select(sa.func.count()).select_from(notifications)
        if status:
            query = query.where(notifications.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def due(
        self, status: str, *, now: float | None = None, limit: int = 50
    ) -> builtins.list[dict[str, Any]]:
        """Rows in ``status`` whose next attempt is due, oldest first."""
        current = time.time() if now is None else now
        query = (
            sa.select(notifications)
            .where(notifications.c.status == status, notifications.c.next_attempt_at <= current)
            .order_by(notifications.c.received_at, notifications.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def expiring(self, *, before: float, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Untriggered notifications without a raw copy whose token dies before ``before``."""
        query = (
            sa.select(notifications)
            .where(
                notifications.c.status == "received",
                notifications.c.raw_path.is_(None),
                notifications.c.token_exp.is_not(None),
                notifications.c.token_exp < before,
            )
            .order_by(notifications.c.token_exp)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def iter_open(self) -> Iterator[dict[str, Any]]:
        """Every notification the forwarder still has work for."""
        query = sa.select(notifications).where(notifications.c.status.in_(OPEN_STATUSES))
        with self.engine.connect() as conn:
            yield from (dict(r) for r in conn.execute(query).mappings())

    def update(self, notification_id: str, *, event: str | None = None, **values: Any) -> None:
        """Change columns of one notification (``updated_at`` is set here).

        Args:
            notification_id: The row.
            event: A counter to increment in the same transaction (``triggered``, ``failed``…).
            **values: Columns to set.
        """
        self.update_many([(notification_id, values)], event=event)

    def update_many(
        self,
        changes: Sequence[tuple[str, dict[str, Any]]],
        *,
        event: str | None = None,
    ) -> None:
        """Change several notifications in ONE transaction (one fsync for a batch).

        Args:
            changes: ``(notification_id, columns to set)`` pairs (``updated_at`` is set here).
            event: A counter incremented once per change, in the same transaction.
        """
        if not changes:
            return
        now = time.time()
        with self.write_turn(), self.engine.begin() as conn:
            for notification_id, values in changes:
                conn.execute(
                    notifications.update()
                    .where(notifications.c.id == notification_id)
                    .values(**{"updated_at": now, **values})
                )
            if event:
                self._count(conn, event, len(changes))

    def write_turn(self) -> contextlib.AbstractContextManager[None]:
        """Wait for this process's turn to write to a SQLite inbox (the receiver's ``flock``):
        without it, a write meeting the receiver's group commit sleeps in SQLite's busy handler.
        Nothing to wait for on PostgreSQL."""
        return self._group.turn() if self._group is not None else contextlib.nullcontext()

    def _count(self, conn: Connection, name: str, amount: int = 1) -> None:
        dialect = postgresql if not self.is_sqlite else sqlite
        statement = dialect.insert(counters).values(name=name, value=amount)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[counters.c.name],
                set_={"value": counters.c.value + amount},
            )
        )

    def count_event(self, name: str, amount: int = 1) -> None:
        """Increment a shared counter (in its own transaction)."""
        with self.engine.begin() as conn:
            self._count(conn, name, amount)

    def counter_values(self) -> dict[str, int]:
        """Every counter's current total."""
        with self.engine.connect() as conn:
            return {r.name: int(r.value) for r in conn.execute(sa.select(counters))}

    def record_refusal(
        self,
        *,
        integration: str,
        status: int,
        reason: str,
        message: str,
        excerpt: str | None,
        now: float | None = None,
    ) -> None:
        """Keep a redacted trace of a 4xx answer and count it by reason.

        Never raises: failing to record a refusal must not turn a 4xx into a 5xx.
        """
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    refusals.insert().values(
                        integration=integration[:100],
                        received_at=time.time() if now is None else now,
                        status=status,
                        reason=reason[:60],
                        message=message[:500],
                        excerpt=excerpt,
                    )
                )
                self._count(conn, f"rejected:{reason[:60]}")
                newest = conn.execute(sa.select(sa.func.max(refusals.c.seq))).scalar_one()
                conn.execute(refusals.delete().where(refusals.c.seq <= newest - REFUSALS_KEPT))
        except sa.exc.SQLAlchemyError:
            pass

    def record_refusals(self, batch: Sequence[Any], *, dropped: int = 0) -> None:
        """Write buffered refusals (``PendingRefusal``-like objects) in one transaction.

        Never raises (see :meth:`record_refusal`); the caller's buffer is then lost, which
        costs traces, never answers.
        """
        if not batch and not dropped:
            return
        try:
            with self.engine.begin() as conn:
                if batch:
                    conn.execute(
                        refusals.insert(),
                        [
                            {
                                "integration": item.integration[:100],
                                "received_at": item.received_at,
                                "status": item.status,
                                "reason": item.reason[:60],
                                "message": item.message[:500],
                                "excerpt": item.excerpt,
                            }
                            for item in batch
                        ],
                    )
                by_reason: dict[str, int] = {}
                for item in batch:
                    key = f"rejected:{item.reason[:60]}"
                    by_reason[key] = by_reason.get(key, 0) + 1
                if dropped:
                    by_reason["rejected_traces_dropped"] = dropped
                for name, amount in by_reason.items():
                    self._count(conn, name, amount)
                newest = conn.execute(sa.select(sa.func.max(refusals.c.seq))).scalar_one()
                if newest is not None:
                    conn.execute(refusals.delete().where(refusals.c.seq <= newest - REFUSALS_KEPT))
        except sa.exc.SQLAlchemyError:
            log.warning("could not record %d refusal(s)", len(batch))

    def recent_refusals(self, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """The latest refusals, newest first."""
        query = sa.select(refusals).order_by(refusals.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def status_counts(self) -> dict[str, int]:
        """How many notifications are in each state now."""
        query = sa.select(notifications.c.status, sa.func.count()).group_by(notifications.c.status)
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(query)}

    def oldest_pending_received_at(self) -> float | None:
        """When the oldest notification still waiting for its trigger arrived."""
        query = sa.select(sa.func.min(notifications.c.received_at)).where(
            notifications.c.status == "received"
        )
        with self.engine.connect() as conn:
            oldest: float | None = conn.execute(query).scalar_one()
            return oldest

    def trigger_latency_histogram(self, bounds: Sequence[float]) -> LatencyHistogram:
        """Cumulative counts of trigger latencies at each bound, their sum and count, in SQL."""
        latency = notifications.c.triggered_at - notifications.c.received_at
        columns = [
            sa.func.count().filter(latency <= bound).label(f"le_{index}")
            for index, bound in enumerate(bounds)
        ]
        query = sa.select(
            *columns,
            sa.func.coalesce(sa.func.sum(latency), 0.0).label("total"),
            sa.func.count().label("n"),
        ).where(notifications.c.triggered_at.is_not(None))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return LatencyHistogram(
            buckets=tuple(int(row[index]) for index in range(len(bounds))),
            total=float(row.total),
            count=int(row.n),
        )

    def latest_per_product(self) -> builtins.list[dict[str, Any]]:
        """The newest notification of each (integration, product), newest first."""
        ranked = sa.select(
            notifications,
            sa.func.row_number()
            .over(
                partition_by=(notifications.c.integration, notifications.c.dataset),
                order_by=notifications.c.received_at.desc(),
            )
            .label("rank"),
        ).subquery()
        query = (
            sa.select(ranked)
            .where(ranked.c.rank == 1)
            .order_by(ranked.c.integration, ranked.c.received_at.desc())
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def latest_periods(self) -> builtins.list[dict[str, Any]]:
        """Per (product id, product name): the newest period start LANDED, for freshness.

        Only deliveries whose run succeeded (``succeeded`` or ``unchanged``) count: a
        notification that failed, is still in flight, or names a far-off period must not
        mark a product fresh (one notification dated 2099 would otherwise silence its alarm
        for good; the receiver also refuses periods more than two years ahead).
        """
        query = (
            sa.select(
                notifications.c.product_id,
                notifications.c.product,
                sa.func.max(notifications.c.periodicidade).label("periodicidade"),
            )
            .where(notifications.c.status.in_(("succeeded", "unchanged")))
            .group_by(notifications.c.product_id, notifications.c.product)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def writable(self) -> bool:
        """Readiness: can the inbox take a write right now? (a counter no one reads; and no
        WAL fsync has failed, see ``_GroupCommit._fsync_failed``)."""
        if self._group is not None and self._group.refusing():
            return False
        try:
            self.count_event("readiness_probe")
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def replay(self, notification_id: str, *, now: float | None = None) -> str:
        """Send a notification to Airflow again, as SINtegre's "Reenviar" does.

        A finished one (``failed``, ``expired``, ``succeeded``, ``unchanged``) gets a new run id
        (``…__r<n>``: Airflow would answer 409 to the old one and run nothing); a pending one
        (``received``) is simply made due now. The DAG reuses the raw copy when there is one,
        so a replay works after the token died.

        Returns:
            The new status (``received``), or raises.

        Raises:
            KeyError: No such notification.
            ValueError: The notification is in flight (``triggered``).
        """
        current = time.time() if now is None else now
        row = self.get(notification_id)
        if row is None:
            raise KeyError(notification_id)
        if row["status"] == "triggered":
            raise ValueError("the notification is being processed by Airflow right now")
        values: dict[str, Any] = {"next_attempt_at": current, "attempts": 0}
        if row["status"] != "received":
            replays = row["replays"] + 1
            base = re.sub(r"__r\d+$", "", row["dag_run_id"])
            values.update(
                status="received",
                replays=replays,
                dag_run_id=f"{base}__r{replays}",
                last_error=None,
                dag_run_state=None,
                triggered_at=None,
                finished_at=None,
            )
        self.update(notification_id, event="replayed", **values)
        self.wake_forwarder()
        return "received"

    def wake_forwarder(self) -> None:
        """Tell the forwarder something is due now (a hint; it polls anyway)."""
        if self.is_sqlite:
            self.signal.send()
            return
        with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine.begin() as conn:
            conn.execute(sa.text(NOTIFY_SQL))

    def ids_in(self, statuses: tuple[str, ...]) -> builtins.list[str]:
        """Ids of notifications in any of ``statuses``, oldest first."""
        query = (
            sa.select(notifications.c.id)
            .where(notifications.c.status.in_(statuses))
            .order_by(notifications.c.received_at)
        )
        with self.engine.connect() as conn:
            return [r for (r,) in conn.execute(query)]

    def healthy(self) -> bool:
        """True when the inbox answers a query (readiness = able to store)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:  # any failure means not ready; the reason is logged by the caller
            return False
        return True
