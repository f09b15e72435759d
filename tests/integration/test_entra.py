"""Microsoft Entra ID's provisioning requests replayed against real Keycloak.

Payloads come from Entra's tutorial "Develop and plan provisioning for a SCIM endpoint" (user
operations: match by userName, create, get, query with no match, PATCH multi- and single-valued,
disable, delete) and from its known-issues page on SCIM 2.0 compliance (capitalised `op`,
string booleans, an extension URN listed in `schemas` with no attribute, path-less replace
with dotted and URN-qualified keys, `"roles": []`). They live in tests/payloads/entra-*.json.
"""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import E, granted_user, kc_groups, kc_user, load, unique

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"




def with_etude(body: dict[str, Any]) -> dict[str, Any]:
    """Add what the étude rules need for access (an attribute mapping in Entra would)."""
    body["schemas"].append(E)
    body[E] = granted_user()[E]
    return body


def by_username(client: Any, user_name: str) -> Any:
    r = client.get(f'/Users?filter=userName eq "{user_name}"')
    assert r.status_code == 200 and r.json["schemas"] == [LIST]
    return r.json


def test_entra_user_lifecycle_granted(e1, kc):
    name = unique("entra")
    # 1. Entra matches first: no user yet.
    assert by_username(e1, name)["totalResults"] == 0
    # 2. Create, with the enterprise extension and the étude attributes mapped.
    body = with_etude(load("entra-create-user-enterprise.json", userName=name,
                           externalId=f"aad-{name}"))
    created = e1.post("/Users", json=body)
    assert created.status_code == 201, created.json
    uid = created.json["id"]
    assert created.headers["Location"].endswith(f"/Users/{uid}")
    assert created.json[E]["accessStatus"] == "granted"
    assert created.json[ENT] == {"employeeNumber": "701984",
                                 "department": "Recouvrement amiable"}
    assert created.json["active"] is True and "roles" not in created.json
    assert kc_user(kc, uid)["enabled"] is True
    assert "/mars/comptable" in kc_groups(kc, uid)
    # 3. Get by id, and by the matching filter.
    got = e1.get(f"/Users/{uid}")
    assert got.status_code == 200 and got.json["userName"] == name
    found = by_username(e1, name)
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == uid
    # 4. Query with no match: an empty ListResponse, not a 404.
    none = by_username(e1, "non-existent user")
    assert none["totalResults"] == 0 and none["Resources"] == []
    # 5. PATCH multi-valued (filtered path) and single-valued in one request.
    new_mail = f"{name}.updated@etude.example"
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-replace-email-familyname.json",
                                            email=new_mail))
    assert r.status_code == 200, r.json
    assert [m["value"] for m in r.json["emails"]] == [new_mail]
    assert r.json["name"]["familyName"] == "updatedFamilyName"
    assert kc_user(kc, uid)["email"] == new_mail
    # 6. PATCH userName (Entra renames when the UPN changes).
    renamed = f"{name}@testuser.com"
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-replace-username.json",
                                            userName=renamed))
    assert r.status_code == 200, r.json
    assert by_username(e1, renamed)["Resources"][0]["id"] == uid
    assert kc_user(kc, uid)["username"] == renamed
    # 7. Manager: a bare id as value (Add), then removed.
    manager = e1.post("/Users", json=granted_user()).json["id"]
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-add-manager.json", managerId=manager))
    assert r.status_code == 200, r.json
    assert r.json[ENT]["manager"]["value"] == manager
    assert r.json[ENT]["manager"]["$ref"].endswith(f"/Users/{manager}")
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-remove-manager.json"))
    assert r.status_code == 200 and "manager" not in r.json[ENT]
    # 8. Known issues: path-less replace with dotted and URN keys, string booleans.
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-pathless-replace.json"))
    assert r.status_code == 200, r.json
    assert r.json["name"]["givenName"] == "Brigitte" and r.json["title"] == "Premier clerc"
    assert r.json[ENT] == {"employeeNumber": "701985", "department": "Contentieux"}
    # 9. Known issues: capitalised op, add to a filtered path with no match.
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-add-capitalised.json"))
    assert r.status_code == 200, r.json
    assert r.json["nickName"] == "Babs"
    assert {"type": "mobile", "value": "+33 6 12 34 56 78"} in r.json["phoneNumbers"]
    # 10. Disable with a string boolean: access closed in Keycloak.
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-disable-user.json"))
    assert r.status_code == 200, r.json
    assert r.json["active"] is False and r.json[E]["accessStatus"] == "revoked"
    assert kc_user(kc, uid)["enabled"] is False
    assert not {g for g in kc_groups(kc, uid) if g.startswith("/mars/")}
    # 11. Delete.
    assert e1.delete(f"/Users/{uid}").status_code == 204
    assert e1.get(f"/Users/{uid}").status_code == 404
    assert by_username(e1, renamed)["totalResults"] == 0


def test_entra_tutorial_create_without_etude_attributes_is_kept_pending(e1, kc):
    """The tutorial's request as is: the étude comes from the token, access waits (201)."""
    name = f"Test_User_{unique('')}"
    body = load("entra-create-user.json", userName=name)
    assert body["schemas"][1] == ENT and ENT not in body  # listed, no attribute
    r = e1.post("/Users", json=body)
    assert r.status_code == 201, r.json
    uid = r.json["id"]
    assert r.json[E]["etude"] == "E1" and r.json[E]["accessStatus"] == "pending"
    codes = {i["code"] for i in r.json[E]["accessIssues"]}
    assert {"profile_missing", "platforms_missing", "confidentiality_missing"} <= codes
    assert ENT not in r.json and ENT not in r.json["schemas"]
    rep = kc_user(kc, uid)
    assert rep["enabled"] is False and rep["email"].lower() == f"{name}@testuser.com".lower()
    # Entra matches on userName as it sent it (Keycloak lowercases usernames).
    assert by_username(e1, name)["Resources"][0]["userName"] == name
    # The rest of Entra's sequence works on a pending user too.
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-remove-work-email.json"))
    assert r.status_code == 200 and "emails" not in r.json
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-add-work-email.json",
                                            email=f"{name}@new.example"))
    assert r.status_code == 200, r.json
    assert r.json["emails"] == [{"type": "work", "value": f"{name}@new.example"}]
    r = e1.patch(f"/Users/{uid}", json=load("entra-patch-disable-user.json"))
    assert r.status_code == 200 and r.json["active"] is False
    assert e1.delete(f"/Users/{uid}").status_code == 204
