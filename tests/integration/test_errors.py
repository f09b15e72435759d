"""RFC 7644 §3.12 error bodies, never a 500 for a client
mistake, always application/scim+json."""

from __future__ import annotations

from connector.settings import Settings
from connector.web.app import create_app
from tests.integration.conftest import CORE, E, Scim, granted_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_error(r, status: int, scim_type: str | None = None) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.headers["Content-Type"] == "application/scim+json"
    assert r.json["schemas"] == [ERROR] and r.json["status"] == str(status)
    assert r.json["detail"]
    if scim_type:
        assert r.json["scimType"] == scim_type
    return r.json


def test_duplicate_username_is_409_uniqueness(e1):
    body = granted_user()
    assert e1.post("/Users", json=body).status_code == 201
    again = granted_user(body["userName"].upper())
    err = assert_error(e1.post("/Users", json=again), 409, "uniqueness")
    assert body["userName"].upper() in err["detail"]


def test_malformed_json_and_wrong_types_are_400(e1):
    assert_error(e1.post("/Users", data="{not json"), 400, "invalidSyntax")
    assert_error(e1.post("/Users", data=""), 400, "invalidSyntax")
    assert_error(e1.post("/Users", json=["a list"]), 400, "invalidSyntax")
    body = granted_user()
    body["active"] = "maybe"
    assert "active" in assert_error(e1.post("/Users", json=body), 400, "invalidValue")["detail"]
    body = granted_user()
    body["emails"] = "x@y"
    assert "emails" in assert_error(e1.post("/Users", json=body), 400)["detail"]
    body = granted_user()
    body["userName"] = 42
    assert_error(e1.post("/Users", json=body), 400)


def test_unknown_attribute_is_named_but_empty_schema_urn_is_ignored(e1):
    body = granted_user()
    body["emplyeeNumber"] = "123"
    assert "emplyeeNumber" in assert_error(e1.post("/Users", json=body), 400)["detail"]
    body = granted_user()
    body[E]["profil"] = "comptable"
    assert "profil" in assert_error(e1.post("/Users", json=body), 400)["detail"]
    body = granted_user()
    body["schemas"] = [CORE, E, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert e1.post("/Users", json=body).status_code == 201


def test_unknown_routes_and_methods_answer_scim_json(e1):
    assert_error(e1.get("/Nope"), 404)
    assert_error(e1.get("/Users/00000000-0000-0000-0000-000000000000"), 404)
    r = e1.client.open("/scim/v2/ServiceProviderConfig", method="DELETE",
                       headers=e1.headers)
    assert_error(r, 405)


def test_french_detail_when_the_client_prefers_french(app, tokens):
    fr = Scim(app, tokens["E1"], lang="fr-FR,fr;q=0.9,en;q=0.5")
    err = assert_error(fr.post("/Users", data="{"), 400, "invalidSyntax")
    assert "JSON valide" in err["detail"]
    en = Scim(app, tokens["E1"], lang="en-GB")
    assert "not valid JSON" in assert_error(en.post("/Users", data="{"), 400)["detail"]


def test_keycloak_unreachable_is_503_with_retry_after(settings, tokens):
    down = create_app(Settings(**{**settings.__dict__, "keycloak_url": "http://127.0.0.1:9"}))
    client = Scim(down, tokens["E1"])
    for r in (client.get("/Users"), client.post("/Users", json=granted_user())):
        assert_error(r, 503)
        assert int(r.headers["Retry-After"]) > 0
