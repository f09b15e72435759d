"""A write lock as a child group of `/connector-locks` named after its key (keycloak/locks.py).

Keycloak's database refuses two sibling groups of one name, so creating one is a test-and-set.
Release renames it to a tombstone (by id): a group's DELETE empties Keycloak's user cache for the
realm on every node, a rename does not; `sweep` deletes the tombstones once a night.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.layout import LOCKS_ROOT
from connector.keycloak.lock_lease import Held, Lease, lease_end, parse, pause

TOMBSTONE = "released."  # a released lock group's name: keys never start so
SWEEP_PAGE = 100


class GroupLocks:
    """Take, find, bury and sweep lock groups."""

    def __init__(self, gw: Gateway, lease_seconds: float, wait_seconds: float,
                 call_seconds: float, token: Callable[[], str]) -> None:
        self.gw, self.token = gw, token
        self.lease_seconds, self.wait_seconds = lease_seconds, wait_seconds
        self.call_seconds = call_seconds
        self._root: str | None = None

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

    def acquire(self, key: str, deadline: float) -> Lease:
        """Create the key's group, taking over one whose holder died; LockBusy at the deadline."""
        wait, conflicts = 0.005, 0
        while True:
            started, ends = lease_end(self.lease_seconds)
            resp = self.gw.send("POST", self.gw.path("/groups/{g}/children", g=self.root()),
                                body={"name": key, "attributes": {
                                    "owner": [self.token()], "leaseEnds": [ends]}},
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
                self.take_over_if_stale(key)
            wait = pause(key, wait, deadline, self.wait_seconds)

    def take_over_if_stale(self, key: str) -> None:
        """Bury a lock whose lease has ended (its holder died); by id, so only once."""
        found = self.find(key)
        if found is None:
            return
        ends = parse(((found.get("attributes") or {}).get("leaseEnds") or [None])[0])
        if ends is None or ends < datetime.now(UTC):
            self.bury(str(found["id"]))

    def find(self, key: str) -> dict[str, Any] | None:
        """The lock group of `key`, asked of the database (Keycloak's group-by-path cache can
        still name a group renamed since, under concurrent renames)."""
        found = self.gw.get(self.gw.path("/groups/{g}/children", g=self.root()), search=key,
                            exact="true", first=0, max=10, briefRepresentation="false")
        return next((g for g in found if g.get("name") == key), None)

    def bury(self, group_id: str) -> None:
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
