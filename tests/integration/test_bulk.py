"""/Bulk (RFC 7644 §3.7) and root /.search (§3.4.3) against real Keycloak."""

from __future__ import annotations

import json

import pytest

from connector.scim.bulk import BULK_REQUEST, BULK_RESPONSE
from tests.integration.conftest import PATCH, granted_user, kc_user, unique

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def bulk(*ops: dict, **extra: object) -> dict:
    return {"schemas": [BULK_REQUEST], "Operations": list(ops), **extra}


def post(bulk_id: str, data: dict, path: str = "/Users") -> dict:
    return {"method": "POST", "path": path, "bulkId": bulk_id, "data": data}


def replace_title(title: str) -> dict:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title",
                                                "value": title}]}


def by_bulk_id(response: dict) -> dict[str, dict]:
    return {op["bulkId"]: op for op in response["Operations"] if "bulkId" in op}


def test_service_provider_config_declares_bulk_limits(e1, app):
    settings = app.config["SETTINGS"]
    spc = e1.get("/ServiceProviderConfig").json
    assert spc["bulk"] == {"supported": True, "maxOperations": settings.bulk_max_operations,
                           "maxPayloadSize": settings.bulk_max_payload}


def test_bulk_creates_and_resolves_references_in_path_and_data(e1, kc):
    boss, clerk = granted_user(), granted_user()
    clerk[ENTERPRISE] = {"manager": {"value": "bulkId:boss"}}
    clerk["schemas"] = [*clerk["schemas"], ENTERPRISE]
    r = e1.post("/Bulk", json=bulk(
        # Sent before the user it references: run after it (dependency order).
        {"method": "PATCH", "path": "/Users/bulkId:clerk", "data": replace_title("Clerc")},
        post("clerk", clerk), post("boss", boss)))
    assert r.status_code == 200, r.json
    assert r.json["schemas"] == [BULK_RESPONSE]
    ops = r.json["Operations"]
    assert [op["method"] for op in ops] == ["PATCH", "POST", "POST"]  # request order
    created = by_bulk_id(r.json)
    assert created["boss"]["status"] == "201" and created["clerk"]["status"] == "201"
    clerk_id = created["clerk"]["location"].rsplit("/", 1)[-1]
    boss_id = created["boss"]["location"].rsplit("/", 1)[-1]
    assert ops[0]["status"] == "200", ops[0]
    assert ops[0]["location"].endswith(f"/Users/{clerk_id}")
    got = e1.get(f"/Users/{clerk_id}").json
    assert got["title"] == "Clerc"
    assert got[ENTERPRISE]["manager"]["value"] == boss_id
    assert ops[0]["version"] == got["meta"]["version"]
    assert kc_user(kc, boss_id)["username"] == boss["userName"].lower()


def test_one_failure_does_not_stop_the_others(e1):
    taken = granted_user()
    assert e1.post("/Users", json=taken).status_code == 201
    fresh = granted_user()
    r = e1.post("/Bulk", json=bulk(post("dup", taken), post("fresh", fresh),
                                    {"method": "DELETE", "path": "/Users/no-such-id"}))
    assert r.status_code == 200
    ops = r.json["Operations"]
    assert ops[0]["status"] == "409" and ops[0]["response"]["scimType"] == "uniqueness"
    assert ops[0]["response"]["schemas"] == [ERROR]
    assert ops[1]["status"] == "201"
    assert ops[2]["status"] == "404" and ops[2]["response"]["status"] == "404"


def test_fail_on_errors_stops_after_that_many_errors(e1):
    names = [unique("foe") for _ in range(3)]
    broken = {"schemas": granted_user()["schemas"]}  # no userName: 400
    r = e1.post("/Bulk", json=bulk(post("a", broken), post("b", granted_user(names[0])),
                                    post("c", broken), post("d", granted_user(names[1])),
                                    failOnErrors=2))
    assert [op["status"] for op in r.json["Operations"]] == ["400", "201", "400"]
    assert r.json["Operations"][0]["response"]["scimType"] == "invalidValue"
    assert e1.get(f'/Users?filter=userName eq "{names[1]}"').json["totalResults"] == 0


