"""Lateness judged from arrival windows; expected values worked out by hand from products.yaml."""

from __future__ import annotations

from datetime import date, datetime

from sintegre.catalog.freshness import late_products, parse_now, seen_periods
from sintegre.intake.notification import BRASILIA

ACOMPH = 230  # daily, window 11:15–11:50 Brasília + margin (see products.yaml)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BRASILIA)


def test_daily_product_not_seen_today_after_its_window_is_late():
    late = late_products({ACOMPH: date(2025, 4, 28)}, watched={ACOMPH}, now=at("2025-04-30T20:00"))
    assert [(x.product_id, x.period, x.last_seen_period) for x in late] == [
        (ACOMPH, date(2025, 4, 30), date(2025, 4, 28))
    ]
    assert "Acomph" in late[0].describe() and "2025-04-30" in late[0].describe()


def test_before_the_window_ends_yesterday_is_what_is_due():
    # At 08:00 on the 30th, today's Acomph is not due yet: the 29th is, and it came.
    assert (
        late_products({ACOMPH: date(2025, 4, 29)}, watched={ACOMPH}, now=at("2025-04-30T08:00"))
        == []
    )
    late = late_products({ACOMPH: date(2025, 4, 28)}, watched={ACOMPH}, now=at("2025-04-30T08:00"))
    assert [x.period for x in late] == [date(2025, 4, 29)]


def test_unwatched_products_never_alarm():
    assert late_products({}, watched=set(), now=at("2025-04-30T20:00")) == []


def test_never_seen_but_expected_is_late():
    late = late_products({}, watched={ACOMPH}, now=at("2025-04-30T20:00"))
    assert late[0].last_seen_period is None and "never" in late[0].describe()


def test_seen_periods_match_by_id_then_by_name():
    rows = [
        {"product_id": None, "product": "ACOMPH", "periodicidade": "2025-04-27"},
        {"product_id": 230, "product": "x", "periodicidade": "2025-04-28"},
        {"product_id": None, "product": "Produto desconhecido", "periodicidade": "2025-04-29"},
    ]
    assert seen_periods(rows) == {ACOMPH: date(2025, 4, 28)}


def test_parse_now_naive_is_brasilia():
    assert parse_now("2025-04-30T20:00:00").utcoffset().total_seconds() == -3 * 3600
    assert parse_now(None) is None
