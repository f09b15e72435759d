"""Days as the rules see them: Europe/Paris calendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connector.domain.dates import PARIS, add_months, day_start, parse_day, today_in_paris
from connector.domain.errors import RuleViolation


@pytest.mark.parametrize("value", [None, ""])
def test_empty_is_none(value: object) -> None:
    assert parse_day(value, "kbisDate") is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-31", date(2026, 3, 31)),
    ("2024-02-29", date(2024, 2, 29)),
    # winter (UTC+1): 23:30Z is 00:30 the next day in Paris
    ("2026-01-15T23:30:00Z", date(2026, 1, 16)),
    ("2026-01-15T22:59:59Z", date(2026, 1, 15)),
    ("2026-01-15T23:00:00Z", date(2026, 1, 16)),
    # summer (UTC+2): 22:00Z is already midnight in Paris
    ("2026-03-31T23:30:00Z", date(2026, 4, 1)),
    ("2026-07-14T21:59:59Z", date(2026, 7, 14)),
    ("2026-07-14T22:00:00Z", date(2026, 7, 15)),
    # the night the clocks go forward (29 March 2026, 01:00Z) and back (25 October, 01:00Z)
    ("2026-03-28T23:00:00Z", date(2026, 3, 29)),
    ("2026-03-28T22:59:59Z", date(2026, 3, 28)),
    ("2026-10-24T22:00:00Z", date(2026, 10, 25)),
    ("2026-10-24T21:59:59Z", date(2026, 10, 24)),
    ("2026-10-25T22:59:59Z", date(2026, 10, 25)),
    ("2026-10-25T23:00:00Z", date(2026, 10, 26)),
    # offsets
    ("2026-03-31T20:00:00-05:00", date(2026, 4, 1)),
    ("2026-04-01T01:00:00+02:00", date(2026, 4, 1)),
    ("2026-04-01T06:00:00+09:00", date(2026, 3, 31)),
    ("2026-04-01T00:00:00+00:00", date(2026, 4, 1)),
    # fractions, minutes only
    ("2026-03-31T23:30:00.123456789Z", date(2026, 4, 1)),
    ("2026-03-31T23:30Z", date(2026, 4, 1)),
    # naive: Paris local time
    ("2026-03-31T23:30:00", date(2026, 3, 31)),
    ("2026-03-29T02:30:00", date(2026, 3, 29)),  # inside the spring-forward gap
    ("2026-04-01T00:00:00", date(2026, 4, 1)),
])
def test_parse_day(value: str, expected: date) -> None:
    assert parse_day(value, "kbisDate") == expected


def test_date_and_datetime_objects() -> None:
    assert parse_day(date(2026, 1, 2), "kbisDate") == date(2026, 1, 2)
    assert parse_day(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "x") == date(2026, 4, 1)
    assert parse_day(datetime(2026, 3, 31, 23, 30), "x") == date(2026, 3, 31)


@pytest.mark.parametrize("value", [
    "2026-02-30", "2026-13-01", "0000-01-01", "26-03-31", "2026-3-31", "31/03/2026",
    "20260331", "2026-W13-2", " 2026-03-31", "2026-03-31 ", "2026-03-31T25:00:00Z",
    "2026-03-31T23:59:60Z", "2026-03-31T23:30:00+24:00", "2026-03-31T23:30:00+0200",
    "2026-03-31 23:30:00", "2026-03-31T", "now", "   ", "２０２６-03-31",
    "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00",
    20260331, 1.5, True, ["2026-03-31"], {"d": 1},
])
def test_bad_values_raise_format(value: object) -> None:
    with pytest.raises(RuleViolation) as err:
        parse_day(value, "contractEndDate")
    assert err.value.rule == "format"
    assert err.value.field == "contractEndDate"
    assert "YYYY-MM-DD" in err.value.detail_en
    assert "AAAA-MM-JJ" in err.value.detail_fr


def test_caller_chooses_the_rule() -> None:
    with pytest.raises(RuleViolation) as err:
        parse_day("soon", "kbisDate", rule="R4")
    assert err.value.rule == "R4"


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 3, 31, 21, 59, tzinfo=UTC), date(2026, 3, 31)),
    (datetime(2026, 3, 31, 22, 0, tzinfo=UTC), date(2026, 4, 1)),
    (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), date(2026, 12, 31)),
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
    (datetime(2026, 6, 1, 0, 30, tzinfo=PARIS), date(2026, 6, 1)),
    (datetime(2026, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=5))), date(2026, 5, 31)),
])
def test_today_in_paris(now: datetime, expected: date) -> None:
    assert today_in_paris(now) == expected


def test_today_in_paris_reads_the_clock_and_refuses_naive() -> None:
    assert isinstance(today_in_paris(), date)
    with pytest.raises(ValueError):
        today_in_paris(datetime(2026, 1, 1, 12, 0))


@pytest.mark.parametrize(("d", "n", "expected"), [
    (date(2026, 5, 31), -3, date(2026, 2, 28)),
    (date(2024, 5, 31), -3, date(2024, 2, 29)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 15), -3, date(2025, 10, 15)),
    (date(2026, 12, 31), 1, date(2027, 1, 31)),
    (date(2026, 2, 28), 12, date(2027, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2026, 7, 31), -24, date(2024, 7, 31)),
    (date(2026, 7, 10), 0, date(2026, 7, 10)),
])
def test_add_months(d: date, n: int, expected: date) -> None:
    assert add_months(d, n) == expected


def test_day_start_is_paris_midnight() -> None:
    start = day_start(date(2026, 7, 14))
    assert start.astimezone(UTC) == datetime(2026, 7, 13, 22, 0, tzinfo=UTC)
    assert day_start(date(2026, 1, 14)).astimezone(UTC) == datetime(2026, 1, 13, 23, 0,
                                                                     tzinfo=UTC)
