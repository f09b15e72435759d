"""The one door to the Keycloak Admin REST API: python-keycloak's connection, counted calls."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from connector.keycloak.transport import Transport, TransportError, pool_for
from connector.settings import Settings

log = logging.getLogger(__name__)


class KeycloakUnavailable(Exception):
    """Keycloak cannot be reached (connection refused or reset, timeout, 502/503/504)."""


class UnsafePath(ValueError):
    """A path segment would escape its place in the Admin API's URL space ('..', '/', '')."""


class KeycloakHTTPError(Exception):
    """Keycloak answered with an unexpected status; carries the parsed error message."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = message


def _message(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        return str(data.get("errorMessage") or data.get("error_description")
                   or data.get("error") or data)
    return str(data)


def connect(settings: Settings, *, as_admin: bool | None = None) -> KeycloakOpenIDConnection:
    """Open a python-keycloak connection: the service account if a secret is set, else admin."""
    use_admin = as_admin if as_admin is not None else not settings.client_secret
    common: dict[str, Any] = {"server_url": settings.keycloak_url,
                              "timeout": settings.keycloak_timeout,
                              # No transparent POST retry: a retried create may answer 409
                              # after it succeeded. Callers see the failure and decide.
                              "max_retries": 0, "pool_maxsize": max(settings.threads, 10)}
    if use_admin:
        return KeycloakOpenIDConnection(username=settings.admin_user,
                                        password=settings.admin_password,
                                        realm_name=settings.admin_realm, client_id="admin-cli",
                                        **common)
    return KeycloakOpenIDConnection(client_id=settings.client_id,
                                    client_secret_key=settings.client_secret,
                                    realm_name=settings.realm, grant_type="client_credentials",
                                    **common)


class Gateway:
    """Send Admin API requests for one realm; every call is counted (see tests/bench)."""

    def __init__(self, settings: Settings, connection: KeycloakOpenIDConnection | None = None,
                 realm: str | None = None) -> None:
        self.settings = settings
        self.realm = realm or settings.realm
        self._connection = connection
        self.pool = pool_for(settings.keycloak_url, settings.keycloak_timeout,
                             max(settings.threads, 10))
        self._lock = threading.Lock()
        self.calls = 0
        # Told of every call: (method, path, outcome, seconds); the metrics listen here.
        self.observer: Callable[[str, str, str, float], None] | None = None

    @property
    def connection(self) -> KeycloakOpenIDConnection:
        """Connect lazily, so that the app starts even while Keycloak is down."""
        with self._lock:
            if self._connection is None:
                self._connection = connect(self.settings)
            return self._connection

    def path(self, template: str, **parts: str) -> str:
        """Build an admin path under the realm; refuse a segment that could climb (UnsafePath)."""
        escaped = {k: quote(safe_segment(str(v)), safe="") for k, v in parts.items()}
        return f"admin/realms/{quote(self.realm, safe='')}" + template.format(**escaped)

    def send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        """Send one request and return the raw response; outages raise KeycloakUnavailable."""
        if self.observer is None:
            return self._send(method, path, params=params, body=body, ok=ok)
        started, outcome = time.perf_counter(), "error"
        try:
            resp = self._send(method, path, params=params, body=body, ok=ok)
            outcome = str(resp.status_code)
            return resp
        except KeycloakHTTPError as exc:
            outcome = str(exc.status)
            raise
        except KeycloakUnavailable:
            outcome = "unavailable"
            raise
        finally:
            self.observer(method, path, outcome, time.perf_counter() - started)

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        data = json.dumps(body) if body is not None else ""
        self.calls += 1
        try:
            resp = Transport(self.connection, self.pool).exchange(method, path, params, data)
        except TransportError as exc:
            self._reset()
            raise KeycloakUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        except KeycloakConnectionError as exc:  # fetching or refreshing the token
            self._reset()
            raise KeycloakUnavailable(f"{method} {path}: {exc}") from exc
        except KeycloakError as exc:
            self._reset()
            code = getattr(exc, "response_code", None) or 0
            if code in (0, 502, 503, 504):
                raise KeycloakUnavailable(f"{method} {path}: {code}") from exc
            raise KeycloakHTTPError(code, str(exc), method, path) from exc
        if resp.status_code in (502, 503, 504):
            raise KeycloakUnavailable(f"{method} {path}: {resp.status_code}")
        if resp.status_code not in ok:
            raise KeycloakHTTPError(resp.status_code, _message(resp.content), method, path)
        return resp

    def _reset(self) -> None:
        with self._lock:
            self._connection = None

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        """Send one request and return its parsed JSON body (None when empty)."""
        resp = self.send(method, path, params=params, body=body, ok=ok)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, **params: Any) -> Any:
        """GET and parse."""
        return self.request("GET", path, params=params)

    def find(self, path: str, **params: Any) -> dict[str, Any] | None:
        """GET one representation, or None when Keycloak answers 404."""
        try:
            found = self.get(path, **params)
        except KeycloakHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found) if isinstance(found, dict) else None

    def group_by_path(self, path: str) -> dict[str, Any] | None:
        """Return the group at a path (`etudes/E1`), or None when there is none."""
        return self.find(self.group_path_url(path))

    def group_path_url(self, path: str) -> str:
        """Build the group-by-path URL of a group path, each name checked and escaped."""
        names = "/".join(quote(safe_segment(n), safe="") for n in path.strip("/").split("/"))
        return self.path("") + f"/group-by-path/{names}"

    def created_id(self, path: str, body: Any) -> str:
        """POST a representation and return the new id from the Location header."""
        resp = self.send("POST", path, body=body, ok=(201,))
        return str(resp.headers.get("Location", "")).rstrip("/").rsplit("/", 1)[-1]


def collect(fetch: Callable[[int, int], list[dict[str, Any]]], size: int,
            first: int = 0) -> list[dict[str, Any]]:
    """Read every page of a listing (`fetch(first, max)`), never Keycloak's default page."""
    out: list[dict[str, Any]] = []
    while True:
        page = fetch(first + len(out), size)
        out += page
        if len(page) < size:
            return out


def safe_segment(value: str) -> str:
    """Return a URL path segment that stays one segment: never '', '.', '..' or with '/'."""
    if value in ("", ".", "..") or "/" in value or "\\" in value or "\x00" in value:
        raise UnsafePath(f"unsafe path segment {value[:40]!r}")
    return value
