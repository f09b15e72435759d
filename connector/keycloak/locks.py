"""Write locks held in Keycloak: one writer per resource, across threads and replicas.

This module hands them out (mutexes, re-entrance, release in the background); a lock group is
keycloak/lock_groups.py, a user's lock link keycloak/lock_links.py, the lease
keycloak/lock_lease.py.

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
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager

from connector.keycloak.gateway import Gateway
from connector.keycloak.layout import LOCKS_ROOT
from connector.keycloak.lock_groups import TOMBSTONE, GroupLocks
from connector.keycloak.lock_lease import (
    SKEW,
    STAMP,
    Birth,
    Held,
    Lease,
    LeaseExpired,
    LockBusy,
)
from connector.keycloak.lock_links import USER_KEY, LinkLocks

__all__ = ["LOCKS_ROOT", "SKEW", "STAMP", "TOMBSTONE", "Birth", "Held", "Lease",
           "LeaseExpired", "LockBusy", "Locks"]

MAX_KEY = 200


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
        self.wait_seconds = wait_seconds
        self._releaser = (ThreadPoolExecutor(2, thread_name_prefix="lock-release")
                          if release_later else None)
        self._releasing: set[Future[None]] = set()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._mutexes: dict[str, tuple[threading.Lock, int]] = {}
        self._table = threading.Lock()
        self._local = _Local()
        self.groups = GroupLocks(gw, lease_seconds, wait_seconds, call_seconds, self._token)
        self.links = LinkLocks(gw, lease_seconds, wait_seconds, call_seconds, self._token,
                               self.hold)

    # -- public ---------------------------------------------------------------------------
    def birth(self) -> Birth:
        """A lock link to create a user with, for `hold(f"user:{id}", born=...)` after."""
        return self.links.birth()

    def root(self) -> str:
        """The id of `/connector-locks`."""
        return self.groups.root()

    def sweep(self) -> int:
        """Delete the tombstones of released lock groups (nightly); return how many."""
        return self.groups.sweep()

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
    def _acquire(self, key: str, deadline: float, born: Birth | None = None) -> Lease:
        if not key.startswith(USER_KEY):
            return self._acquire_group(key, deadline)
        link = None if born is None else self.links.born(key, born)
        if not self.user_groups_too:
            return link or self.links.acquire(key, deadline)
        # Beside replicas that lock users by group (a rolling upgrade): the group, then the link.
        try:
            group = self._acquire_group(key, deadline)
        except BaseException:
            if link is not None:
                self._release(link.held[key], link)
            raise
        try:
            link = link or self.links.acquire(key, deadline)
        except BaseException:
            self._release(group.held[key], group)
            raise
        return Lease(min(group.ends, link.ends),
                     {key: Held(group=group.held[key].group, user=link.held[key].user)},
                     group.margin)

    def _token(self) -> str:
        """A holder's name: this process and a random part (one per acquisition)."""
        return f"{self.owner}:{uuid.uuid4().hex[:8]}"

    def _acquire_group(self, key: str, deadline: float) -> Lease:
        return self.groups.acquire(key, deadline)

    def _release(self, held: Held, lease: Lease) -> None:
        """Release the link, then bury the group; if Keycloak is gone, the lease frees them."""
        with contextlib.suppress(Exception):  # an unreleased lock only delays the next writer
            if held.user is not None:
                self.links.release(held.user, lease)
            if held.group is not None:
                self.groups.bury(held.group)
