"""Root `POST /.search` (RFC 7644 §3.4.3): one query across Users and Groups, merged here."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from connector.scim import filter as scim_filter
from connector.scim.errors import InvalidFilter, InvalidValue, ScimError
from connector.scim.query import ListRequest, parse_list_request
from connector.service.context import RequestContext
from connector.service.team_plan import needs_members


class Searchable(Protocol):
    """A resource service that answers queries."""

    def search(self, req: ListRequest, ctx: RequestContext
               ) -> tuple[int, list[dict[str, Any]]]: ...


def requests_for(params: dict[str, Any], types: list[str],
                 max_page: int) -> list[tuple[str, ListRequest]]:
    """Parse the request once per resource type.

    A filter naming attributes a type lacks matches none of its resources (§3.4.3), so that
    type is left out; a filter no type understands is 400 invalidFilter.
    """
    out: list[tuple[str, ListRequest]] = []
    failure: ScimError | None = None
    for resource_type in types:
        try:
            req = parse_list_request(params, resource_type, max_page)
        except InvalidFilter as exc:
            failure = exc
            continue
        except InvalidValue:  # sortBy unknown to this type: its resources sort last
            unsorted = {k: v for k, v in params.items() if k.lower() != "sortby"}
            req = parse_list_request(unsorted, resource_type, max_page)
        out.append((resource_type, req))
    if not out and failure is not None:
        raise failure
    return out


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


def search_all(params: dict[str, Any], ctx: RequestContext, services: dict[str, Any],
               max_page: int) -> tuple[int, int, ListRequest | None, list[dict[str, Any]]]:
    """Answer one query across types: (total, startIndex, the parsed request, the page)."""
    requests = requests_for(params, list(services), max_page)
    sort_by = next((r.sort_by for _, r in requests if r.sort_by), None)
    asked = next((v for k, v in params.items() if k.lower() == "sortby"), None)
    if asked and not sort_by:
        raise InvalidValue(f"sortBy names an attribute no resource type has: '{asked}'.",
                           detail_fr=f"sortBy désigne un attribut qu'aucun type de ressource "
                           f"n'a : « {asked} ».")
    first = requests[0][1] if requests else None
    start, count = (first.start_index, first.count) if first else (1, 0)

    def run(resource_type: str, req: ListRequest) -> tuple[int, list[dict[str, Any]]]:
        service = services[resource_type]
        if resource_type == "Group":
            return service.search(req, ctx,
                                  needs_members(req.attributes, req.excluded))
        return service.search(req, ctx)

    total, found = 0, []
    if sort_by:  # the first start+count of each sorted type hold the merged page
        for resource_type, req in requests:
            n, resources = run(resource_type, dataclasses.replace(
                req, start_index=1, count=start - 1 + count))
            total += n
            found += resources
        key = _sort_key(sort_by)
        descending = requests[0][1].descending
        present = sorted((r for r in found if key(r)[0] == 0), key=key, reverse=descending)
        found = (present + [r for r in found if key(r)[0] == 1])[start - 1:start - 1 + count]
    else:  # types follow each other: Users, then Groups
        skip, left = start - 1, count
        for resource_type, req in requests:
            n, resources = run(resource_type, dataclasses.replace(
                req, start_index=skip + 1, count=left))
            total += n
            found += resources
            left -= len(resources)
            skip = max(0, skip - n)
    return total, start, first, found
