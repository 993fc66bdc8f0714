"""Prometheus metrics computed from the inbox at scrape time.

Every gunicorn worker and the forwarder write to the same inbox, so numbers read from it are
right whichever worker answers the scrape, and survive restarts (no per-process registry to
merge, no multiprocess directory to clean).
"""

from __future__ import annotations

import time

from sintegre.intake.inbox import STATUSES, Inbox

#: Trigger latency buckets, seconds: from "Airflow took it at once" to "after an outage".
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400)

_EVENTS = {
    "accepted": "Notifications stored (answered 200 received).",
    "duplicate": "Byte-identical repeats (answered 200 duplicate).",
    "triggered": "DAG runs created in Airflow (409 included).",
    "succeeded": "Runs that ended in success with new content.",
    "unchanged": "Runs that ended in success with content already landed.",
    "failed": "Runs or triggers that failed.",
    "layout_mismatch": "Runs whose file did not fit its catalogued layout (nothing landed).",
    "internal_error": "Notifications answered 503 after an unexpected error (SINtegre resends).",
    "expired": "Notifications whose file could not be fetched before the token died.",
    "rescued": "Files fetched by the forwarder before their token died.",
    "replayed": "Replays requested by operators.",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(inbox: Inbox, *, now: float | None = None) -> str:
    """The Prometheus text exposition (version 0.0.4) of the receiver's metrics."""
    current = time.time() if now is None else now
    totals = inbox.counter_values()
    lines: list[str] = []
    for event, help_text in _EVENTS.items():
        name = f"sintegre_notifications_{event}_total"
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines.append(f"{name} {totals.get(event, 0)}")
    name = "sintegre_notifications_rejected_total"
    lines += [f"# HELP {name} Requests answered 4xx, by reason.", f"# TYPE {name} counter"]
    rejected = {k.split(":", 1)[1]: v for k, v in totals.items() if k.startswith("rejected:")}
    for reason, value in sorted(rejected.items()):
        lines.append(f'{name}{{reason="{_escape(reason)}"}} {value}')

    name = "sintegre_notifications"
    counts = inbox.status_counts()
    lines += [f"# HELP {name} Notifications in each state now.", f"# TYPE {name} gauge"]
    for status in STATUSES:
        if status != "duplicate":
            lines.append(f'{name}{{status="{status}"}} {counts.get(status, 0)}')

    name = "sintegre_inbox_backlog"
    lines += [
        f"# HELP {name} Notifications waiting to be triggered.",
        f"# TYPE {name} gauge",
        f"{name} {counts.get('received', 0)}",
    ]
    oldest = inbox.oldest_pending_received_at()
    name = "sintegre_inbox_oldest_pending_age_seconds"
    lines += [
        f"# HELP {name} Age of the oldest notification waiting to be triggered (0 if none).",
        f"# TYPE {name} gauge",
        f"{name} {max(0.0, current - oldest) if oldest else 0:.3f}",
    ]

    # One aggregate query (bucket counts, sum, count): a scrape costs the same with a year of
    # notifications as with a day's.
    histogram = inbox.trigger_latency_histogram(LATENCY_BUCKETS)
    name = "sintegre_trigger_latency_seconds"
    lines += [
        f"# HELP {name} From arrival in the inbox to the DAG run's creation.",
        f"# TYPE {name} histogram",
    ]
    for bound, count in zip(LATENCY_BUCKETS, histogram.buckets, strict=True):
        lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {histogram.count}')
    lines.append(f"{name}_sum {histogram.total:.6f}")
    lines.append(f"{name}_count {histogram.count}")
    return "\n".join(lines) + "\n"
