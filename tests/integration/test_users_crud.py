"""SCIM Users create, read, list, replace, patch, delete against real Keycloak."""

from __future__ import annotations

from tests.integration.conftest import PATCH, E, granted_user, kc_groups, kc_user, unique


def test_create_puts_comptable_on_mars_in_its_group_only(e1, kc):
    r = e1.post("/Users", json=granted_user())
    assert r.status_code == 201, r.json
    assert r.headers["Content-Type"] == "application/scim+json"
    assert r.headers["Location"].endswith(f"/Users/{r.json['id']}")
    assert r.headers["ETag"] == r.json["meta"]["version"]
    groups = kc_groups(kc, r.json["id"])
    assert groups == {"/mars/comptable", "/etudes/E1"}
    user = kc_user(kc, r.json["id"])
    assert user["enabled"] is True
    assert "password" not in r.get_data(as_text=True)


def test_get_by_id_and_delete_then_404(e1, kc):
    uid = e1.post("/Users", json=granted_user()).json["id"]
    got = e1.get(f"/Users/{uid}")
    assert got.status_code == 200 and got.json["id"] == uid
    assert got.json[E]["accessStatus"] == "granted"
    assert e1.delete(f"/Users/{uid}").status_code == 204
    assert e1.get(f"/Users/{uid}").status_code == 404
    assert kc.find(kc.path("/users/{u}", u=uid)) is None  # gone from Keycloak too
    assert kc.get(kc.path("/users"), username=got.json["userName"], exact="true") == []


def test_list_filters_paging_and_exact_total(e1):
    tag = unique("grp")
    ids = []
    for i in range(5):
        body = granted_user(f"{tag}-{i}")
        body["externalId"] = f"{tag}-ext-{i}"
        ids.append(e1.post("/Users", json=body).json["id"])
    r = e1.get(f'/Users?filter=userName eq "{tag}-3"')
    assert r.json["totalResults"] == 1 and r.json["Resources"][0]["id"] == ids[3]
    r = e1.get(f'/Users?filter=externalId eq "{tag}-ext-2"')
    assert [u["id"] for u in r.json["Resources"]] == [ids[2]]
    r = e1.get(f'/Users?filter=emails.value eq "{tag}-4@etude.example"')
    assert [u["id"] for u in r.json["Resources"]] == [ids[4]]
    r = e1.get(f'/Users?filter=userName sw "{tag}" and externalId eq "{tag}-ext-1"')
    assert [u["id"] for u in r.json["Resources"]] == [ids[1]]
    r = e1.get(f'/Users?filter=userName sw "{tag}"&startIndex=2&count=2&sortBy=userName')
    assert r.json["totalResults"] == 5
    assert r.json["startIndex"] == 2 and r.json["itemsPerPage"] == 2
    assert [u["userName"] for u in r.json["Resources"]] == [f"{tag}-1", f"{tag}-2"]


def test_put_replaces_and_moves_groups(e1, kc):
    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    body[E] = {**body[E], "profile": "superviseur", "platforms": ["v3"]}
    body["title"] = "Responsable"
    r = e1.put(f"/Users/{uid}", json=body)
    assert r.status_code == 200, r.json
    assert r.json["title"] == "Responsable"
    assert kc_groups(kc, uid) == {"/v3/superviseur", "/etudes/E1"}


def test_patch_add_replace_remove_with_and_without_path(e1, kc):
    uid = e1.post("/Users", json=granted_user()).json["id"]
    ops = [{"op": "add", "path": "title", "value": "Comptable"},
           {"op": "replace", "value": {"displayName": "Anne M", "nickName": "Annie"}},
           {"op": "replace", "path": f"{E}:platforms", "value": ["mars", "v3"]},
           {"op": "remove", "path": "nickName"}]
    r = e1.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": ops})
    assert r.status_code == 200, r.json
    assert r.json["title"] == "Comptable" and r.json["displayName"] == "Anne M"
    assert "nickName" not in r.json
    assert kc_groups(kc, uid) == {"/mars/comptable", "/v3/comptable", "/etudes/E1"}
    attrs = kc_user(kc, uid)["attributes"]
    assert attrs["title"] == ["Comptable"] and attrs["platforms"] == ["mars", "v3"]


def test_active_false_disables_and_ends_sessions(e1, kc):
    uid = e1.post("/Users", json=granted_user()).json["id"]
    r = e1.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert r.status_code == 200 and r.json["active"] is False
    assert r.json[E]["accessStatus"] == "revoked"
    assert kc_user(kc, uid)["enabled"] is False
    assert kc_groups(kc, uid) == {"/etudes/E1"}
    assert kc.get(kc.path("/users/{u}/sessions", u=uid)) == []
