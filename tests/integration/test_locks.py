"""Write locks in Keycloak: mutual exclusion across threads and replicas, stale takeover."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.keycloak.gateway import Gateway, connect
from connector.keycloak.layout import LOCK_PROVIDER
from connector.keycloak.locks import SKEW, TOMBSTONE, LockBusy, Locks
from tests.integration.conftest import unique
from tests.integration.held_locks import drop_locks, lock_group, plant_user_lock, user_lock


def _counter_group(gw: Gateway) -> str:
    return gw.created_id(gw.path("/groups"), {"name": unique("counter-"),
                                               "attributes": {"n": ["0"]}})


def _bump(gw: Gateway, group_id: str) -> None:
    """One read-change-write of a group attribute: loses updates unless serialised."""
    group = gw.get(gw.path("/groups/{g}", g=group_id))
    n = int(group["attributes"]["n"][0]) + 1
    gw.request("PUT", gw.path("/groups/{g}", g=group_id),
               body={"name": group["name"], "attributes": {"n": [str(n)]}})


def _hammer(replicas: list[Locks], key: str, bump: Callable[[], None], threads: int,
            rounds: int) -> list[BaseException]:
    """Threads spread over lock tables, each doing `rounds` read-change-writes under `key`."""
    errors: list[BaseException] = []

    def work(locks: Locks) -> None:
        try:
            for _ in range(rounds):
                with locks.hold(key):
                    bump()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(replicas[i % len(replicas)],))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def _hammer_group(replicas: list[Locks], gw: Gateway, group_id: str, threads: int,
                  rounds: int) -> list[BaseException]:
    return _hammer(replicas, f"test:{group_id}", lambda: _bump(gw, group_id), threads, rounds)


def test_two_replicas_never_lose_a_write(admin_gw: Gateway) -> None:
    """Two lock tables (two processes' worth) share one Keycloak lock: no lost update."""
    group_id = _counter_group(admin_gw)
    replicas = [Locks(admin_gw), Locks(admin_gw)]
    errors = _hammer_group(replicas, admin_gw, group_id, threads=6, rounds=5)
    assert errors == []
    assert admin_gw.get(admin_gw.path("/groups/{g}", g=group_id))["attributes"]["n"] == ["30"]


def test_without_the_lock_writes_are_lost(admin_gw: Gateway) -> None:
    """The same hammering without a lock loses updates: the test above can fail."""
    group_id = _counter_group(admin_gw)

    class NoLock(Locks):
        def hold(self, key: str) -> Any:  # type: ignore[override]
            from contextlib import nullcontext
            return nullcontext()

    _hammer_group([NoLock(admin_gw)], admin_gw, group_id, threads=6, rounds=5)
    final = int(admin_gw.get(admin_gw.path("/groups/{g}", g=group_id))["attributes"]["n"][0])
    assert final < 30


def test_a_dead_holders_lock_is_taken_over(admin_gw: Gateway) -> None:
    locks = Locks(admin_gw)
    key = f"test:{unique()}"
    admin_gw.created_id(admin_gw.path("/groups/{g}/children", g=locks.root()),
                        {"name": key, "attributes": {"owner": ["dead"],
                                                     "leaseEnds": ["2000-01-01T00:00:00.0Z"]}})
    with locks.hold(key):
        found = lock_group(admin_gw, key)
        assert found is not None and found["attributes"]["owner"] != ["dead"]
    assert lock_group(admin_gw, key) is None


def test_a_live_holder_makes_the_next_writer_wait_then_give_up(admin_gw: Gateway) -> None:
    holder, other = Locks(admin_gw), Locks(admin_gw, wait_seconds=0.5)
    key = f"test:{unique()}"
    with holder.hold(key), pytest.raises(LockBusy), other.hold(key):
        pass
    with other.hold(key):  # released: free again
        pass


def test_a_thread_may_take_a_key_it_holds(admin_gw: Gateway) -> None:
    locks = Locks(admin_gw, wait_seconds=0.5)
    key = f"test:{unique()}"
    with locks.hold(key) as outer, locks.hold(key) as inner:
        assert inner is outer
    assert lock_group(admin_gw, key) is None


@pytest.mark.parametrize("key", ["", "a/b", "x" * 201])
def test_bad_keys_are_refused(admin_gw: Gateway, key: str) -> None:
    with pytest.raises(ValueError), Locks(admin_gw).hold(key):
        pass


def _tombstones(gw: Gateway, locks: Locks) -> list[str]:
    children = gw.get(gw.path("/groups/{g}/children", g=locks.root()), first=0, max=1000,
                      briefRepresentation="true")
    return [g["id"] for g in children if g["name"].startswith(TOMBSTONE)]


def test_a_released_group_lock_is_renamed_not_deleted(admin_gw: Gateway) -> None:
    """A group's DELETE empties Keycloak's user cache for the realm: release renames it to a
    tombstone (by id), which `sweep` deletes later."""
    gw = _recording(admin_gw)
    locks = Locks(gw)
    locks.root()
    gw.seen.clear()
    key = f"test:{unique()}"
    with locks.hold(key):
        held = lock_group(admin_gw, key)
        assert held is not None
    assert [m for m, _ in gw.seen] == ["POST", "PUT"]
    assert lock_group(admin_gw, key) is None
    assert held["id"] in _tombstones(admin_gw, locks)


def test_sweep_deletes_tombstones_and_no_lock_held(admin_gw: Gateway) -> None:
    locks = Locks(admin_gw)
    for _ in range(3):
        with locks.hold(f"test:{unique()}"):
            pass
    held_key = f"test:{unique()}"
    with locks.hold(held_key):
        assert locks.sweep() >= 3
        assert _tombstones(admin_gw, locks) == []
        assert lock_group(admin_gw, held_key) is not None
    assert len(_tombstones(admin_gw, locks)) == 1  # its own, for the next sweep


class SlowRelease(Gateway):
    """The real gateway, whose lock releases take half a second; when each landed is noted."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.released: list[float] = []

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        if method != "PUT" or "/groups/" not in path:
            return super().send(method, path, **kwargs)
        time.sleep(0.5)
        answer = super().send(method, path, **kwargs)
        self.released.append(time.monotonic())
        return answer


def test_a_background_release_keeps_the_key_until_it_lands(admin_gw: Gateway) -> None:
    """The writer goes on at once; the next writer of the key enters only after the delete."""
    gw = SlowRelease(admin_gw.settings, connect(admin_gw.settings, as_admin=True),
                     admin_gw.realm)
    locks = Locks(gw, release_later=True)
    key = f"test:{unique()}"
    entered: list[float] = []
    with locks.hold(key):
        pass
    assert gw.released == []  # the writer did not wait for its release

    def follow() -> None:
        with locks.hold(key):
            entered.append(time.monotonic())

    follower = threading.Thread(target=follow)
    follower.start()
    follower.join()
    locks.settle()
    assert len(gw.released) == 2 and entered[0] >= gw.released[0]  # nobody overtook it
    assert lock_group(admin_gw, key) is None


# -- a user's lock: a link of that user to the lock provider -------------------------------------
def _plain_user(gw: Gateway) -> str:
    name = unique("lockee-")
    return gw.created_id(gw.path("/users"), {"username": name, "enabled": True,
                                              "email": f"{name}@example.fr", "firstName": "A",
                                              "lastName": "B", "attributes": {"n": ["0"]}})


def _bump_user(gw: Gateway, user_id: str) -> None:
    """One read-change-write of a user attribute: loses updates unless serialised."""
    user = gw.get(gw.path("/users/{u}", u=user_id))
    user["attributes"]["n"] = [str(int(user["attributes"]["n"][0]) + 1)]
    gw.request("PUT", gw.path("/users/{u}", u=user_id),
               body={k: v for k, v in user.items() if k != "federatedIdentities"})


def _hammer_user(replicas: list[Locks], gw: Gateway, user_id: str, threads: int,
                 rounds: int) -> list[BaseException]:
    return _hammer(replicas, f"user:{user_id}", lambda: _bump_user(gw, user_id), threads,
                   rounds)


class Recording(Gateway):
    """The real gateway, noting each call's method and path."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: list[tuple[str, str]] = []

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        self.seen.append((method, path))
        return super().send(method, path, **kwargs)


def _recording(admin_gw: Gateway) -> Recording:
    return Recording(admin_gw.settings, connect(admin_gw.settings, as_admin=True),
                     admin_gw.realm)


def test_two_replicas_never_lose_a_user_write(admin_gw: Gateway) -> None:
    """User keys lock by link: two lock tables, six threads, thirty exact increments."""
    user_id = _plain_user(admin_gw)
    errors = _hammer_user([Locks(admin_gw), Locks(admin_gw)], admin_gw, user_id, 6, 5)
    assert errors == []
    assert admin_gw.get(admin_gw.path("/users/{u}", u=user_id))["attributes"]["n"] == ["30"]
    assert user_lock(admin_gw, user_id) is None


def test_without_a_user_lock_writes_are_lost(admin_gw: Gateway) -> None:
    """The same hammering of a user without a lock loses updates: the test above can fail."""
    user_id = _plain_user(admin_gw)

    class NoLock(Locks):
        def hold(self, key: str) -> Any:  # type: ignore[override]
            from contextlib import nullcontext
            return nullcontext()

    _hammer_user([NoLock(admin_gw)], admin_gw, user_id, 6, 5)
    final = admin_gw.get(admin_gw.path("/users/{u}", u=user_id))["attributes"]["n"][0]
    assert int(final) < 30


def test_a_user_lock_is_his_link_and_deletes_no_group(admin_gw: Gateway) -> None:
    """Holding a user's lock links him to the lock provider and unlinks him: no group is
    created or deleted (a group's DELETE empties Keycloak's user cache for the realm)."""
    gw = _recording(admin_gw)
    user_id = _plain_user(admin_gw)
    with Locks(gw).hold(f"user:{user_id}"):
        link = user_lock(admin_gw, user_id)
        assert link is not None and link["userId"].startswith(Locks(gw).owner)
    path = f"/users/{user_id}/federated-identity/{LOCK_PROVIDER}"
    assert [(m, p.split(f"/realms/{gw.realm}")[-1]) for m, p in gw.seen] == [
        ("POST", path), ("DELETE", path)]
    assert user_lock(admin_gw, user_id) is None


def test_a_dead_holders_link_is_taken_over_after_its_lease_and_skew(
        admin_gw: Gateway) -> None:
    user_id = _plain_user(admin_gw)
    plant_user_lock(admin_gw, user_id, datetime.now(UTC) - SKEW - timedelta(seconds=1))
    with Locks(admin_gw, wait_seconds=5).hold(f"user:{user_id}"):
        link = user_lock(admin_gw, user_id)
        assert link is not None and link["userId"] != "a-replica-that-died:0"
    assert user_lock(admin_gw, user_id) is None


def test_a_link_whose_lease_ended_within_the_skew_is_not_taken_over(
        admin_gw: Gateway) -> None:
    """Replicas' clocks may disagree by SKEW: a lease just ended by this clock is left alone."""
    user_id = _plain_user(admin_gw)
    plant_user_lock(admin_gw, user_id, datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(LockBusy), Locks(admin_gw, wait_seconds=0.5).hold(f"user:{user_id}"):
        pass
    assert user_lock(admin_gw, user_id)["userId"] == "a-replica-that-died:0"  # type: ignore[index]


def test_many_writers_meeting_a_dead_holders_link_take_it_over_once(admin_gw: Gateway) -> None:
    """Several threads of two replicas find the same stale link: one deletes it (under the
    takeover lock, checking it is still that link), and no write is lost."""
    user_id = _plain_user(admin_gw)
    plant_user_lock(admin_gw, user_id, datetime.now(UTC) - SKEW - timedelta(seconds=1))
    errors = _hammer_user([Locks(admin_gw), Locks(admin_gw)], admin_gw, user_id, 6, 3)
    assert errors == []
    assert admin_gw.get(admin_gw.path("/users/{u}", u=user_id))["attributes"]["n"] == ["18"]
    assert user_lock(admin_gw, user_id) is None


def test_a_live_users_holder_makes_the_next_writer_wait_then_give_up(
        admin_gw: Gateway) -> None:
    user_id = _plain_user(admin_gw)
    holder, other = Locks(admin_gw), Locks(admin_gw, wait_seconds=0.5)
    with holder.hold(f"user:{user_id}"), pytest.raises(LockBusy), \
            other.hold(f"user:{user_id}"):
        pass
    with other.hold(f"user:{user_id}"):  # released: free again
        pass


def test_a_holder_past_its_lease_leaves_the_link_to_a_successor(admin_gw: Gateway) -> None:
    """After its lease a holder does not unlink: the link may be a successor's by then."""
    user_id = _plain_user(admin_gw)
    with Locks(admin_gw, lease_seconds=0.3).hold(f"user:{user_id}") as lease:
        time.sleep(0.4)
        assert not lease.running()
    assert user_lock(admin_gw, user_id) is not None
    drop_locks(admin_gw)
    assert user_lock(admin_gw, user_id) is None


def test_a_missing_users_lock_holds_nothing(admin_gw: Gateway) -> None:
    """No such user: nothing to hold (ids are never reused); the writer finds him missing."""
    gw = _recording(admin_gw)
    with Locks(gw).hold(f"user:{uuid.uuid4()}") as lease:
        assert list(lease.held.values())[0].user is None
    assert [m for m, _ in gw.seen] == ["POST"]


# -- a rolling upgrade: replicas that lock users by group, by link, or both ---------------------
class GroupOnly(Locks):
    """A replica of 0.2.0 or earlier: every key, users' included, is a lock group."""

    def _acquire(self, key: str, deadline: float, born: Any = None) -> Any:
        return self._acquire_group(key, deadline)


def test_replicas_locking_users_by_group_and_by_link_do_not_exclude_each_other(
        admin_gw: Gateway) -> None:
    """Why `both` exists: an old and a new replica side by side lose updates."""
    user_id = _plain_user(admin_gw)
    _hammer_user([GroupOnly(admin_gw), Locks(admin_gw)], admin_gw, user_id, 6, 10)
    final = admin_gw.get(admin_gw.path("/users/{u}", u=user_id))["attributes"]["n"][0]
    assert int(final) < 60


@pytest.mark.parametrize("other", [GroupOnly, Locks], ids=["by group", "by link"])
def test_both_excludes_replicas_of_either_kind(admin_gw: Gateway, other: type[Locks]) -> None:
    """`CONNECTOR_USER_LOCKS=both` beside an old replica, then beside a new one: no lost
    update, and neither its group nor its link is left behind."""
    user_id = _plain_user(admin_gw)
    both = Locks(admin_gw, user_groups_too=True)
    errors = _hammer_user([both, other(admin_gw)], admin_gw, user_id, 6, 5)
    assert errors == []
    assert admin_gw.get(admin_gw.path("/users/{u}", u=user_id))["attributes"]["n"] == ["30"]
    assert user_lock(admin_gw, user_id) is None
    assert lock_group(admin_gw, f"user:{user_id}") is None


def test_both_lets_go_of_its_group_when_the_link_is_busy(admin_gw: Gateway) -> None:
    user_id = _plain_user(admin_gw)
    with Locks(admin_gw).hold(f"user:{user_id}"), pytest.raises(LockBusy), \
            Locks(admin_gw, wait_seconds=0.5, user_groups_too=True).hold(f"user:{user_id}"):
        pass
    assert lock_group(admin_gw, f"user:{user_id}") is None


def test_without_the_lock_provider_a_dead_holder_is_named_in_the_log(
        admin_gw: Gateway, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A realm bootstrapped before this version: Keycloak still refuses a second link, but
    shows none, so a dead holder's link cannot be taken over; the log says what to run."""
    import connector.keycloak.lock_links as links_module

    monkeypatch.setattr(links_module, "LOCK_PROVIDER", "no-such-provider")
    user_id = _plain_user(admin_gw)
    admin_gw.request("POST", admin_gw.path("/users/{u}/federated-identity/{p}", u=user_id,
                                           p="no-such-provider"),
                     body={"userId": "dead", "userName": "2000-01-01T00:00:00.000000Z"})
    with pytest.raises(LockBusy), Locks(admin_gw, wait_seconds=0.3).hold(f"user:{user_id}"):
        pass
    assert "Run `connector bootstrap`" in caplog.text


@pytest.mark.parametrize("groups_too", [False, True], ids=["link", "both"])
def test_a_user_created_with_his_lock_link_is_held_from_birth(admin_gw: Gateway,
                                                               groups_too: bool) -> None:
    """A create that writes on after its POST (R3's mail) sends the lock link in the POST:
    other writers wait from the first moment, and the creator holds without a lock POST."""
    gw = _recording(admin_gw)
    locks = Locks(gw, user_groups_too=groups_too)
    locks.root()
    born = locks.birth()
    name = unique("born-")
    user_id = admin_gw.created_id(admin_gw.path("/users"), {
        "username": name, "enabled": True, "email": f"{name}@example.fr", "firstName": "A",
        "lastName": "B", "federatedIdentities": [born.link]})
    key = f"user:{user_id}"
    with pytest.raises(LockBusy), Locks(admin_gw, wait_seconds=0.3).hold(key):
        pass
    gw.seen.clear()
    with locks.hold(key, born=born):
        assert user_lock(admin_gw, user_id)["userId"] == born.link["userId"]  # type: ignore[index]
    assert [m for m, _ in gw.seen] == (["POST", "DELETE", "PUT"] if groups_too else ["DELETE"])
    assert user_lock(admin_gw, user_id) is None
