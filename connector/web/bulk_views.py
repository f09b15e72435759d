"""HTTP view of /Bulk (RFC 7644 §3.7): limits first, then the dispatcher does the work."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, request

from connector.scim import bulk
from connector.scim.errors import InvalidSyntax
from connector.service.bulk import BulkService
from connector.web.http import prefers_french, scim_response
from connector.web.user_views import base_url

# Named "bulk": discovery reports bulk.supported from this blueprint's presence.
blueprint = Blueprint("bulk", __name__)


def _body(max_payload: int) -> Any:
    """Read at most maxPayloadSize bytes (§3.7.4): refuse by Content-Length before reading."""
    bulk.check_payload_size(request.content_length, max_payload)
    raw = request.stream.read(max_payload + 1)
    bulk.check_payload_size(len(raw), max_payload)
    if not raw:
        raise InvalidSyntax("The request body is empty; a BulkRequest is expected.",
                            detail_fr="Le corps de la requête est vide ; une BulkRequest est "
                            "attendue.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntax(f"The request body is not valid JSON: {exc}",
                            detail_fr=f"Le corps de la requête n'est pas un JSON valide : {exc}"
                            ) from None


@blueprint.post("/Bulk")
def run_bulk() -> Any:
    settings = current_app.config["SETTINGS"]
    parsed = bulk.parse_bulk_request(_body(settings.bulk_max_payload),
                                     settings.bulk_max_operations)
    service = BulkService(current_app.extensions["users"], current_app.extensions.get("groups"))
    return scim_response(service.run(parsed, g.principal, base_url(), prefers_french()))
