"""Whom to believe about the client and the host: the trusted proxies, the configured base URL.

Links (`meta.location`, `Location`, `$ref`) come from CONNECTOR_BASE_URL, which production
sets. Without it they come from the request, so `X-Forwarded-*` headers are believed only from
the CONNECTOR_TRUSTED_PROXIES proxies nearest the connector (werkzeug's ProxyFix), never from
the client; and when a base URL is set, a SCIM request naming another host in `Host` is
refused (400) rather than answered with links or redirects built from it. Probes keep
answering whatever the Host (Kubernetes sends the pod's address).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from connector.scim.errors import BadRequest
from connector.settings import Settings
from connector.web import SCIM_PREFIX
from connector.web.http import error_response


def trusted_hosts(base_url: str) -> list[str] | None:
    """Return the hosts a request may name: the base URL's host, or None (any) without one."""
    host = urlsplit(base_url).hostname if base_url else None
    return [host] if host else None


def setup_proxies(app: Flask, settings: Settings) -> None:
    """Believe forwarded headers from N trusted proxies only; check Host against the base URL."""
    hops = max(0, settings.trusted_proxies)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops)
    hosts = trusted_hosts(settings.base_url)
    if hosts is None:
        return

    class HostCheckedRequest(Request):
        """A request whose Host must be the base URL's on the SCIM paths (Flask validates)."""

        @property
        def trusted_hosts(self) -> list[str] | None:
            return hosts if self.path.startswith(SCIM_PREFIX) else None

        @trusted_hosts.setter
        def trusted_hosts(self, value: list[str] | None) -> None:
            pass  # the property above decides per path

    app.request_class = HostCheckedRequest

    @app.errorhandler(SecurityError)
    def untrusted_host(_: SecurityError) -> Any:
        return error_response(BadRequest(
            "The Host header does not name this service.",
            detail_fr="L'en-tête Host ne désigne pas ce service."))