def test_reference_to_a_failed_or_unknown_operation_is_409(e1):
    broken = {"schemas": granted_user()["schemas"]}
    r = e1.post("/Bulk", json=bulk(
        post("bad", broken),
        {"method": "PATCH", "path": "/Users/bulkId:bad", "data": replace_title("x")},
        {"method": "PATCH", "path": "/Users/bulkId:ghost", "data": replace_title("x")}))
    statuses = [op["status"] for op in r.json["Operations"]]
    assert statuses == ["400", "409", "409"]
    assert "bad" in r.json["Operations"][1]["response"]["detail"]
    assert "ghost" in r.json["Operations"][2]["response"]["detail"]


def test_circular_references_are_409_and_create_nothing(e1):
    one, two = granted_user(), granted_user()
    for body, other in ((one, "two"), (two, "one")):
        body["schemas"] = [*body["schemas"], ENTERPRISE]
        body[ENTERPRISE] = {"manager": {"value": f"bulkId:{other}"}}
    r = e1.post("/Bulk", json=bulk(post("one", one), post("two", two)))
    assert [op["status"] for op in r.json["Operations"]] == ["409", "409"]
    assert r.json["Operations"][0]["response"]["scimType"] == "invalidValue"
    assert "ircular" in r.json["Operations"][0]["response"]["detail"]
    assert e1.get(f'/Users?filter=userName eq "{one["userName"]}"').json["totalResults"] == 0


def test_version_is_if_match_and_delete_answers_204(e1):
    uid = e1.post("/Users", json=granted_user()).json["id"]
    r = e1.post("/Bulk", json=bulk(
        {"method": "PATCH", "path": f"/Users/{uid}", "version": 'W/"stale"',
         "data": replace_title("x")}))
    assert r.json["Operations"][0]["status"] == "412"
    version = e1.get(f"/Users/{uid}").json["meta"]["version"]
    r = e1.post("/Bulk", json=bulk({"method": "DELETE", "path": f"/Users/{uid}",
                                    "version": version}))
    op = r.json["Operations"][0]
    assert op["status"] == "204" and op["location"].endswith(f"/Users/{uid}")
    assert e1.get(f"/Users/{uid}").status_code == 404


def test_tenancy_is_the_callers_token(e1, e2):
    uid = e1.post("/Users", json=granted_user()).json["id"]
    r = e2.post("/Bulk", json=bulk(
        {"method": "PATCH", "path": f"/Users/{uid}", "data": replace_title("x")},
        {"method": "DELETE", "path": f"/Users/{uid}"}))
    assert [op["status"] for op in r.json["Operations"]] == ["404", "404"]
    assert e1.get(f"/Users/{uid}").status_code == 200


def test_groups_operations_go_to_the_teams_service_or_say_why_not(e1):
    name = granted_user()
    r = e1.post("/Bulk", json=bulk(
        post("u", name),
        post("g", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": unique("team"), "members": [{"value": "bulkId:u"}]},
             "/Groups"),
        {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}}))
    ops = r.json["Operations"]
    assert ops[0]["status"] == "201"
    assert ops[2]["status"] == "404"
    assert ops[1]["status"] == "201", ops[1]
    gid = ops[1]["location"].rsplit("/", 1)[-1]
    uid = ops[0]["location"].rsplit("/", 1)[-1]
    members = e1.get(f"/Groups/{gid}").json.get("members", [])
    assert [m["value"] for m in members] == [uid]


def test_too_many_operations_is_413(e1, app):
    limit = app.config["SETTINGS"].bulk_max_operations
    ops = [{"method": "DELETE", "path": f"/Users/x{i}"} for i in range(limit + 1)]
    r = e1.post("/Bulk", json=bulk(*ops))
    assert r.status_code == 413
    assert r.json["schemas"] == [ERROR] and r.json["status"] == "413"
    assert str(limit) in r.json["detail"]


def test_payload_over_max_size_is_413_before_parsing(e1, app):
    limit = app.config["SETTINGS"].bulk_max_payload
    r = e1.post("/Bulk", data="{" + "x" * limit)  # not even JSON: the size speaks first
    assert r.status_code == 413
    assert r.json["schemas"] == [ERROR] and "maxPayloadSize" in r.json["detail"]
    padded = bulk({"method": "POST", "path": "/Users", "bulkId": "p",
                   "data": {**granted_user(), "nickName": "n" * limit}})
    r = e1.post("/Bulk", data=json.dumps(padded))
    assert r.status_code == 413


