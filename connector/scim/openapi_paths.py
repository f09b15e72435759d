"""The operations of the OpenAPI description: RFC 7644 §3.2–§3.7 and §4, as served here."""

from __future__ import annotations

from typing import Any

from connector.scim.limits import MAX_FILTER_LENGTH, MAX_INDEX, MAX_STRING

SCIM_JSON = "application/scim+json"
BODY_TYPES = (SCIM_JSON, "application/json")
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

ERRORS = {
    400: "The request is wrong: invalid value, syntax, filter or path; `detail` says which.",
    401: "No bearer token, or one that is unknown, revoked or expired.",
    403: "A read-only token sent a write.",
    404: "No such resource for this token (another étude's is not found either).",
    409: "A unique value is taken (`uniqueness`), or a bulkId cannot be resolved.",
    412: "If-Match names a version that is no longer the current one.",
    413: "The body is over the size limit, or a Bulk request over maxOperations.",
    414: "The request line (path and query) is over the HTTP server's limit; send long "
         "filters in the body of POST /.search.",
    415: "A write whose body is not JSON.",
    429: "Over the étude's request rate or its share of the workers; retry after Retry-After "
         "seconds.",
    431: "The request headers are over the HTTP server's limit.",
    503: "Keycloak cannot be reached, or the resource is busy with another writer; retry after "
         "Retry-After seconds. A write cut part-way says what was applied.",
}
HEADERS = {401: "WWW-Authenticate", 429: "Retry-After", 503: "Retry-After"}
# Every operation may meet these: the token check, admission control, the HTTP server's limits.
ALWAYS = (401, 414, 429, 431)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _header(description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "schema": {"type": "string"}}


def error(status: int) -> dict[str, Any]:
    """An error answer: the RFC 7644 §3.12 body with its status, and its required header."""
    schema = {"allOf": [_ref("Error"), {"properties": {"status": {"const": str(status)}}}]}
    out: dict[str, Any] = {"description": ERRORS[status],
                           "content": {SCIM_JSON: {"schema": schema}}}
    if status in HEADERS:
        out["headers"] = {HEADERS[status]: _header(HEADERS[status])}
    return out


def answers(ok: dict[int, dict[str, Any]], *failures: int, write: bool = False) -> dict[str, Any]:
    """Responses keyed by status: the successes given, then the errors (403 for writes)."""
    out: dict[str, Any] = {str(k): v for k, v in ok.items()}
    statuses = sorted({*ALWAYS, *failures, *((403,) if write else ())})
    out.update({str(status): error(status) for status in statuses})
    return out


