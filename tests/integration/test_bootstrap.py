"""`connector bootstrap` makes the realm match mappings/, idempotently; the CLI issues and
revokes tokens stored as hashes."""

from __future__ import annotations

import secrets

from click.testing import CliRunner

from connector.cli import cli
from connector.keycloak.bootstrap import SERVICE_ACCOUNT_ROLES, bootstrap
from connector.keycloak.etudes import hash_secret
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.mappings import get_mappings
from connector.settings import Settings
from tests.integration.conftest import Scim


def run(settings: Settings, *args: str):
    env = {"CONNECTOR_REALM": settings.realm, "CONNECTOR_KEYCLOAK_URL": settings.keycloak_url}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_second_bootstrap_changes_nothing_and_says_so(settings, admin_gw):
    assert bootstrap(admin_gw, settings, get_mappings()) == []
    result = run(settings, "bootstrap")
    assert result.exit_code == 0
    assert "nothing to change" in result.output


def test_dry_run_on_a_new_realm_prints_the_plan_and_changes_nothing(settings):
    fresh = Settings(**{**settings.__dict__, "realm": f"dry-{secrets.token_hex(3)}"})
    result = run(fresh, "bootstrap", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"create  realm {fresh.realm}" in result.output
    assert "create  group /mars/comptable" in result.output
    assert "dry run: nothing changed" in result.output
    gw = Gateway(fresh, connect(fresh, as_admin=True))
    try:
        gw.get(gw.path(""))
        raise AssertionError("the dry run created the realm")
    except KeycloakHTTPError as exc:
        assert exc.status == 404


def test_realm_matches_mappings(admin_gw):
    kc, mappings = admin_gw, get_mappings()
    realm = kc.get(kc.path(""))
    assert realm["passwordPolicy"] == "length(4) and maxLength(10) and regexPattern(^[A-Za-z0-9]+$)"
    assert realm["duplicateEmailsAllowed"] is True
    assert kc.get(kc.path("/users/profile"))["unmanagedAttributePolicy"] == "ADMIN_EDIT"
    for key, platform in mappings.platforms.items():
        client = kc.get(kc.path("/clients"), clientId=platform.client_id)[0]
        roles = {r["name"] for r in kc.get(kc.path("/clients/{c}/roles", c=client["id"]),
                                            max=1000)}
        assert roles == set(mappings.permissions)
        for profile in mappings.profiles.values():
            group = kc.get(kc.group_path_url(f"{key}/{profile.key}"))
            mapped = kc.get(kc.path("/groups/{g}/role-mappings/clients/{c}", g=group["id"],
                                    c=client["id"]))
            assert {r["name"] for r in mapped} == set(profile.permissions), profile.key
    assert kc.get(kc.group_path_url("etudes"))["name"] == "etudes"


def test_password_policy_is_enforced_by_keycloak_itself(admin_gw):
    kc = admin_gw
    for bad in ("abc", "abcdefghijk", "abc-def"):
        try:
            kc.request("POST", kc.path("/users"), body={
                "username": f"pw{secrets.token_hex(3)}", "enabled": True,
                "credentials": [{"type": "password", "value": bad, "temporary": False}]})
            raise AssertionError(f"Keycloak accepted {bad!r}")
        except KeycloakHTTPError as exc:
            assert exc.status == 400


def test_service_account_has_only_the_roles_it_needs(settings, admin_gw):
    kc = admin_gw
    client = kc.get(kc.path("/clients"), clientId=settings.client_id)[0]
    secret = kc.get(kc.path("/clients/{c}/client-secret", c=client["id"]))["value"]
    user = kc.get(kc.path("/clients/{c}/service-account-user", c=client["id"]))
    rm = kc.get(kc.path("/clients"), clientId="realm-management")[0]
    roles = {r["name"] for r in kc.get(kc.path("/users/{u}/role-mappings/clients/{c}",
                                               u=user["id"], c=rm["id"]))}
    assert roles == set(SERVICE_ACCOUNT_ROLES)
    sa = Settings(**{**settings.__dict__, "client_secret": secret})
    gw = Gateway(sa)
    assert isinstance(gw.get(gw.path("/users/count")), int)
    try:
        gw.request("PUT", gw.path(""), body={"passwordPolicy": "length(1)"})
        raise AssertionError("the service account could change the realm")
    except KeycloakHTTPError as exc:
        assert exc.status == 403


def test_cli_etude_and_tokens(settings, app, admin_gw):
    code = f"C{secrets.token_hex(3).upper()}"
    added = run(settings, "etude", "add", code, "--name", "Etude CLI")
    assert added.exit_code == 0 and "registered" in added.output
    assert "already registered" in run(settings, "etude", "add", code, "--name", "x").output
    created = run(settings, "token", "create", "--etude", code)
    assert created.exit_code == 0
    token = created.output.strip().splitlines()[-1]
    assert token.startswith(f"cnx.{code}.")
    # Only the hash is stored in Keycloak.
    group = admin_gw.get(admin_gw.group_path_url(f"etudes/{code}"))
    stored = " ".join(group["attributes"]["connectorTokens"])
    assert token.rsplit(".", 1)[1] not in stored
    assert hash_secret(token.rsplit(".", 1)[1]) in stored
    scim = Scim(app, token)
    assert scim.get("/Users?count=1").status_code == 200
    admin_token = run(settings, "token", "create", "--admin").output.strip().splitlines()[-1]
    assert admin_token.startswith("cnx.admin.")
    assert run(settings, "token", "revoke", token).exit_code == 0
    unknown = run(settings, "token", "create", "--etude", "NOPE")
    assert unknown.exit_code != 0 and "not registered" in unknown.output
