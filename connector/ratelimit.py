"""Fair admission: a rate per étude, a share of the threads per étude, a budget of failures.

The counters live in Redis when CONNECTOR_RATELIMIT_STORAGE names one (`redis://host:6379/0`),
so that every replica counts against one limit; `limits`, the library under Flask-Limiter,
keeps them there: it is used directly because the limit is keyed by the étude known only after
the token check, and because failed token checks are counted per client address after the
fact. Otherwise they are token buckets in the process's memory (one replica, or a limit per
replica), which cost nothing noticeable per request.

Redis gone means no limit rather than no service: provisioning matters more than fairness for
the minutes it takes to bring Redis back, and the log says so once a minute.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connector.buckets import Buckets

log = logging.getLogger("connector.admission")
KEY_PREFIX = "connector-ratelimit"


def rate_item(per_second: int, burst: int) -> RateLimitItem:
    """Allow `burst` requests in any window of burst/rate seconds (rounded up): 100 in 2 s."""
    per_second, burst = max(1, per_second), max(1, burst)
    return RateLimitItemPerSecond(burst, max(1, math.ceil(burst / per_second)))


class RateLimits(Protocol):
    """Count requests per caller and failed token checks per address, in one storage."""

    def admit(self, caller: str) -> int | None:
        """Count one request of a caller; None when admitted, else seconds to wait."""

    def refused_too_often(self, address: str) -> int | None:
        """Tell whether an address spent its budget of failed token checks (seconds to wait)."""

    def failed(self, address: str) -> None:
        """Count one failed token check of an address."""


def rate_limits(storage_uri: str, per_second: int, burst: int,
                failures_per_minute: int) -> RateLimits:
    """The counts in Redis when a storage is named (every replica shares them), else here."""
    failures = max(1, failures_per_minute)
    if storage_uri and storage_uri != "memory://":
        return SharedCounts(storage_uri, per_second, burst, failures)
    return MemoryCounts(Buckets(per_second, burst), Buckets(failures / 60, failures))


class MemoryCounts:
    """The counts of one process: token buckets."""

    def __init__(self, callers: Buckets, failures: Buckets) -> None:
        self.callers, self.failures = callers, failures

    def admit(self, caller: str) -> int | None:
        return self.callers.hit(caller)

    def refused_too_often(self, address: str) -> int | None:
        return self.failures.test(address)

    def failed(self, address: str) -> None:
        self.failures.hit(address)


class SharedCounts:
    """The counts every replica shares, in Redis: moving windows of `limits`."""

    def __init__(self, uri: str, per_second: int, burst: int, failures_per_minute: int) -> None:
        options = {"key_prefix": KEY_PREFIX} if uri.startswith(("redis", "rediss")) else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
        self.per_caller = rate_item(per_second, burst)
        self.failures = RateLimitItemPerMinute(failures_per_minute)
        self._complained = 0.0

    def admit(self, caller: str) -> int | None:
        return self._hit(self.per_caller, "caller", caller)

    def refused_too_often(self, address: str) -> int | None:
        try:
            if self.limiter.test(self.failures, "failures", address):
                return None
            return self._wait(self.failures, "failures", address)
        except Exception as exc:  # noqa: BLE001 - see module docstring: open, not closed
            self._complain(exc)
            return None

    def failed(self, address: str) -> None:
        self._hit(self.failures, "failures", address)

    def _hit(self, item: RateLimitItem, *key: str) -> int | None:
        try:
            if self.limiter.hit(item, *key):
                return None
            return self._wait(item, *key)
        except Exception as exc:  # noqa: BLE001 - see module docstring: open, not closed
            self._complain(exc)
            return None

    def _wait(self, item: RateLimitItem, *key: str) -> int:
        stats = self.limiter.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _complain(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._complained > 60:
            self._complained = now
            log.error("rate-limit storage unavailable, requests are not limited: %s", exc)


class Slots:
    """Cap the requests one caller has in progress in this process (a share of its threads)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, caller: str) -> bool:
        """Take a slot for a caller; False when it already holds all of its share."""
        with self._lock:
            busy = self._busy.get(caller, 0)
            if busy >= self.limit:
                return False
            self._busy[caller] = busy + 1
            return True

    def release(self, caller: str) -> None:
        with self._lock:
            busy = self._busy.get(caller, 0) - 1
            if busy > 0:
                self._busy[caller] = busy
            else:
                self._busy.pop(caller, None)


class KnownTokens:
    """Remember digests of tokens that passed, so a flood of failures never locks them out.

    Only accepted tokens enter, so bad ones cannot push good ones out; bounded all the same.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, digest: str) -> None:
        with self._lock:
            self._seen[digest] = None
            self._seen.move_to_end(digest)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._seen


def share_of_threads(threads: int, configured: int) -> int:
    """Return the requests one étude may have in progress: as set, else half the threads."""
    return configured if configured > 0 else max(1, threads // 2)
