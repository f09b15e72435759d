"""`connector reconcile` finds hand edits in Keycloak, repairs them, then sees zero.

Each test registers an étude of its own, so that "zero" means zero whatever the other test files
leave in the shared realm.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.jobstate import JobState
from connector.service.lifecycle import Lifecycle
from tests.integration.conftest import E, Scim, granted_user, kc_groups, kc_user, unique


@pytest.fixture
def etude(admin_gw):
    code = unique("R").upper()
    EtudeDirectory(admin_gw).add(code, "Etude Reconcile")
    return code


@pytest.fixture
def life(app, kc):
    return Lifecycle(app.extensions["users"], JobState(kc))


def create(admin, etude, **fields):
    body = granted_user(unique("rec"), etude=etude)
    body.update(fields)
    r = admin.post("/Users", json=body)
    assert r.status_code == 201, r.json
    return r.json


def reconcile_cli(settings, *args):
    result = CliRunner().invoke(cli, ["reconcile", *args], env={"CONNECTOR_REALM": settings.realm})
    return result


def mars_role(kc):
    uuid = kc.get(kc.path("/clients"), clientId="mars")[0]["id"]
    return uuid, kc.get(kc.path("/clients/{c}/roles", c=uuid), first=0, max=5)[0]


def test_consistent_etude_reports_zero(admin, etude, life, settings):
    create(admin, etude)
    create(admin, etude, active=False)
    report = life.reconcile(etude)
    assert report.users == [] and report.extra["examined"] == 2
    result = reconcile_cli(settings, "--etude", etude, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["users"] == [] and body["examined"] == 2 and body["dryRun"] is True


def test_hand_edits_are_reported_repaired_with_apply_then_zero(admin, etude, kc, life, settings):
    revoked = create(admin, etude, active=False)
    granted = create(admin, etude)
    roled = create(admin, etude)
    assert revoked[E]["accessStatus"] == "revoked"
    # An admin re-enables a revoked account in the console ...
    rep = kc_user(kc, revoked["id"])
    rep["enabled"] = True
    kc.request("PUT", kc.path("/users/{u}", u=revoked["id"]), body=rep)
    # ... adds a comptable to /v3/huissier by hand ...
    gid = kc.get(kc.group_path_url("v3/huissier"))["id"]
    kc.request("PUT", kc.path("/users/{u}/groups/{g}", u=granted["id"], g=gid))
    # ... and maps a Mars role on a user directly.
    client, role = mars_role(kc)
    kc.request("POST", kc.path("/users/{u}/role-mappings/clients/{c}", u=roled["id"], c=client),
               body=[role])

    result = reconcile_cli(settings, "--etude", etude)
    assert result.exit_code == 3, result.output  # differences found and left alone
    assert "enabled is true, should be false" in result.output
    assert "member of /v3/huissier, should not be" in result.output
    assert f"direct client role mars:{role['name']}" in result.output
    assert kc_user(kc, revoked["id"])["enabled"] is True  # report only

    applied = life.reconcile(etude, apply=True)
    assert {u["id"]: u["outcome"] for u in applied.users} == {
        revoked["id"]: "repaired", granted["id"]: "repaired", roled["id"]: "repaired"}
    assert kc_user(kc, revoked["id"])["enabled"] is False
    assert kc_groups(kc, granted["id"]) == {"/mars/comptable", f"/etudes/{etude}"}
    mapped = kc.get(kc.path("/users/{u}/role-mappings", u=roled["id"]))
    assert "mars" not in (mapped.get("clientMappings") or {})

    assert life.reconcile(etude).users == []
    again = reconcile_cli(settings, "--etude", etude, "--apply")
    assert again.exit_code == 0 and "reconcile: 0 difference(s)" in again.output


def test_a_hand_edited_end_date_fixes_the_expiry_index(admin, etude, kc, life):
    user = create(admin, etude)
    rep = kc_user(kc, user["id"])
    rep["attributes"].update({"contractType": ["CDD"], "contractEndDate": ["2032-02-10"]})
    kc.request("PUT", kc.path("/users/{u}", u=user["id"]), body=rep)
    report = life.reconcile(etude)
    assert report.users[0]["differences"] == [
        "accessEndsOn is None, should be 2032-02-11",
        "expiry index groups none, should be /access-ends-on/2032-02-11"]
    life.reconcile(etude, apply=True)
    assert kc_user(kc, user["id"])["attributes"]["accessEndsOn"] == ["2032-02-11"]
    assert "/access-ends-on/2032-02-11" in kc_groups(kc, user["id"], index=True)
    assert life.reconcile(etude).users == []


def test_all_etudes_skips_users_the_connector_does_not_manage(kc, life):
    uid = kc.created_id(kc.path("/users"), {"username": unique("console"), "enabled": True})
    try:
        report = life.reconcile()
        assert uid not in {u["id"] for u in report.users}
        assert report.extra["skipped"] >= 1
        assert kc_user(kc, uid)["enabled"] is True
    finally:
        kc.request("DELETE", kc.path("/users/{u}", u=uid))


def test_team_delegation_is_not_drift_but_a_hand_made_one_is(e2, kc, settings):
    """R12: the CLI sees delegation as the SCIM app does (same wiring)."""
    uid = e2.post("/Users", json=granted_user(unique("del"))).json["id"]
    other = e2.post("/Users", json=granted_user(unique("del"))).json["id"]
    G = "urn:ietf:params:scim:schemas:core:2.0:Group"
    EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
    r = e2.post("/Groups", json={"schemas": [G, EG], "displayName": unique("team"),
                                 "members": [{"value": uid}],
                                 EG: {"delegatedPermissions": ["send_reminders"],
                                      "platforms": ["mars"]}})
    assert r.status_code == 201, r.json
    sub = f"/etudes/E2/{r.json['displayName']}/mars"
    assert sub in kc_groups(kc, uid)
    # A hand-made membership of the delegation subgroup, without being in the team.
    gid = kc.get(kc.group_path_url(sub.lstrip("/")))["id"]
    kc.request("PUT", kc.path("/users/{u}/groups/{g}", u=other, g=gid))

    result = CliRunner().invoke(cli, ["reconcile", "--etude", "E2", "--json"],
                                env={"CONNECTOR_REALM": settings.realm})
    assert result.exit_code == 3, result.output  # the hand-made membership is a difference
    found = {u["id"]: u for u in json.loads(result.stdout)["users"]}
    assert uid not in found
    assert found[other]["differences"] == [f"member of {sub}, should not be"]
    kc.request("DELETE", kc.path("/users/{u}/groups/{g}", u=other, g=gid))


def test_users_written_before_the_query_attributes_are_completed_without_a_new_date(
        app, admin, admin_gw, etude, life, kc):
    """A user stored without scimEtude and the day indexes (written by an earlier version) is
    outside his étude's counts and incremental reads; reconcile writes them, lastModified
    untouched."""
    user = create(admin, etude)
    own = Scim(app, EtudeDirectory(admin_gw).create_token(etude)[1])
    since = {"filter": f'meta.lastModified ge "{user["meta"]["lastModified"]}"'}
    assert own.get("/Users", query_string=since).json["totalResults"] == 1
    rep = kc_user(kc, user["id"])
    dated = ("scimEtudeDay", "scimEtudeMonth", "scimEtudeYear")
    for key in ("scimEtude", "scimModifiedDay", "scimModifiedMonth", "scimModifiedYear", *dated):
        rep["attributes"].pop(key)
    kc.request("PUT", kc.path("/users/{u}", u=user["id"]), body=rep)
    flt = f'{E}:profile eq "comptable"'
    assert admin.get("/Users", query_string={"filter": f'{flt} and etude eq "{etude}"'}
                     ).json["totalResults"] == 1  # the admin asks by the etude attribute
    assert own.get("/Users", query_string=since).json["totalResults"] == 0
    report = life.reconcile(etude)
    [entry] = report.users
    assert entry["differences"] == [
        "query attributes scimEtude, scimModifiedDay, scimModifiedMonth, scimModifiedYear, "
        "scimEtudeDay, scimEtudeMonth, scimEtudeYear out of date"]
    life.reconcile(etude, apply=True)
    assert life.reconcile(etude).users == []
    assert own.get("/Users", query_string=since).json["totalResults"] == 1
    after = kc_user(kc, user["id"])["attributes"]
    assert after["scimEtude"] == [etude.encode().hex()]
    assert after["scimLastModified"] == rep["attributes"]["scimLastModified"]
    day = rep["attributes"]["scimLastModified"][0][:10]
    assert after["scimModifiedDay"] == [day]
    assert after["scimEtudeDay"] == [f"{etude.encode().hex()}/{day}"]


def test_reconcile_takes_over_a_lock_left_by_a_request_that_died(settings, admin, kc):
    """A write killed mid-request leaves its user's lock until its lease ends; the job waits."""
    from datetime import UTC, datetime, timedelta

    from tests.integration.held_locks import plant_user_lock, user_lock

    user = create(admin, "E1")
    # Its lease ended a second ago; the job may take it over SKEW (5 s) later.
    plant_user_lock(kc, user["id"], datetime.now(UTC) - timedelta(seconds=1))
    result = CliRunner().invoke(cli, ["reconcile", "--etude", "E1"], env={
        "CONNECTOR_REALM": settings.realm, "CONNECTOR_LOCK_LEASE_SECONDS": "12",
        "CONNECTOR_LOCK_WAIT_SECONDS": "1"})
    assert "being written by another request" not in result.output, result.output
    assert result.exit_code in (0, 3), result.output
    assert user_lock(kc, user["id"]) is None  # taken over, then released
