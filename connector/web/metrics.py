"""Count every request, Keycloak call and token check for /metrics (served apart, internal)."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from connector.observability import metrics
from connector.web.request_log import principal_labels


def setup_metrics(app: Flask) -> None:
    """Count requests by resource, method, status and étude, their latency and those in flight."""
    gateway = app.extensions.get("gateway")
    if gateway is not None:
        gateway.observer = metrics.observe_keycloak
    directory = app.extensions.get("directory")
    if directory is not None:
        directory.tokens.observer = metrics.observe_token_check

    @app.before_request
    def enter() -> None:
        g.metrics_started = time.perf_counter()
        metrics.IN_FLIGHT.inc()

    @app.after_request
    def count(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule is not None else None
        resource = metrics.resource_of(rule)
        etude = principal_labels(g.get("principal")) or ""
        method = metrics.method_of(request.method)
        metrics.REQUESTS.labels(resource, method, str(response.status_code), etude).inc()
        started = g.get("metrics_started")
        if started is not None:
            metrics.REQUEST_SECONDS.labels(resource, method).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def leave(_: BaseException | None) -> None:
        if g.pop("metrics_started", None) is not None:
            metrics.IN_FLIGHT.dec()
