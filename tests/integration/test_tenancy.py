"""Every call needs a token; an étude sees and touches only its own people."""

from __future__ import annotations

from connector.settings import Settings
from connector.web.app import create_app
from tests.integration.conftest import PATCH, E, Scim, granted_user


def test_no_token_or_bad_token_is_401_with_scim_body(app):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer cnx.E1.deadbeef.forged"}):
        r = client.get("/scim/v2/Users", headers=headers)
        assert r.status_code == 401
        assert r.headers["Content-Type"] == "application/scim+json"
        assert r.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert r.json["status"] == "401" and r.json["detail"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_of_unknown_etude_is_refused(app):
    r = app.test_client().get("/scim/v2/Users", headers={
        "Authorization": "Bearer cnx.ZZ999.abcd1234.secret"})
    assert r.status_code == 401


def test_user_created_with_etude_token_belongs_to_that_etude(e1, kc):
    body = granted_user()
    del body[E]["profile"]
    r = e1.post("/Users", json=body)
    assert r.status_code == 201
    assert r.json[E]["etude"] == "E1"
    attrs = kc.get(kc.path("/users/{u}", u=r.json["id"]))["attributes"]
    assert attrs["etude"] == ["E1"]


def test_etude_token_cannot_write_for_another_etude(e1):
    r = e1.post("/Users", json=granted_user(etude="E2"))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
    assert "E1" in r.json["detail"]


def test_other_etude_ids_are_404_and_filters_never_return_them(e1, e2):
    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    assert e2.get(f"/Users/{uid}").status_code == 404
    assert e2.put(f"/Users/{uid}", json=granted_user(body["userName"])).status_code == 404
    assert e2.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "title", "value": "x"}]}).status_code == 404
    assert e2.delete(f"/Users/{uid}").status_code == 404
    for flt in (f'userName eq "{body["userName"]}"', f'externalId eq "{body["externalId"]}"',
                f'id eq "{uid}"', 'userName pr'):
        r = e2.get("/Users", query_string={"filter": flt, "count": 500})
        assert r.status_code == 200
        assert uid not in [u["id"] for u in r.json["Resources"]], flt
    assert e1.get(f"/Users/{uid}").status_code == 200


def test_admin_sees_all_and_must_name_the_etude(admin, e1, e2):
    uid1 = e1.post("/Users", json=granted_user()).json["id"]
    uid2 = e2.post("/Users", json=granted_user()).json["id"]
    assert admin.get(f"/Users/{uid1}").status_code == 200
    assert admin.get(f"/Users/{uid2}").status_code == 200
    body = granted_user()
    r = admin.post("/Users", json=body)
    assert r.status_code == 400 and "etude" in r.json["detail"]
    body[E]["etude"] = "E2"
    assert admin.post("/Users", json=body).json[E]["etude"] == "E2"


def test_revoked_token_stops_working(settings, admin_gw, tokens):
    from connector.keycloak.etudes import EtudeDirectory

    directory = EtudeDirectory(admin_gw)
    token_id, token = directory.create_token("E1")
    app = create_app(Settings(**{**settings.__dict__, "token_cache_seconds": 0}))
    client = Scim(app, token)
    assert client.get("/Users?count=1").status_code == 200
    assert directory.revoke_token(token_id, "E1")
    assert client.get("/Users?count=1").status_code == 401
