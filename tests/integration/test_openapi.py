"""The served OpenAPI description: public, generated from what discovery serves, and true of a
live replica, checked by schemathesis on a fixed seed and budget (no 5xx, no undocumented status,
header, content type or body)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from connector.keycloak.etudes import EtudeDirectory
from connector.mappings import get_mappings
from tests.integration.conftest import E
from tests.integration.servers import replicas

SEED = 20261127
EXAMPLES = 20  # per operation and phase: about 500 requests, under a minute on 2 cores
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")


def test_description_is_served_without_a_token(app):
    resp = app.test_client().get("/scim/v2/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0" and doc["servers"][0]["url"].endswith("/scim/v2")
    etude = doc["components"]["schemas"]["User"]["properties"][E]["properties"]
    assert etude["profile"]["enum"] == list(get_mappings().profiles)
    assert etude["platforms"]["items"]["enum"] == list(get_mappings().platforms)


def test_only_the_description_is_public(app):
    client = app.test_client()
    for path in ("/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/Users",
                 "/scim/v2/openapi.json/", "/scim/v2/openapi.json/../Users"):
        assert client.get(path).status_code == 401, path


def test_a_search_whose_schemas_is_not_a_list_is_refused(e1):
    """Found by the description check: `"schemas": true` was a 500."""
    resp = e1.post("/.search", json={"schemas": True})
    assert resp.status_code == 400 and resp.json["scimType"] == "invalidSyntax"


def test_a_live_replica_keeps_to_its_description(settings: Any, admin_gw: Any,
                                                 tmp_path: Path) -> None:
    directory = EtudeDirectory(admin_gw)
    directory.add("OPENAPI", "Etude OpenAPI")
    token = directory.create_token("OPENAPI")[1]
    schemathesis = Path(sys.executable).with_name("st")
    with replicas(settings, 1) as roots:
        assert requests.get(f"{roots[0]}/openapi.json", timeout=10).status_code == 200
        run = subprocess.run(
            [str(schemathesis), "run", f"{roots[0]}/openapi.json",
             "-H", f"Authorization: Bearer {token}", "--checks", CHECKS,
             "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--workers", "1",
             "--phases", "examples,fuzzing,stateful", "--no-shrink",
             "--output-truncate", "false", "--request-timeout", "60"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = run.stdout[run.stdout.rfind("SUMMARY"):]
    print(summary)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert " passed" in summary and "generated" in summary
