"""Root `POST /.search` (RFC 7644 §3.4.3): one query across every resource type served."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, current_app, g

from connector.scim import filter as scim_filter
from connector.scim.discovery import list_response
from connector.scim.errors import InvalidFilter, InvalidSyntax, InvalidValue, ScimError
from connector.scim.query import ListRequest, parse_list_request, project
from connector.service.team_plan import needs_members
from connector.web.http import json_body, prefers_french, scim_response
from connector.web.user_views import base_url

blueprint = Blueprint("search", __name__)
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
# Resource type -> app.extensions key of its service; Groups join when their service exists.
SOURCES = (("User", "users"), ("Group", "groups"))


def _requests(params: dict[str, Any], max_page: int) -> list[tuple[str, Any, ListRequest]]:
    """Parse the request once per resource type served.

    A filter naming attributes a type lacks matches none of its resources (§3.4.3), so that
    type is left out; a filter no type understands is 400 invalidFilter.
    """
    out: list[tuple[str, Any, ListRequest]] = []
    failure: ScimError | None = None
    for resource_type, key in SOURCES:
        service = current_app.extensions.get(key)
        if service is None:
            continue
        try:
            req = parse_list_request(params, resource_type, max_page)
        except InvalidFilter as exc:
            failure = exc
            continue
        except InvalidValue:  # sortBy unknown to this type: its resources sort last
            unsorted = {k: v for k, v in params.items() if k.lower() != "sortby"}
            req = parse_list_request(unsorted, resource_type, max_page)
        out.append((resource_type, service, req))
    if not out and failure is not None:
        raise failure
    return out


def _search(resource_type: str, service: Any, req: ListRequest, who: Any, url: str,
            french: bool) -> tuple[int, list[dict[str, Any]]]:
    """Ask one type's service; teams render their members only when the projection shows them."""
    if resource_type == "Group":
        return service.search(req, who, url, needs_members(req.attributes, req.excluded))
    return service.search(req, who, url, french)


def _sort_key(sort_by: str) -> Any:
    def key(resource: dict[str, Any]) -> tuple[int, str]:
        resource_type = (resource.get("meta") or {}).get("resourceType", "User")
        try:
            path = scim_filter.parse_path(sort_by, resource_type)
        except ScimError:
            return (1, "")
        attr = path.path if isinstance(path, scim_filter.ValuePath) else path
        values = scim_filter.attribute_values(resource, attr, resource_type)
        return (0, str(values[0]).lower()) if values else (1, "")
    return key


@blueprint.post("/.search")
def search_all() -> Any:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidSyntax("A SearchRequest is a JSON object.",
                            detail_fr="Une SearchRequest est un objet JSON.")
    schemas = body.get("schemas")
    if schemas is not None and SEARCH_REQUEST not in (schemas or []):
        raise InvalidSyntax(f"The search request must declare {SEARCH_REQUEST}.",
                            detail_fr=f"La requête de recherche doit déclarer {SEARCH_REQUEST}.")
    max_page = current_app.config["SETTINGS"].max_page_size
    requests = _requests(body, max_page)
    who, url, french = g.principal, base_url(), prefers_french()
    sort_by = next((r.sort_by for _, _, r in requests if r.sort_by), None)
    asked = next((v for k, v in body.items() if k.lower() == "sortby"), None)
    if asked and not sort_by:
        raise InvalidValue(f"sortBy names an attribute no resource type has: '{asked}'.",
                           detail_fr=f"sortBy désigne un attribut qu'aucun type de ressource "
                           f"n'a : « {asked} ».")
    start = requests[0][2].start_index if requests else 1
    count = requests[0][2].count if requests else 0
    total = 0
    found: list[dict[str, Any]] = []
    if sort_by:  # the first start+count of each sorted type hold the merged page
        for resource_type, service, req in requests:
            sub = dataclasses.replace(req, start_index=1, count=start - 1 + count)
            n, resources = _search(resource_type, service, sub, who, url, french)
            total += n
            found += resources
        key = _sort_key(sort_by)
        descending = requests[0][2].descending
        present = sorted((r for r in found if key(r)[0] == 0), key=key, reverse=descending)
        found = (present + [r for r in found if key(r)[0] == 1])[start - 1:start - 1 + count]
    else:  # types follow each other: Users, then Groups
        skip, left = start - 1, count
        for resource_type, service, req in requests:
            sub = dataclasses.replace(req, start_index=skip + 1, count=left)
            n, resources = _search(resource_type, service, sub, who, url, french)
            total += n
            found += resources
            left -= len(resources)
            skip = max(0, skip - n)
    projected = [project(r, requests[0][2].attributes, requests[0][2].excluded,
                         (r.get("meta") or {}).get("resourceType", "User")) for r in found]
    return scim_response(list_response(projected, total, start))
