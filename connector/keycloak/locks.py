"""Write locks held in Keycloak: one writer per resource, across threads and replicas.

Keycloak has no compare-and-set on users or groups, and a PUT replaces a representation whole,
so two read-change-write cycles on one resource lose one of the writes. Every write therefore
runs under a lock named after its resource (`user:<id>`, `team:<id>`, `etude:<code>`).

A lock (but a user's, below) is a child group of `/connector-locks` named after the key:
Keycloak's database refuses two sibling groups of one name (a unique constraint, shared by every
node of a cluster), so creating it is an atomic test-and-set, and renaming it to a tombstone
(`released.<random>`, by id) releases it: a group's DELETE would empty Keycloak's user cache for
the whole realm on every node (`UserCacheSession.preRemove`), a rename leaves it; `sweep()`
deletes the tombstones once a night. The group carries its owner and the moment its lease ends;
a lock whose lease has ended belongs to a writer that died (process killed, Keycloak gone
mid-request) and is taken over by burying that very group by id. The lease is longer than any
request may last (gunicorn's timeout), and a holder checks it before each step, so a writer that
outlives its lease stops instead of racing its successor.

A user's lock (`user:<id>`, the most frequent by far) is a link of that very user to the
identity provider `connector-write-lock` (disabled, made by bootstrap) instead: Keycloak keeps
one link per user and provider (a primary key, shared by every node), so its POST is an atomic
test-and-set too (`409` while held), and its DELETE releases it, touching only that user's cache
entry: no tombstone to sweep. The link's id names its holder and its user name the moment its
lease ends. A link is deleted by user, not by id, so a dead holder's link is taken over under a
group lock of its own (rare: only after a crash), once its lease has ended by more than `SKEW`,
and a holder releases only while its own lease runs: the two never meet while the replicas'
clocks agree within `SKEW`. Beside replicas of 0.2.0 or earlier, which lock users by group,
`user_groups_too` (setting `CONNECTOR_USER_LOCKS=both`) takes the group, then the link: it
excludes both kinds of writer.

Inside one process a plain mutex per key comes first, so threads of one replica queue without
asking Keycloak, and a thread that already holds a key may take it again (a team write that
touches a member takes the member's lock).

A server releases in the background (`release_later`): once a write's last step is done, the
lock is released while the answer is rendered and sent, instead of before. The key stays held
until that release has landed (the mutex passes to the releasing thread), so no writer of this
process or another ever sees the resource between the last write and the release; only the
client stops waiting for the release. `settle()` waits for the releases under way (tests that
count calls, and the end of a process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.layout import LOCK_PROVIDER, LOCKS_ROOT

log = logging.getLogger("connector.locks")

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_KEY = 200
USER_KEY = "user:"
TOMBSTONE = "released."  # a released lock group's name: keys never start so
SWEEP_PAGE = 100
SKEW = timedelta(seconds=5)  # how far the replicas' clocks may disagree


class LockBusy(Exception):
    """Another writer held the resource for longer than the wait allows."""

    def __init__(self, key: str, seconds: float) -> None:
        super().__init__(f"{key} is being written by another request (waited {seconds:.0f} s)")
        self.key = key


class LeaseExpired(Exception):
    """A holder outlived its lease: it must stop writing, a successor may hold the key."""


def _stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


def _parse(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Held:
    """What releases one key: its lock group (by id), its user's lock link, or nothing (the
    user does not exist: no writer can change him, and ids are never reused)."""

    group: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class Birth:
    """A user's lock link sent with his creation (the POST's `federatedIdentities`): he is
    born held by this writer, who then holds his key without a lock POST of its own."""

    link: dict[str, str]
    started: float  # time.monotonic() before the POST: the lease counts from there


@dataclass
class Lease:
    """What one holder knows of its locks: when the earliest lease ends."""

    ends: float  # time.monotonic() deadline
    held: dict[str, Held] = field(default_factory=dict)
    margin: float = 0.0  # the longest one Keycloak call may take

    def check(self) -> None:
        """Raise LeaseExpired unless one more call can end before the lease does."""
        if not self.running():
            raise LeaseExpired("the write took longer than its lock's lease")

    def running(self) -> bool:
        """True while one more call can end before the lease does."""
        return time.monotonic() + self.margin < self.ends

    def user_deleted(self, key: str) -> None:
        """The user of `key` was deleted: his lock link went with him, nothing to release."""
        self.held[key] = replace(self.held[key], user=None)


class _Local(threading.local):
    held: dict[str, Lease]

    def __init__(self) -> None:
        self.held = {}


class Locks:
    """Hand out write locks by key; `with locks.hold("user:<id>") as lease:`."""

    def __init__(self, gw: Gateway, lease_seconds: float = 60.0,
                 wait_seconds: float = 15.0, call_seconds: float = 0.0,
                 release_later: bool = False, user_groups_too: bool = False) -> None:
        self.gw = gw
        self.user_groups_too = user_groups_too
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.call_seconds = call_seconds
        self._releaser = (ThreadPoolExecutor(2, thread_name_prefix="lock-release")
                          if release_later else None)
        self._releasing: set[Future[None]] = set()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._mutexes: dict[str, tuple[threading.Lock, int]] = {}
        self._table = threading.Lock()
        self._local = _Local()
        self._root: str | None = None

    # -- public ---------------------------------------------------------------------------
    def birth(self) -> Birth:
        """A lock link to create a user with, for `hold(f"user:{id}", born=...)` after."""
        started = time.monotonic()
        ends = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
        return Birth({"identityProvider": LOCK_PROVIDER, "userId": self._token(),
                      "userName": _stamp(ends)}, started)

    @contextmanager
    def hold(self, key: str, born: Birth | None = None) -> Iterator[Lease]:
        """Hold one key for the duration of the block (re-entrant within a thread); `born`:
        the user was created holding it."""
        if not key or len(key) > MAX_KEY or "/" in key:
            raise ValueError(f"bad lock key {key!r}")
        mine = self._local.held.get(key)
        if mine is not None:
            yield mine
            return
        deadline = time.monotonic() + self.wait_seconds
        mutex = self._mutex(key)
        owned = handed_over = False
        try:
            # Born held, the key is this writer's already: a thread of this process that found
            # the new user first waits on the link, so the mutex is not waited for.
            owned = mutex.acquire(timeout=0 if born else self.wait_seconds)
            if not owned and born is None:
                raise LockBusy(key, self.wait_seconds)
            try:
                lease = self._acquire(key, deadline, born)
                self._local.held[key] = lease
                try:
                    yield lease
                finally:
                    del self._local.held[key]
                    handed_over = self._let_go(key, lease, mutex if owned else None)
            finally:
                if owned and not handed_over:
                    mutex.release()
        finally:
            if not handed_over:
                self._forget(key)

    def settle(self) -> None:
        """Wait until every release under way has landed."""
        while True:
            with self._table:
                under_way = list(self._releasing)
            if not under_way:
                return
            wait_for(under_way)

    def _let_go(self, key: str, lease: Lease, mutex: threading.Lock | None) -> bool:
        """Release now, or hand the key to the releasing thread (True) when releasing later."""
        if self._releaser is None:
            self._release(lease.held[key], lease)
            return False
        try:
            done = self._releaser.submit(self._release_then_free, key, lease, mutex)
        except RuntimeError:  # the process is shutting down: release here and now
            self._release(lease.held[key], lease)
            return False
        with self._table:
            self._releasing.add(done)
        done.add_done_callback(self._discard)
        return True

    def _release_then_free(self, key: str, lease: Lease,
                           mutex: threading.Lock | None) -> None:
        try:
            self._release(lease.held[key], lease)
        finally:
            if mutex is not None:
                mutex.release()
            self._forget(key)

    def _discard(self, done: Future[None]) -> None:
        with self._table:
            self._releasing.discard(done)

    # -- in-process mutexes -----------------------------------------------------------------
    def _mutex(self, key: str) -> threading.Lock:
        with self._table:
            mutex, users = self._mutexes.get(key, (threading.Lock(), 0))
            self._mutexes[key] = (mutex, users + 1)
            return mutex

    def _forget(self, key: str) -> None:
        with self._table:
            mutex, users = self._mutexes[key]
            if users <= 1:
                del self._mutexes[key]
            else:
                self._mutexes[key] = (mutex, users - 1)

    # -- Keycloak ---------------------------------------------------------------------------
    def root(self) -> str:
        """Return the id of `/connector-locks`, creating it on first use (409: a peer did)."""
        if self._root is None:
            found = self.gw.group_by_path(LOCKS_ROOT)
            if found is None:
                self.gw.request("POST", self.gw.path("/groups"), body={"name": LOCKS_ROOT},
                                ok=(201, 409))
                found = self.gw.group_by_path(LOCKS_ROOT)
            if found is None:
                raise KeycloakHTTPError(404, "lock root vanished", "GET", LOCKS_ROOT)
            self._root = str(found["id"])
        return self._root

    def _acquire(self, key: str, deadline: float, born: Birth | None = None) -> Lease:
        if not key.startswith(USER_KEY):
            return self._acquire_group(key, deadline)
        link = None if born is None else Lease(
            born.started + self.lease_seconds, {key: Held(user=key[len(USER_KEY):])},
            self.call_seconds)
        if not self.user_groups_too:
            return link or self._acquire_link(key, deadline)
        # Beside replicas that lock users by group (a rolling upgrade): the group, then the link.
        try:
            group = self._acquire_group(key, deadline)
        except BaseException:
            if link is not None:
                self._release(link.held[key], link)
            raise
        try:
            link = link or self._acquire_link(key, deadline)
        except BaseException:
            self._release(group.held[key], group)
            raise
        return Lease(min(group.ends, link.ends),
                     {key: Held(group=group.held[key].group, user=link.held[key].user)},
                     self.call_seconds)

    def _token(self) -> str:
        """A holder's name: this process and a random part (one per acquisition)."""
        return f"{self.owner}:{uuid.uuid4().hex[:8]}"

    def _acquire_group(self, key: str, deadline: float) -> Lease:
        pause, conflicts = 0.005, 0
        while True:
            started = time.monotonic()
            ends = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
            resp = self.gw.send("POST", self.gw.path("/groups/{g}/children", g=self.root()),
                                body={"name": key, "attributes": {
                                    "owner": [self._token()],
                                    "leaseEnds": [_stamp(ends)]}},
                                ok=(201, 404, 409))
            if resp.status_code == 201:
                group_id = str(resp.headers.get("Location", "")).rstrip("/").rsplit("/", 1)[-1]
                # The lease counts from before the POST: the holder never outlives it.
                return Lease(started + self.lease_seconds, {key: Held(group=group_id)},
                             self.call_seconds)
            if resp.status_code == 404:  # the root was removed by hand: make it again
                self._root = None
                continue
            conflicts += 1
            if conflicts > 1:  # a first conflict is most often a release about to land
                self._take_over_if_stale(key)
            pause = _pause(key, pause, deadline, self.wait_seconds)

    def _acquire_link(self, key: str, deadline: float) -> Lease:
        """Link the user to LOCK_PROVIDER, the link's id naming this holder."""
        user_id = key[len(USER_KEY):]
        path = self.gw.path("/users/{u}/federated-identity/{p}", u=user_id, p=LOCK_PROVIDER)
        token = self._token()
        pause, conflicts = 0.005, 0
        while True:
            started = time.monotonic()
            ends = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
            resp = self.gw.send("POST", path, body={"userId": token, "userName": _stamp(ends)},
                                ok=(204, 404, 409))
            if resp.status_code != 409:  # 404: no such user, nothing to hold
                return Lease(started + self.lease_seconds,
                             {key: Held(user=user_id if resp.status_code == 204 else None)},
                             self.call_seconds)
            conflicts += 1
            # A first conflict is most often a release about to land.
            seen = conflicts < 2 or self._take_over_link(user_id)
            try:
                pause = _pause(key, pause, deadline, self.wait_seconds)
            except LockBusy:
                if not seen:  # a link Keycloak refuses twice yet never shows
                    log.warning("a user's lock link is not shown: is the identity provider "
                                "%s missing? Run `connector bootstrap`", LOCK_PROVIDER)
                raise

    def _lock_link(self, user_id: str) -> dict[str, Any] | None:
        """The user's lock link as Keycloak shows it: {} when none shows (none, or no provider
        to show it), None when the user is gone (the next POST finds nothing to hold)."""
        try:
            links = self.gw.get(self.gw.path("/users/{u}/federated-identity", u=user_id))
        except KeycloakHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return next((f for f in links if f.get("identityProvider") == LOCK_PROVIDER), {})

    def _take_over_link(self, user_id: str) -> bool:
        """Delete the user's lock link if its lease ended (its holder died); False when
        Keycloak showed no link of a user it has."""
        link = self._lock_link(user_id)
        if not link:
            return link is None
        ends = _parse(link.get("userName"))
        if ends is not None and ends + SKEW >= datetime.now(UTC):
            return True
        # Deleted by user, not by id: only under this lock, and only if still the same link.
        with self.hold(f"takeover:{user_id}"):
            again = self._lock_link(user_id)
            if again and again.get("userId") == link.get("userId"):
                self.gw.request("DELETE", self.gw.path(
                    "/users/{u}/federated-identity/{p}", u=user_id, p=LOCK_PROVIDER),
                    ok=(204, 404))
        return True

    def _take_over_if_stale(self, key: str) -> None:
        """Bury a lock whose lease has ended (its holder died); by id, so only once."""
        found = self._lock_group(key)
        if found is None:
            return
        ends = _parse(((found.get("attributes") or {}).get("leaseEnds") or [None])[0])
        if ends is None or ends < datetime.now(UTC):
            self._bury(str(found["id"]))

    def _release(self, held: Held, lease: Lease) -> None:
        """Bury the lock group, and delete the lock link while its lease runs (after, a
        successor may hold it); if Keycloak is gone, the lease frees it later."""
        with contextlib.suppress(Exception):  # an unreleased lock only delays the next writer
            if held.user is not None and lease.running():
                self.gw.request("DELETE", self.gw.path(
                    "/users/{u}/federated-identity/{p}", u=held.user, p=LOCK_PROVIDER),
                    ok=(204, 404))
            if held.group is not None:
                self._bury(held.group)

    def _lock_group(self, key: str) -> dict[str, Any] | None:
        """The lock group of `key`, asked of the database (Keycloak's group-by-path cache can
        still name a group renamed since, under concurrent renames)."""
        found = self.gw.get(self.gw.path("/groups/{g}/children", g=self.root()), search=key,
                            exact="true", first=0, max=10, briefRepresentation="false")
        return next((g for g in found if g.get("name") == key), None)

    def _bury(self, group_id: str) -> None:
        """Rename a lock group to a tombstone (by id: only that group, held or not)."""
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=group_id),
                        body={"name": f"{TOMBSTONE}{uuid.uuid4().hex}"}, ok=(204, 404))

    def sweep(self) -> int:
        """Delete the tombstones of released lock groups; return how many. Nightly (`expire`):
        each group's DELETE empties Keycloak's user cache for the realm, a burst once a night
        instead of once a write. Any tombstone may go: nobody holds one."""
        swept, first = 0, 0
        while True:
            page = self.gw.get(self.gw.path("/groups/{g}/children", g=self.root()),
                               search=TOMBSTONE, first=first, max=SWEEP_PAGE,
                               briefRepresentation="true")
            for group in page:
                if str(group.get("name", "")).startswith(TOMBSTONE):
                    self.gw.request("DELETE", self.gw.path("/groups/{g}", g=str(group["id"])),
                                    ok=(204, 404))
                    swept += 1
                else:
                    first += 1  # a lock held now: step over it
            if len(page) < SWEEP_PAGE:
                return swept


def _pause(key: str, pause: float, deadline: float, wait_seconds: float) -> float:
    """Sleep a jittered pause before the next attempt, or give up at the deadline."""
    if time.monotonic() + pause > deadline:
        raise LockBusy(key, wait_seconds)
    time.sleep(pause * (0.5 + random.random()))
    return min(pause * 2, 0.25)
