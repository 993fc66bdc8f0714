"""Prometheus metrics computed from the inbox at scrape time.

Every gunicorn worker and the forwarder write to the same inbox, so numbers read from it are
right whichever worker answers the scrape, and survive restarts (no per-process registry to
merge, no multiprocess directory to clean). :class:`InboxCollector` turns the inbox's SQL
aggregates into metric families at each ``collect()``; ``prometheus_client`` writes the text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sintegre.intake.inbox import STATUSES, Inbox

__all__ = ["CONTENT_TYPE_LATEST", "LATENCY_BUCKETS", "InboxCollector", "render_metrics"]

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


class InboxCollector(Collector):
    """The receiver's metric families, read from the inbox at each scrape.

    Args:
        inbox: The shared inbox.
        now: The clock for the oldest pending notification's age (tests pin it).
    """

    def __init__(self, inbox: Inbox, *, now: float | None = None) -> None:
        self._inbox = inbox
        self._now = now

    def collect(self) -> Iterator[Metric]:
        """Counters, state gauges, backlog age and the trigger latency histogram."""
        current = time.time() if self._now is None else self._now
        totals = self._inbox.counter_values()
        for event, help_text in _EVENTS.items():
            name = f"sintegre_notifications_{event}_total"
            yield CounterMetricFamily(name, help_text, value=totals.get(event, 0))
        rejected = CounterMetricFamily(
            "sintegre_notifications_rejected_total",
            "Requests answered 4xx, by reason.",
            labels=["reason"],
        )
        for key, value in sorted(totals.items()):
            if key.startswith("rejected:"):
                rejected.add_metric([key.split(":", 1)[1]], value)
        yield rejected

        counts = self._inbox.status_counts()
        states = GaugeMetricFamily(
            "sintegre_notifications", "Notifications in each state now.", labels=["status"]
        )
        for status in STATUSES:
            if status != "duplicate":
                states.add_metric([status], counts.get(status, 0))
        yield states
        yield GaugeMetricFamily(
            "sintegre_inbox_backlog",
            "Notifications waiting to be triggered.",
            value=counts.get("received", 0),
        )
        oldest = self._inbox.oldest_pending_received_at()
        yield GaugeMetricFamily(
            "sintegre_inbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be triggered (0 if none).",
            value=round(max(0.0, current - oldest), 3) if oldest else 0,
        )

        # One aggregate query (bucket counts, sum, count): a scrape costs the same with a year
        # of notifications as with a day's.
        histogram = self._inbox.trigger_latency_histogram(LATENCY_BUCKETS)
        buckets = [
            (str(bound), count)
            for bound, count in zip(LATENCY_BUCKETS, histogram.buckets, strict=True)
        ]
        yield HistogramMetricFamily(
            "sintegre_trigger_latency_seconds",
            "From arrival in the inbox to the DAG run's creation.",
            buckets=[*buckets, ("+Inf", histogram.count)],
            sum_value=histogram.total,
        )


def render_metrics(inbox: Inbox, *, now: float | None = None) -> str:
    """The Prometheus text exposition of the receiver's metrics (:data:`CONTENT_TYPE_LATEST`).

    A registry of its own per scrape, never the process-wide default one: nothing else
    (gunicorn, a library) can add metrics to the receiver's answer.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InboxCollector(inbox, now=now))
    return generate_latest(registry).decode("utf-8")