def body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A required JSON request body (RFC 7644 §3.1: application/scim+json or JSON)."""
    return {"required": True, "description": description,
            "content": {t: {"schema": schema} for t in BODY_TYPES}}


def content(schema: dict[str, Any], description: str, **headers: str) -> dict[str, Any]:
    """A successful SCIM answer with its body and required headers."""
    out: dict[str, Any] = {"description": description,
                           "content": {SCIM_JSON: {"schema": schema}}}
    if headers:
        out["headers"] = {name.replace("_", "-"): _header(text)
                          for name, text in headers.items()}
    return out


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A query parameter (names are case-insensitive on the server)."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


PROJECTION = [
    query("attributes", {"type": "string", "maxLength": MAX_STRING},
          "Comma-separated attributes to return (RFC 7644 §3.4.2.5); id and schemas always."),
    query("excludedAttributes", {"type": "string", "maxLength": MAX_STRING},
          "Comma-separated attributes to leave out (RFC 7644 §3.4.2.5)."),
]


def list_parameters(max_results: int) -> list[dict[str, Any]]:
    """filter, paging, sorting and projection of a query (RFC 7644 §3.4.2)."""
    return [
        query("filter", {"type": "string", "maxLength": MAX_FILTER_LENGTH},
              'A filter such as `userName eq "amartin"` (RFC 7644 §3.4.2.2).'),
        query("startIndex", {"type": "integer", "maximum": MAX_INDEX},
              "1-based index of the first result; below 1 counts as 1."),
        query("count", {"type": "integer", "minimum": 0, "maximum": MAX_INDEX},
              f"Results per page; at most {max_results} are returned."),
        query("sortBy", {"type": "string", "maxLength": MAX_STRING}, "Attribute to sort on."),
        query("sortOrder", {"enum": ["ascending", "descending"]}, "Sort direction."),
        *PROJECTION,
    ]


def _version_header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": {"type": "string", "maxLength": MAX_STRING}}


IF_MATCH = _version_header("If-Match", "Write only if meta.version still equals this ETag.")
IF_NONE_MATCH = _version_header("If-None-Match", "Answer 304 if meta.version equals this ETag.")


def search_request() -> dict[str, Any]:
    """A SearchRequest body (RFC 7644 §3.4.3)."""
    names = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}
    return {"type": "object", "properties": {
        "schemas": {"type": "array", "items": {"const": SEARCH}},
        "filter": {"type": "string", "maxLength": MAX_FILTER_LENGTH},
        "startIndex": {"type": "integer", "maximum": MAX_INDEX},
        "count": {"type": "integer", "minimum": 0, "maximum": MAX_INDEX},
        "sortBy": {"type": "string"}, "sortOrder": {"enum": ["ascending", "descending"]},
        "attributes": names, "excludedAttributes": names}}


def patch_request() -> dict[str, Any]:
    """A PatchOp body (RFC 7644 §3.5.2); `op` in any case, as Entra ID capitalises it."""
    return {"type": "object", "required": ["Operations"], "properties": {
        "schemas": {"type": "array", "items": {"const": PATCH}},
        "Operations": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["op"], "properties": {
                "op": {"enum": ["add", "replace", "remove", "Add", "Replace", "Remove"]},
                "path": {"type": "string", "maxLength": MAX_FILTER_LENGTH},
                "value": {}}}}}}


def _links(name: str) -> dict[str, Any]:
    """Links from a created resource to the operations on it (OpenAPI 3.1 §4.8.20)."""
    return {f"{verb}{name}": {"operationId": f"{verb}{name}",
                              "parameters": {"id": "$response.body#/id"}}
            for verb in ("get", "replace", "patch", "delete")}


def resource_paths(rt: dict[str, Any], spc: dict[str, Any],
                   patch_answers_no_content: bool = False) -> dict[str, Any]:
    """The endpoint of one resource type: list, create, search, and one resource's verbs."""
    name, endpoint, tag = rt["id"], rt["endpoint"], [rt["id"]]
    plural = endpoint.strip("/")
    one, request = _ref(name), _ref(f"{name}Request")
    etag = {"ETag": "meta.version of the resource."}
    created = content(one, f"{name} created.", Location="meta.location of the resource.",
                      **etag)
    created["links"] = _links(name)
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The id the server gave (a Keycloak id)."}
    patched: dict[int, dict[str, Any]] = {200: content(one, f"{name} patched.", **etag)}
    if patch_answers_no_content:
        patched = {200: content(one, f"{name} patched (asked with attributes or "
                                     "excludedAttributes).", **etag),
                   204: {"description": f"{name} patched.",
                         "headers": {"ETag": _header("meta.version of the resource.")}}}
    return {
        endpoint: {
            "get": {"operationId": f"list{plural}", "tags": tag,
                    "summary": f"List or filter the caller's {plural} (RFC 7644 §3.4.2)",
                    "parameters": list_parameters(spc["filter"]["maxResults"]),
                    "responses": answers({200: content(_ref(f"{name}List"), "A page.")},
                                         400, 503)},
            "post": {"operationId": f"create{name}", "tags": tag,
                     "summary": f"Create a {name} (RFC 7644 §3.3)", "parameters": PROJECTION,
                     "requestBody": body(request),
                     "responses": answers({201: created}, 400, 409, 413, 415, 503, write=True)},
        },
        f"{endpoint}/.search": {"post": {
            "operationId": f"search{plural}", "tags": tag,
            "summary": f"Query {plural} with a SearchRequest (RFC 7644 §3.4.3)",
            "requestBody": body(search_request()),
            "responses": answers({200: content(_ref(f"{name}List"), "A page.")},
                                 400, 413, 415, 503)}},
        f"{endpoint}/{{id}}": {
            "parameters": [ident],
            "get": {"operationId": f"get{name}", "tags": tag, "summary": f"Read a {name}",
                    "parameters": [*PROJECTION, IF_NONE_MATCH],
                    "responses": answers({200: content(one, f"The {name}.", **etag),
                                          304: {"description": "Not modified.", "headers": {
                                              "ETag": _header("meta.version.")}}},
                                         400, 404, 503)},
            "put": {"operationId": f"replace{name}", "tags": tag,
                    "summary": f"Replace a {name} (RFC 7644 §3.5.1)",
                    "parameters": [*PROJECTION, IF_MATCH], "requestBody": body(request),
                    "responses": answers({200: content(one, f"{name} replaced.", **etag)},
                                         400, 404, 409, 412, 413, 415, 503, write=True)},
            "patch": {"operationId": f"patch{name}", "tags": tag,
                      "summary": f"Modify a {name} (RFC 7644 §3.5.2)",
                      "parameters": [*PROJECTION, IF_MATCH], "requestBody": body(patch_request()),
                      "responses": answers(patched, 400, 404, 409, 412, 413, 415, 503,
                                           write=True)},
            "delete": {"operationId": f"delete{name}", "tags": tag,
                       "summary": f"Delete a {name} (RFC 7644 §3.6)", "parameters": [IF_MATCH],
                       "responses": answers({204: {"description": f"{name} deleted."}},
                                            404, 412, 503, write=True)},
        },
    }


