"""A write cut off from Keycloak at any point leaves no more access than the record (R8, R9).

The connector talks to the real Keycloak through a gateway whose link is cut after a given
number of calls, as when Keycloak dies or the network fails mid-request. Every cut point of
each kind of write is tried: after the cut the user has no access beyond his stored record
(less is allowed), the answer is 503 saying what was applied, and the same request sent again
once Keycloak is back converges exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from connector.keycloak.gateway import KeycloakUnavailable, connect
from connector.scim.errors import Unavailable
from connector.service.context import RequestContext
from connector.wiring import build_services
from tests.integration.access import access_problems, over_grants
from tests.integration.conftest import PATCH, E, granted_user, unique
from tests.integration.cut_gateway import CutGateway
from tests.integration.held_locks import drop_locks

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"


@pytest.fixture(scope="module")
def cut(settings: Any, admin_gw: Any, tokens: Any) -> Any:
    gw = CutGateway(settings, connect(settings, as_admin=True))
    # The étude cache must not expire during a scenario: a refresh landing in one run would
    # shift that run's cut points by a call, and a step could go untried (seen on a loaded run).
    return build_services(replace(settings, lock_lease_seconds=60, token_cache_seconds=3600), gw)


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def last_audit(caplog: Any) -> dict[str, Any]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "connector.audit"]
    return lines[-1] if lines else {}


def pending(e1: Any) -> str:
    body = granted_user()
    del body[E]["confidentialityAcceptedDate"]
    return str(e1.post("/Users", json=body).json["id"])


def granted(e1: Any, **ext: Any) -> str:
    return str(e1.post("/Users", json=granted_user(**ext)).json["id"])


def in_team(e1: Any, **ext: Any) -> str:
    uid = granted(e1, **ext)
    r = e1.post("/Groups", json={"schemas": [G, EG], "displayName": unique("cut"),
                                 "members": [{"value": uid}],
                                 EG: {"delegatedPermissions": ["send_reminders"],
                                      "platforms": ["mars", "v3"]}})
    assert r.status_code == 201, r.json
    return uid


SCENARIOS = {
    "pending becomes granted": (pending, ops(
        {"op": "add", "path": f"{E}:confidentialityAcceptedDate", "value": "2026-01-06"})),
    "profile changes": (granted, ops({"op": "replace", "path": f"{E}:profile",
                                      "value": "huissier"})),
    "departure": (granted, ops({"op": "replace", "path": "active", "value": False})),
    "platform added, with a team": (in_team, ops(
        {"op": "replace", "path": f"{E}:platforms", "value": ["mars", "v3"]},
        {"op": "replace", "path": f"{E}:profile", "value": "superviseur"})),
    "contract ends": (in_team, ops({"op": "replace", "path": f"{E}:departureDate",
                                    "value": "2026-01-07"})),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_cut_point_leaves_no_more_access_than_the_record(scenario, cut, app, e1, kc, tokens,
                                                               caplog):
    caplog.set_level("INFO", logger="connector.audit")
    made, body = SCENARIOS[scenario]

    def make(client: Any) -> str:
        # The app releases its locks after answering: wait for them, or the cut writer's lock
        # could meet the app's (extra calls shift the cut points) and drop_locks race a release.
        uid = made(client)
        app.extensions["services"].locks.settle()
        return uid

    gw: CutGateway = cut.gateway  # type: ignore[assignment]
    ctx = RequestContext(cut.directory.authenticate(tokens["E1"]))
    probe = make(e1)
    before = gw.calls
    cut.users.patch(probe, body, ctx)
    total, steps = gw.calls - before, len(last_audit(caplog)["applied"])
    assert access_problems(kc, probe) == [] and steps > 0
    interrupted: set[int] = set()
    for budget in range(total):
        uid = make(e1)
        gw.budget = budget
        try:
            cut.users.patch(uid, body, ctx)
        except Unavailable as exc:  # cut while the plan ran: 503 saying what was applied
            assert exc.status == 503 and "Retry-After" in exc.headers
            interrupted.add(len(last_audit(caplog)["applied"]))
        except KeycloakUnavailable:  # cut while reading or locking, before any step
            pass
        finally:
            gw.budget = None
        assert over_grants(kc, uid) == [], f"{scenario}, cut after {budget} calls"
        drop_locks(kc)
        cut.users.patch(uid, body, ctx)  # Keycloak is back: the retry converges
        assert access_problems(kc, uid) == [], f"{scenario}, retried after a cut at {budget}"
    assert interrupted == set(range(steps))  # a cut before each step of the plan was tried
