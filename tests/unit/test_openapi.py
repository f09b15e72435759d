"""The OpenAPI description is generated from the discovery documents (RFC 7644 §4)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest

from connector.mappings import get_mappings
from connector.scim import discovery, limits
from connector.scim.openapi import openapi_document, scim_types
from connector.scim.schema_defs import COMMON_ATTRIBUTES, ETUDE_GROUP, ETUDE_USER, USER
from connector.service.user_record import DATE_FIELDS

BASE = "https://scim.example.fr/scim/v2"
METHODS = {"get", "post", "put", "patch", "delete"}


def spc(bulk: bool = True) -> dict[str, Any]:
    return discovery.service_provider_config(BASE, max_page=200, bulk_ops=1000,
                                             bulk_payload=1048576, bulk=bulk,
                                             max_candidates=10000)


def served() -> list[dict[str, Any]]:
    return discovery.all_schemas(BASE, get_mappings().vocabulary())


def document(schemas: list[dict[str, Any]] | None = None, bulk: bool = True) -> dict[str, Any]:
    return openapi_document(schemas or served(), discovery.all_resource_types(BASE), spc(bulk),
                            COMMON_ATTRIBUTES, base_url=BASE, version="1.2.3",
                            max_body_bytes=4096, dates=DATE_FIELDS,
                            lengths={"userName": (3, 255)})


def validator(doc: dict[str, Any], name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]},
        validate_formats=True)


def extension(doc: dict[str, Any], name: str, urn: str = ETUDE_USER) -> dict[str, Any]:
    return doc["components"]["schemas"][name]["properties"][urn]["properties"]


def test_every_resource_type_gets_its_endpoints_and_unique_operation_ids():
    doc = document()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": BASE}]
    for endpoint in ("/Users", "/Groups"):
        assert {"get", "post"} <= set(doc["paths"][endpoint])
        assert {"get", "put", "patch", "delete"} <= set(doc["paths"][endpoint + "/{id}"])
        assert "post" in doc["paths"][endpoint + "/.search"]
    ids = [op["operationId"] for item in doc["paths"].values()
           for method, op in item.items() if method in METHODS]
    assert len(ids) == len(set(ids)) == 22
    assert json.loads(json.dumps(document())) == document()  # serialisable, deterministic


def test_canonical_values_follow_what_schemas_serves():
    schemas = served()
    assert extension(document(schemas), "User")["profile"]["enum"] == next(
        a["canonicalValues"] for s in schemas if s["id"] == ETUDE_USER
        for a in s["attributes"] if a["name"] == "profile") == list(get_mappings().profiles)
    changed = copy.deepcopy(schemas)
    for schema in changed:
        for attr in schema["attributes"]:
            if schema["id"] == ETUDE_USER and attr["name"] == "profile":
                attr["canonicalValues"] = ["stagiaire"]
    assert extension(document(changed), "User")["profile"]["enum"] == ["stagiaire"]
    assert extension(document(changed), "UserRequest")["profile"]["enum"] == ["stagiaire"]


def test_core_canonical_values_are_suggestions_etude_ones_are_rules():
    doc = document()
    email_type = doc["components"]["schemas"]["User"]["properties"]["emails"]["items"][
        "properties"]["type"]
    assert "enum" not in email_type and email_type["examples"] == ["work", "home", "other"]
    platforms = extension(doc, "Group", ETUDE_GROUP)["platforms"]
    assert platforms["items"]["enum"] == ["mars", "v3"]


def test_password_is_write_only_and_never_in_an_answer():
    doc = document()
    assert doc["components"]["schemas"]["UserRequest"]["properties"]["password"]["writeOnly"]
    assert "password" not in doc["components"]["schemas"]["User"]["properties"]
    user = {"schemas": [USER], "id": "1", "userName": "amartin"}
    assert validator(doc, "User").is_valid(user)
    assert not validator(doc, "User").is_valid({**user, "password": "Secret12"})


def test_read_only_attributes_are_marked_and_answers_are_closed():
    doc = document()
    status = extension(doc, "UserRequest")["accessStatus"]
    assert status["readOnly"] is True
    check = validator(doc, "User")
    user = {"schemas": [USER, ETUDE_USER], "id": "1", "userName": "amartin",
            "active": True, ETUDE_USER: {"profile": "comptable", "platforms": ["mars"],
                                         "kbisDate": "2026-11-02", "accessStatus": "granted"}}
    assert check.is_valid(user)
    assert not check.is_valid({**user, "bogus": 1})
    assert not check.is_valid({**user, ETUDE_USER: {"profile": "stagiaire"}})
    assert not check.is_valid({**user, ETUDE_USER: {"kbisDate": "02/11/2026"}})
    assert not check.is_valid({**user, "active": "True"})


def test_requests_accept_what_entra_id_sends():
    check = validator(document(), "UserRequest")
    entra = {"userName": "amartin", "active": "False",
             ETUDE_USER: {"platforms": "mars,v3", "titulaire": "True",
                          "kbisDate": "2026-11-02T23:30:00Z"}}
    assert check.is_valid(entra)
    assert not check.is_valid({ETUDE_USER: {}})  # userName is required
    assert not check.is_valid({"userName": "ab"})  # Keycloak's bounds, given by the caller


def test_limits_come_from_the_limits_module_and_the_service_provider_config():
    doc = document()
    table = doc["info"]["x-scim-limits"]
    assert table["filterLength"] == limits.MAX_FILTER_LENGTH
    assert table["stringLength"] == limits.MAX_STRING
    assert table["bulkMaxOperations"] == 1000 and table["maxResults"] == 200
    assert table["requestBodyBytes"] == 4096
    bulk = doc["paths"]["/Bulk"]["post"]["requestBody"]["content"]["application/scim+json"]
    assert bulk["schema"]["properties"]["Operations"]["maxItems"] == 1000
    count = next(p for p in doc["paths"]["/Users"]["get"]["parameters"] if p["name"] == "count")
    assert count["schema"]["maximum"] == limits.MAX_INDEX
    assert "/Bulk" not in document(bulk=False)["paths"]


def test_errors_name_every_scim_type_and_keep_their_headers():
    doc = document()
    assert doc["components"]["schemas"]["Error"]["properties"]["scimType"]["enum"] == \
        scim_types()
    assert {"invalidValue", "invalidFilter", "uniqueness", "tooMany"} <= set(scim_types())
    create = doc["paths"]["/Users"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "413", "414", "415", "429", "431",
            "503"} == set(create)
    assert "403" not in doc["paths"]["/Users"]["get"]["responses"]  # read-only tokens read
    assert "WWW-Authenticate" in create["401"]["headers"]
    assert "Retry-After" in create["503"]["headers"] and "Retry-After" in create["429"]["headers"]
    assert {"Location", "ETag"} <= set(create["201"]["headers"])
    assert set(create["201"]["links"]) == {"getUser", "replaceUser", "patchUser", "deleteUser"}
    error = validator(doc, "Error")
    assert error.is_valid({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                           "status": "400", "scimType": "invalidValue", "detail": "x"})
    assert not error.is_valid({"status": 400, "detail": "x"})


def test_only_the_description_itself_needs_no_token():
    doc = document()
    public = [(path, method) for path, item in doc["paths"].items()
              for method, op in item.items() if method in METHODS and op.get("security") == []]
    assert public == [("/openapi.json", "get")]
    assert doc["security"] == [{"bearer": []}]


@pytest.mark.parametrize("name", ["User", "UserRequest", "Group", "GroupRequest", "UserList",
                                  "Error"])
def test_component_schemas_are_valid_json_schemas(name):
    validator(document(), name)  # raises on an invalid schema