def test_malformed_bulk_request_is_400(e1):
    r = e1.post("/Bulk", json={"Operations": []})
    assert r.status_code == 400 and r.json["scimType"] == "invalidSyntax"
    r = e1.post("/Bulk", json=bulk({"method": "POST", "path": "/Users", "data": {}}))
    assert r.status_code == 400 and "bulkId" in r.json["detail"]


def test_french_details_in_operation_responses(app, tokens):
    from tests.integration.conftest import Scim

    fr = Scim(app, tokens["E1"], lang="fr")
    r = fr.post("/Bulk", json=bulk({"method": "DELETE", "path": "/Users/nope"}))
    assert "introuvable" in r.json["Operations"][0]["response"]["detail"]


# -- root /.search (RFC 7644 §3.4.3) ---------------------------------------------------------
def test_root_search_finds_users_with_paging_and_projection(e1, e2):
    tag = unique("rs")
    ids = [e1.post("/Users", json=granted_user(f"{tag}-{i}")).json["id"] for i in range(3)]
    e2.post("/Users", json=granted_user(f"{tag}-other"))
    r = e1.post("/.search", json={"schemas": [SEARCH], "filter": f'userName sw "{tag}"',
                                  "sortBy": "userName", "sortOrder": "descending",
                                  "startIndex": 2, "count": 1, "attributes": ["userName"]})
    assert r.status_code == 200, r.json
    assert r.json["totalResults"] == 3  # E2's user is not E1's to see
    assert r.json["startIndex"] == 2 and r.json["itemsPerPage"] == 1
    assert r.json["Resources"] == [{"schemas": r.json["Resources"][0]["schemas"],
                                    "id": ids[1], "userName": f"{tag}-1"}]
    r = e1.post("/.search", json={"schemas": [SEARCH], "filter": f'userName eq "{tag}-2"'})
    assert [x["id"] for x in r.json["Resources"]] == [ids[2]]
    assert r.json["Resources"][0]["meta"]["resourceType"] == "User"


def test_root_search_pages_across_types_without_sort(e1):
    tag = unique("rp")
    for i in range(3):
        e1.post("/Users", json=granted_user(f"{tag}-{i}"))
    seen = []
    for start in (1, 3):
        r = e1.post("/.search", json={"schemas": [SEARCH], "filter": f'userName sw "{tag}"',
                                      "startIndex": start, "count": 2})
        assert r.json["totalResults"] == 3
        seen += [x["userName"] for x in r.json["Resources"]]
    assert sorted(seen) == [f"{tag}-{i}" for i in range(3)]


@pytest.mark.parametrize("body", [
    {"schemas": [SEARCH], "filter": 'userName eq "unterminated'},
    {"schemas": [SEARCH], "filter": 'noSuchAttribute eq "x"'},
    {"schemas": ["urn:wrong"], "filter": 'userName eq "x"'},
    {"schemas": [SEARCH], "sortBy": "noSuchAttribute"},
])
def test_root_search_refuses_what_it_cannot_serve(e1, body):
    r = e1.post("/.search", json=body)
    assert r.status_code == 400, r.json
    assert r.json["schemas"] == [ERROR]


def test_root_search_needs_a_token(app):
    r = app.test_client().post("/scim/v2/.search", json={"schemas": [SEARCH]})
    assert r.status_code == 401


def test_root_search_spans_users_and_groups(e1):
    tag = unique("Both")
    user = {**granted_user(), "displayName": tag}
    uid = e1.post("/Users", json=user).json["id"]
    team = e1.post("/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                    "displayName": tag})
    assert team.status_code == 201, team.json
    query = {"schemas": [SEARCH], "filter": f'displayName eq "{tag}"'}
    r = e1.post("/.search", json=query)
    assert r.json["totalResults"] == 2
    assert {(x["meta"]["resourceType"], x["id"]) for x in r.json["Resources"]} == {
        ("User", uid), ("Group", team.json["id"])}
    r = e1.post("/.search", json={**query, "startIndex": 2, "count": 1})
    assert r.json["totalResults"] == 2
    assert [x["id"] for x in r.json["Resources"]] == [team.json["id"]]
    r = e1.post("/.search", json={**query, "sortBy": "displayName", "count": 1,
                                  "attributes": ["displayName"]})
    assert r.json["itemsPerPage"] == 1 and r.json["Resources"][0]["displayName"] == tag
