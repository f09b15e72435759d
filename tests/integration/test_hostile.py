"""Hostile and broken input: a clear 4xx, Keycloak exactly as it was, no other étude's data.

Refused writes change nothing (what Keycloak's user profile would refuse is refused first, and
a refusal part-way is undone); ids never climb out of their place in Keycloak's URL space; the
étude scope holds whatever the letter case; oversized or malformed input is a 400/413/415.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.keycloak.etudes import EtudeDirectory
from tests.integration.conftest import PATCH, E, granted_user, kc_groups, kc_user, unique

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def snapshot(kc: Any, uid: str) -> tuple[Any, ...]:
    """What Keycloak holds of a user: enabled, attributes, names, e-mail, every group."""
    rep = kc_user(kc, uid)
    return (rep["enabled"], rep.get("firstName"), rep.get("lastName"), rep.get("email"),
            rep.get("username"), json.dumps(rep.get("attributes"), sort_keys=True),
            sorted(kc_groups(kc, uid, index=True)))


def error(r: Any, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["schemas"] == [ERROR] and r.json["detail"]
    if scim_type:
        assert r.json.get("scimType") == scim_type, r.json


# -- §2: a write Keycloak would refuse changes nothing --------------------------------------
@pytest.mark.parametrize("bad", [
    {"op": "replace", "path": "name.givenName", "value": "Bob$"},
    {"op": "replace", "path": "emails", "value": [{"value": "not-an-email", "primary": True}]},
    {"op": "replace", "path": "name.familyName", "value": "x" * 300},
    {"op": "replace", "path": "userName", "value": "has space"},
])
def test_refused_value_on_a_pending_user_grants_nothing(e1, kc, bad):
    body = granted_user()
    del body[E]["confidentialityAcceptedDate"]
    uid = e1.post("/Users", json=body).json["id"]
    before = snapshot(kc, uid)
    r = e1.patch(f"/Users/{uid}", json=ops(
        {"op": "add", "path": f"{E}:confidentialityAcceptedDate", "value": "2026-01-06"}, bad))
    error(r, 400, "invalidValue")
    assert bad["path"].split(".")[0].split("[")[0] in r.json["detail"]
    assert snapshot(kc, uid) == before
    assert not {g for g in kc_groups(kc, uid) if g.startswith(("/mars/", "/v3/"))}


def test_refused_profile_change_leaves_the_old_profile(e1, kc):
    uid = e1.post("/Users", json=granted_user()).json["id"]  # comptable on mars
    before = snapshot(kc, uid)
    r = e1.patch(f"/Users/{uid}", json=ops(
        {"op": "replace", "path": f"{E}:profile", "value": "huissier"},
        {"op": "replace", "path": "name.familyName", "value": "Doe<script>"}))
    error(r, 400, "invalidValue")
    assert "name.familyName" in r.json["detail"]
    assert snapshot(kc, uid) == before
    assert "/mars/comptable" in kc_groups(kc, uid) and "/mars/huissier" not in kc_groups(kc, uid)


def test_a_refusal_part_way_is_undone(e1, kc):
    """Keycloak refuses the record (a userName taken) after the old groups were left."""
    taken = e1.post("/Users", json=granted_user()).json["userName"]
    uid = e1.post("/Users", json=granted_user()).json["id"]
    before = snapshot(kc, uid)
    r = e1.patch(f"/Users/{uid}", json=ops(
        {"op": "replace", "path": f"{E}:profile", "value": "huissier"},
        {"op": "replace", "path": "userName", "value": taken}))
    assert r.status_code == 409 and r.json["scimType"] == "uniqueness"
    assert "already taken" in r.json["detail"] and taken not in r.json["detail"]
    assert snapshot(kc, uid) == before


# -- §3: ids that reach Keycloak's URL space -------------------------------------------------
BAD_IDS = ["..", "%2E%2E", ".", "%2e", "x" * 10000, "..%2F..", "%00", "not-a-uuid"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_every_endpoint_taking_an_id_answers_404_for_a_malformed_one(admin, e1, bad):
    for client in (admin, e1):
        for resource in ("Users", "Groups"):
            path = f"/{resource}/{bad}"
            assert client.get(path).status_code == 404, path
            assert client.delete(path).status_code == 404, path
            assert client.patch(path, json=ops({"op": "replace", "path": "displayName",
                                                "value": "x"})).status_code == 404, path
            r = client.put(path, json=granted_user() if resource == "Users" else
                           {"schemas": [G], "displayName": "x"})
            assert r.status_code == 404, (path, r.json)
    assert admin.get("/Users?count=1").status_code == 200  # the realm is still there


def test_member_ids_that_could_climb_are_refused_and_the_team_survives(e1, kc):
    team = e1.post("/Groups", json={"schemas": [G, EG], "displayName": unique("t"),
                                    EG: {"platforms": ["mars"]}})
    tid = team.json["id"]
    for bad in ("..", ".", "", "../..", "x" * 5000):
        r = e1.patch(f"/Groups/{tid}", json=ops({"op": "remove", "path": "members",
                                                 "value": [{"value": bad}]}))
        assert r.status_code == 400, (bad, r.json)
        r = e1.patch(f"/Groups/{tid}", json=ops({"op": "add", "path": "members",
                                                 "value": [{"value": bad}]}))
        assert r.status_code == 400, (bad, r.json)
    assert e1.get(f"/Groups/{tid}").status_code == 200
    assert kc.get(kc.path("/groups/{g}", g=tid))["subGroupCount"] == 1


def test_bulk_paths_with_bad_ids_are_404(e1):
    r = e1.post("/Bulk", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                               "Operations": [{"method": "DELETE", "path": "/Users/.."},
                                              {"method": "PATCH", "path": "/Groups/%2E%2E",
                                               "data": ops({"op": "remove",
                                                            "path": "members"})}]})
    assert r.status_code == 200, r.json
    assert [op["status"] for op in r.json["Operations"]] == ["404", "404"]


@pytest.mark.parametrize("name", ["..", ".", "a\u0000b", "x" * 256, "tab\there"])
def test_team_names_keycloak_cannot_hold_are_400(e1, name):
    r = e1.post("/Groups", json={"schemas": [G], "displayName": name})
    error(r, 400)


# -- §4: tenancy whatever the letter case ------------------------------------------------------
def test_etude_codes_are_canonical(admin, admin_gw):
    for code in ("seca", "E1x", "admin", "ADMIN", "..", "A/B", ""):
        body = granted_user(etude=code)
        r = admin.post("/Users", json=body)
        assert r.status_code == 400, (code, r.json)
    directory = EtudeDirectory(admin_gw)
    for code in ("admin", "ADMIN", "e1", "seca", "../x"):
        with pytest.raises(ValueError):
            directory.add(code, "Nope")


def test_a_case_variant_record_never_reaches_the_other_etude(e1, kc, admin_gw):
    """A record whose étude differs from E1 only by case (made by hand in Keycloak)."""
    name = unique("legacy")
    kc.request("POST", kc.path("/users"), body={
        "username": name, "enabled": True, "email": f"{name}@x.example",
        "attributes": {"etude": ["e1"], "scimUserName": [name], "profile": ["comptable"]}})
    queries = [{}, {"filter": f'userName eq "{name}"'}, {"filter": 'etude eq "e1"'},
               {"filter": f'userName sw "{name[:6]}"'}, {"sortBy": "userName"},
               {"count": "0"}, {"filter": "profile eq \"comptable\"", "count": "200"}]
    for query in queries:
        r = e1.get("/Users", query_string={"count": "200", **query})
        assert r.status_code == 200, r.json
        assert name not in [u["userName"] for u in r.json["Resources"]], query
    r = e1.post("/.search", json={"schemas": [SEARCH], "filter": f'userName eq "{name}"'})
    assert r.json["totalResults"] == 0 and r.json["Resources"] == []


def test_a_filter_naming_another_etude_is_empty(e1, e2):
    e2.post("/Users", json=granted_user())
    for flt in ('etude eq "E2"', f'{E}:etude eq "E2"', 'etude eq "e2"'):
        r = e1.get("/Users", query_string={"filter": flt})
        assert r.status_code == 200 and r.json["totalResults"] == 0, flt


def test_a_conflict_names_no_other_etudes_user(e1, e2):
    body = granted_user()
    e1.post("/Users", json=body)
    r = e2.post("/Users", json=granted_user(body["userName"]))
    assert r.status_code == 409 and "already taken" in r.json["detail"]
    assert "E1" not in r.json["detail"]


# -- §5: no 500, no 502 for a client's mistake ------------------------------------------------
def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_json_is_400_everywhere(e1):
    deep = '{"schemas": ["x"], "a": ' + nested(5000) + "}"
    uid = e1.post("/Users", json=granted_user()).json["id"]
    for method, path in (("post", "/Users"), ("patch", f"/Users/{uid}"), ("post", "/Bulk"),
                         ("post", "/.search"), ("post", "/Groups"), ("put", f"/Users/{uid}")):
        r = getattr(e1, method)(path, data=deep)
        error(r, 400)
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "a",
                            "data": json.loads(nested(700))}]}
    error(e1.post("/Bulk", data=json.dumps(bulk)), 400)


@pytest.mark.parametrize("flt", [
    "(" * 5000 + 'userName eq "a"' + ")" * 5000,
    "not (" * 3000 + 'userName eq "a"' + ")" * 3000,
    " or ".join(f'userName eq "u{i}"' for i in range(3000)),
    "userName eq " + "9" * 5000,
    'userName eq "' + "a" * 100_000 + '"',
    'userName eq "a\u0000b"',
])
def test_hostile_filters_are_400(e1, flt):
    r = e1.get("/Users", query_string={"filter": flt})
    error(r, 400, "invalidFilter")
    r = e1.post("/.search", json={"schemas": [SEARCH], "filter": flt})
    error(r, 400)
    assert r.json["scimType"] == "invalidFilter" or "'filter'" in r.json["detail"]
    uid_path = "/Users/00000000-0000-0000-0000-000000000000"
    r = e1.patch(uid_path, json=ops({"op": "remove", "path": f"emails[{flt}]"}))
    assert r.status_code in (400, 404)


@pytest.mark.parametrize(("name", "raw"), [
    ("startIndex", "1e400"), ("startIndex", '"Infinity"'), ("startIndex", "2147483648"),
    ("count", "1e400"), ("count", "-1e400"), ("startIndex", "1.5"), ("count", "NaN")])
def test_absurd_paging_is_400(e1, name, raw):
    error(e1.post("/Users/.search", data=f'{{"{name}": {raw}}}'), 400)
    error(e1.get("/Users", query_string={name: raw.strip('"')}), 400)


@pytest.mark.parametrize("field", ["contractEndDate", "departureDate", "kbisDate"])
def test_far_future_dates_are_400(e1, field):
    body = granted_user(contractType="CDD", **{field: "9999-12-31"})
    r = e1.post("/Users", json=body)
    error(r, 400, "invalidValue")
    assert field in r.json["detail"]


@pytest.mark.parametrize("raw", ['"a\\u0000b"', '"a\\ud800b"', '"\\udfff"'])
def test_unstorable_characters_are_400(e1, raw):
    body = json.dumps(granted_user()).replace('"Anne"', raw)
    error(e1.post("/Users", data=body), 400, "invalidValue")


def test_oversized_bodies_are_413_before_anything(e1):
    body = json.dumps({**granted_user(), "title": "x" * (30 * 1024 * 1024)})
    error(e1.post("/Users", data=body), 413)


def test_non_json_writes_are_415_and_json_variants_pass(e1):
    body = json.dumps(granted_user())
    r = e1.post("/Users", data=body, headers={"Content-Type": "text/plain"})
    error(r, 415)
    for kind in ("application/json", "application/scim+json; charset=utf-8",
                 "application/json;charset=UTF-8"):
        r = e1.post("/Users", data=json.dumps(granted_user()), headers={"Content-Type": kind})
        assert r.status_code == 201, (kind, r.json)


# -- §6: audit what changed, not what was asked --------------------------------------------
def test_removing_another_etudes_user_audits_no_removal(e1, e2, caplog):
    team = e1.post("/Groups", json={"schemas": [G, EG], "displayName": unique("t")}).json["id"]
    stranger = e2.post("/Users", json=granted_user()).json["id"]
    caplog.set_level("INFO", logger="connector.audit")
    r = e1.patch(f"/Groups/{team}", json=ops({"op": "remove", "path": "members",
                                              "value": [{"value": stranger}]}))
    assert r.status_code == 204
    lines = [json.loads(rec.getMessage()) for rec in caplog.records
             if rec.name == "connector.audit"]
    patch_lines = [line for line in lines if line["action"] == "group.patch"]
    assert patch_lines and patch_lines[-1]["removed"] == []
    assert stranger not in json.dumps(patch_lines)
