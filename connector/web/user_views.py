"""HTTP views of /Users (RFC 7644 §3.2–§3.6): thin, the service does the work."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from connector.scim.discovery import list_response
from connector.scim.query import parse_list_request, project, shown
from connector.scim.versioning import not_modified
from connector.service.users import UserService
from connector.web.http import json_body, request_context, scim_response

blueprint = Blueprint("users", __name__)


def service() -> UserService:
    return current_app.extensions["users"]


def _projection() -> tuple[tuple[str, ...], tuple[str, ...]]:
    req = parse_list_request(request.args.to_dict(), "User", 1)
    return req.attributes, req.excluded


def one(resource: dict[str, Any], status: int = 200) -> Any:
    """Answer one resource with its ETag (and Location on creation), projected."""
    attributes, excluded = _projection()
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(project(resource, attributes, excluded, "User"), status, headers)


def search(params: dict[str, Any]) -> Any:
    """Run a query for the caller and answer a ListResponse (RFC 7644 §3.4.2)."""
    max_page = current_app.config["SETTINGS"].max_page_size
    req = parse_list_request(params, "User", max_page)
    total, resources = service().search(req, request_context())
    body = list_response([project(r, req.attributes, req.excluded, "User") for r in resources],
                         total, req.start_index)
    return scim_response(body)


@blueprint.get("/Users")
def list_users() -> Any:
    return search(request.args.to_dict())


@blueprint.post("/Users/.search")
def search_users() -> Any:
    body = json_body()
    return search(body if isinstance(body, dict) else {})


@blueprint.post("/Users")
def create_user() -> Any:
    return one(service().create(json_body(), request_context()), 201)


@blueprint.get("/Users/<user_id>")
def get_user(user_id: str) -> Any:
    attributes, excluded = _projection()
    resource = service().get(user_id, request_context(),
                             with_groups=shown("groups", attributes, excluded, "User"))
    if not_modified(resource["meta"]["version"], request.headers.get("If-None-Match")):
        return scim_response(None, 304, {"ETag": resource["meta"]["version"]})
    return one(resource)


@blueprint.put("/Users/<user_id>")
def replace_user(user_id: str) -> Any:
    return one(service().replace(user_id, json_body(), request_context(),
                                 request.headers.get("If-Match")))


@blueprint.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Any:
    return one(service().patch(user_id, json_body(), request_context(),
                               request.headers.get("If-Match")))


@blueprint.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Any:
    service().delete(user_id, request_context(), request.headers.get("If-Match"))
    return scim_response(None, 204)
