"""One exchange with Keycloak over urllib3's connection pool, with python-keycloak's tokens.

python-keycloak keeps the service account's token (fetch, refresh before expiry, refresh once
on a 401); its `raw_*` calls go through a requests Session, whose per-call machinery (merging
the proxy environment, hooks, cookies, adapters) cost more than Keycloak's own answer to a
lookup. The pool is what requests would use underneath, set up once: the environment's proxy
and CA bundle for Keycloak's URL are read at start, as requests reads them on every call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import certifi
import requests.utils
import urllib3
from keycloak import KeycloakOpenIDConnection
from urllib3.exceptions import HTTPError as TransportError  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Reply:
    """What the gateway reads of Keycloak's answer."""

    status_code: int
    content: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def pool_for(url: str, timeout: float, size: int) -> urllib3.PoolManager:
    """A keep-alive pool for Keycloak's URL: no retry (a retried POST may have succeeded)."""
    options: dict[str, Any] = {
        "maxsize": size, "retries": False,
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "ca_certs": (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                     or certifi.where())}
    proxies = requests.utils.get_environ_proxies(url)
    proxy = proxies.get(url.split(":", 1)[0]) or proxies.get("all")
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


class Transport:
    """Send Admin API requests with the connection's bearer token, refreshed as it needs."""

    def __init__(self, connection: KeycloakOpenIDConnection, pool: urllib3.PoolManager) -> None:
        self.connection, self.pool = connection, pool
        self.base = str(connection.server_url).rstrip("/") + "/"

    def exchange(self, method: str, path: str, params: Mapping[str, Any], data: str) -> Reply:
        """Send one request; urllib3's errors (TransportError) mean Keycloak is unreachable."""
        conn = self.connection
        if conn.token is None:
            conn.get_token()
        elif conn.expires_at is not None and conn.expires_at <= datetime.now(tz=UTC):
            conn.refresh_token()
        reply = self._once(method, path, params, data)
        if reply.status_code == 401:
            conn.refresh_token()
            reply = self._once(method, path, params, data)
        return reply

    def _once(self, method: str, path: str, params: Mapping[str, Any], data: str) -> Reply:
        url = urljoin(self.base, path)
        if params:
            url += "?" + urlencode(params, doseq=True)
        resp = self.pool.request(method, url, body=data.encode() if data else None,
                                 headers=dict(self.connection.headers or {}), redirect=False)
        return Reply(resp.status, resp.data, resp.headers)

