"""Discovery documents (RFC 7644 §4, RFC 7643 §5–§7): what the connector truly supports."""

from __future__ import annotations

from typing import Any

from connector.scim.schema_defs import RESOURCE_TYPES, SCHEMAS, VOCABULARY_OF, Vocabulary

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RT = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
ENDPOINTS = {"User": "/Users", "Group": "/Groups"}


def service_provider_config(base_url: str, *, max_page: int, bulk_ops: int, bulk_payload: int,
                            bulk: bool, max_candidates: int) -> dict[str, Any]:
    """Describe the supported features and limits (RFC 7643 §5).

    `max_candidates` (the cap on users examined for a filter that cannot be pushed down) is
    not published here: RFC 7643 §5 defines no place for it and strict clients (scim2-models)
    reject unknown keys in this document; the tooMany error states it instead.
    """
    del max_candidates
    return {
        "schemas": [SPC],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": bulk, "maxOperations": bulk_ops if bulk else 0,
                 "maxPayloadSize": bulk_payload if bulk else 0},
        "filter": {"supported": True, "maxResults": max_page},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "A token issued by `connector token create` (one per étude, or "
                           "admin); sent as Authorization: Bearer <token>.",
            "primary": True}],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{base_url}/ServiceProviderConfig"},
    }


def schema_document(urn: str, base_url: str, vocabulary: Vocabulary) -> dict[str, Any]:
    """Return one schema with every attribute's type, mutability and canonical values.

    The étude vocabulary (profiles, platforms, permissions) comes from mappings/, so that a
    profile or a platform an administrator adds there is published without a code change.
    """
    name, description, attributes = SCHEMAS[urn]
    served = []
    for attribute in attributes:
        field = VOCABULARY_OF.get((urn, attribute["name"]))
        served.append({**attribute, "canonicalValues": list(getattr(vocabulary, field))}
                      if field else attribute)
    return {"schemas": [SCHEMA], "id": urn, "name": name, "description": description,
            "attributes": served,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{urn}"}}


def all_schemas(base_url: str, vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """Return every schema served (RFC 7643 §7)."""
    return [schema_document(urn, base_url, vocabulary) for urn in SCHEMAS]


def resource_type_document(name: str, base_url: str) -> dict[str, Any]:
    """Describe one resource type and its extensions (RFC 7643 §6)."""
    core, extensions = RESOURCE_TYPES[name]
    return {"schemas": [RT], "id": name, "name": name, "endpoint": ENDPOINTS[name],
            "description": SCHEMAS[core][1], "schema": core,
            "schemaExtensions": [{"schema": e, "required": False} for e in extensions],
            "meta": {"resourceType": "ResourceType",
                     "location": f"{base_url}/ResourceTypes/{name}"}}


def all_resource_types(base_url: str) -> list[dict[str, Any]]:
    """Return the resource types served."""
    return [resource_type_document(n, base_url) for n in RESOURCE_TYPES]


def list_response(resources: list[dict[str, Any]], total: int | None = None,
                  start_index: int = 1) -> dict[str, Any]:
    """Wrap resources in a ListResponse (RFC 7644 §3.4.2)."""
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources) if total is None else total,
            "startIndex": start_index, "itemsPerPage": len(resources),
            "Resources": resources}
