"""The inbox's tables, statuses and result types (SQLAlchemy Core, SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

STATUSES = (
    "received",
    "triggered",
    "succeeded",
    "unchanged",
    "failed",
    "layout_mismatch",
    "duplicate",
    "expired",
)
#: States the forwarder still has work for.
OPEN_STATUSES = ("received", "triggered")

metadata = sa.MetaData()

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("integration", sa.String(100), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("product", sa.Text, nullable=False),
    sa.Column("product_id", sa.BigInteger),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("dag_id", sa.Text, nullable=False),
    sa.Column("dag_run_id", sa.Text, nullable=False),
    sa.Column("macroprocesso_slug", sa.Text, nullable=False),
    sa.Column("periodicidade", sa.String(10), nullable=False),
    sa.Column("periodicidade_final", sa.String(10), nullable=False),
    sa.Column("granularity", sa.String(10), nullable=False),
    sa.Column("data_produto", sa.Text),
    sa.Column("flags", sa.Text, nullable=False),
    sa.Column("token_exp", sa.BigInteger),
    # The conf holds the download URL with its bearer token: never returned by the API.
    sa.Column("conf", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False, index=True),
    sa.Column("last_error", sa.Text),
    sa.Column("duplicates", sa.Integer, nullable=False, default=0),
    sa.Column("raw_path", sa.Text),
    sa.Column("expected", sa.Boolean, nullable=False, default=True),
    sa.Column("dag_run_state", sa.String(20)),
    sa.Column("triggered_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("replays", sa.Integer, nullable=False, default=0),
    # JSON {dataset: {"missing": [...], "unexpected": [...]}} from the run's land task.
    sa.Column("schema_drift", sa.Text),
    # JSON {dataset: {column: count}}: values outside the catalog's plausible ranges (landed).
    sa.Column("implausible", sa.Text),
    # JSON LayoutMismatch.details when the file did not fit its catalogued layout.
    sa.Column("layout_mismatch", sa.Text),
)

#: Every 4xx the receiver answered, redacted, so a new ONS quirk is seen the day it appears.
refusals = sa.Table(
    "refusals",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration", sa.String(100), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(60), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("excerpt", sa.Text),
)

#: Monotonic event counters, shared by every process (gunicorn workers, the forwarder).
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

#: How many refusals the page keeps (the counters keep the totals).
REFUSALS_KEPT = 2000


@dataclass(frozen=True)
class LatencyHistogram:
    """Cumulative bucket counts (one per bound), the sum and the count of latencies."""

    buckets: tuple[int, ...]
    total: float
    count: int


class InboxRefused(ValueError):
    """The database refused the values themselves (not a transient failure): answer 4xx."""


class InboxUnavailable(RuntimeError):
    """The inbox could not commit (disk full, locked too long): the receiver answers 503."""


@dataclass(frozen=True)
class StoreResult:
    """What :meth:`Inbox.store` did."""

    id: str
    status: str
    duplicate: bool
