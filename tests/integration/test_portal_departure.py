"""A departure declared in « Mon étude » is the SCIM write of departureDate (R8, R10), and how
it meets the étude HR system's next push.

The rule (README, « Mon étude » and SCIM): a departure declared in the portal is kept unless a
later SCIM write sets or removes departureDate explicitly; a PUT that omits departureDate keeps
it. The first half holds today; the PUT half belongs to the user write path and is pinned here
as an expected failure until that path implements it.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from connector.domain.dates import today_in_paris
from connector.keycloak.etudes import Principal
from connector.portal.actions import departure_patch
from connector.scim.errors import NotFound
from connector.service.context import RequestContext
from tests.integration.conftest import PATCH, E, granted_user, kc_user

TITULAIRE = Principal("portal", "E1", actor="jmartin")


def declared(app, e1, days: int = 10) -> tuple[dict, str]:
    """A granted user of E1 whose titulaire declared his departure in the portal."""
    created = e1.post("/Users", json=granted_user())
    assert created.status_code == 201, created.json
    day = (today_in_paris() + timedelta(days=days)).isoformat()
    app.extensions["users"].patch(created.json["id"],
                                  departure_patch(today_in_paris() + timedelta(days=days)),
                                  RequestContext(TITULAIRE))
    return created.json, day


def test_the_portal_writes_what_a_scim_patch_writes(app, e1, kc, caplog):
    caplog.set_level(logging.INFO, logger="connector.audit")
    user, day = declared(app, e1)
    twin = e1.post("/Users", json=granted_user()).json
    scim = e1.patch(f"/Users/{twin['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{E}:departureDate", "value": day}]})
    assert scim.status_code == 200
    mine, theirs = kc_user(kc, user["id"])["attributes"], kc_user(kc, twin["id"])["attributes"]
    for key in ("departureDate", "accessEndsOn", "accessStatus"):
        assert mine[key] == theirs[key], key
    assert mine["departureDate"] == [day]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "connector.audit"]
    portal = next(x for x in lines if x["target"] == user["id"] and x["action"] == "user.patch")
    hr = next(x for x in lines if x["target"] == twin["id"] and x["action"] == "user.patch")
    assert portal["who"] == "etude:E1:portal:jmartin"
    marker = f"{E}:departureDeclaredBy"  # the one difference: who declared it is recorded
    assert portal["changed"] == sorted([*hr["changed"], marker])
    per_call = ("at", "who", "target", "changed", "request_id")  # request_id: one per request
    assert {k: v for k, v in portal.items() if k not in per_call} == \
        {k: v for k, v in hr.items() if k not in per_call}
    assert mine["departureDeclaredBy"] == ["portal:jmartin"]
    assert "departureDeclaredBy" not in theirs


def test_the_portal_refuses_another_etudes_user(app, e2):
    other = e2.post("/Users", json=granted_user()).json
    with pytest.raises(NotFound):
        app.extensions["users"].patch(other["id"], departure_patch(today_in_paris()),
                                      RequestContext(TITULAIRE))


def test_a_later_scim_patch_that_changes_the_departure_wins(app, e1, kc):
    user, _ = declared(app, e1)
    later = (today_in_paris() + timedelta(days=30)).isoformat()
    r = e1.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{E}:departureDate", "value": later}]})
    assert r.status_code == 200 and r.json[E]["departureDate"] == later


def test_a_later_scim_patch_that_removes_the_departure_wins(app, e1, kc):
    user, _ = declared(app, e1)
    r = e1.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f"{E}:departureDate"}]})
    assert r.status_code == 200 and "departureDate" not in r.json[E]
    assert "departureDate" not in kc_user(kc, user["id"])["attributes"]


def test_a_scim_patch_of_other_attributes_keeps_the_departure(app, e1, kc):
    user, day = declared(app, e1)
    r = e1.patch(f"/Users/{user['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "title", "value": "Clerc"}]})
    assert r.status_code == 200 and r.json[E]["departureDate"] == day


def test_a_scim_put_that_omits_the_departure_keeps_it(app, e1, kc):
    user, day = declared(app, e1)
    # The HR system pushes the whole record it knows, which has no departure in it.
    body = granted_user(user["userName"])
    body.pop("password")
    r = e1.put(f"/Users/{user['id']}", json=body)
    assert r.status_code == 200
    assert r.json[E].get("departureDate") == day
    assert r.json[E].get("departureDeclaredBy") == "portal:jmartin"
    assert kc_user(kc, user["id"])["attributes"].get("departureDate") == [day]


def test_a_scim_put_that_names_the_departure_decides(app, e1, kc):
    user, _ = declared(app, e1)
    body = granted_user(user["userName"])
    body.pop("password")
    body[E]["departureDate"] = None  # explicit: the HR system clears it
    r = e1.put(f"/Users/{user['id']}", json=body)
    assert r.status_code == 200 and "departureDate" not in r.json[E]
    assert "departureDeclaredBy" not in r.json[E]
    later = (today_in_paris() + timedelta(days=40)).isoformat()
    body[E]["departureDate"] = later
    r = e1.put(f"/Users/{user['id']}", json=body)
    assert r.json[E]["departureDate"] == later and "departureDeclaredBy" not in r.json[E]
