"""What the holder of a write lock knows (keycloak/locks.py): its lease, what releases each
key, and the clock rules every kind of lock shares."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
SKEW = timedelta(seconds=5)  # how far the replicas' clocks may disagree


class LockBusy(Exception):
    """Another writer held the resource for longer than the wait allows."""

    def __init__(self, key: str, seconds: float) -> None:
        super().__init__(f"{key} is being written by another request (waited {seconds:.0f} s)")
        self.key = key


class LeaseExpired(Exception):
    """A holder outlived its lease: it must stop writing, a successor may hold the key."""


def stamp(moment: datetime) -> str:
    """The moment a lease ends, as stored in Keycloak."""
    return moment.strftime(STAMP)


def parse(value: str | None) -> datetime | None:
    """A stored lease end, or None when unreadable (taken as ended)."""
    try:
        return datetime.strptime(value or "", STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def lease_end(seconds: float) -> tuple[float, str]:
    """A lease starting now: its monotonic start and the stamp of its end for other replicas."""
    return time.monotonic(), stamp(datetime.now(UTC) + timedelta(seconds=seconds))


def pause(key: str, last: float, deadline: float, wait_seconds: float) -> float:
    """Sleep a jittered pause before the next attempt, or give up at the deadline."""
    if time.monotonic() + last > deadline:
        raise LockBusy(key, wait_seconds)
    time.sleep(last * (0.5 + random.random()))
    return min(last * 2, 0.25)


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
