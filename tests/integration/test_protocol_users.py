"""Users: projection on every verb, versions and preconditions, meta, PATCH
atomicity and filtered adds, checked against the real Keycloak."""

from __future__ import annotations

import pytest

from tests.integration.conftest import PATCH, E, granted_user, kc_user, unique

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def patch_body(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def user(e1):
    body = granted_user()
    body[ENT] = {"department": "Recouvrement", "employeeNumber": "42"}
    body["schemas"].append(ENT)
    r = e1.post("/Users", json=body)
    assert r.status_code == 201, r.json
    return r.json


# -- §4 projection ---------------------------------------------------------------------------

def test_get_with_attributes_keeps_only_those_plus_id_and_schemas(e1, user):
    r = e1.get(f"/Users/{user['id']}?attributes=userName,name.givenName,{ENT}:department")
    assert r.status_code == 200
    assert set(r.json) == {"id", "schemas", "userName", "name", ENT}
    assert r.json["name"] == {"givenName": "Anne"}
    assert r.json[ENT] == {"department": "Recouvrement"}
    assert r.headers["ETag"] == user["meta"]["version"]


def test_get_with_excluded_attributes(e1, user):
    r = e1.get(f"/Users/{user['id']}?excludedAttributes=emails,name.familyName,{E}")
    assert "emails" not in r.json and E not in r.json
    assert E not in r.json["schemas"] and ENT in r.json["schemas"]  # RFC 7643 §3
    assert r.json["name"] == {"givenName": "Anne"}
    assert r.json["userName"] == user["userName"] and r.json["id"] == user["id"]


def test_attributes_and_excluded_attributes_together_is_400(e1, user):
    r = e1.get(f"/Users/{user['id']}?attributes=userName&excludedAttributes=emails")
    assert r.status_code == 400 and r.json["detail"]


def test_list_and_search_project_each_resource(e1, user):
    query = f'filter=userName eq "{user["userName"]}"'
    listed = e1.get(f"/Users?{query}&attributes=userName").json
    assert listed["totalResults"] == 1
    assert set(listed["Resources"][0]) == {"id", "schemas", "userName"}
    searched = e1.post("/Users/.search", json={
        "schemas": [SEARCH], "filter": f'userName eq "{user["userName"]}"',
        "excludedAttributes": ["emails", "meta"]}).json
    resource = searched["Resources"][0]
    assert "emails" not in resource and "meta" not in resource
    assert resource["userName"] == user["userName"]


def test_write_responses_are_projected(e1):
    body = granted_user()
    created = e1.post("/Users?attributes=userName", json=body)
    assert created.status_code == 201
    assert set(created.json) == {"id", "schemas", "userName"}
    assert created.headers["ETag"] and created.headers["Location"].endswith(created.json["id"])
    uid = created.json["id"]
    body["title"] = "Clerc"
    put = e1.put(f"/Users/{uid}?excludedAttributes=emails", json=body)
    assert put.status_code == 200 and "emails" not in put.json and put.json["title"] == "Clerc"
    patched = e1.patch(f"/Users/{uid}?attributes=title", json=patch_body(
        {"op": "replace", "path": "title", "value": "Premier clerc"}))
    assert patched.status_code == 200
    assert set(patched.json) == {"id", "schemas", "title"}
    assert patched.json["title"] == "Premier clerc"


# -- §5 versions, preconditions and meta ----------------------------------------------------

def test_meta_and_location_on_creation(e1):
    r = e1.post("/Users", json=granted_user())
    meta = r.json["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == r.headers["Location"]
    assert meta["location"].endswith(f"/scim/v2/Users/{r.json['id']}")
    assert meta["created"].endswith("Z") and meta["lastModified"].endswith("Z")
    assert meta["version"].startswith('W/"') and r.headers["ETag"] == meta["version"]


def test_every_resource_response_carries_its_etag(e1, user):
    uid = user["id"]
    got = e1.get(f"/Users/{uid}")
    assert got.headers["ETag"] == got.json["meta"]["version"] == user["meta"]["version"]
    patched = e1.patch(f"/Users/{uid}", json=patch_body(
        {"op": "replace", "path": "title", "value": "Clerc"}))
    assert patched.headers["ETag"] == patched.json["meta"]["version"] != user["meta"]["version"]
    listed = e1.get(f'/Users?filter=userName eq "{user["userName"]}"').json["Resources"][0]
    assert listed["meta"]["version"] == patched.json["meta"]["version"]


def test_if_none_match_answers_304_while_unchanged(e1, user):
    uid, version = user["id"], user["meta"]["version"]
    r = e1.get(f"/Users/{uid}", headers={"If-None-Match": version})
    assert r.status_code == 304 and r.get_data() == b"" and r.headers["ETag"] == version
    e1.patch(f"/Users/{uid}", json=patch_body({"op": "replace", "path": "title", "value": "X"}))
    r = e1.get(f"/Users/{uid}", headers={"If-None-Match": version})
    assert r.status_code == 200 and r.json["title"] == "X"


@pytest.mark.parametrize("verb", ["put", "patch", "delete"])
def test_stale_if_match_is_412_and_changes_nothing(e1, kc, user, verb):
    uid, stale = user["id"], user["meta"]["version"]
    e1.patch(f"/Users/{uid}", json=patch_body({"op": "replace", "path": "title", "value": "A"}))
    before = kc_user(kc, uid)
    body = {"put": {**granted_user(user["userName"]), "title": "B"},
            "patch": patch_body({"op": "replace", "path": "title", "value": "B"}),
            "delete": None}[verb]
    kwargs = {"json": body} if body is not None else {}
    r = getattr(e1, verb)(f"/Users/{uid}", headers={"If-Match": stale}, **kwargs)
    assert r.status_code == 412 and r.json["detail"]
    after = kc_user(kc, uid)
    assert after["attributes"] == before["attributes"]


def test_current_if_match_is_honoured(e1, user):
    uid = user["id"]
    current = e1.get(f"/Users/{uid}").json["meta"]["version"]
    r = e1.patch(f"/Users/{uid}", headers={"If-Match": current},
                 json=patch_body({"op": "replace", "path": "title", "value": "Ok"}))
    assert r.status_code == 200
    assert e1.delete(f"/Users/{uid}", headers={"If-Match": r.json["meta"]["version"]}
                     ).status_code == 204


# -- §6 PATCH as clients send it ------------------------------------------------------------

def test_patch_is_atomic_keycloak_untouched_when_a_later_operation_fails(e1, kc, user):
    uid = user["id"]
    before = kc_user(kc, uid)
    r = e1.patch(f"/Users/{uid}", json=patch_body(
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "add", "path": "emails[type eq \"work\"].value", "value": "new@etude.example"},
        {"op": "replace", "path": "nosuchattribute", "value": "x"}))
    assert r.status_code == 400 and "Operation 3" in r.json["detail"]
    after = kc_user(kc, uid)
    assert after["attributes"] == before["attributes"]
    assert after["email"] == before["email"]
    assert "title" not in e1.get(f"/Users/{uid}").json


def test_patch_rejected_by_a_rule_leaves_keycloak_untouched(e1, kc, user):
    uid = user["id"]
    before = kc_user(kc, uid)
    r = e1.patch(f"/Users/{uid}", json=patch_body(
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "replace", "path": f"{E}:profile", "value": "pilote"}))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue" and r.json["detail"]
    assert kc_user(kc, uid)["attributes"] == before["attributes"]


