"""Token buckets kept in this process's memory (GCRA): O(1) per request, no timer thread.

A bucket holds `burst` requests and refills at `per_second`; its whole state is one number per
key, the theoretical arrival time of the next request. `limits`' memory storage, used before,
started a timer thread every few milliseconds to expire its windows, which cost a served
request more than the rest of the admission together.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class Buckets:
    """Admit `burst` requests per key at once, then `per_second` (the keys' memory bounded)."""

    def __init__(self, per_second: float, burst: int, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / max(per_second, 1e-9)
        self.tolerance = max(1, burst) * self.interval
        self.size, self.clock = size, clock
        self._due: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count one request of a key: None when admitted, else whole seconds to wait."""
        with self._lock:
            now = self.clock()
            wait = self._wait(key, now)
            if wait is None:
                self._due[key] = max(self._due.get(key, now), now) + self.interval
                self._due.move_to_end(key)
                while len(self._due) > self.size:
                    self._due.popitem(last=False)
            return wait

    def test(self, key: str) -> int | None:
        """Tell whether a key's next request would be admitted, without counting it."""
        with self._lock:
            return self._wait(key, self.clock())

    def _wait(self, key: str, now: float) -> int | None:
        due = max(self._due.get(key, now), now)
        over = due + self.interval - now - self.tolerance
        return None if over <= 1e-9 else max(1, math.ceil(over))
