"""Root `POST /.search` (RFC 7644 §3.4.3): the view parses, the service layer merges."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from connector.scim.discovery import list_response
from connector.scim.errors import InvalidSyntax
from connector.scim.query import project
from connector.scim.schema_defs import SEARCH_REQUEST
from connector.service.search import search_all
from connector.web.http import json_body, request_context, scim_response

blueprint = Blueprint("search", __name__)


@blueprint.post("/.search")
def search_everything() -> Any:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidSyntax("A SearchRequest is a JSON object.",
                            detail_fr="Une SearchRequest est un objet JSON.")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidSyntax(f"The search request must declare {SEARCH_REQUEST}.",
                            detail_fr=f"La requête de recherche doit déclarer {SEARCH_REQUEST}.")
    services = {"User": current_app.extensions["users"],
                "Group": current_app.extensions["teams"]}
    total, start, req, found = search_all(body, request_context(), services,
                                          current_app.config["SETTINGS"].max_page_size)
    projected = [project(r, req.attributes if req else (), req.excluded if req else (),
                         (r.get("meta") or {}).get("resourceType", "User")) for r in found]
    return scim_response(list_response(projected, total, start))