def test_add_to_filtered_path_matching_nothing_creates_the_entry(e1, kc):
    body = granted_user()
    body["emails"] = [{"value": f"{body['userName']}@home.example", "type": "home",
                       "primary": True}]
    uid = e1.post("/Users", json=body).json["id"]
    r = e1.patch(f"/Users/{uid}", json=patch_body(
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "w@etude.example"}))
    assert r.status_code == 200, r.json
    work = [m for m in r.json["emails"] if m.get("type") == "work"]
    assert work == [{"type": "work", "value": "w@etude.example"}]
    assert "w@etude.example" in kc_user(kc, uid)["attributes"]["emailIndex"]


def test_replace_filtered_path_updates_the_matching_entry(e1, user):
    r = e1.patch(f"/Users/{user['id']}", json=patch_body(
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "moved@etude.example"}))
    assert r.status_code == 200
    assert [m["value"] for m in r.json["emails"]] == ["moved@etude.example"]


def test_op_in_any_case_and_string_booleans(e1, kc, user):
    uid = user["id"]
    r = e1.patch(f"/Users/{uid}", json=patch_body(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "title", "value": "Clerc"}))
    assert r.status_code == 200, r.json
    assert r.json["active"] is False and r.json["title"] == "Clerc"
    assert kc_user(kc, uid)["enabled"] is False


def test_pathless_replace_with_dotted_and_urn_keys(e1, user):
    r = e1.patch(f"/Users/{user['id']}", json=patch_body({"op": "replace", "value": {
        "name.givenName": "Brigitte", "name.familyName": "Durand",
        f"{ENT}:department": "Contentieux", f"{ENT}:manager": {"value": "m-1"},
        "displayName": "Brigitte Durand"}}))
    assert r.status_code == 200, r.json
    assert r.json["name"]["givenName"] == "Brigitte" and r.json["name"]["familyName"] == "Durand"
    assert r.json[ENT]["department"] == "Contentieux"
    assert r.json[ENT]["manager"]["value"] == "m-1"
    assert r.json[ENT]["employeeNumber"] == "42"


def test_remove_active_leaves_it_unassigned_and_access_unchanged(e1, user):
    r = e1.patch(f"/Users/{user['id']}", json=patch_body({"op": "remove", "path": "active"}))
    assert r.status_code == 200
    assert "active" not in r.json and r.json[E]["accessStatus"] == "granted"


def test_removing_the_etude_code_is_refused_with_a_detail(e1, user):
    r = e1.patch(f"/Users/{user['id']}", json=patch_body({"op": "remove", "path": f"{E}:etude"}))
    assert r.status_code == 400 and "E1" in r.json["detail"]


def test_username_can_be_renamed(e1, kc, user):
    new = unique("renamed")
    r = e1.patch(f"/Users/{user['id']}", json=patch_body(
        {"op": "replace", "path": "userName", "value": new}))
    assert r.status_code == 200, r.json
    assert r.json["userName"] == new and kc_user(kc, user["id"])["username"] == new