def root_paths(spc: dict[str, Any]) -> dict[str, Any]:
    """`/.search` across resource types (§3.4.3) and `/Bulk` when supported (§3.7)."""
    any_resource = {"anyOf": [_ref("User"), _ref("Group")]}
    listing = {"type": "object", "required": ["schemas", "totalResults", "Resources"],
               "properties": {"Resources": {"type": "array", "items": any_resource},
                              "totalResults": {"type": "integer", "minimum": 0}}}
    out: dict[str, Any] = {"/.search": {"post": {
        "operationId": "searchAll", "tags": ["Discovery"],
        "summary": "Query Users and Groups together (RFC 7644 §3.4.3)",
        "requestBody": body(search_request()),
        "responses": answers({200: content(listing, "A page.")}, 400, 413, 415, 503)}}}
    bulk = spc["bulk"]
    if not bulk["supported"]:
        return out
    operation = {"type": "object", "required": ["method", "path"], "properties": {
        "method": {"enum": ["POST", "PUT", "PATCH", "DELETE"]},
        "bulkId": {"type": "string"}, "version": {"type": "string"},
        "path": {"type": "string"}, "data": {}}}
    request = {"type": "object", "required": ["schemas", "Operations"], "properties": {
        "schemas": {"type": "array", "items": {"type": "string"},
                    "contains": {"const": BULK_REQUEST}},
        "failOnErrors": {"type": "integer", "minimum": 1},
        "Operations": {"type": "array", "items": operation,
                       "maxItems": bulk["maxOperations"]}},
        "description": f"At most {bulk['maxOperations']} operations and "
                       f"{bulk['maxPayloadSize']} bytes."}
    result = {"type": "object", "required": ["method", "status"], "properties": {
        "method": {"type": "string"}, "bulkId": {"type": "string"},
        "version": {"type": "string"}, "location": {"type": "string"},
        "status": {"type": "string"}, "response": _ref("Error")}}
    response = {"type": "object", "required": ["schemas", "Operations"], "properties": {
        "schemas": {"type": "array", "items": {"const": BULK_RESPONSE}},
        "Operations": {"type": "array", "items": result}}}
    out["/Bulk"] = {"post": {
        "operationId": "bulk", "tags": ["Bulk"], "summary": "Run operations in one request "
        "(RFC 7644 §3.7)", "requestBody": body(request),
        "responses": answers({200: content(response, "One result per operation.")},
                             400, 409, 413, 415, 503, write=True)}}
    return out


def discovery_paths(schema_ids: list[str], resource_type_ids: list[str]) -> dict[str, Any]:
    """The discovery endpoints (RFC 7644 §4) and this description itself."""
    def listing(item: str) -> dict[str, Any]:
        return {"type": "object", "required": ["Resources"], "properties": {
            "Resources": {"type": "array", "items": _ref(item)}}}

    def by_id(values: list[str], item: str, what: str) -> dict[str, Any]:
        return {"get": {
            "operationId": f"get{item}", "tags": ["Discovery"], "summary": f"One {what}",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": values}}],
            "responses": answers({200: content(_ref(item), f"The {what}.")}, 404)}}

    def get(operation: str, schema: dict[str, Any], summary: str) -> dict[str, Any]:
        return {"get": {"operationId": operation, "tags": ["Discovery"], "summary": summary,
                        "responses": answers({200: content(schema, summary)})}}

    return {
        "/ServiceProviderConfig": get("getServiceProviderConfig", _ref("ServiceProviderConfig"),
                                      "Features and limits (RFC 7643 §5)"),
        "/Schemas": get("listSchemas", listing("Schema"), "Every schema (RFC 7643 §7)"),
        "/Schemas/{id}": by_id(schema_ids, "Schema", "schema"),
        "/ResourceTypes": get("listResourceTypes", listing("ResourceType"),
                              "The resource types (RFC 7643 §6)"),
        "/ResourceTypes/{id}": by_id(resource_type_ids, "ResourceType", "resource type"),
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "tags": ["Discovery"], "security": [],
            "summary": "This description (OpenAPI 3.1), without a token",
            "responses": {"200": {"description": "The OpenAPI document.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["openapi", "paths"]}}}}}}},
    }
