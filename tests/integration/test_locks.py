"""Write locks in Keycloak: mutual exclusion across threads and replicas, stale takeover."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from connector.keycloak.gateway import Gateway, connect
from connector.keycloak.locks import LOCKS_ROOT, LockBusy, Locks
from tests.integration.conftest import unique


def _counter_group(gw: Gateway) -> str:
    return gw.created_id(gw.path("/groups"), {"name": unique("counter-"),
                                               "attributes": {"n": ["0"]}})


def _bump(gw: Gateway, group_id: str) -> None:
    """One read-change-write of a group attribute: loses updates unless serialised."""
    group = gw.get(gw.path("/groups/{g}", g=group_id))
    n = int(group["attributes"]["n"][0]) + 1
    gw.request("PUT", gw.path("/groups/{g}", g=group_id),
               body={"name": group["name"], "attributes": {"n": [str(n)]}})


def _hammer(replicas: list[Locks], gw: Gateway, group_id: str, threads: int,
            rounds: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work(locks: Locks) -> None:
        try:
            for _ in range(rounds):
                with locks.hold(f"test:{group_id}"):
                    _bump(gw, group_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(replicas[i % len(replicas)],))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_two_replicas_never_lose_a_write(admin_gw: Gateway) -> None:
    """Two lock tables (two processes' worth) share one Keycloak lock: no lost update."""
    group_id = _counter_group(admin_gw)
    replicas = [Locks(admin_gw), Locks(admin_gw)]
    errors = _hammer(replicas, admin_gw, group_id, threads=6, rounds=5)
    assert errors == []
    assert admin_gw.get(admin_gw.path("/groups/{g}", g=group_id))["attributes"]["n"] == ["30"]


def test_without_the_lock_writes_are_lost(admin_gw: Gateway) -> None:
    """The same hammering without a lock loses updates: the test above can fail."""
    group_id = _counter_group(admin_gw)

    class NoLock(Locks):
        def hold(self, key: str) -> Any:  # type: ignore[override]
            from contextlib import nullcontext
            return nullcontext()

    _hammer([NoLock(admin_gw)], admin_gw, group_id, threads=6, rounds=5)
    final = int(admin_gw.get(admin_gw.path("/groups/{g}", g=group_id))["attributes"]["n"][0])
    assert final < 30


def test_a_dead_holders_lock_is_taken_over(admin_gw: Gateway) -> None:
    locks = Locks(admin_gw)
    key = f"test:{unique()}"
    admin_gw.created_id(admin_gw.path("/groups/{g}/children", g=locks.root()),
                        {"name": key, "attributes": {"owner": ["dead"],
                                                     "leaseEnds": ["2000-01-01T00:00:00.0Z"]}})
    with locks.hold(key):
        found = admin_gw.group_by_path(f"{LOCKS_ROOT}/{key}")
        assert found is not None and found["attributes"]["owner"] != ["dead"]
    assert admin_gw.group_by_path(f"{LOCKS_ROOT}/{key}") is None


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
    assert admin_gw.group_by_path(f"{LOCKS_ROOT}/{key}") is None


@pytest.mark.parametrize("key", ["", "a/b", "x" * 201])
def test_bad_keys_are_refused(admin_gw: Gateway, key: str) -> None:
    with pytest.raises(ValueError), Locks(admin_gw).hold(key):
        pass


class SlowRelease(Gateway):
    """The real gateway, whose lock releases take half a second; when each landed is noted."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.released: list[float] = []

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        if method != "DELETE" or "/groups/" not in path:
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
    assert admin_gw.group_by_path(f"{LOCKS_ROOT}/{key}") is None
