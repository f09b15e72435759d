"""Detail texts a reader cannot provoke with a shell command (Keycloak away, a busy user, a
write cut half-way), obtained from the connector itself so the guides can quote them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import requests

from connector.keycloak.gateway import KeycloakUnavailable, connect
from connector.keycloak.locks import Locks
from connector.scim.errors import Unavailable
from connector.service.context import RequestContext
from connector.web.app import create_app
from connector.wiring import build_services
from tests.integration.conftest import granted_user
from tests.integration.cut_gateway import CutGateway
from tests.integration.held_locks import drop_locks

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DEPART = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}


def server_only_details(world: dict[str, Any], lang: str) -> list[str]:
    """The 503 details in one language: Keycloak away, a busy user, a write cut part-way."""
    key = f"503:{lang}"
    if key not in world:
        world[key] = [_keycloak_away(world, lang), _busy(world, lang), _cut(world, lang)]
    return list(world[key])


def _new_user(world: dict[str, Any]) -> str:
    resp = requests.post(f"{world['root']}/Users", json=granted_user(),
                         headers={"Authorization": f"Bearer {world['token']}"}, timeout=60)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _keycloak_away(world: dict[str, Any], lang: str) -> str:
    gw = CutGateway(world["settings"], connect(world["settings"], as_admin=True))
    app = create_app(world["settings"], gateway=gw)
    gw.budget = 0
    resp = app.test_client().get("/scim/v2/Users", headers={
        "Authorization": f"Bearer {world['token']}", "Accept-Language": lang})
    assert resp.status_code == 503 and resp.headers["Retry-After"], resp.json
    return str(resp.json["detail"])


def _busy(world: dict[str, Any], lang: str) -> str:
    uid = _new_user(world)
    with Locks(world["gw"], lease_seconds=60, wait_seconds=5).hold(f"user:{uid}"):
        resp = requests.patch(f"{world['root']}/Users/{uid}", json=DEPART, timeout=60,
                              headers={"Authorization": f"Bearer {world['token']}",
                                       "Accept-Language": lang})
    assert resp.status_code == 503 and resp.headers["Retry-After"], resp.text
    return str(resp.json()["detail"])


def _cut(world: dict[str, Any], lang: str) -> str:
    settings = world["settings"]
    gw = CutGateway(settings, connect(settings, as_admin=True))
    services = build_services(replace(settings, lock_lease_seconds=60, token_cache_seconds=3600),
                              gw)  # no cache refresh shifting a run's cut points
    ctx = RequestContext(services.directory.authenticate(world["token"]), french=lang == "fr")
    probe = _new_user(world)
    before = gw.calls
    services.users.patch(probe, DEPART, ctx)
    for budget in range(gw.calls - before - 1, 0, -1):
        uid = _new_user(world)
        gw.budget = budget
        try:
            services.users.patch(uid, DEPART, ctx)
        except Unavailable as exc:
            return str(exc.to_body(lang == "fr")["detail"])
        except KeycloakUnavailable:
            continue
        finally:
            gw.budget = None
            drop_locks(world["gw"])
    raise AssertionError("no cut point interrupted the write")
