"""A real gateway whose link to Keycloak goes down after a number of calls (outages mid-write)."""

from __future__ import annotations

import threading
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakUnavailable


class CutGateway(Gateway):
    """The real gateway, whose link to Keycloak goes down after `budget` calls.

    The budget is spent under a lock: a write reads a user and his groups at the same time, and
    two threads taking the last call together would let one more through, moving the cut.
    """

    budget: int | None = None
    _spending = threading.Lock()

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._spending:
            if self.budget is not None:
                if self.budget <= 0:
                    raise KeycloakUnavailable(f"{method} {path}: link cut")
                self.budget -= 1
        return super().send(method, path, **kwargs)
