"""The nightly job's memory in Keycloak: the last completed day and an atomic run lock.

The connector keeps no database, so both live in one dedicated top-level group
`/connector-jobs` (never in `/etudes`, whose attributes hold the admin token hashes and are
rewritten whole by token commands: two writers there would lose each other's changes).

- marker: attribute `<job>.lastCompletedDay` on `/connector-jobs` (only the lock holder writes it);
- lock: child group `/connector-jobs/<job>.lock`. Keycloak refuses a second sibling of the same
  name (409, a unique constraint in its database), so creating it is an atomic test-and-set.
  Its attributes say who holds it and when it last showed life; a lock whose heartbeat is older
  than the TTL is stale (a killed run) and is taken over by deleting it *by id* and creating it
  again: of two runs racing for a stale lock, only one DELETE and one POST succeed.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.layout import JOBS_ROOT

JOBS_GROUP = JOBS_ROOT
LOCK_TTL = timedelta(hours=2)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


def _parse(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def default_owner() -> str:
    """Name this run in the lock: host, process and a random suffix (two runs never match)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a job lock, since when, and when it last showed life."""

    group_id: str
    owner: str
    started: datetime | None
    heartbeat: datetime | None

    def stale(self, now: datetime, ttl: timedelta = LOCK_TTL) -> bool:
        """A lock without a heartbeat newer than the TTL belongs to a run that died."""
        seen = self.heartbeat or self.started
        return seen is None or now - seen > ttl


class LockHeld(Exception):
    """Another run holds the job lock."""

    def __init__(self, info: LockInfo) -> None:
        since = _stamp(info.started) if info.started else "?"
        super().__init__(f"another run holds the lock (owner {info.owner}, since {since})")
        self.info = info


class JobState:
    """Read and write one job's marker and lock in the `/connector-jobs` group."""

    def __init__(self, gw: Gateway, job: str = "expire", ttl: timedelta = LOCK_TTL,
                 ttl_seconds: int | None = None) -> None:
        self.gw, self.job = gw, job
        self.ttl = timedelta(seconds=ttl_seconds) if ttl_seconds is not None else ttl
        self.marker_attr = f"{job}.lastCompletedDay"
        self.lock_name = f"{job}.lock"
        self._held: str | None = None

    # -- the jobs group ----------------------------------------------------------------------
    def _by_path(self, path: str) -> dict[str, Any] | None:
        return self.gw.group_by_path(path)

    def group(self) -> dict[str, Any]:
        """Return `/connector-jobs`, creating it on first use (a 409 means a peer just did)."""
        found = self._by_path(JOBS_GROUP)
        if found is None:
            self.gw.request("POST", self.gw.path("/groups"), body={"name": JOBS_GROUP},
                            ok=(201, 409))
            found = self._by_path(JOBS_GROUP)
        assert found is not None
        return found

    # -- marker ------------------------------------------------------------------------------
    def last_completed(self) -> date | None:
        """Return the last day whose expiring users were all handled, or None (never run)."""
        found = self._by_path(JOBS_GROUP)  # read only: a dry run creates nothing
        values = ((found or {}).get("attributes") or {}).get(self.marker_attr) or []
        try:
            return date.fromisoformat(values[0]) if values else None
        except ValueError:
            return None

    def set_last_completed(self, day: date | None) -> None:
        """Record the marker (None forgets it: the next run looks back its whole window)."""
        group = self.group()
        attrs = {k: list(v) for k, v in (group.get("attributes") or {}).items()}
        if day is None:
            attrs.pop(self.marker_attr, None)
        else:
            attrs[self.marker_attr] = [day.isoformat()]
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=group["id"]),
                        body={"name": group["name"], "attributes": attrs})

    # -- lock --------------------------------------------------------------------------------
    def lock_info(self) -> LockInfo | None:
        """Return the current lock, or None when nobody holds it."""
        found = self._by_path(f"{JOBS_GROUP}/{self.lock_name}")
        if found is None:
            return None
        attrs = found.get("attributes") or {}

        def one(key: str) -> str | None:
            return (attrs.get(key) or [None])[0]

        return LockInfo(str(found["id"]), one("owner") or "?", _parse(one("startedAt")),
                        _parse(one("heartbeatAt")))

    def _create_lock(self, owner: str, now: datetime) -> bool:
        parent = self.group()
        stamp = _stamp(now)
        resp = self.gw.send("POST", self.gw.path("/groups/{g}/children", g=parent["id"]),
                            body={"name": self.lock_name,
                                  "attributes": {"owner": [owner], "startedAt": [stamp],
                                                 "heartbeatAt": [stamp]}},
                            ok=(201, 409))
        return bool(resp.status_code == 201)

    def acquire(self, owner: str, now: datetime | None = None) -> LockInfo | None:
        """Take the lock, or a stale one over; raise LockHeld when a live run holds it.

        Returns the stale lock that was taken over, if any (for the report).
        """
        now = now or _now()
        if self._create_lock(owner, now):
            self._confirm(owner)
            return None
        info = self.lock_info()
        if info is None:  # released between our POST and our read: try once more
            if self._create_lock(owner, now):
                self._confirm(owner)
                return None
            info = self.lock_info()
            if info is None:
                raise KeycloakHTTPError(409, "job lock flickers", "POST", self.lock_name)
            raise LockHeld(info)
        if not info.stale(now, self.ttl):
            raise LockHeld(info)
        # Take over a dead run's lock: delete that very group (only one racer's DELETE finds
        # it), then create ours (only one racer's POST succeeds).
        self.gw.request("DELETE", self.gw.path("/groups/{g}", g=info.group_id), ok=(204, 404))
        if not self._create_lock(owner, now):
            current = self.lock_info()
            raise LockHeld(current or info)
        self._confirm(owner)
        return info

    def _confirm(self, owner: str) -> None:
        info = self.lock_info()
        if info is None or info.owner != owner:
            raise LockHeld(info or LockInfo("", "?", None, None))
        self._held = info.group_id

    def heartbeat(self, owner: str, now: datetime | None = None) -> None:
        """Show the lock holder is alive (after each day), so a long run is not taken over."""
        info = self.lock_info()
        if info is None or info.owner != owner:  # taken over as stale: this run must stop
            raise LockHeld(info or LockInfo("", "?", None, None))
        attrs = {"owner": [owner], "startedAt": [_stamp(info.started or _now())],
                 "heartbeatAt": [_stamp(now or _now())]}
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=info.group_id),
                        body={"name": self.lock_name, "attributes": attrs})

    def release(self, owner: str) -> bool:
        """Drop the lock if this run still holds it; return whether it did."""
        info = self.lock_info()
        if info is None or info.owner != owner:
            return False
        self.gw.request("DELETE", self.gw.path("/groups/{g}", g=info.group_id), ok=(204, 404))
        self._held = None
        return True

    def plant(self, owner: str, started: datetime) -> None:
        """Write the lock as a run started at `started` would have (tests, drills, repairs)."""
        info = self.lock_info()
        if info is not None:
            self.gw.request("DELETE", self.gw.path("/groups/{g}", g=info.group_id),
                            ok=(204, 404))
        self._create_lock(owner, started)
