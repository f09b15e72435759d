"""Send independent Keycloak reads at the same time: a request waits for the slowest, not the sum.

One small pool per process; a call made from inside the pool runs inline, so a fan-out never
waits on itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

WORKERS = 8
_pool: ThreadPoolExecutor | None = None
_guard = threading.Lock()
_inside = threading.local()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="keycloak-read",
                                       initializer=_mark)
        return _pool


def _mark() -> None:
    _inside.active = True


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls concurrently and return their results in order; the first error wins."""
    if len(calls) < 2 or getattr(_inside, "active", False):
        return [call() for call in calls]
    futures = [_executor().submit(call) for call in calls]
    results: list[Any] = []
    error: Exception | None = None
    for future in futures:  # wait for all, so no call outlives the request that made it
        try:
            results.append(future.result())
        except Exception as exc:  # re-raised below, once the others have ended
            error = error or exc
            results.append(None)
    if error is not None:
        raise error
    return results
