"""Refuse what no handler should read: bodies over the size limit (413), non-JSON writes (415)."""

from __future__ import annotations

from flask import Flask, request

from connector.scim.errors import PayloadTooLarge, UnsupportedMediaType
from connector.settings import Settings
from connector.web import SCIM_PREFIX

JSON_TYPES = ("application/scim+json", "application/json")


def setup_limits(app: Flask, settings: Settings) -> None:
    """Bound every SCIM request before any view reads it (RFC 7644 §3.1, §3.7.4)."""

    @app.before_request
    def bound_request() -> None:
        if not request.path.startswith(SCIM_PREFIX):
            return
        bulk = request.path.rstrip("/").endswith("/Bulk")
        limit = settings.bulk_max_payload if bulk else settings.max_body_bytes
        request.max_content_length = limit  # also bounds a chunked body as it is read
        if not bulk and (request.content_length or 0) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.",
                                  detail_fr=f"Le corps de la requête dépasse {limit} octets.")
        if (request.method in ("POST", "PUT", "PATCH") and request.content_type
                and request.mimetype not in JSON_TYPES):
            raise UnsupportedMediaType(
                f"The body must be JSON (Content-Type: application/scim+json), not "
                f"'{request.mimetype[:60]}'.",
                detail_fr=f"Le corps doit être du JSON (Content-Type: application/scim+json), "
                f"pas « {request.mimetype[:60]} ».")
