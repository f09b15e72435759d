"""The pure parts of the expiry job (day window, reports, stale locks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from connector.keycloak.jobstate import LockInfo
from connector.service.lifecycle import (
    EXIT_FAILED,
    LOOKBACK_DAYS,
    Report,
    days_to_scan,
    render_text,
)

D = date(2031, 3, 11)


def test_days_after_the_marker_up_to_as_of_inclusive():
    assert days_to_scan(D - timedelta(days=3), D) == [D - timedelta(days=2),
                                                       D - timedelta(days=1), D]


def test_same_day_again_scans_nothing():
    assert days_to_scan(D, D) == []


def test_as_of_before_the_marker_scans_nothing():
    assert days_to_scan(D, D - timedelta(days=5)) == []


def test_first_run_looks_back_a_bounded_window():
    days = days_to_scan(None, D)
    assert len(days) == LOOKBACK_DAYS + 1
    assert days[0] == D - timedelta(days=LOOKBACK_DAYS) and days[-1] == D


def test_report_counts_per_etude_and_fails_on_any_error():
    report = Report("expire", D, False, extra={"days": 1, "firstDay": "x", "lastDay": "y"})
    report.users += [{"etude": "E1", "outcome": "expired", "userName": "a"},
                     {"etude": "E1", "outcome": "expired", "userName": "b"},
                     {"etude": "E2", "outcome": "failed", "error": "boom", "userName": "c"}]
    assert report.counts() == {"E1": {"expired": 2}, "E2": {"failed": 1}}
    assert report.exit_code == EXIT_FAILED
    text = "\n".join(render_text(report))
    assert "étude E1: 2 expired" in text and "2 user(s) expired, 1 failed" in text
    assert report.to_json()["perEtude"]["E2"] == {"failed": 1}


def test_lock_is_stale_only_past_its_ttl():
    now = datetime(2031, 3, 11, 2, 0, tzinfo=UTC)
    fresh = LockInfo("g", "o", now - timedelta(hours=3), now - timedelta(minutes=5))
    dead = LockInfo("g", "o", now - timedelta(hours=3), now - timedelta(hours=2, minutes=1))
    assert not fresh.stale(now) and dead.stale(now)
    assert LockInfo("g", "o", None, None).stale(now)
