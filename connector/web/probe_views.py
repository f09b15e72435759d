"""Probes for load balancers and Kubernetes: /livez, /readyz, and /health as /readyz's alias."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app

from connector.keycloak.gateway import Gateway, KeycloakHTTPError, KeycloakUnavailable
from connector.scim.errors import ScimError, Unavailable
from connector.web.http import error_response, scim_response

blueprint = Blueprint("probes", __name__)


class Readiness:
    """Remember whether Keycloak answered the service account, asking at most once per interval.

    Probes come every few seconds from every load balancer and kubelet: the cached answer keeps
    them from becoming a load on Keycloak, and one thread asks while the others read.
    """

    def __init__(self, check: Callable[[], None], interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._check = check
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._asked_at: float | None = None
        self._ready = False

    def ready(self) -> bool:
        """Tell whether Keycloak answered within the interval; ask it again once stale."""
        if self._stale() and self._lock.acquire(blocking=False):
            try:
                if self._stale():
                    self._asked_at = self._clock()
                    self._ready = self._ask()
            finally:
                self._lock.release()
        return self._ready

    def _stale(self) -> bool:
        return self._asked_at is None or self._clock() - self._asked_at >= self._interval

    def _ask(self) -> bool:
        try:
            self._check()
        except (KeycloakUnavailable, KeycloakHTTPError, ScimError, OSError):
            return False
        return True


def setup_probes(app: Any, gateway: Gateway, interval: float) -> None:
    """Register the probes on the app, with a readiness check on the service account."""

    def ask_keycloak() -> None:
        gateway.get(gateway.path("/users"), max=1, briefRepresentation="true")

    app.extensions["readiness"] = Readiness(ask_keycloak, interval)
    app.register_blueprint(blueprint)


@blueprint.get("/livez")
def livez() -> Any:
    """Answer while the process serves requests; never asks Keycloak."""
    return scim_response({"status": "UP"})


@blueprint.get("/readyz")
@blueprint.get("/health")
def readyz() -> Any:
    """Answer 200 when Keycloak answered the service account lately, else 503 Retry-After."""
    readiness: Readiness = current_app.extensions["readiness"]
    if readiness.ready():
        return scim_response({"status": "UP"})
    return error_response(Unavailable("Keycloak does not answer the service account.",
                                      detail_fr="Keycloak ne répond pas au compte de service.",
                                      retry_after=5))
