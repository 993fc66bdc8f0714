"""Period dates: naive Brasília time (UTC values converted), granularity, dataProduto's shape."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sintegre.intake.notification.errors import NotificationError

#: Every period date is taken in Brasília time (ONS's naive times; relays' UTC converted).
BRASILIA = ZoneInfo("America/Sao_Paulo")

if TYPE_CHECKING:
    from sintegre.core.runconf import Granularity


_DAILY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_WEEKLY = re.compile(r"^\d{2}/\d{2}/\d{4}\s*-\s*\d{2}/\d{2}/\d{4}$")
_MONTHLY = re.compile(r"^\d{2}/\d{4}$")


def parse_local_datetime(value: str, field_name: str) -> datetime:
    """Parse an ISO date-time; naive means Brasília time, aware is converted to it.

    Raises:
        NotificationError: 422 naming the field when the value is not an ISO date-time.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise NotificationError(
            f"field '{field_name}' is not an ISO date-time (YYYY-MM-DDTHH:MM:SS): {text[:40]!r}",
            field=field_name,
        ) from None
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=BRASILIA)
        return parsed.astimezone(BRASILIA)
    except OverflowError:
        raise NotificationError(
            f"field '{field_name}' is outside the calendar once converted to Brasília time",
            field=field_name,
        ) from None


def granularity_of(start: date, end: date) -> Granularity:
    """Classify a period: ``daily``, ``weekly`` (Saturday–Friday), ``monthly`` or ``other``."""
    days = (end - start).days + 1
    if days == 1:
        return "daily"
    # ONS's "semana operativa" runs Saturday to Friday (date.weekday(): Saturday == 5).
    if days == 7 and start.weekday() == 5:
        return "weekly"
    last_day = calendar.monthrange(start.year, start.month)[1]
    if start.day == 1 and end == start.replace(day=last_day):
        return "monthly"
    return "other"


#: ``dd/mm/yyyy`` in ASCII digits (the only ones ``strptime``'s two-digit fields take).
_ASCII_DAY = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")


def _is_date(part: str, fmt: str) -> bool:
    """Whether ``part`` is a calendar date in ``fmt`` (``%d/%m/%Y`` or ``%m/%Y``).

    ``strptime`` costs ~10 µs a call and every notification has one or two: plain ASCII
    ``dd/mm/yyyy`` is checked through :class:`date` instead (the same verdict: a real day of
    a real month of years 1–9999); anything else keeps ``strptime``'s own reading.
    """
    if fmt == "%d/%m/%Y":
        match = _ASCII_DAY.fullmatch(part)
        if match is not None:
            day, month, year = (int(group) for group in match.groups())
            try:
                date(year, month, day)
            except ValueError:
                return False
            return True
    try:
        datetime.strptime(part, fmt)
    except ValueError:
        return False
    return True


def data_produto_shape(label: str) -> str | None:
    """Which of ONS's three ``dataProduto`` shapes a label has, or ``None``."""
    text = label.strip()
    if _DAILY.match(text) and _is_date(text, "%d/%m/%Y"):
        return "daily"
    if _WEEKLY.match(text):
        first, second = text.split("-", 1)
        if _is_date(first.strip(), "%d/%m/%Y") and _is_date(second.strip(), "%d/%m/%Y"):
            return "weekly"
    if _MONTHLY.match(text) and _is_date(text, "%m/%Y"):
        return "monthly"
    return None


#: How far ahead of today a notification's period may start or end. ONS publishes for the
#: coming days, weeks and months (NEWAVE looks five years ahead inside its files, never in the
#: period fields); a period in 2099 is a mistake, or an attempt to silence freshness for good.
MAX_PERIOD_AHEAD_DAYS = 2 * 366
#: How far back: resends of old products happen (a replay of last year's deck), year 1 does not.
MAX_PERIOD_BEHIND_DAYS = 10 * 366


def _check_period_near(moment: datetime, field_name: str, now: float) -> None:
    today = datetime.fromtimestamp(now, tz=UTC).date()
    days = (moment.date() - today).days
    if days > MAX_PERIOD_AHEAD_DAYS:
        raise NotificationError(
            f"field {field_name!r} is {moment.date().isoformat()}, more than two years ahead",
            field=field_name,
        )
    if -days > MAX_PERIOD_BEHIND_DAYS:
        raise NotificationError(
            f"field {field_name!r} is {moment.date().isoformat()}, more than ten years ago",
            field=field_name,
        )
