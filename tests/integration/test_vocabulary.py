"""mappings/ is the one source of the étude vocabulary: a profile or a platform an administrator
adds there (and bootstraps) is served in /Schemas, accepted in payloads and mapped in Keycloak,
with no change to the code."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.mappings import DEFAULT_DIR, get_mappings
from connector.web.app import create_app
from tests.integration.conftest import E, Scim, granted_user, kc_groups

NEW_PROFILE = """
stagiaire:
  label: Stagiaire
  permissions:
    consult_files_amiable: "added by the administrator for this test"
"""
NEW_PLATFORM = """
neo:
  label: Neo
  client_id: neo
  group_root: neo
  url: https://neo.example.fr/
  shared_email: true
"""


@pytest.fixture(scope="module")
def extended(settings: Any, tmp_path_factory: Any) -> Any:
    folder: Path = tmp_path_factory.mktemp("mappings")
    for source in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(source, folder / source.name)
    (folder / "profiles.yaml").write_text((DEFAULT_DIR / "profiles.yaml").read_text(
        encoding="utf-8") + NEW_PROFILE, encoding="utf-8")
    (folder / "platforms.yaml").write_text((DEFAULT_DIR / "platforms.yaml").read_text(
        encoding="utf-8") + NEW_PLATFORM, encoding="utf-8")
    local = replace(settings, realm=f"vocab-{secrets.token_hex(3)}", mappings_dir=str(folder))
    admin = Gateway(local, connect(local, as_admin=True))
    bootstrap(admin, local, get_mappings(str(folder)))
    directory = EtudeDirectory(admin)
    directory.add("V1", "Etude Vocabulaire")
    app = create_app(local)
    yield {"client": Scim(app, directory.create_token("V1")[1]), "kc": admin}
    with contextlib.suppress(KeycloakHTTPError):
        admin.request("DELETE", admin.path(""))


def test_schemas_publish_what_mappings_declare(extended):
    schemas = {s["id"]: s for s in extended["client"].get("/Schemas").json["Resources"]}
    attrs = {a["name"]: a for a in schemas[E]["attributes"]}
    assert "stagiaire" in attrs["profile"]["canonicalValues"]
    assert attrs["platforms"]["canonicalValues"] == ["mars", "v3", "neo"]


def test_a_new_profile_on_a_new_platform_is_granted_and_mapped(extended):
    r = extended["client"].post("/Users", json=granted_user(profile="stagiaire",
                                                            platforms=["neo"]))
    assert r.status_code == 201, r.json
    assert r.json[E]["accessStatus"] == "granted"
    kc = extended["kc"]
    assert "/neo/stagiaire" in kc_groups(kc, r.json["id"])
    uuid = kc.get(kc.path("/clients"), clientId="neo")[0]["id"]
    roles = kc.get(kc.path("/users/{u}/role-mappings/clients/{c}/composite", u=r.json["id"],
                           c=uuid))
    assert {role["name"] for role in roles} == {"consult_files_amiable"}


def test_values_outside_mappings_are_still_refused(extended):
    r = extended["client"].post("/Users", json=granted_user(profile="stagiaire",
                                                            platforms=["pluto"]))
    assert r.status_code == 400 and "neo" in r.json["detail"]
