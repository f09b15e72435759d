"""A user's write lock as his link to the identity provider `connector-write-lock`
(keycloak/locks.py).

Keycloak keeps one link per user and provider, so a second POST answers 409: a test-and-set
per user whose DELETE touches that user's cache entry only. A link is deleted by user, not by
id: a dead holder's link is taken over under a lock of its own (`takeover:<id>`), checked again
there, once its lease ended more than SKEW ago; a holder deletes its link only while its lease
runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.layout import LOCK_PROVIDER
from connector.keycloak.lock_lease import (
    SKEW,
    Birth,
    Held,
    Lease,
    LockBusy,
    lease_end,
    parse,
    pause,
)

log = logging.getLogger("connector.locks")

USER_KEY = "user:"


class LinkLocks:
    """Take, find, take over and release users' lock links."""

    def __init__(self, gw: Gateway, lease_seconds: float, wait_seconds: float,
                 call_seconds: float, token: Callable[[], str],
                 hold: Callable[[str], AbstractContextManager[Any]]) -> None:
        self.gw, self.token, self.hold = gw, token, hold
        self.lease_seconds, self.wait_seconds = lease_seconds, wait_seconds
        self.call_seconds = call_seconds

    def _path(self, user_id: str) -> str:
        return self.gw.path("/users/{u}/federated-identity/{p}", u=user_id, p=LOCK_PROVIDER)

    def birth(self) -> Birth:
        """A lock link to create a user with (he is born held)."""
        started, ends = lease_end(self.lease_seconds)
        return Birth({"identityProvider": LOCK_PROVIDER, "userId": self.token(),
                      "userName": ends}, started)

    def born(self, key: str, birth: Birth) -> Lease:
        """The lease of a user created holding his link."""
        return Lease(birth.started + self.lease_seconds, {key: Held(user=key[len(USER_KEY):])},
                     self.call_seconds)

    def acquire(self, key: str, deadline: float) -> Lease:
        """Link the user, the link's id naming this holder; 404: no such user, nothing held."""
        user_id = key[len(USER_KEY):]
        token = self.token()
        wait, conflicts = 0.005, 0
        while True:
            started, ends = lease_end(self.lease_seconds)
            resp = self.gw.send("POST", self._path(user_id),
                                body={"userId": token, "userName": ends}, ok=(204, 404, 409))
            if resp.status_code != 409:
                return Lease(started + self.lease_seconds,
                             {key: Held(user=user_id if resp.status_code == 204 else None)},
                             self.call_seconds)
            conflicts += 1
            # A first conflict is most often a release about to land.
            seen = conflicts < 2 or self.take_over(user_id)
            try:
                wait = pause(key, wait, deadline, self.wait_seconds)
            except LockBusy:
                if not seen:  # a link Keycloak refuses twice yet never shows
                    log.warning("a user's lock link is not shown: is the identity provider "
                                "%s missing? Run `connector bootstrap`", LOCK_PROVIDER)
                raise

    def find(self, user_id: str) -> dict[str, Any] | None:
        """The user's lock link as Keycloak shows it: {} when none shows (none, or no provider
        to show it), None when the user is gone (the next POST finds nothing to hold)."""
        try:
            links = self.gw.get(self.gw.path("/users/{u}/federated-identity", u=user_id))
        except KeycloakHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return next((f for f in links if f.get("identityProvider") == LOCK_PROVIDER), {})

    def take_over(self, user_id: str) -> bool:
        """Delete the user's lock link if its lease ended (its holder died); False when
        Keycloak showed no link of a user it has."""
        link = self.find(user_id)
        if not link:
            return link is None
        ends = parse(link.get("userName"))
        if ends is not None and ends + SKEW >= datetime.now(UTC):
            return True
        # Deleted by user, not by id: only under this lock, and only if still the same link.
        with self.hold(f"takeover:{user_id}"):
            again = self.find(user_id)
            if again and again.get("userId") == link.get("userId"):
                self.gw.request("DELETE", self._path(user_id), ok=(204, 404))
        return True

    def release(self, user_id: str, lease: Lease) -> None:
        """Delete the link while the lease runs (after it, a successor may hold it)."""
        if lease.running():
            self.gw.request("DELETE", self._path(user_id), ok=(204, 404))

