"""HTTP view of /Bulk (RFC 7644 §3.7): limits first, then the dispatcher does the work."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from connector.scim import bulk
from connector.service.bulk import BulkService
from connector.web.http import parse_json, request_context, scim_response

# Named "bulk": discovery reports bulk.supported from this blueprint's presence.
blueprint = Blueprint("bulk", __name__)


def _body(max_payload: int) -> Any:
    """Read at most maxPayloadSize bytes (§3.7.4): refuse by Content-Length before reading."""
    bulk.check_payload_size(request.content_length, max_payload)
    raw = request.stream.read(max_payload + 1)
    bulk.check_payload_size(len(raw), max_payload)
    return parse_json(raw, "a BulkRequest", "une BulkRequest")


@blueprint.post("/Bulk")
def run_bulk() -> Any:
    settings = current_app.config["SETTINGS"]
    parsed = bulk.parse_bulk_request(_body(settings.bulk_max_payload),
                                     settings.bulk_max_operations)
    service: BulkService = current_app.extensions["bulk"]
    return scim_response(service.run(parsed, request_context()))
