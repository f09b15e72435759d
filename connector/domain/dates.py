"""Calendar days as the rules see them: every day is a day in Europe/Paris."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from connector.domain.errors import RuleViolation

PARIS = ZoneInfo("Europe/Paris")

_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)


# The days a record may name: an open end is no value at all, never a far-future sentinel
# such as 9999-12-31 (the day after it cannot even be counted).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _format_error(field: str, rule: str) -> RuleViolation:
    return RuleViolation(
        rule, field,
        f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, between "
        f"{FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}; leave it out for no date.",
        f"{field} doit être une date (AAAA-MM-JJ) ou une date-heure ISO 8601, entre le "
        f"{FIRST_DAY:%d/%m/%Y} et le {LAST_DAY:%d/%m/%Y} ; omettez-la s'il n'y a pas de date.",
    )


def _bounded(day: date, field: str, rule: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _format_error(field, rule)
    return day


def _paris_day(moment: datetime) -> date:
    """Reduce a date-time to its Paris calendar day; a naive one is Paris local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.date()
    return moment.astimezone(PARIS).date()


def _parse_date_time(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz: tzinfo | None = None
    if zone == "Z":
        tz = UTC
    elif zone is not None:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("offset out of range")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(int(year), int(month), int(day), int(hour), int(minute),
                    int(second or 0), micro, tzinfo=tz)


def parse_day(value: object, field: str, rule: str = "format") -> date | None:
    """Read a day (YYYY-MM-DD or ISO 8601 date-time, reduced to its Paris day); None if empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _bounded(_paris_day(value), field, rule)
    if isinstance(value, date):
        return _bounded(value, field, rule)
    if not isinstance(value, str):
        raise _format_error(field, rule)
    try:
        if match := _DAY.fullmatch(value):
            return _bounded(date(*(int(part) for part in match.groups())), field, rule)
        if match := _DATE_TIME.fullmatch(value):
            return _bounded(_paris_day(_parse_date_time(match)), field, rule)
    except (ValueError, OverflowError) as exc:
        raise _format_error(field, rule) from exc
    raise _format_error(field, rule)


def today_in_paris(now: datetime | None = None) -> date:
    """Return the current calendar day in Europe/Paris (the clock's only reader)."""
    if now is None:
        return datetime.now(PARIS).date()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("today_in_paris needs a timezone-aware datetime")
    return now.astimezone(PARIS).date()


def add_months(d: date, n: int) -> date:
    """Shift a day by n calendar months, clamped to the end of a shorter month."""
    index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def day_start(d: date) -> datetime:
    """Return the aware instant at which a Paris calendar day begins."""
    return datetime.combine(d, time.min, tzinfo=PARIS)
