"""Which products are late: not seen by the end of their usual arrival window plus a margin.

A product is watched once it has been seen at least once, or when an integration lists it in
``expected_products``: a fresh install must not raise twenty alarms for products nobody
subscribed to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sintegre.catalog.products import Catalog, Product, expected_by, load_catalog
from sintegre.intake.notification import BRASILIA


@dataclass(frozen=True)
class Lateness:
    """One late product."""

    product_id: int
    product: str
    period: date
    expected_by: datetime
    last_seen_period: date | None

    def describe(self) -> str:
        """A line a person reads in an alert."""
        seen = self.last_seen_period.isoformat() if self.last_seen_period else "never"
        return (
            f"{self.product} (id {self.product_id}): period {self.period.isoformat()} expected "
            f"by {self.expected_by:%Y-%m-%d %H:%M} (Brasília), last period seen {seen}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (alerts, API)."""
        return {
            "product_id": self.product_id,
            "product": self.product,
            "period": self.period.isoformat(),
            "expected_by": self.expected_by.isoformat(),
            "last_seen_period": self.last_seen_period.isoformat()
            if self.last_seen_period
            else None,
        }


def _period_starts(product: Product, today: date) -> list[date]:
    """Candidate period starts around ``today``, newest first."""
    if product.granularity == "weekly":
        # ONS operative weeks start on Saturday; weekly products come before their week.
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return [saturday - timedelta(weeks=k) for k in range(-1, 4)]
    if product.granularity == "monthly":
        first = today.replace(day=1)
        starts = []
        for k in range(-1, 3):
            month = first.month - k
            year = first.year + (month - 1) // 12
            starts.append(date(year, (month - 1) % 12 + 1, 1))
        return starts
    # Products labelled ahead of their arrival (PDP: target day D+2) are due before their day.
    return [today + timedelta(days=3 - k) for k in range(0, 9)]


def due_period(product: Product, now: datetime) -> tuple[date, datetime] | None:
    """The newest period whose notification should have arrived by ``now``."""
    for start in _period_starts(product, now.astimezone(BRASILIA).date()):
        deadline = expected_by(product, start)
        if deadline <= now:
            return start, deadline
    return None


def late_products(
    seen: dict[int, date],
    *,
    watched: set[int],
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> list[Lateness]:
    """Every watched product whose due period has not arrived.

    Args:
        seen: Product id → the newest period start received for it.
        watched: Product ids to check.
        now: The moment to judge at (aware); now when omitted.
        catalog: The product catalog (the package's own when omitted).
    """
    catalog = catalog or load_catalog()
    current = now or datetime.now(tz=BRASILIA)
    late = []
    for product in catalog.products:
        if product.id not in watched:
            continue
        due = due_period(product, current)
        if due is None:
            continue
        period, deadline = due
        last = seen.get(product.id)
        if last is None or last < period:
            late.append(Lateness(product.id, product.name, period, deadline, last))
    return late


def seen_periods(rows: list[dict[str, Any]], catalog: Catalog | None = None) -> dict[int, date]:
    """Product id → newest period start among inbox rows (matched by id, else by name)."""
    catalog = catalog or load_catalog()
    newest: dict[int, date] = {}
    for row in rows:
        product = catalog.lookup(row.get("product_id"), row.get("product") or "")
        if product is None:
            continue
        period = date.fromisoformat(row["periodicidade"])
        if product.id not in newest or newest[product.id] < period:
            newest[product.id] = period
    return newest


def check_inbox(
    inbox: Any, *, expected_ids: set[int], now: datetime | None = None
) -> list[Lateness]:
    """Lateness judged from an inbox: watched = seen at least once, or expected."""
    catalog = load_catalog()
    seen = seen_periods(inbox.latest_periods(), catalog)
    return late_products(seen, watched=set(seen) | expected_ids, now=now, catalog=catalog)


def parse_now(value: str | None) -> datetime | None:
    """An ISO instant (naive = Brasília) for judging at another moment, as tests and replays do."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=BRASILIA) if parsed.tzinfo is None else parsed


__all__ = ["Lateness", "check_inbox", "due_period", "late_products", "parse_now", "seen_periods"]
