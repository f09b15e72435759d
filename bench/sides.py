"""The three ways a benchmark asks for the same thing, each over HTTP with keep-alive.

- the connector (`connector serve`, an étude token);
- the Keycloak Admin API directly (the connector's service account: same rights, no SCIM);
- Keycloak's own SCIM (when the benchmark's Keycloak runs the `scim-api` preview).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from connector.settings import Settings

SCIM_TYPE = "application/scim+json"


class Client(Protocol):
    """What the operations need of a side: send a request, or send and parse."""

    def send(self, method: str, path: str, ok: tuple[int, ...] = ...,
             **kwargs: Any) -> Any: ...

    def json(self, method: str, path: str, **kwargs: Any) -> Any: ...


class Http:
    """One keep-alive session with a bearer token; `token()` renews it on a 401."""

    def __init__(self, base: str, token: Callable[[], str]) -> None:
        self.base, self._token = base, token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token()}"

    def send(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 204),
             **kwargs: Any) -> requests.Response:
        """Send one request; fail loudly on an unexpected status (a benchmark never hides one)."""
        resp = self.session.request(method, self.base + path, timeout=120, **kwargs)
        if resp.status_code == 401:
            self.session.headers["Authorization"] = f"Bearer {self._token()}"
            resp = self.session.request(method, self.base + path, timeout=120, **kwargs)
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and parse."""
        resp = self.send(method, path, **kwargs)
        return resp.json() if resp.content else None


def service_account_token(settings: Settings) -> Callable[[], str]:
    """Client-credentials tokens of the connector's service account."""
    def fetch() -> str:
        resp = requests.post(f"{settings.keycloak_url}/realms/{settings.realm}/protocol/"
                             "openid-connect/token",
                             data={"grant_type": "client_credentials",
                                   "client_id": settings.client_id,
                                   "client_secret": settings.client_secret}, timeout=30)
        resp.raise_for_status()
        return str(resp.json()["access_token"])
    return fetch


def admin_api(settings: Settings) -> Http:
    """The Admin API of the realm, as the service account."""
    return Http(f"{settings.keycloak_url}/admin/realms/{settings.realm}",
                service_account_token(settings))


def scim(base: str, token: Callable[[], str]) -> Http:
    """A SCIM server (the connector's root or Keycloak's) with its bearer token."""
    client = Http(base, token)
    client.session.headers["Content-Type"] = SCIM_TYPE
    return client


def median_ms(samples: list[float]) -> float:
    """Median in milliseconds."""
    return statistics.median(samples) * 1000 if samples else float("nan")


def interleaved(runs: int, steps: dict[str, Callable[[int], Any]],
                warmup: int = 3) -> dict[str, float]:
    """Time each side's step on run i, sides taking turns, and return their medians (ms)."""
    for i in range(warmup):
        for step in steps.values():
            step(-1 - i)
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(runs):
        for name, step in steps.items():
            started = time.perf_counter()
            step(i)
            samples[name].append(time.perf_counter() - started)
    return {name: median_ms(values) for name, values in samples.items()}
