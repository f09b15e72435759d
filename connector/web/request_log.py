"""Request ids and one access-log line per request, with the route template, never the path.

The id comes from the client's `X-Request-Id` when it is a sane token, so that a support call
can quote the id its HR system logged; otherwise a new one is made. It is returned on every
response, errors included, and every log line written while serving the request carries it.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from flask import Flask, Response, g, request

from connector.observability.logs import ETUDE, REQUEST_ID

log = logging.getLogger("connector.access")
HEADER = "X-Request-Id"
# Letters, digits and a few separators, as UUIDs and Entra ID's client-request-ids are.
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def request_id_from(header: str | None) -> str:
    """Keep a client's request id when it is a sane token, else make a new one."""
    if header and SANE_ID.match(header):
        return header
    return secrets.token_hex(16)


def route_of(rule: str | None) -> str:
    """Name a request by its route template (`/scim/v2/Users/<user_id>`), never its path."""
    return rule or "<unmatched>"


def principal_labels(principal: Any) -> str | None:
    """Name the caller's étude for logs and metrics: the code, `admin`, or None."""
    if principal is None:
        return None
    return "admin" if principal.etude is None else str(principal.etude)


def setup_request_log(app: Flask) -> None:
    """Give every request an id (kept from X-Request-Id when sane) and one access line."""

    @app.before_request
    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.log_tokens = (REQUEST_ID.set(g.request_id), ETUDE.set(None))

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[HEADER] = request_id
        started = g.get("request_started", time.perf_counter())
        rule = request.url_rule.rule if request.url_rule is not None else None
        log.info("request", extra={
            "method": request.method, "route": route_of(rule),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "etude": principal_labels(g.get("principal"))})
        return response

    @app.teardown_request
    def forget(_: BaseException | None) -> None:
        tokens = g.pop("log_tokens", None)
        if tokens is not None:
            REQUEST_ID.reset(tokens[0])
            ETUDE.reset(tokens[1])
