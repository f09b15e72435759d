"""An OpenAPI 3.1 description of the SCIM surface, generated from the discovery documents.

Pure: it reads what `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` serve (so the
étude extension's canonical values come from mappings/ exactly as they are served), the limits
of `connector.scim.limits` and the error classes of `connector.scim.errors`; nothing about the
resources is written here by hand. RFC 7644 §3 (operations), §3.12 (errors), §4 (discovery).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from connector.scim import errors, limits
from connector.scim.openapi_paths import discovery_paths, resource_paths, root_paths
from connector.scim.openapi_schemas import Shape, resource_schema

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def scim_types() -> list[str]:
    """Every scimType the server may answer: one per error class (RFC 7644 §3.12)."""
    seen: list[str] = []
    pending: list[type[errors.ScimError]] = [errors.ScimError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.scim_type and cls.scim_type not in seen:
            seen.append(cls.scim_type)
    return sorted(seen)


def error_schema() -> dict[str, Any]:
    """The RFC 7644 §3.12 error body, as every failure is rendered."""
    return {"type": "object", "required": ["schemas", "status", "detail"],
            "additionalProperties": False, "properties": {
                "schemas": {"type": "array", "items": {"const": ERROR}, "minItems": 1},
                "status": {"type": "string", "pattern": "^[1-5][0-9][0-9]$",
                           "description": "The HTTP status, as a string."},
                "scimType": {"type": "string", "enum": scim_types()},
                "detail": {"type": "string", "description": "What went wrong and how to fix "
                           "it: in French when Accept-Language prefers French, else English."}}}


def list_schema(item: str) -> dict[str, Any]:
    """A ListResponse of one resource type (RFC 7644 §3.4.2)."""
    return {"type": "object", "additionalProperties": False,
            "required": ["schemas", "totalResults", "Resources"], "properties": {
                "schemas": {"type": "array", "items": {"const": LIST_RESPONSE}},
                "totalResults": {"type": "integer", "minimum": 0},
                "startIndex": {"type": "integer", "minimum": 1},
                "itemsPerPage": {"type": "integer", "minimum": 0},
                "Resources": {"type": "array", "items": {"$ref": item}}}}


def limits_table(spc: dict[str, Any], max_body_bytes: int) -> dict[str, Any]:
    """The limits a client must stay within; beyond them: 400 or 413, never 500."""
    return {"requestBodyBytes": max_body_bytes,
            "bulkMaxOperations": spc["bulk"]["maxOperations"],
            "bulkMaxPayloadSize": spc["bulk"]["maxPayloadSize"],
            "maxResults": spc["filter"]["maxResults"],
            "jsonDepth": limits.MAX_JSON_DEPTH, "stringLength": limits.MAX_STRING,
            "arrayItems": limits.MAX_ITEMS, "filterLength": limits.MAX_FILTER_LENGTH,
            "filterComparisons": limits.MAX_FILTER_TERMS,
            "filterNesting": limits.MAX_FILTER_NESTING,
            "filterNumberDigits": limits.MAX_NUMBER_DIGITS, "startIndexAndCount": limits.MAX_INDEX}


DESCRIPTION = """\
Fournisseur SCIM 2.0 (RFC 7643, RFC 7644) qui provisionne le personnel des études dans Keycloak
pour les plateformes Mars et V3. / A SCIM 2.0 service provider (RFC 7643, RFC 7644) that puts the
staff of French bailiff offices onto Keycloak for the platforms Mars and V3.

Every call but this description needs `Authorization: Bearer <token>`; a token acts for one
étude. Errors are RFC 7644 §3.12 bodies whose `detail` is in French when `Accept-Language`
prefers French. The limits are listed under `x-scim-limits`; beyond them the answer is 400 or 413.
"""


def openapi_document(schemas: list[dict[str, Any]], resource_types: list[dict[str, Any]],
                     spc: dict[str, Any], common: list[dict[str, Any]], *, base_url: str,
                     version: str, max_body_bytes: int, dates: Collection[str] = (),
                     lengths: Mapping[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """Describe the SCIM surface these discovery documents announce (OpenAPI 3.1)."""
    by_id = {s["id"]: s for s in schemas}
    shapes = {"request": Shape(True, dates, lengths or {}), "response": Shape(False, dates)}
    components: dict[str, Any] = {
        "Error": error_schema(),
        "ServiceProviderConfig": {"type": "object", "description": "RFC 7643 §5"},
        "Schema": {"type": "object", "description": "RFC 7643 §7",
                   "required": ["id", "attributes"]},
        "ResourceType": {"type": "object", "description": "RFC 7643 §6",
                         "required": ["id", "endpoint", "schema"]},
    }
    paths: dict[str, Any] = {}
    for rt in resource_types:
        name = rt["id"]
        for direction, shape in shapes.items():
            suffix = "" if direction == "response" else "Request"
            components[f"{name}{suffix}"] = resource_schema(rt, by_id, common, shape)
        components[f"{name}List"] = list_schema(f"#/components/schemas/{name}")
        paths.update(resource_paths(rt, spc, patch_answers_no_content=name == "Group"))
    paths.update(root_paths(spc))
    paths.update(discovery_paths([s["id"] for s in schemas],
                                 [rt["id"] for rt in resource_types]))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Étude SCIM connector", "version": version,
                 "description": DESCRIPTION, "x-scim-limits": limits_table(spc, max_body_bytes)},
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "tags": [{"name": rt["id"], "description": rt.get("description", "")}
                 for rt in resource_types] + [{"name": "Discovery"}, {"name": "Bulk"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": spc["authenticationSchemes"][0]["description"]}}},
    }
