"""A real gateway whose link to Keycloak goes down after a number of calls (outages mid-write)."""

from __future__ import annotations

from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakUnavailable


class CutGateway(Gateway):
    """The real gateway, whose link to Keycloak goes down after `budget` calls."""

    budget: int | None = None

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.budget is not None:
            if self.budget <= 0:
                raise KeycloakUnavailable(f"{method} {path}: link cut")
            self.budget -= 1
        return super().send(method, path, **kwargs)
