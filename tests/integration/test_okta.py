"""Okta's SCIM 2.0 provisioning requests replayed against real Keycloak.

Payloads follow Okta's SCIM 2.0 reference and test plan (tests/payloads/okta-*.json): match by
`userName eq` with `startIndex=1&count=100`, create with a password and `"groups": []`, read,
replace with PUT (echoing `id` and `meta`), deactivate with a path-less `replace` of
`active`, change the password, reactivate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.integration.conftest import E, granted_user, kc_groups, kc_user, load, unique


def okta_lookup(client: Any, user_name: str) -> Any:
    """Okta's exact lookup: URL-encoded filter, startIndex=1, count=100."""
    text = quote('userName eq "' + user_name + '"')
    r = client.get(f"/Users?filter={text}&startIndex=1&count=100")
    assert r.status_code == 200, r.json
    assert r.json["startIndex"] == 1
    return r.json


def password_changed_at(kc: Any, uid: str) -> int:
    creds = kc.get(kc.path("/users/{u}/credentials", u=uid))
    return int(next(c for c in creds if c["type"] == "password")["createdDate"])


def with_etude(body: dict[str, Any]) -> dict[str, Any]:
    """Okta with the étude attributes mapped to the extension (profile editor)."""
    body["schemas"].append(E)
    body[E] = granted_user()[E]
    return body


def test_okta_user_lifecycle_granted(e1, kc):
    name = f"{unique('okta')}@okta.local"
    # 1. Lookup before create: an empty ListResponse.
    empty = okta_lookup(e1, name)
    assert empty["totalResults"] == 0 and empty["itemsPerPage"] == 0
    assert empty["Resources"] == []
    # 2. Create with a password: granted, no set-password e-mail needed.
    created = e1.post("/Users", json=with_etude(load("okta-create-user.json", userName=name)))
    assert created.status_code == 201, created.json
    uid = created.json["id"]
    assert created.json[E]["accessStatus"] == "granted"
    assert "password" not in created.json and "groups" not in created.json
    assert created.json["active"] is True and created.json["locale"] == "en-US"
    rep = kc_user(kc, uid)
    assert rep["enabled"] is True and rep["username"] == name
    first_password = password_changed_at(kc, uid)
    # 3. Read, and find by lookup.
    assert e1.get(f"/Users/{uid}").json["userName"] == name
    found = okta_lookup(e1, name)
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == uid
    # 4. PUT the full user (Okta echoes id and meta; both are the server's).
    put = with_etude(load("okta-replace-user.json", id=uid, userName=name))
    r = e1.put(f"/Users/{uid}", json=put)
    assert r.status_code == 200, r.json
    assert r.json["name"]["givenName"] == "Another" and r.json["displayName"] == "Another User"
    assert r.json["meta"]["created"] == created.json["meta"]["created"]  # not Okta's
    assert kc_user(kc, uid)["firstName"] == "Another"
    # 5. Deactivate: path-less replace of active.
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-deactivate.json"))
    assert r.status_code == 200, r.json
    assert r.json["active"] is False and r.json[E]["accessStatus"] == "revoked"
    assert kc_user(kc, uid)["enabled"] is False
    assert not {g for g in kc_groups(kc, uid) if g.startswith(("/mars/", "/v3/"))}
    # 6. Password change (R3-compliant), then a non-compliant one refused with a detail.
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-password.json", password="2mz050nq"))
    assert r.status_code == 200, r.json
    assert "password" not in r.json
    assert password_changed_at(kc, uid) > first_password
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-password.json", password="short-1!"))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue" and r.json["detail"]
    # 7. Reactivate: access and groups are back.
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-reactivate.json"))
    assert r.status_code == 200, r.json
    assert r.json["active"] is True and r.json[E]["accessStatus"] == "granted"
    assert kc_user(kc, uid)["enabled"] is True
    assert "/mars/comptable" in kc_groups(kc, uid)


def test_okta_plain_core_user_is_created_pending(e1, kc):
    """Okta's reference request as is (no étude attribute): 201, kept pending, not enabled."""
    name = f"{unique('okta')}@okta.local"
    r = e1.post("/Users", json=load("okta-create-user.json", userName=name))
    assert r.status_code == 201, r.json
    uid = r.json["id"]
    assert r.json[E]["etude"] == "E1" and r.json[E]["accessStatus"] == "pending"
    assert kc_user(kc, uid)["enabled"] is False
    r = e1.put(f"/Users/{uid}", json=load("okta-replace-user.json", id=uid, userName=name))
    assert r.status_code == 200, r.json
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-deactivate.json"))
    assert r.status_code == 200 and r.json["active"] is False
    r = e1.patch(f"/Users/{uid}", json=load("okta-patch-reactivate.json"))
    assert r.status_code == 200 and r.json["active"] is True
    assert r.json[E]["accessStatus"] == "pending"
