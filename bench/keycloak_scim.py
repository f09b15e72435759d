"""Keycloak's own SCIM (26.7 preview `scim-api`) on a second, benchmark-only Keycloak.

`start()` runs deploy/keycloak.sh with its own version, ports and cache folder (never the
shared development Keycloak), `enable(gw, realm)` turns the realm's SCIM endpoint on and makes
the confidential client Keycloak's SCIM accepts: a service account holding manage-users,
view-users, query-users and query-groups of realm-management, and an audience mapper whose
value is the realm's SCIM base URL (Keycloak checks the token's audience against it).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connector.keycloak.gateway import Gateway

ROOT = Path(__file__).resolve().parents[1]
VERSION = os.environ.get("BENCH_KEYCLOAK_VERSION", "26.7.3")
PORT = int(os.environ.get("BENCH_KEYCLOAK_PORT", "8381"))
MANAGEMENT_PORT = int(os.environ.get("BENCH_KEYCLOAK_MANAGEMENT_PORT", "9301"))
CACHE = ROOT / ".cache" / "keycloak-bench"
URL = f"http://127.0.0.1:{PORT}"
CLIENT = "scim-race"
ROLES = ("manage-users", "view-users", "query-users", "query-groups")


def _script(action: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEYCLOAK_VERSION": VERSION, "KEYCLOAK_CACHE": str(CACHE),
           "KEYCLOAK_PORT": str(PORT), "KEYCLOAK_MANAGEMENT_PORT": str(MANAGEMENT_PORT),
           "KEYCLOAK_FEATURES": "scim-api"}
    return subprocess.run([str(ROOT / "deploy" / "keycloak.sh"), action], env=env, text=True,
                          check=False, capture_output=action == "status")


def start() -> bool:
    """Start the benchmark's Keycloak; True when this call started it (stop it afterwards)."""
    if _script("status").returncode == 0:
        return False
    if _script("start").returncode != 0:
        raise RuntimeError("the benchmark's Keycloak did not start; see "
                           f"{CACHE / 'keycloak.log'}")
    return True


def stop() -> None:
    """Stop the benchmark's Keycloak (by the PID its script recorded)."""
    _script("stop")


@dataclass
class ScimClient:
    """Bearer tokens for Keycloak's SCIM endpoint of one realm."""

    realm: str
    secret: str
    _token: str | None = None

    @property
    def base(self) -> str:
        """The realm's SCIM base URL (also the audience Keycloak requires)."""
        return f"{URL}/realms/{self.realm}/scim/v2"

    def token(self, fresh: bool = False) -> str:
        """A client-credentials access token (kept until asked for a fresh one)."""
        if self._token is None or fresh:
            resp = requests.post(f"{URL}/realms/{self.realm}/protocol/openid-connect/token",
                                 data={"grant_type": "client_credentials", "client_id": CLIENT,
                                       "client_secret": self.secret}, timeout=30)
            resp.raise_for_status()
            self._token = str(resp.json()["access_token"])
        return self._token


def enable(gw: Gateway, realm: str) -> ScimClient:
    """Turn on the realm's SCIM API and make the client that may call it."""
    rep = gw.get(gw.path(""))
    rep["scimApiEnabled"] = True
    rep["accessTokenLifespan"] = max(int(rep.get("accessTokenLifespan") or 300), 3600)
    gw.request("PUT", gw.path(""), body=rep)
    secret = secrets.token_urlsafe(24)
    scim = ScimClient(realm, secret)
    gw.request("POST", gw.path("/clients"), body={
        "clientId": CLIENT, "secret": secret, "publicClient": False,
        "serviceAccountsEnabled": True, "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "protocolMappers": [{"name": "scim-audience", "protocol": "openid-connect",
                             "protocolMapper": "oidc-audience-mapper",
                             "config": {"included.custom.audience": scim.base,
                                        "access.token.claim": "true",
                                        "id.token.claim": "false"}}]})
    uuid = gw.get(gw.path("/clients"), clientId=CLIENT)[0]["id"]
    user = gw.get(gw.path("/clients/{c}/service-account-user", c=uuid))
    management = gw.get(gw.path("/clients"), clientId="realm-management")[0]["id"]
    roles: list[dict[str, Any]] = [gw.get(gw.path("/clients/{c}/roles/{r}", c=management, r=r))
                                   for r in ROLES]
    gw.request("POST", gw.path("/users/{u}/role-mappings/clients/{c}", u=user["id"],
                               c=management), body=roles)
    return scim
