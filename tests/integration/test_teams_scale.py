"""A team of 5,000 members lists, pages and changes membership correctly, past
Keycloak's default page sizes; excludedAttributes=members reads no member at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, connect
from connector.settings import Settings
from tests.integration.conftest import PATCH, Scim, granted_user, kc_groups, unique

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
SIZE = 5000
CHUNK = 1000


@pytest.fixture(scope="module")
def big(app: Any, admin_gw: Any, settings: Settings) -> Iterator[dict[str, Any]]:
    """Étude SCALE (kept apart from E1/E2's queries) with a team of 5,000 imported members."""
    patient = replace(settings, keycloak_timeout=300)  # an import may outlast 10 s
    importer = Gateway(patient, connect(patient, as_admin=True))
    directory = EtudeDirectory(admin_gw)
    directory.add("SCALE", "Etude Volume")
    client = Scim(app, directory.create_token("SCALE")[1])
    r = client.post("/Groups", json={"schemas": [G, EG], "displayName": "Big",
                                     EG: {"delegatedPermissions": ["send_reminders"],
                                          "platforms": ["mars"]}})
    assert r.status_code == 201, r.json
    tag = unique("s")
    users = [{"username": f"{tag}-{i:05d}", "enabled": True, "firstName": "Scale",
              "lastName": f"N{i:05d}", "email": f"{tag}-{i:05d}@scale.example",
              "attributes": {"etude": ["SCALE"]}} for i in range(SIZE)]
    started = time.perf_counter()
    ids: set[str] = set()
    for start in range(0, SIZE, CHUNK):  # partialImport: one transaction per chunk
        result = importer.request("POST", importer.path("/partialImport"),
                                  body={"ifResourceExists": "SKIP",
                                        "users": users[start:start + CHUNK]})
        assert result["added"] == len(users[start:start + CHUNK]), result
        ids |= {u["id"] for u in result["results"]}
    imported = time.perf_counter() - started
    # Importing with `groups` is ~3x slower in Keycloak 26; joining in parallel is quicker.
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: importer.request("PUT", importer.path(
            "/users/{u}/groups/{g}", u=u, g=r.json["id"])), sorted(ids)))
    took = time.perf_counter() - started
    print(f"\n{SIZE} users: partialImport {imported:.1f}s, joined the team by {took:.1f}s")
    yield {"client": client, "id": r.json["id"], "ids": ids}
    # Leave the session's realm light: its final DELETE must fit in the client timeout.
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: importer.request("DELETE", importer.path("/users/{u}", u=u)),
                      sorted(ids)))


def per_change(members: int) -> int:
    """Calls a membership PATCH may make: a few for the team, a few per member it changes
    (his write lock taken and released, his fresh read, his groups), none per member kept."""
    return 8 + 5 * members


def timed(kc: Any, call: Any) -> tuple[Any, float, int]:
    before, started = kc.calls, time.perf_counter()
    result = call()
    return result, time.perf_counter() - started, kc.calls - before


def test_get_lists_all_5000_members_past_default_page_sizes(big, kc):
    client = big["client"]
    r, took, calls = timed(kc, lambda: client.get(f"/Groups/{big['id']}"))
    assert r.status_code == 200
    values = [m["value"] for m in r.json["members"]]
    assert len(values) == SIZE == len(set(values))
    assert set(values) == big["ids"]
    started = time.perf_counter()
    direct = [kc.get(kc.path("/groups/{g}/members", g=big["id"]), first=f, max=1000,
                     briefRepresentation="true") for f in range(0, SIZE + 1, 1000)]
    baseline = time.perf_counter() - started
    assert sum(len(p) for p in direct) == SIZE
    print(f"\nGET /Groups/{{id}} with {SIZE} members: {took:.2f}s, {calls} Keycloak calls "
          f"(the same pages read straight from Keycloak: {baseline:.2f}s)")
    assert calls <= 3 + SIZE // 1000  # the group, then 1,000 members a call


def test_list_and_filter_with_members_excluded_reads_no_member(big, kc):
    client = big["client"]
    r, took, calls = timed(kc, lambda: client.get(
        '/Groups?filter=displayName eq "Big"&excludedAttributes=members'))
    assert r.json["totalResults"] == 1 and "members" not in r.json["Resources"][0]
    print(f"\nGET /Groups?filter=displayName eq &excludedAttributes=members: {took:.3f}s, "
          f"{calls} Keycloak calls")
    assert calls <= 3
    r, _, calls = timed(kc, lambda: client.get(f"/Groups/{big['id']}?attributes=displayName"))
    assert set(r.json) == {"schemas", "id", "displayName"} and calls <= 2
    r = client.get("/Groups?count=1")
    assert r.json["totalResults"] == 1 and len(r.json["Resources"][0]["members"]) == SIZE
    r = client.get("/Groups?startIndex=2&count=1&excludedAttributes=members")
    assert r.json["totalResults"] == 1 and r.json["Resources"] == []


def test_membership_patch_adds_and_removes_one_without_reading_the_rest(big, kc):
    client = big["client"]
    newcomer = client.post("/Users", json=granted_user())
    assert newcomer.status_code == 201, newcomer.json
    uid = newcomer.json["id"]
    r, took, calls = timed(kc, lambda: client.patch(f"/Groups/{big['id']}", json={
        "schemas": [PATCH], "Operations": [{"op": "Add", "path": "members",
                                            "value": [{"value": uid}]}]}))
    assert r.status_code == 204, r.json
    print(f"\nPATCH add 1 member to {SIZE}: {took:.3f}s, {calls} Keycloak calls")
    assert calls <= per_change(1)  # never the 5,000 members
    assert "/etudes/SCALE/Big/mars" in kc_groups(kc, uid)  # granted: the delegation too
    values = {m["value"] for m in client.get(f"/Groups/{big['id']}").json["members"]}
    assert len(values) == SIZE + 1 and uid in values
    gone = sorted(big["ids"])[1234]
    r, took, calls = timed(kc, lambda: client.patch(f"/Groups/{big['id']}", json={
        "schemas": [PATCH], "Operations": [
            {"op": "remove", "path": f'members[value eq "{gone}"]'},
            {"op": "Remove", "path": "members", "value": [{"value": uid}]}]}))
    assert r.status_code == 204
    print(f"PATCH remove 2 members of {SIZE + 1}: {took:.3f}s, {calls} Keycloak calls")
    assert calls <= per_change(2)
    values = {m["value"] for m in client.get(f"/Groups/{big['id']}").json["members"]}
    assert values == big["ids"] - {gone}
    assert r.headers["ETag"] == client.get(f"/Groups/{big['id']}").headers["ETag"]
    filtered = client.get(f'/Groups?filter=members.value eq "{gone}"')
    assert filtered.json["totalResults"] == 0
