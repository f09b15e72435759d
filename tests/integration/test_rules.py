"""The étude rules R1–R11 on every user, checked in Keycloak's own state."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from connector.domain.dates import add_months, today_in_paris
from tests.integration.conftest import (
    PATCH,
    E,
    granted_user,
    kc_groups,
    kc_user,
    login,
    unique,
)


def day(offset: int) -> str:
    """A day relative to the connector's today (Paris), read when asked: a run crossing
    midnight in Paris must not compare against the day the module was imported."""
    return (today_in_paris() + timedelta(days=offset)).isoformat()


def patch(client, uid: str, *ops: dict):
    return client.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": list(ops)})


def issues(resource: dict) -> set[str]:
    return {i["code"] for i in resource[E].get("accessIssues", [])}


# -- R1 names -------------------------------------------------------------------------------
def test_r1_names_are_stored_without_accents(e1, kc):
    body = granted_user()
    body["name"] = {"givenName": "Éloïse-Françoise", "familyName": "Lœwenbrück Straße"}
    r = e1.post("/Users", json=body)
    assert r.status_code == 201
    assert r.json["name"] == {"givenName": "Eloise-Francoise", "familyName": "Loewenbruck Strasse"}
    assert r.json["displayName"] == "Eloise-Francoise Loewenbruck Strasse"
    user = kc_user(kc, r.json["id"])
    assert (user["firstName"], user["lastName"]) == ("Eloise-Francoise", "Loewenbruck Strasse")


def test_r1_control_characters_and_empty_names_are_invalid(e1):
    for given in ("Anne\x00", "Jean\nPaul", "😀😀"):
        body = granted_user()
        body["name"]["givenName"] = given
        r = e1.post("/Users", json=body)
        assert r.status_code == 400 and r.json["scimType"] == "invalidValue", given


# -- R2 e-mail ------------------------------------------------------------------------------
def test_r2_email_required_for_access(e1, kc):
    body = granted_user()
    del body["emails"]
    r = e1.post("/Users", json=body)
    assert r.status_code == 201
    assert r.json[E]["accessStatus"] == "pending" and "email_missing" in issues(r.json)
    assert kc_user(kc, r.json["id"])["enabled"] is False


def test_r2_one_address_may_serve_several_mars_accounts_but_not_v3(e1, e2):
    shared = f"{unique('shared')}@etude.example"
    for client in (e1, e1, e2):
        body = granted_user()
        body["emails"] = [{"value": shared, "primary": True}]
        r = client.post("/Users", json=body)
        assert r.status_code == 201 and r.json[E]["accessStatus"] == "granted"
    v3 = f"{unique('v3')}@etude.example"
    body = granted_user(platforms=["v3"])
    body["emails"] = [{"value": v3, "primary": True}]
    assert e1.post("/Users", json=body).status_code == 201
    again = granted_user(platforms=["mars", "v3"])
    again["emails"] = [{"value": v3.upper(), "primary": True}]
    r = e1.post("/Users", json=again)
    assert r.status_code == 409 and r.json["scimType"] == "uniqueness"
    assert "V3" in r.json["detail"]
    mars_only = granted_user(platforms=["mars"])
    mars_only["emails"] = [{"value": v3, "primary": True}]
    assert e1.post("/Users", json=mars_only).status_code == 201


def test_r2_an_address_is_checked_when_claimed_on_v3_not_on_every_write(e1, kc):
    """A write that claims a V3 address the record did not hold there is checked (a new
    address, or V3 added); one that keeps it is not, so that two accounts already sharing an
    address (made in the admin console) never block a departure."""
    taken = f"{unique('v3')}@etude.example"
    first = granted_user(platforms=["v3"])
    first["emails"] = [{"value": taken, "primary": True}]
    first_id = e1.post("/Users", json=first).json["id"]
    mars = granted_user(platforms=["mars"])
    mars["emails"] = [{"value": taken, "primary": True}]
    mars_id = e1.post("/Users", json=mars).json["id"]
    r = e1.patch(f"/Users/{mars_id}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{E}:platforms", "value": ["mars", "v3"]}]})
    assert r.status_code == 409 and r.json["scimType"] == "uniqueness"  # V3 added: claimed
    other = e1.post("/Users", json=granted_user(platforms=["v3"])).json
    r = e1.patch(f"/Users/{other['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "emails", "value": [{"value": taken, "primary": True}]}]})
    assert r.status_code == 409 and r.json["scimType"] == "uniqueness"  # new address: claimed
    # The same address given to the other V3 account behind the connector's back:
    rep = kc_user(kc, other["id"])
    kc.request("PUT", kc.path("/users/{u}", u=other["id"]),
               body={k: v for k, v in rep.items() if k != "federatedIdentities"} | {
                   "email": taken})
    r = e1.patch(f"/Users/{first_id}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert r.status_code == 200, r.json  # the departure is applied, not refused
    assert kc_user(kc, first_id)["enabled"] is False


# -- R3 password ----------------------------------------------------------------------------
def test_r3_password_rule_in_scim_on_post_put_patch(e1, caplog):
    numeric = granted_user()
    numeric["password"] = 1234
    assert e1.post("/Users", json=numeric).status_code == 400
    for bad in ("abc", "abcdefghijk", "abc-12", "mot de passe"):
        body = granted_user()
        body["password"] = bad
        r = e1.post("/Users", json=body)
        assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
        assert "4 to 10" in r.json["detail"]
        assert str(bad) not in r.json["detail"]
    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    body["password"] = "x"
    assert e1.put(f"/Users/{uid}", json=body).status_code == 400
    r = patch(e1, uid, {"op": "replace", "path": "password", "value": "éééé"})
    assert r.status_code == 400 and "4" in r.json["detail"]


def test_r3_password_is_write_only_and_never_logged(e1, settings, login_client, caplog):
    caplog.set_level(logging.INFO, logger="connector")
    body = granted_user()
    body["password"] = "Abc123xyz"
    r = e1.post("/Users", json=body)
    assert "Abc123xyz" not in r.get_data(as_text=True) and "password" not in r.json
    assert e1.get(f"/Users/{r.json['id']}").json.get("password") is None
    assert login(settings, login_client, body["userName"], "Abc123xyz") == 200
    r = patch(e1, r.json["id"], {"op": "replace", "path": "password", "value": "New4pass"})
    assert r.status_code == 200
    assert login(settings, login_client, body["userName"], "New4pass") == 200
    assert "Abc123xyz" not in caplog.text and "New4pass" not in caplog.text
    lines = [json.loads(rec.message) for rec in caplog.records if rec.name == "connector.audit"]
    assert any("password" in line["changed"] for line in lines)


def test_r3_granted_user_without_password_gets_keycloak_mail(e1, kc, mailbox):
    body = granted_user(platforms=["v3"])
    del body["password"]
    r = e1.post("/Users", json=body)
    assert r.status_code == 201 and r.json[E]["passwordEmail"] == "sent"
    user = kc_user(kc, r.json["id"])
    assert "UPDATE_PASSWORD" in user["requiredActions"]
    mails = mailbox.to(body["emails"][0]["value"])
    assert len(mails) == 1
    text = mails[0].content.decode("utf-8", "replace")
    assert "execute-actions" in text or "action-token" in text


def test_r3_mail_failure_is_visible_not_a_500(e1, kc, admin_gw, settings):
    realm = admin_gw.get(admin_gw.path(""))
    smtp = realm["smtpServer"]
    admin_gw.request("PUT", admin_gw.path(""), body={"smtpServer": {**smtp, "port": "9"}})
    try:
        body = granted_user()
        del body["password"]
        r = e1.post("/Users", json=body)
    finally:
        admin_gw.request("PUT", admin_gw.path(""), body={"smtpServer": smtp})
    assert r.status_code == 201
    assert r.json[E]["accessStatus"] == "granted" and r.json[E]["passwordEmail"] == "failed"
    assert kc_user(kc, r.json["id"])["enabled"] is True


# -- R4 proofs ------------------------------------------------------------------------------
def test_r4_titulaire_needs_a_recent_kbis(e1, kc):
    body = granted_user(titulaire=True, profile="huissier", employerAttestationDate=None)
    r = e1.post("/Users", json=body)
    assert r.json[E]["accessStatus"] == "pending" and "kbis_missing" in issues(r.json)
    for too_old in ((add_months(today_in_paris(), -3) - timedelta(days=1)).isoformat(), day(1)):
        body = granted_user(titulaire=True, profile="huissier", kbisDate=too_old)
        r = e1.post("/Users", json=body)
        assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
        assert "kbisDate" in r.json["detail"] or "K-bis" in r.json["detail"]
    body = granted_user(titulaire=True, profile="huissier",
                        kbisDate=add_months(today_in_paris(), -3).isoformat())
    r = e1.post("/Users", json=body)
    assert r.status_code == 201 and r.json[E]["accessStatus"] == "granted"


def test_r4_collaborator_attestation_not_in_future_and_datetime_reduced(e1):
    r = e1.post("/Users", json=granted_user(employerAttestationDate=day(2)))
    assert r.status_code == 400
    r = e1.post("/Users", json=granted_user(employerAttestationDate="2026-03-31T23:30:00Z"))
    assert r.status_code == 201
    assert r.json[E]["employerAttestationDate"] == "2026-04-01"


# -- R5 contracts ---------------------------------------------------------------------------
def test_r5_cdd_end_date(e1, kc):
    r = e1.post("/Users", json=granted_user(contractType="CDD"))
    assert r.json[E]["accessStatus"] == "pending" and "contract_end_missing" in issues(r.json)
    r = e1.post("/Users", json=granted_user(contractType="CDD", contractEndDate=day(-1)))
    assert r.json[E]["accessStatus"] == "expired"
    assert kc_user(kc, r.json["id"])["enabled"] is False
    assert kc_groups(kc, r.json["id"]) == {"/etudes/E1"}
    r = e1.post("/Users", json=granted_user(contractType="CDD", contractEndDate=day(0)))
    assert r.json[E]["accessStatus"] == "granted"
    assert kc_user(kc, r.json["id"])["attributes"]["accessEndsOn"] == [day(1)]
    # R9 day index: a group per end day, so the nightly job asks for members, not a scan.
    assert f"/access-ends-on/{day(1)}" in kc_groups(kc, r.json["id"], index=True)
    uid = r.json["id"]
    r = patch(e1, uid, {"op": "replace", "path": f"{E}:contractEndDate", "value": day(5)})
    assert {g for g in kc_groups(kc, uid, index=True) if g.startswith("/access-ends-on/")} == {
        f"/access-ends-on/{day(6)}"}
    r = patch(e1, uid, {"op": "replace", "path": f"{E}:contractType", "value": "CDI"},
              {"op": "remove", "path": f"{E}:contractEndDate"})
    assert r.status_code == 200, r.json
    assert not {g for g in kc_groups(kc, uid, index=True) if g.startswith("/access-ends-on/")}
    r = e1.post("/Users", json=granted_user(contractType="CDI", contractEndDate=day(30)))
    assert r.status_code == 400 and "contractEndDate" in r.json["detail"]


# -- R6 profile and platforms ---------------------------------------------------------------
def test_r6_values_outside_the_lists_name_the_allowed_ones(e1):
    r = e1.post("/Users", json=granted_user(profile="stagiaire"))
    assert r.status_code == 400 and r.json["scimType"] == "invalidValue"
    assert "gestionnaire_amiable" in r.json["detail"]
    r = e1.post("/Users", json=granted_user(platforms=["mars", "v4"]))
    assert r.status_code == 400 and "v3" in r.json["detail"]


# -- R7 confidentiality ---------------------------------------------------------------------
def test_r7_confidentiality_needed(e1):
    r = e1.post("/Users", json=granted_user(confidentialityAcceptedDate=None))
    assert r.json[E]["accessStatus"] == "pending"
    assert "confidentiality_missing" in issues(r.json)


# -- R8 departure ---------------------------------------------------------------------------
def test_r8_departure_revokes_at_once_and_ends_sessions(e1, kc, settings, login_client):
    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    assert login(settings, login_client, body["userName"], body["password"]) == 200
    assert kc.get(kc.path("/users/{u}/sessions", u=uid)) != []
    r = patch(e1, uid, {"op": "replace", "path": f"{E}:departureDate", "value": day(-1)})
    assert r.json[E]["accessStatus"] == "expired" and "departed" in issues(r.json)
    assert kc_user(kc, uid)["enabled"] is False
    assert kc.get(kc.path("/users/{u}/sessions", u=uid)) == []
    assert kc_groups(kc, uid) == {"/etudes/E1"}
    assert login(settings, login_client, body["userName"], body["password"]) != 200


def test_r8_delete_ends_sessions_then_removes(e1, kc, settings, login_client):
    import requests

    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    token_url = f"{settings.keycloak_url}/realms/{settings.realm}/protocol/openid-connect/token"
    signed_in = requests.post(token_url, timeout=10, data={
        "grant_type": "password", "client_id": login_client, "username": body["userName"],
        "password": body["password"]})
    assert signed_in.status_code == 200
    assert kc.get(kc.path("/users/{u}/sessions", u=uid)) != []
    assert e1.delete(f"/Users/{uid}").status_code == 204
    assert kc.get(kc.path("/users"), username=body["userName"], exact="true") == []
    # The session went with the user: its refresh token no longer gives a new access token.
    refreshed = requests.post(token_url, timeout=10, data={
        "grant_type": "refresh_token", "client_id": login_client,
        "refresh_token": signed_in.json()["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


# -- R10 traceability -----------------------------------------------------------------------
def test_r10_one_audit_line_per_write(e1, caplog):
    caplog.set_level(logging.INFO, logger="connector.audit")
    body = granted_user()
    uid = e1.post("/Users", json=body).json["id"]
    patch(e1, uid, {"op": "replace", "path": "title", "value": "Comptable"})
    lines = [json.loads(r.message) for r in caplog.records if r.name == "connector.audit"]
    mine = [line for line in lines if line["target"] == uid]
    assert [line["action"] for line in mine] == ["user.create", "user.patch"]
    assert mine[1]["changed"] == ["title"]
    assert mine[1]["who"].startswith("etude:E1:") and mine[1]["at"].endswith("Z")
    assert mine[1]["outcome"] == "ok"
    assert body["password"] not in caplog.text and "Martin" not in caplog.text


# -- R11 étude onboarding -------------------------------------------------------------------
def test_r11_unregistered_etude_gets_no_access(admin, kc):
    r = admin.post("/Users", json=granted_user(etude="NOTSIGNED"))
    assert r.status_code == 201
    assert r.json[E]["accessStatus"] == "pending" and "etude_unregistered" in issues(r.json)
    assert kc_groups(kc, r.json["id"]) == set()


# -- transitions ----------------------------------------------------------------------------
def test_record_becoming_complete_is_granted_at_once_and_losing_it_at_once(e1, kc):
    body = granted_user(titulaire=True, profile="huissier", employerAttestationDate=None)
    uid = e1.post("/Users", json=body).json["id"]
    assert kc_user(kc, uid)["enabled"] is False
    r = patch(e1, uid, {"op": "add", "path": f"{E}:kbisDate", "value": day(-10)})
    assert r.json[E]["accessStatus"] == "granted" and "accessIssues" not in r.json[E]
    assert kc_user(kc, uid)["enabled"] is True
    assert kc_groups(kc, uid) == {"/mars/huissier", "/etudes/E1"}
    r = patch(e1, uid, {"op": "remove", "path": f"{E}:confidentialityAcceptedDate"})
    assert r.json[E]["accessStatus"] == "pending"
    assert kc_user(kc, uid)["enabled"] is False
    assert kc_groups(kc, uid) == {"/etudes/E1"}


def test_access_issues_in_french(app, tokens):
    from tests.integration.conftest import Scim

    fr = Scim(app, tokens["E1"], lang="fr")
    r = fr.post("/Users", json=granted_user(confidentialityAcceptedDate=None))
    detail = r.json[E]["accessIssues"][0]["detail"]
    assert "confidentialité" in detail
