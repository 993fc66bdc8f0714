"""The inbox: every accepted notification, stored durably before the receiver answers.

SQLite (WAL, ``synchronous=FULL`` by default) for one machine; PostgreSQL through the same
code for several receiver replicas. The inbox is also the forwarder's whole state, so a
restarted forwarder carries on where the last one stopped.

Modules: ``schema`` (tables, statuses, result types), ``group_commit`` (SQLite's shared
transactions), ``store`` (:class:`Inbox`), ``views`` (the public view of a row).
"""

from sintegre.intake.inbox.schema import (
    OPEN_STATUSES,
    STATUSES,
    InboxRefused,
    InboxUnavailable,
    LatencyHistogram,
    StoreResult,
)
from sintegre.intake.inbox.store import Inbox
from sintegre.intake.inbox.views import public_view

__all__ = [
    "OPEN_STATUSES",
    "STATUSES",
    "Inbox",
    "InboxRefused",
    "InboxUnavailable",
    "LatencyHistogram",
    "StoreResult",
    "public_view",
]
