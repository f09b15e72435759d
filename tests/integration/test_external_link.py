"""An étude's `externalId eq` is asked through each user's link to the index provider, which
follows his record (keycloak/user_query.py); reconcile links users written before it existed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway
from connector.keycloak.jobstate import JobState
from connector.keycloak.layout import LOCK_PROVIDER
from connector.keycloak.user_query import LINK_PROVIDER
from connector.service.lifecycle import Lifecycle
from tests.integration.conftest import Scim, granted_user, unique


@pytest.fixture
def etude(admin_gw: Gateway) -> str:
    code = unique("L").upper()
    EtudeDirectory(admin_gw).add(code, "Etude Liens")
    return code


@pytest.fixture
def own(app: Any, admin_gw: Gateway, etude: str) -> Scim:
    return Scim(app, EtudeDirectory(admin_gw).create_token(etude)[1])


def links(kc: Gateway, user_id: str) -> list[tuple[str, str]]:
    """The user's links but his write lock's (released after the answer: locks.py)."""
    found = kc.get(kc.path("/users/{u}/federated-identity", u=user_id))
    return [(f["identityProvider"], f["userId"]) for f in found
            if f["identityProvider"] != LOCK_PROVIDER]


def found(client: Scim, external_id: str) -> list[str]:
    expression = f'externalId eq "{external_id}"'
    r = client.get(f"/Users?filter={quote(expression)}")
    assert r.status_code == 200, r.json
    assert r.json["totalResults"] == len(r.json["Resources"])
    return [u["id"] for u in r.json["Resources"]]


def test_the_link_follows_the_record_and_answers_case_exactly(own, etude, kc):
    first, second = unique("Ext-"), unique("Ext-")
    user = own.post("/Users", json=granted_user(unique("lk"), etude=etude) | {
        "externalId": first})
    assert user.status_code == 201, user.json
    uid, key = user.json["id"], etude.encode().hex()
    assert links(kc, uid) == [(LINK_PROVIDER, f"{key}/{first}")]
    assert found(own, first) == [uid]
    assert found(own, first.swapcase()) == []  # caseExact (RFC 7643 §3.1)
    r = own.patch(f"/Users/{uid}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "externalId", "value": second}]})
    assert r.status_code == 200, r.json
    assert links(kc, uid) == [(LINK_PROVIDER, f"{key}/{second}")]
    assert found(own, second) == [uid] and found(own, first) == []
    r = own.patch(f"/Users/{uid}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "externalId"}]})
    assert r.status_code == 200, r.json
    assert links(kc, uid) == [] and found(own, second) == []


def test_two_etudes_may_use_one_externalid_each_sees_its_own(own, etude, e1):
    shared = unique("Shared-")
    mine = own.post("/Users", json=granted_user(unique("lk"), etude=etude) | {
        "externalId": shared})
    theirs = e1.post("/Users", json=granted_user(unique("lk")) | {"externalId": shared})
    assert mine.status_code == theirs.status_code == 201
    assert found(own, shared) == [mine.json["id"]]
    assert found(e1, shared) == [theirs.json["id"]]


def test_users_of_one_etude_may_share_an_externalid_and_are_all_found(own, etude, kc):
    """externalId need not be unique (RFC 7643 §3.1): Keycloak keeps one link per user and
    provider, not per value, so a second user, created or changed to it, is linked and found."""
    shared = unique("Twin-")
    ids = []
    for _ in range(2):
        r = own.post("/Users", json=granted_user(unique("lk"), etude=etude) | {
            "externalId": shared})
        assert r.status_code == 201, r.json
        ids.append(r.json["id"])
    third = own.post("/Users", json=granted_user(unique("lk"), etude=etude) | {
        "externalId": unique("Other-")})
    r = own.patch(f"/Users/{third.json['id']}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "externalId", "value": shared}]})
    assert r.status_code == 200, r.json
    ids.append(third.json["id"])
    assert sorted(found(own, shared)) == sorted(ids)
    key = etude.encode().hex()
    assert all(links(kc, uid) == [(LINK_PROVIDER, f"{key}/{shared}")] for uid in ids)


def test_a_user_without_his_link_is_linked_again_by_reconcile(app, own, etude, kc):
    """A user written before links existed is not found by his étude's `externalId eq` (the
    link is the index) until `connector reconcile --apply` links him."""
    ext = unique("Old-")
    user = own.post("/Users", json=granted_user(unique("lk"), etude=etude) | {
        "externalId": ext})
    uid = user.json["id"]
    kc.request("DELETE", kc.path("/users/{u}/federated-identity/{p}", u=uid, p=LINK_PROVIDER))
    assert found(own, ext) == []
    life = Lifecycle(app.extensions["users"], JobState(kc))
    [entry] = life.reconcile(etude).users
    assert entry["differences"] == ["query attributes externalIdLink out of date"]
    life.reconcile(etude, apply=True)
    assert life.reconcile(etude).users == []
    assert links(kc, uid) == [(LINK_PROVIDER, f"{etude.encode().hex()}/{ext}")]
    assert found(own, ext) == [uid]


def test_the_index_provider_signs_nobody_in(kc):
    provider = kc.get(kc.path("/identity-provider/instances/{a}", a=LINK_PROVIDER))
    assert provider["enabled"] is False and provider["hideOnLogin"] is True
