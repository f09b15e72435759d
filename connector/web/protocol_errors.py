"""Requests gunicorn refuses before the app sees them, answered as SCIM errors (RFC 7644 §3.12).

A request line or a header over gunicorn's limits never reaches Flask; gunicorn would answer
with an HTML page, which an HR system's SCIM client cannot read. These answers carry the same
error body, content type and `X-Request-Id` as every other refusal.
"""

from __future__ import annotations

import json

from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine

from connector.scim.errors import ERROR_SCHEMA
from connector.web.request_log import request_id_from

TOO_LONG_LINE = (414, "URI Too Long",
                 "The request line (path and query) is over the server's limit; send a long "
                 "filter in the body of POST /.search (RFC 7644 §3.4.3).")
TOO_LARGE_HEADERS = (431, "Request Header Fields Too Large",
                     "The request headers are over the server's limit.")


def refusal(exc: BaseException) -> tuple[int, str, str] | None:
    """Return status, reason and detail for a request refused as too large, else None."""
    if isinstance(exc, LimitRequestLine):
        return TOO_LONG_LINE
    if isinstance(exc, LimitRequestHeaders):
        return TOO_LARGE_HEADERS
    return None


def raw_response(status: int, reason: str, detail: str) -> bytes:
    """Render a whole HTTP/1.1 answer that closes the connection, with an RFC 7644 error body."""
    body = json.dumps({"schemas": [ERROR_SCHEMA], "status": str(status),
                       "detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/scim+json\r\nContent-Length: {len(body)}\r\n"
            f"X-Request-Id: {request_id_from(None)}\r\n\r\n")
    return head.encode("latin-1") + body
