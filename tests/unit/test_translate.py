"""Pure translation between SCIM users and Keycloak representations."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.domain.rules import AccessIssue
from connector.keycloak.translate import (
    link_change,
    primary_email,
    stale_index,
    user_from_keycloak,
    user_to_keycloak,
)
from connector.keycloak.user_query import LINK_PROVIDER
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, USER

SCIM = {
    "schemas": [USER, ENTERPRISE, ETUDE_USER], "userName": "AMartin", "externalId": "X-1",
    "name": {"givenName": "Anais", "familyName": "Martin", "middleName": "Lea"},
    "displayName": "Anais Martin", "title": "Comptable", "active": True,
    "preferredLanguage": "fr-FR",
    "emails": [{"value": "home@x.fr", "type": "home"},
               {"value": "A.Martin@Etude.fr", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+33 1 23 45 67 89", "type": "work"}],
    ENTERPRISE: {"employeeNumber": "42", "manager": {"value": "m-1"}},
    ETUDE_USER: {"etude": "E1", "profile": "comptable", "platforms": ["v3", "mars"],
                 "titulaire": False, "contractType": "CDD", "contractEndDate": "2027-01-31"},
}
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def to_kc(status: str = "granted", issues: list[AccessIssue] | None = None, base=None):
    return user_to_keycloak(SCIM, status=status, issues=issues or [], ends_on="2027-02-01",
                            base=base, now=NOW)


def test_primary_email_wins_else_first():
    assert primary_email(SCIM) == "A.Martin@Etude.fr"
    assert primary_email({"emails": [{"value": "a@b"}, {"value": "c@d"}]}) == "a@b"
    assert primary_email({}) is None


def test_user_to_keycloak_fields_and_attributes():
    rep = to_kc()
    assert (rep["username"], rep["firstName"], rep["lastName"]) == ("AMartin", "Anais", "Martin")
    assert rep["email"] == "A.Martin@Etude.fr" and rep["enabled"] is True
    a = rep["attributes"]
    assert a["platforms"] == ["mars", "v3"] and a["titulaire"] == ["false"]
    assert a["emailIndex"] == ["home@x.fr"]  # the primary is Keycloak's e-mail column
    assert a["accessEndsOn"] == ["2027-02-01"] and a["accessStatus"] == ["granted"]
    assert a["scimLastModified"] == ["2026-11-26T10:00:00Z"]
    assert (a["scimModifiedDay"], a["scimModifiedMonth"], a["scimModifiedYear"]) == (
        ["2026-11-26"], ["2026-11"], ["2026"])
    assert a["locale"] == ["fr"] and a["managerId"] == ["m-1"]


def test_not_granted_means_disabled_and_issues_kept_in_both_languages():
    issue = AccessIssue("kbis_missing", "K-bis needed.", "K-bis requis.", "R4")
    rep = to_kc("pending", [issue])
    assert rep["enabled"] is False
    fr = user_from_keycloak({**rep, "id": "u1"}, french=True)
    en = user_from_keycloak({**rep, "id": "u1"})
    assert fr[ETUDE_USER]["accessIssues"] == [{"code": "kbis_missing", "detail": "K-bis requis."}]
    assert en[ETUDE_USER]["accessIssues"][0]["detail"] == "K-bis needed."
    assert fr["meta"]["version"] == en["meta"]["version"]


def test_read_change_write_keeps_foreign_attributes_and_clears_removed_ones():
    base = {"id": "u1", "attributes": {"keycloakOnly": ["kept"], "title": ["Old"]}}
    scim = {k: v for k, v in SCIM.items() if k != "title"}
    rep = user_to_keycloak(scim, status="granted", issues=[], ends_on=None, base=base)
    assert rep["attributes"]["keycloakOnly"] == ["kept"]
    assert "title" not in rep["attributes"] and "accessEndsOn" not in rep["attributes"]


def test_round_trip_gives_back_the_scim_user():
    rep = {**to_kc(), "id": "u1", "createdTimestamp": 1764151200000}
    out = user_from_keycloak(rep, base_url="https://scim.example/scim/v2",
                             teams=[{"id": "t1", "name": "Recouvrement"}])
    assert out["userName"] == "AMartin" and out["externalId"] == "X-1"
    assert out["name"] == SCIM["name"] and out["emails"] == SCIM["emails"]
    assert out[ENTERPRISE]["employeeNumber"] == "42"
    assert out[ENTERPRISE]["manager"]["value"] == "m-1"
    assert out[ETUDE_USER]["platforms"] == ["mars", "v3"]
    assert out[ETUDE_USER]["titulaire"] is False
    assert out["groups"] == [{"value": "t1", "display": "Recouvrement", "type": "direct",
                              "$ref": "https://scim.example/scim/v2/Groups/t1"}]
    assert out["meta"]["location"] == "https://scim.example/scim/v2/Users/u1"
    assert out["meta"]["created"] == "2026-11-26T10:00:00Z"  # scimCreated, written at creation
    del rep["attributes"]["scimCreated"]  # a user made before it: Keycloak's creation time
    assert user_from_keycloak(rep)["meta"]["created"] == "2025-11-26T10:00:00Z"
    assert out["meta"]["version"].startswith('W/"')
    assert "password" not in out


def test_version_changes_with_content():
    a = user_from_keycloak({**to_kc(), "id": "u1"})
    changed = {**SCIM, "title": "Autre"}
    b = user_from_keycloak({**user_to_keycloak(changed, status="granted", issues=[],
                                               ends_on=None, now=NOW), "id": "u1"})
    assert a["meta"]["version"] != b["meta"]["version"]


def test_a_created_user_carries_his_externalid_link_and_later_writes_compare_it():
    rep = user_to_keycloak(SCIM, status="granted", issues=[], ends_on=None)
    link = {"identityProvider": LINK_PROVIDER, "userId": "4531/X-1", "userName": "4531/X-1"}
    assert rep["federatedIdentities"] == [link]
    again = user_to_keycloak(SCIM, status="granted", issues=[], ends_on=None, base=rep)
    assert again["federatedIdentities"] == [link]  # the base's, which a PUT leaves alone
    assert link_change(rep, SCIM) is None
    moved = {**SCIM, "externalId": "X-2"}
    assert link_change(rep, moved) == ("4531/X-1", "4531/X-2")
    assert link_change({**rep, "federatedIdentities": []}, SCIM) == (None, "4531/X-1")
    assert link_change({k: v for k, v in rep.items() if k != "federatedIdentities"},
                       moved) is None  # unseen: read where the realm has no provider
    assert "externalIdLink" in stale_index({**rep, "federatedIdentities": []}, SCIM)
    assert "externalIdLink" not in stale_index(rep, SCIM)
    unlinked = {k: v for k, v in SCIM.items() if k != "externalId"}
    assert "federatedIdentities" not in user_to_keycloak(unlinked, status="granted", issues=[],
                                                         ends_on=None)
