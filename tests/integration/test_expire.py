"""`connector expire` against the real Keycloak, with fixed --as-of dates.

The realm is shared with the other test files: every test parks the job marker just before
its own days (far in the future, so nobody else's users are on them), looks only at its own
users, and the `job` fixture puts marker and lock back as they were.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner

from connector.cli import cli
from connector.keycloak.jobstate import JobState, LockHeld
from connector.service.lifecycle import EXIT_FAILED, EXIT_LOCKED, Lifecycle
from tests.integration.conftest import E, granted_user, kc_groups, kc_user, unique

FAR = date(2099, 1, 1)  # the service's clock in these tests: the marker is never capped


@pytest.fixture
def job(kc):
    state = JobState(kc)
    before = state.last_completed()
    info = state.lock_info()
    if info:
        state.release(info.owner)
    yield state
    state.set_last_completed(before)
    info = state.lock_info()
    if info:
        state.release(info.owner)


@pytest.fixture
def life(app, job):
    return Lifecycle(app.extensions["users"], job, clock=lambda: FAR)


def cdd(client, end: date, **ext):
    body = granted_user(unique("exp"), contractType="CDD", contractEndDate=end.isoformat(),
                        **ext)
    r = client.post("/Users", json=body)
    assert r.status_code == 201, r.json
    assert r.json[E]["accessStatus"] == "granted"
    return r.json


def mine(report, *users):
    ids = {u["id"] for u in users}
    return {u["id"]: u for u in report.users if u["id"] in ids}


def run_cli(settings, *args):
    return CliRunner().invoke(cli, ["expire", *args],
                              env={"CONNECTOR_REALM": settings.realm})


def login(settings, user_name: str) -> None:
    """Open a real session for the user (admin-cli allows the password grant)."""
    r = requests.post(f"{settings.keycloak_url}/realms/{settings.realm}/protocol/"
                      "openid-connect/token", timeout=10,
                      data={"grant_type": "password", "client_id": "admin-cli",
                            "username": user_name, "password": "Secret12"})
    assert r.status_code == 200, r.text


def sessions(kc, user_id: str) -> list:
    return list(kc.get(kc.path("/users/{u}/sessions", u=user_id)))


def test_cdd_past_its_end_is_revoked_and_a_later_one_untouched(e2, kc, life, job, settings,
                                                                 caplog):
    end = date(2031, 3, 10)
    user = cdd(e2, end)
    later = cdd(e2, end + timedelta(days=1))
    login(settings, user["userName"])
    assert sessions(kc, user["id"])
    job.set_last_completed(end)
    caplog.set_level(logging.INFO, logger="connector.audit")

    report = life.expire(end + timedelta(days=1))

    assert mine(report, user, later)[user["id"]]["outcome"] == "expired"
    assert later["id"] not in mine(report, later)
    rep = kc_user(kc, user["id"])
    assert rep["enabled"] is False
    assert rep["attributes"]["accessStatus"] == ["expired"]
    assert kc_groups(kc, user["id"]) == {"/etudes/E2"}
    assert sessions(kc, user["id"]) == []
    assert kc_user(kc, later["id"])["enabled"] is True
    assert "/mars/comptable" in kc_groups(kc, later["id"])
    lines = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == "connector.audit" and user["id"] in r.getMessage()
             and "user.expire" in r.getMessage()]
    assert [(a["action"], a["who"], a["status"]) for a in lines] == [
        ("user.expire", "job:expire", "expired")]
    assert lines[0]["left"] == ["/mars/comptable"]
    assert job.last_completed() == end + timedelta(days=1)
    assert job.lock_info() is None  # released


def test_departure_date_passed_is_revoked(e2, kc, life, job):
    left = date(2031, 4, 5)
    r = e2.post("/Users", json=granted_user(unique("dep"), departureDate=left.isoformat()))
    assert r.status_code == 201 and r.json[E]["accessStatus"] == "granted"
    uid = r.json["id"]
    job.set_last_completed(left)
    report = life.expire(left + timedelta(days=1))
    assert mine(report, r.json)[uid]["status"] == ["granted", "expired"]
    assert kc_user(kc, uid)["enabled"] is False
    assert kc_groups(kc, uid) == {"/etudes/E2"}


def test_dry_run_lists_the_same_users_and_changes_nothing(e2, kc, life, job):
    end = date(2031, 5, 2)
    user = cdd(e2, end)
    job.set_last_completed(end)
    report = life.expire(end + timedelta(days=1), dry_run=True)
    assert mine(report, user)[user["id"]]["outcome"] == "would expire"
    assert kc_user(kc, user["id"])["enabled"] is True
    assert kc_user(kc, user["id"])["attributes"]["accessStatus"] == ["granted"]
    assert job.last_completed() == end  # the marker does not move
    assert life.expire(end + timedelta(days=1)).users  # the real run still finds him


def test_second_run_the_same_day_changes_nothing(e2, kc, life, job):
    end = date(2031, 6, 1)
    user = cdd(e2, end)
    job.set_last_completed(end)
    first = life.expire(end + timedelta(days=1))
    assert mine(first, user)[user["id"]]["outcome"] == "expired"
    calls = kc.calls
    second = life.expire(end + timedelta(days=1))
    assert second.users == [] and second.extra["days"] == 0
    assert kc.calls - calls < 12  # lock, marker, sweep, release: no user read or written
    # Even when the marker is lost, the same day again finds him already expired.
    job.set_last_completed(end)
    again = life.expire(end + timedelta(days=1))
    assert mine(again, user)[user["id"]]["outcome"] == "unchanged"


def test_catch_up_after_missed_nights(e2, kc, life, job):
    day = date(2031, 7, 20)
    users = [cdd(e2, day - timedelta(days=k + 1)) for k in (2, 1, 0)]  # ends D-2, D-1, D
    job.set_last_completed(day - timedelta(days=3))
    report = life.expire(day)
    assert report.extra["days"] == 3
    found = mine(report, *users)
    assert sorted(found[u["id"]]["accessEndsOn"] for u in users) == [
        (day - timedelta(days=k)).isoformat() for k in (2, 1, 0)]
    assert all(kc_user(kc, u["id"])["enabled"] is False for u in users)
    assert job.last_completed() == day


def test_a_run_killed_half_way_is_completed_by_the_next(e2, kc, life, job):
    day = date(2031, 8, 20)
    done = cdd(e2, day - timedelta(days=2))      # index D-1: the killed run handled him
    pending = cdd(e2, day - timedelta(days=1))   # index D: it died before
    job.set_last_completed(day - timedelta(days=2))
    life.users.converge(done["id"], "job:expire", day, action="user.expire")
    job.plant("dead-host:1:cafe", datetime.now(UTC) - timedelta(hours=3))

    report = life.expire(day)

    assert report.extra["tookOverStaleLock"]["owner"] == "dead-host:1:cafe"
    found = mine(report, done, pending)
    assert found[done["id"]]["outcome"] == "unchanged"
    assert found[pending["id"]]["outcome"] == "expired"
    assert kc_user(kc, pending["id"])["enabled"] is False
    assert job.last_completed() == day and job.lock_info() is None


def test_a_concurrent_run_is_refused_with_its_own_exit_code(e2, kc, life, job, settings):
    end = date(2031, 9, 10)
    user = cdd(e2, end)
    job.set_last_completed(end)
    job.plant("other-host:7:beef", datetime.now(UTC) - timedelta(minutes=5))

    with pytest.raises(LockHeld):
        life.expire(end + timedelta(days=1))
    result = run_cli(settings, "--as-of", (end + timedelta(days=1)).isoformat())

    assert result.exit_code == EXIT_LOCKED, result.output
    assert "another run holds the lock" in result.output
    assert "other-host:7:beef" in result.output
    assert kc_user(kc, user["id"])["enabled"] is True
    assert job.lock_info().owner == "other-host:7:beef"  # the holder keeps it
    assert job.last_completed() == end


def test_cli_json_summary_per_etude_and_exit_zero(e1, e2, kc, job, settings):
    end = date(2031, 10, 3)
    one, two = cdd(e1, end), cdd(e2, end)
    job.set_last_completed(end)
    result = run_cli(settings, "--as-of", (end + timedelta(days=1)).isoformat(), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["perEtude"]["E1"]["expired"] >= 1 and body["perEtude"]["E2"]["expired"] >= 1
    assert {u["id"] for u in body["users"]} >= {one["id"], two["id"]}
    assert body["failed"] == 0 and body["dryRun"] is False
    assert kc_user(kc, one["id"])["enabled"] is False


def test_upcoming_lists_ends_within_the_window_and_changes_nothing(e2, kc, job, settings):
    as_of = date(2031, 11, 1)
    soon = cdd(e2, as_of + timedelta(days=4))
    late = cdd(e2, as_of + timedelta(days=20))
    result = run_cli(settings, "--as-of", as_of.isoformat(), "--upcoming", "10", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    listed = {u["id"]: u for u in body["users"]}
    assert soon["id"] in listed and late["id"] not in listed
    assert listed[soon["id"]]["lastDay"] == (as_of + timedelta(days=4)).isoformat()
    assert listed[soon["id"]]["because"] == ["contractEndDate"]
    assert kc_user(kc, soon["id"])["enabled"] is True
    text = run_cli(settings, "--as-of", as_of.isoformat(), "--upcoming", "10")
    assert f"E2\t{soon['userName']}\tending" in text.output
    assert "étude E2:" in text.output


def test_a_failing_user_gives_a_non_zero_exit_and_keeps_the_marker(e2, kc, life, job, settings):
    end = date(2031, 12, 5)
    broken, fine = cdd(e2, end), cdd(e2, end)
    rep = kc_user(kc, broken["id"])
    rep["attributes"]["contractEndDate"] = ["the fifth"]  # a hand edit Keycloak accepts
    kc.request("PUT", kc.path("/users/{u}", u=broken["id"]), body=rep)
    job.set_last_completed(end)
    try:
        report = life.expire(end + timedelta(days=1))
        found = mine(report, broken, fine)
        assert found[broken["id"]]["outcome"] == "failed"
        assert found[fine["id"]]["outcome"] == "expired"  # the others are still revoked
        assert report.exit_code == EXIT_FAILED
        assert job.last_completed() == end  # the day is scanned again next time
        result = run_cli(settings, "--as-of", (end + timedelta(days=1)).isoformat())
        assert result.exit_code == EXIT_FAILED, result.output
        assert "1 failed" in result.output
    finally:
        kc.request("DELETE", kc.path("/users/{u}", u=broken["id"]))


def test_a_run_whose_lock_was_taken_over_stops(job):
    job.plant("me:1:aaaa", datetime.now(UTC))
    job.heartbeat("me:1:aaaa")
    job.plant("peer:2:bbbb", datetime.now(UTC))  # a peer judged us dead and took over
    with pytest.raises(LockHeld):
        job.heartbeat("me:1:aaaa")
    assert not job.release("me:1:aaaa")
    assert job.lock_info().owner == "peer:2:bbbb"


def test_a_run_sweeps_the_released_lock_groups(e2, life, job, app):
    """Each group lock released during the day leaves a tombstone; the night deletes them."""
    locks = app.extensions["services"].locks
    for _ in range(2):
        with locks.hold(f"test:{unique()}"):
            pass
    locks.settle()
    report = life.expire(date(2031, 6, 2))
    assert report.extra["releasedLocksSwept"] >= 2
    children = locks.gw.get(locks.gw.path("/groups/{g}/children", g=locks.root()), first=0,
                            max=1000, briefRepresentation="true")
    assert not [g for g in children if g["name"].startswith("released.")]
    dry = life.expire(date(2031, 6, 2), dry_run=True)
    assert "releasedLocksSwept" not in dry.extra
