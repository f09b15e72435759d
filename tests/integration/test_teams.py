"""SCIM Groups are étude teams; delegation (R12) checked as Keycloak computes it."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import PATCH, E, granted_user, kc_groups, unique

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"


# -- helpers ---------------------------------------------------------------------------------
def effective(kc: Any, user_id: str, client_id: str = "mars") -> set[str]:
    """The client roles Keycloak computes for the user (groups, subgroups, composites)."""
    uuid = kc.get(kc.path("/clients"), clientId=client_id)[0]["id"]
    url = kc.path("/users/{u}/role-mappings/clients/{c}/composite", u=user_id, c=uuid)
    return {r["name"] for r in kc.get(url)}


def team(name: str | None = None, members: list[str] | None = None,
         permissions: list[str] | None = None, platforms: list[str] | None = None,
         **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [G, EG], "displayName": name or unique("team"),
                            EG: {"delegatedPermissions": permissions or [],
                                 "platforms": platforms or []}, **extra}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    return body


def user(client: Any, **ext: Any) -> str:
    r = client.post("/Users", json=granted_user(**ext))
    assert r.status_code == 201, r.json
    return str(r.json["id"])


def patch(client: Any, path: str, *ops: dict[str, Any], **kw: Any) -> Any:
    return client.patch(path, json={"schemas": [PATCH], "Operations": list(ops)}, **kw)


def member_ids(client: Any, team_id: str) -> set[str]:
    r = client.get(f"/Groups/{team_id}")
    assert r.status_code == 200, r.json
    return {m["value"] for m in r.json.get("members", [])}


# -- delegation as Keycloak computes it --------------------------------------------------------
def test_granted_member_gets_delegated_role_beyond_profile_and_loses_it_when_removed(e1, kc):
    uid = user(e1)  # comptable on mars: no send_reminders in the profile
    assert "send_reminders" not in effective(kc, uid)
    profile_roles = effective(kc, uid)
    r = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                     platforms=["mars"]))
    assert r.status_code == 201, r.json
    tid, name = r.json["id"], r.json["displayName"]
    assert r.headers["Location"].endswith(f"/Groups/{tid}")
    assert r.json["members"][0]["value"] == uid and r.json["members"][0]["type"] == "User"
    assert effective(kc, uid) == profile_roles | {"send_reminders"}
    assert effective(kc, uid, "v3") == set()  # the team delegates on mars only
    assert {f"/etudes/E1/{name}", f"/etudes/E1/{name}/mars"} <= kc_groups(kc, uid)
    # The team group itself grants nothing; the subgroup carries exactly the delegation.
    team_group = kc.get(kc.path("/groups/{g}", g=tid))
    assert team_group["path"] == f"/etudes/E1/{name}" and not team_group.get("clientRoles")
    r = patch(e1, f"/Groups/{tid}", {"op": "remove", "path": f'members[value eq "{uid}"]'})
    assert r.status_code == 204, r.json
    assert effective(kc, uid) == profile_roles
    assert not {p for p in kc_groups(kc, uid) if p.startswith(f"/etudes/E1/{name}")}


def test_non_granted_member_gets_nothing_from_the_team(e1, kc):
    body = granted_user()
    del body[E]["confidentialityAcceptedDate"]  # R7 unmet: pending
    r = e1.post("/Users", json=body)
    uid = r.json["id"]
    assert r.json[E]["accessStatus"] != "granted"
    r = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                     platforms=["mars"]))
    assert r.status_code == 201, r.json
    assert effective(kc, uid) == set()
    assert kc_groups(kc, uid) == {"/etudes/E1", f"/etudes/E1/{r.json['displayName']}"}


def test_team_losing_a_permission_takes_it_away_at_once(e1, kc):
    uid = user(e1)
    tid = e1.post("/Groups", json=team(members=[uid], platforms=["mars"],
                                       permissions=["send_reminders", "contact_debtor"])
                  ).json["id"]
    assert {"send_reminders", "contact_debtor"} <= effective(kc, uid)
    r = patch(e1, f"/Groups/{tid}", {"op": "replace", "path": f"{EG}:delegatedPermissions",
                                     "value": ["contact_debtor"]})
    assert r.status_code == 204, r.json
    roles = effective(kc, uid)
    assert "contact_debtor" in roles and "send_reminders" not in roles
    assert e1.get(f"/Groups/{tid}").json[EG]["delegatedPermissions"] == ["contact_debtor"]


def test_member_becoming_inactive_loses_delegation_and_regains_it(e1, kc):
    uid = user(e1)
    r = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                     platforms=["mars"]))
    tid, name = r.json["id"], r.json["displayName"]
    assert "send_reminders" in effective(kc, uid)
    r = patch(e1, f"/Users/{uid}", {"op": "replace", "path": "active", "value": False})
    assert r.status_code == 200, r.json
    assert effective(kc, uid) == set()
    assert kc_groups(kc, uid) == {"/etudes/E1", f"/etudes/E1/{name}"}  # still in the team
    assert uid in member_ids(e1, tid)
    r = patch(e1, f"/Users/{uid}", {"op": "replace", "path": "active", "value": True})
    assert r.json[E]["accessStatus"] == "granted", r.json
    assert "send_reminders" in effective(kc, uid)
    assert f"/etudes/E1/{name}/mars" in kc_groups(kc, uid)


def test_user_gaining_a_platform_gets_that_platform_delegation(e1, kc):
    uid = user(e1)  # mars only
    r = e1.post("/Groups", json=team(members=[uid], permissions=["mobile_app"],
                                     platforms=["mars", "v3"]))
    name = r.json["displayName"]
    assert "mobile_app" in effective(kc, uid) and effective(kc, uid, "v3") == set()
    r = patch(e1, f"/Users/{uid}", {"op": "replace", "path": f"{E}:platforms",
                                    "value": ["mars", "v3"]})
    assert r.status_code == 200, r.json
    assert "mobile_app" in effective(kc, uid, "v3")
    assert f"/etudes/E1/{name}/v3" in kc_groups(kc, uid)
    patch(e1, f"/Users/{uid}", {"op": "replace", "path": f"{E}:platforms", "value": ["v3"]})
    assert effective(kc, uid) == set() and "mobile_app" in effective(kc, uid, "v3")


def test_team_platforms_change_creates_and_deletes_subgroups(e1, kc):
    uid = user(e1, platforms=["mars", "v3"])
    r = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                     platforms=["mars"]))
    tid, name = r.json["id"], r.json["displayName"]
    assert "send_reminders" not in effective(kc, uid, "v3")
    patch(e1, f"/Groups/{tid}", {"op": "add", "path": f"{EG}:platforms", "value": ["v3"]})
    assert "send_reminders" in effective(kc, uid, "v3")
    r = patch(e1, f"/Groups/{tid}", {"op": "replace", "path": f"{EG}:platforms",
                                     "value": ["v3"]})
    assert r.status_code == 204
    assert "send_reminders" not in effective(kc, uid, "mars")
    children = kc.get(kc.path("/groups/{g}/children", g=tid), first=0, max=10)
    assert [c["name"] for c in children] == ["v3"]
    # Given back: a new subgroup (new id), and user writes still find it.
    patch(e1, f"/Groups/{tid}", {"op": "add", "path": f"{EG}:platforms", "value": ["mars"]})
    assert "send_reminders" in effective(kc, uid, "mars")
    patch(e1, f"/Users/{uid}", {"op": "replace", "path": "active", "value": False})
    patch(e1, f"/Users/{uid}", {"op": "replace", "path": "active", "value": True})
    assert f"/etudes/E1/{name}/mars" in kc_groups(kc, uid)


def test_rename_moves_subgroups_and_keeps_the_delegation(e1, kc):
    uid = user(e1)
    tid = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                       platforms=["mars"])).json["id"]
    new = unique("Renamed ")
    r = patch(e1, f"/Groups/{tid}", {"op": "replace", "path": "displayName", "value": new})
    assert r.status_code == 204, r.json
    assert kc.get(kc.path("/groups/{g}", g=tid))["path"] == f"/etudes/E1/{new}"
    assert f"/etudes/E1/{new}/mars" in kc_groups(kc, uid)
    assert "send_reminders" in effective(kc, uid)


def test_deleting_the_team_takes_the_delegation_away(e1, kc):
    uid = user(e1)
    tid = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                       platforms=["mars"])).json["id"]
    assert e1.delete(f"/Groups/{tid}").status_code == 204
    assert "send_reminders" not in effective(kc, uid)
    assert e1.get(f"/Groups/{tid}").status_code == 404


# -- validation ------------------------------------------------------------------------------
def test_permission_outside_catalogue_is_400_naming_the_catalogue(e1):
    r = e1.post("/Groups", json=team(permissions=["launch_missiles"], platforms=["mars"]))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
    assert "launch_missiles" in r.json["detail"] and "send_reminders" in r.json["detail"]
    tid = e1.post("/Groups", json=team()).json["id"]
    r = patch(e1, f"/Groups/{tid}", {"op": "add", "path": f"{EG}:delegatedPermissions",
                                     "value": ["root"]})
    assert r.status_code == 400 and "root" in r.json["detail"]


def test_bad_names_and_platforms_are_400(e1):
    r = e1.post("/Groups", json=team(name="a/b"))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
    r = e1.post("/Groups", json=team(platforms=["mercury"]))
    assert r.status_code == 400 and "mercury" in r.json["detail"]
    r = e1.post("/Groups", json={"schemas": [G]})
    assert r.status_code == 400


def test_two_etudes_may_each_have_recouvrement_but_not_twice(e1, e2, kc):
    name = unique("Recouvrement ")
    a, b = e1.post("/Groups", json=team(name)), e2.post("/Groups", json=team(name))
    assert a.status_code == 201 and b.status_code == 201
    assert a.json["id"] != b.json["id"]
    assert a.json[EG]["etude"] == "E1" and b.json[EG]["etude"] == "E2"
    r = e1.post("/Groups", json=team(name.upper()))
    assert r.status_code == 409 and r.json["scimType"] == "uniqueness"
    other = e1.post("/Groups", json=team()).json["id"]
    r = patch(e1, f"/Groups/{other}", {"op": "replace", "path": "displayName", "value": name})
    assert r.status_code == 409


# -- scope -----------------------------------------------------------------------------------
def test_etude_tokens_see_and_change_only_their_own_teams(e1, e2):
    r = e1.post("/Groups", json=team())
    tid, name = r.json["id"], r.json["displayName"]
    assert e2.get(f"/Groups/{tid}").status_code == 404
    assert e2.put(f"/Groups/{tid}", json=team(name)).status_code == 404
    assert patch(e2, f"/Groups/{tid}", {"op": "replace", "path": "displayName",
                                        "value": "x"}).status_code == 404
    assert e2.delete(f"/Groups/{tid}").status_code == 404
    r = e2.get(f'/Groups?filter=displayName eq "{name}"')
    assert r.json["totalResults"] == 0
    assert tid not in {g["id"] for g in e2.get("/Groups?count=1000").json["Resources"]}
    assert e1.get(f"/Groups/{tid}").status_code == 200
    r = e2.post("/Groups", json=team(**{EG: {"etude": "E1"}}))
    assert r.status_code == 400


def test_profile_groups_are_not_teams(e1, kc):
    gid = kc.get(kc.group_path_url("mars/comptable"))["id"]
    assert e1.get(f"/Groups/{gid}").status_code == 404
    etude = kc.get(kc.group_path_url("etudes/E1"))["id"]
    assert e1.get(f"/Groups/{etude}").status_code == 404


def test_members_of_another_etude_or_unknown_are_400_naming_the_id(e1, e2, kc):
    mine, theirs = user(e1), user(e2)
    r = e1.post("/Groups", json=team(members=[mine, theirs]))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
    assert theirs in r.json["detail"] and mine not in r.json["detail"]
    assert e1.get(f'/Groups?filter=members.value eq "{mine}"').json["totalResults"] == 0
    tid = e1.post("/Groups", json=team(members=[mine])).json["id"]
    r = patch(e1, f"/Groups/{tid}", {"op": "add", "path": "members",
                                     "value": [{"value": theirs}]})
    assert r.status_code == 400 and theirs in r.json["detail"]
    r = patch(e1, f"/Groups/{tid}", {"op": "add", "path": "members",
                                     "value": [{"value": "no-such-user"}]})
    assert r.status_code == 400 and "no-such-user" in r.json["detail"]
    assert member_ids(e1, tid) == {mine}
    assert all(not p.startswith("/etudes/E1") for p in kc_groups(kc, theirs))


def test_admin_token_names_the_etude_and_sees_all(admin, e1, e2):
    r = admin.post("/Groups", json=team())
    assert r.status_code == 400 and "etude" in r.json["detail"]
    r = admin.post("/Groups", json=team(**{EG: {"etude": "NOPE"}}))
    assert r.status_code == 400
    r = admin.post("/Groups", json=team(**{EG: {"etude": "E2"}}))
    assert r.status_code == 201 and r.json[EG]["etude"] == "E2"
    tid = r.json["id"]
    assert e2.get(f"/Groups/{tid}").status_code == 200
    assert e1.get(f"/Groups/{tid}").status_code == 404
    e1_team = e1.post("/Groups", json=team()).json["id"]
    ids = {g["id"] for g in admin.get("/Groups?count=1000&excludedAttributes=members")
           .json["Resources"]}
    assert {tid, e1_team} <= ids
    r = admin.get(f'/Groups?filter={EG}:etude eq "E2"&count=1000')
    assert {g[EG]["etude"] for g in r.json["Resources"]} == {"E2"}


# -- the user's side -------------------------------------------------------------------------
def test_user_groups_attribute_lists_his_teams(e1):
    uid = user(e1)
    a = e1.post("/Groups", json=team(members=[uid])).json
    b = e1.post("/Groups", json=team(members=[uid], permissions=["send_reminders"],
                                     platforms=["mars"])).json
    groups = e1.get(f"/Users/{uid}").json["groups"]
    assert {(g["value"], g["display"]) for g in groups} == {
        (a["id"], a["displayName"]), (b["id"], b["displayName"])}
    assert all(g["$ref"].endswith(f"/Groups/{g['value']}") for g in groups)


# -- queries, projection, versions -------------------------------------------------------------
def test_filters_paging_projection_and_search(e1):
    uid = user(e1)
    tag = unique("q")
    ids = [e1.post("/Groups", json=team(f"{tag}-{i}", externalId=f"{tag}-x{i}",
                                        members=[uid] if i == 1 else [])).json["id"]
           for i in range(3)]
    r = e1.get(f'/Groups?filter=displayName eq "{tag}-2"')
    assert [g["id"] for g in r.json["Resources"]] == [ids[2]] and r.json["totalResults"] == 1
    r = e1.get(f'/Groups?filter=externalId eq "{tag}-x0"')
    assert [g["id"] for g in r.json["Resources"]] == [ids[0]]
    r = e1.get(f'/Groups?filter=members.value eq "{uid}"')
    assert [g["id"] for g in r.json["Resources"]] == [ids[1]]
    r = e1.get(f'/Groups?filter=displayName sw "{tag}"&startIndex=2&count=1&sortBy=displayName')
    assert r.json["totalResults"] == 3 and [g["id"] for g in r.json["Resources"]] == [ids[1]]
    r = e1.get(f'/Groups?filter=displayName eq "{tag}-1"&excludedAttributes=members')
    assert "members" not in r.json["Resources"][0]
    r = e1.get(f"/Groups/{ids[1]}?attributes=displayName")
    assert set(r.json) == {"schemas", "id", "displayName"}
    r = e1.post("/Groups/.search", json={"filter": f'displayName eq "{tag}-0"',
                                         "attributes": ["displayName", "externalId"]})
    [found] = r.json["Resources"]
    assert G in found.pop("schemas")
    assert found == {"id": ids[0], "displayName": f"{tag}-0", "externalId": f"{tag}-x0"}
    total = e1.get("/Groups?count=0").json["totalResults"]
    pages = [e1.get(f"/Groups?startIndex={s}&count=2&excludedAttributes=members").json
             for s in range(1, total + 1, 2)]
    seen = [g["id"] for p in pages for g in p["Resources"]]
    assert len(seen) == total == len(set(seen)) and set(ids) <= set(seen)


def test_etags_if_match_and_if_none_match(e1):
    r = e1.post("/Groups", json=team())
    tid, etag = r.json["id"], r.headers["ETag"]
    assert etag == r.json["meta"]["version"]
    assert e1.get(f"/Groups/{tid}", headers={"If-None-Match": etag}).status_code == 304
    uid = user(e1)
    r = patch(e1, f"/Groups/{tid}", {"op": "add", "path": "members", "value": [{"value": uid}]},
              headers={"If-Match": etag})
    assert r.status_code == 204 and r.headers["ETag"] != etag
    r = patch(e1, f"/Groups/{tid}", {"op": "add", "path": "members", "value": [{"value": uid}]},
              headers={"If-Match": etag})
    assert r.status_code == 412
    assert e1.delete(f"/Groups/{tid}", headers={"If-Match": etag}).status_code == 412
    r = e1.get(f"/Groups/{tid}")
    assert r.headers["ETag"] == r.json["meta"]["version"] != etag
    r = patch(e1, f"/Groups/{tid}?excludedAttributes=members",
              {"op": "replace", "path": "externalId", "value": "x"})
    assert r.status_code == 200 and r.json["externalId"] == "x" and "members" not in r.json


def test_schemas_publish_the_permission_catalogue(e1):
    r = e1.get(f"/Schemas/{EG}")
    perms = next(a for a in r.json["attributes"] if a["name"] == "delegatedPermissions")
    assert "send_reminders" in perms["canonicalValues"]


# -- real clients replayed -------------------------------------------------------------------
def test_entra_id_group_provisioning_sequence(e1, kc):
    """learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
    (Groups: create, get by filter, add member, remove member, update name, delete)."""
    a, b = user(e1), user(e1)
    ext_id = unique("entra-")
    body = {"schemas": [G, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/"
                        "Group"], "externalId": ext_id, "displayName": unique("Group "),
            "meta": {"resourceType": "Group"}}
    r = e1.post("/Groups", json=body)
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    r = e1.get(f'/Groups?excludedAttributes=members&filter=displayName eq "{body["displayName"]}"')
    assert r.json["totalResults"] == 1 and r.json["Resources"][0]["externalId"] == ext_id
    assert "members" not in r.json["Resources"][0]
    r = e1.get(f'/Groups?filter=externalId eq "{ext_id}"&excludedAttributes=members')
    assert r.json["Resources"][0]["id"] == tid
    r = patch(e1, f"/Groups/{tid}", {"op": "Add", "path": "members",
                                     "value": [{"$ref": None, "value": a}, {"value": b}]})
    assert r.status_code == 204, r.json
    assert member_ids(e1, tid) == {a, b}
    r = patch(e1, f"/Groups/{tid}", {"op": "Remove", "path": "members",
                                     "value": [{"$ref": None, "value": a}]})
    assert r.status_code == 204
    assert member_ids(e1, tid) == {b}
    renamed = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    r = patch(e1, f"/Groups/{tid}", {"op": "Replace", "path": "displayName", "value": renamed})
    assert r.status_code == 204
    assert kc.get(kc.path("/groups/{g}", g=tid))["name"].endswith("updatedDisplayName")
    assert e1.delete(f"/Groups/{tid}").status_code == 204
    assert e1.get(f"/Groups/{tid}").status_code == 404


def test_okta_group_push_sequence(e1, kc):
    """developer.okta.com/docs/guides/scim-provisioning-integration-prepare (Groups):
    create with members, rename by pathless replace, remove by filter, PUT, delete."""
    a, b, c = user(e1), user(e1), user(e1)
    name = unique("Okta ")
    r = e1.post("/Groups", json={"schemas": [G], "displayName": name,
                                 "members": [{"value": a, "display": "a"}]})
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    assert [m["value"] for m in r.json["members"]] == [a]
    r = e1.get(f'/Groups?filter=displayName eq "{name}"&startIndex=1&count=100')
    assert r.json["totalResults"] == 1
    r = patch(e1, f"/Groups/{tid}", {"op": "replace", "value": {"id": tid,
                                                                 "displayName": name + " v2"}})
    assert r.status_code == 204, r.json
    assert e1.get(f"/Groups/{tid}").json["displayName"] == name + " v2"
    patch(e1, f"/Groups/{tid}", {"op": "add", "path": "members",
                                 "value": [{"value": b, "display": "b"}]})
    r = patch(e1, f"/Groups/{tid}", {"op": "remove", "path": f'members[value eq "{a}"]'})
    assert r.status_code == 204
    assert member_ids(e1, tid) == {b}
    r = e1.put(f"/Groups/{tid}", json={"schemas": [G], "id": tid, "displayName": name + " v3",
                                       "members": [{"value": b}, {"value": c}]})
    assert r.status_code == 200, r.json
    assert {m["value"] for m in r.json["members"]} == {b, c}
    assert r.json["displayName"] == name + " v3"
    assert kc_groups(kc, a) == {"/etudes/E1", "/mars/comptable"}
    assert e1.delete(f"/Groups/{tid}").status_code == 204


def test_patch_replace_members_and_remove_all(e1):
    a, b, c = user(e1), user(e1), user(e1)
    tid = e1.post("/Groups", json=team(members=[a, b])).json["id"]
    r = patch(e1, f"/Groups/{tid}", {"op": "replace", "path": "members",
                                     "value": [{"value": b}, {"value": c}]})
    assert r.status_code == 204, r.json
    assert member_ids(e1, tid) == {b, c}
    patch(e1, f"/Groups/{tid}", {"op": "remove", "path": "members"})
    assert member_ids(e1, tid) == set()


def test_a_patch_refused_for_a_foreign_member_removes_nobody_either(e1, e2, kc):
    """The users a team write adds are all checked before its removals run: a 400 changes
    nothing, even when the same PATCH also removes a member."""
    mine, theirs = user(e1), user(e2)
    tid = e1.post("/Groups", json=team(members=[mine])).json["id"]
    r = e1.patch(f"/Groups/{tid}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": f'members[value eq "{mine}"]'},
            {"op": "add", "path": "members", "value": [{"value": theirs}]}]})
    assert r.status_code == 400 and theirs in r.json["detail"]
    assert member_ids(e1, tid) == {mine}
    assert any(p.startswith("/etudes/E1/") for p in kc_groups(kc, mine))
