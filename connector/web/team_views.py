"""HTTP views of /Groups, the étude's teams (RFC 7644 §3.2–§3.6, R12): thin, like /Users."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from connector.scim.discovery import list_response
from connector.scim.query import parse_list_request, project
from connector.scim.versioning import not_modified
from connector.service.team_plan import needs_members
from connector.service.teams import TeamService
from connector.web.http import json_body, request_context, scim_response

blueprint = Blueprint("teams", __name__)


def service() -> TeamService:
    return current_app.extensions["teams"]


def _projection() -> tuple[tuple[str, ...], tuple[str, ...]]:
    req = parse_list_request(request.args.to_dict(), "Group", 1)
    return req.attributes, req.excluded


def _with_members() -> bool:
    """RFC 7644 §3.4.2.5: members are read only when the answer shows them."""
    return needs_members(*_projection())


def one(resource: dict[str, Any], status: int = 200) -> Any:
    """Answer one team with its ETag (and Location on creation), projected."""
    attributes, excluded = _projection()
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(project(resource, attributes, excluded, "Group"), status, headers)


def search(params: dict[str, Any]) -> Any:
    """Run a query for the caller and answer a ListResponse (RFC 7644 §3.4.2)."""
    max_page = current_app.config["SETTINGS"].max_page_size
    req = parse_list_request(params, "Group", max_page)
    total, resources = service().search(req, request_context(),
                                        needs_members(req.attributes, req.excluded))
    body = list_response([project(r, req.attributes, req.excluded, "Group")
                          for r in resources], total, req.start_index)
    return scim_response(body)


@blueprint.get("/Groups")
def list_teams() -> Any:
    return search(request.args.to_dict())


@blueprint.post("/Groups/.search")
def search_teams() -> Any:
    body = json_body()
    return search(body if isinstance(body, dict) else {})


@blueprint.post("/Groups")
def create_team() -> Any:
    return one(service().create(json_body(), request_context(), _with_members()), 201)


@blueprint.get("/Groups/<team_id>")
def get_team(team_id: str) -> Any:
    resource = service().get(team_id, request_context(), _with_members())
    if not_modified(resource["meta"]["version"], request.headers.get("If-None-Match")):
        return scim_response(None, 304, {"ETag": resource["meta"]["version"]})
    return one(resource)


@blueprint.put("/Groups/<team_id>")
def replace_team(team_id: str) -> Any:
    return one(service().replace(team_id, json_body(), request_context(),
                                 request.headers.get("If-Match"), _with_members()))


@blueprint.patch("/Groups/<team_id>")
def patch_team(team_id: str) -> Any:
    """RFC 7644 §3.5.2 allows 204: a membership change then never re-reads 5,000 members.

    A client that wants the resource back names it with attributes or excludedAttributes.
    """
    wants_body = any(k.lower() in ("attributes", "excludedattributes") for k in request.args)
    resource = service().patch(team_id, json_body(), request_context(),
                               request.headers.get("If-Match"), wants_body and _with_members())
    if wants_body:
        return one(resource)
    return scim_response(None, 204, {"ETag": resource["meta"]["version"]})


@blueprint.delete("/Groups/<team_id>")
def delete_team(team_id: str) -> Any:
    service().delete(team_id, request_context(), request.headers.get("If-Match"))
    return scim_response(None, 204)
