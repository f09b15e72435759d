"""What each named runnable block of the guides promises, checked in Keycloak (docs/README.md).

`BEFORE[name](world)` prepares what a block needs and a reader would have done by hand (drift
made in the admin console); `AFTER[name](world, output)` checks the promise once it ran.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from connector.domain.dates import today_in_paris
from connector.wiring import build_services
from tests.integration.access import access_problems
from tests.integration.conftest import kc_groups

PLATFORMS = ("mars", "v3")


def forget_etude_users(gw: Any, etudes: tuple[str, ...]) -> None:
    """Remove the users and teams a previous run of the guides made, so they run again."""
    for code in etudes:
        for user in gw.get(gw.path("/users"), q=f"etude:{code}", max=1000):
            gw.request("DELETE", gw.path("/users/{u}", u=user["id"]), ok=(204, 404))
        etude = gw.group_by_path(f"etudes/{code}")
        if etude is not None:
            for team in gw.get(gw.path("/groups/{g}/children", g=etude["id"]), max=1000):
                gw.request("DELETE", gw.path("/groups/{g}", g=team["id"]), ok=(204, 404))


def user(world: dict[str, Any], user_name: str) -> dict[str, Any]:
    """The Keycloak user of a userName (Keycloak keeps usernames in lower case)."""
    gw = world["gw"]
    found = gw.get(gw.path("/users"), username=user_name, exact="true")
    assert found, f"{user_name} is not in Keycloak"
    return dict(gw.get(gw.path("/users/{u}", u=found[0]["id"])))


def attribute(rep: dict[str, Any], name: str) -> str | None:
    return ((rep.get("attributes") or {}).get(name) or [None])[0]


def granted(world: dict[str, Any], user_name: str, etude: str, *groups: str) -> dict[str, Any]:
    """The user is enabled, in exactly his profile's platform groups and in his étude."""
    rep = user(world, user_name)
    paths = kc_groups(world["gw"], rep["id"])
    assert rep["enabled"] is True, (user_name, rep.get("attributes"))
    assert {p for p in paths if p.split("/")[1] in PLATFORMS} == set(groups), (user_name, paths)
    assert f"/etudes/{etude}" in paths
    assert access_problems(world["gw"], rep["id"]) == []
    return rep


def revoked(world: dict[str, Any], user_name: str) -> dict[str, Any]:
    """The user exists, disabled, in no platform group: no access at all."""
    rep = user(world, user_name)
    paths = kc_groups(world["gw"], rep["id"])
    assert rep["enabled"] is False and attribute(rep, "accessStatus") in ("revoked", "expired")
    assert not {p for p in paths if p.split("/")[1] in PLATFORMS}, (user_name, paths)
    assert access_problems(world["gw"], rep["id"]) == []
    return rep


def ends_after(world: dict[str, Any], user_name: str, last_day: str) -> None:
    """Access ends the day after `last_day`: the nightly job finds him in that day's group."""
    rep = user(world, user_name)
    first_day_without = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
    assert attribute(rep, "accessEndsOn") == first_day_without
    index = {p for p in kc_groups(world["gw"], rep["id"], index=True)
             if p.startswith("/access-ends-on/")}
    assert index == {f"/access-ends-on/{first_day_without}"}


def status_on(world: dict[str, Any], user_name: str, day: str) -> str:
    """What the record implies on a later day (read only: nothing is written)."""
    services = world.setdefault("services", build_services(world["settings"], world["gw"]))
    found = services.users.converge(user(world, user_name)["id"], "docs",
                                    today=date.fromisoformat(day), dry_run=True)
    assert found is not None
    return str(found.status[1])


def mail_to(world: dict[str, Any], address: str, timeout: float = 20) -> None:
    """Keycloak's set-your-password e-mail reaches the address (R3)."""
    deadline = time.monotonic() + timeout
    while not world["mailbox"].to(address):
        assert time.monotonic() < deadline, f"no e-mail reached {address}"
        time.sleep(0.2)


def in_days(days: int) -> str:
    return (today_in_paris() + timedelta(days=days)).isoformat()


# -- the in-house HRIS guide -----------------------------------------------------------------
def _cdd(world: dict[str, Any], user_name: str) -> None:
    rep = granted(world, user_name, "75001", "/mars/accueil")
    end = attribute(rep, "contractEndDate")
    assert end is not None and end > in_days(80)
    ends_after(world, user_name, end)
    world[f"end:{user_name}"] = end


def _extended(world: dict[str, Any], user_name: str) -> None:
    rep = user(world, user_name)
    end = attribute(rep, "contractEndDate")
    assert end is not None and end > world[f"end:{user_name}"]
    ends_after(world, user_name, end)


def _leaving(world: dict[str, Any], user_name: str) -> None:
    last_day = in_days(14)
    assert attribute(user(world, user_name), "departureDate") == last_day
    granted(world, user_name, "75001", "/mars/accueil")
    ends_after(world, user_name, last_day)
    assert status_on(world, user_name, last_day) == "granted"
    assert status_on(world, user_name, in_days(15)) == "expired"


# -- the Keycloak administrators' guide ------------------------------------------------------
def shell_variable(world: dict[str, Any], *names: str) -> str:
    """A variable the guide's blocks set (named in either language), from their shell state."""
    text = Path(world["state"]).read_text(encoding="utf-8")
    for name in names:
        found = re.search(rf'^declare -x {name}="(.*)"$', text, re.M)
        if found:
            return found.group(1)
    raise AssertionError(f"the blocks set none of {names}")


def answers(world: dict[str, Any], token: str) -> int:
    return requests.get(f"{world['root']}/Users?count=1", timeout=30,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def _registered(world: dict[str, Any], output: str) -> None:
    etude = world["gw"].group_by_path("etudes/13002")
    assert etude is not None and attribute(etude, "etudeName") == "Etude Durand"
    assert "13002\tEtude Durand" in output
    token = shell_variable(world, "TOKEN")
    assert token.startswith("cnx.13002.") and answers(world, token) == 200


def _rotated(world: dict[str, Any], output: str) -> None:
    old, new = shell_variable(world, "ANCIEN", "OLD"), shell_variable(world, "TOKEN")
    assert "token revoked" in output and old != new
    assert answers(world, new) == 200 and answers(world, old) == 401


def _drift(world: dict[str, Any]) -> None:
    """What a hurried hand in the admin console does: a group left, a role given directly."""
    gw, rep = world["gw"], user(world, "rdurand")
    group = gw.group_by_path("mars/superviseur")
    gw.request("DELETE", gw.path("/users/{u}/groups/{g}", u=rep["id"], g=group["id"]))
    client = gw.get(gw.path("/clients"), clientId="v3")[0]
    role = gw.get(gw.path("/clients/{c}/roles/{r}", c=client["id"], r="validate_remittances"))
    gw.request("POST", gw.path("/users/{u}/role-mappings/clients/{c}", u=rep["id"],
                               c=client["id"]), body=[role])


def _reconciled(world: dict[str, Any], output: str) -> None:
    for line in ("13002\trdurand\tdiffers", "13002\trdurand\trepaired",
                 "not member of /mars/superviseur, should be",
                 "direct client role v3:validate_remittances, should come from groups only",
                 "reconcile: 1 difference(s), 0 failed.",
                 "reconcile: 1 difference(s) repaired, 0 failed."):
        assert line in output, line
    rep = granted(world, "rdurand", "13002", "/mars/superviseur", "/v3/superviseur")
    gw = world["gw"]
    client = gw.get(gw.path("/clients"), clientId="v3")[0]
    assert gw.get(gw.path("/users/{u}/role-mappings/clients/{c}", u=rep["id"],
                          c=client["id"])) == []


AFTER: dict[str, Any] = {
    "embarquer-etude": _registered,
    "premiere-synchro": lambda w, out: (
        granted(w, "rdurand", "13002", "/mars/superviseur", "/v3/superviseur"),
        mail_to(w, "r.durand@etude-durand.fr")),
    "rotation-jeton": _rotated,
    "reconcilier": _reconciled,
    "arrivee-collaborateur": lambda w, out: (
        granted(w, "cpetit", "75001", "/mars/gestionnaire_amiable"),
        mail_to(w, "c.petit@etude-martin.fr")),
    "arrivee-collaborateur-python": lambda w, out: (
        granted(w, "jbernard", "75001", "/mars/comptable"),
        mail_to(w, "j.bernard@etude-martin.fr")),
    "arrivee-titulaire": lambda w, out: (
        granted(w, "mlefevre", "75001", "/mars/huissier", "/v3/huissier"),
        _assert(user(w, "mlefevre")["lastName"] == "Lefevre")),
    "arrivee-titulaire-python": lambda w, out: granted(
        w, "agarnier", "75001", "/mars/huissier", "/v3/huissier"),
    "arrivee-cdd": lambda w, out: _cdd(w, "lroux"),
    "arrivee-cdd-python": lambda w, out: _cdd(w, "nmorel"),
    "prolongation-cdd": lambda w, out: _extended(w, "lroux"),
    "prolongation-cdd-python": lambda w, out: _extended(w, "nmorel"),
    "changement-profil": lambda w, out: granted(
        w, "cpetit", "75001", "/mars/superviseur", "/v3/superviseur"),
    "changement-profil-python": lambda w, out: granted(
        w, "jbernard", "75001", "/mars/superviseur", "/v3/superviseur"),
    "depart-prevu": lambda w, out: _leaving(w, "lroux"),
    "depart-prevu-python": lambda w, out: _leaving(w, "nmorel"),
    "depart-immediat": lambda w, out: revoked(w, "cpetit"),
    "depart-immediat-python": lambda w, out: revoked(w, "jbernard"),
}
BEFORE: dict[str, Any] = {"reconcilier": _drift}


def _assert(condition: bool) -> None:
    assert condition


def absent(world: dict[str, Any], user_name: str) -> None:
    gw = world["gw"]
    assert gw.get(gw.path("/users"), username=user_name, exact="true") == [], user_name


def empty_lists(output: str, count: int) -> None:
    assert output.count('"totalResults": 0') == count, output


# -- the Microsoft Entra ID guide ------------------------------------------------------------
SBLANC = "s.blanc@etude-martin.fr"
AFTER.update({
    "entra-test-connexion": lambda w, out: empty_lists(out, 1),
    "entra-correspondance": lambda w, out: empty_lists(out, 2),
    "entra-creation": lambda w, out: (
        granted(w, SBLANC, "75001", "/mars/comptable", "/v3/comptable"), mail_to(w, SBLANC)),
    "entra-mise-a-jour": lambda w, out: granted(
        w, SBLANC, "75001", "/mars/superviseur", "/v3/superviseur"),
    "entra-desactivation": lambda w, out: revoked(w, SBLANC),
    "entra-reactivation": lambda w, out: granted(
        w, SBLANC, "75001", "/mars/superviseur", "/v3/superviseur"),
    "entra-suppression": lambda w, out: (_assert(out.strip() == "204"), absent(w, SBLANC)),
    "entra-erreurs": lambda w, out: (absent(w, "essai"), absent(w, "v3.deux"),
                                     _assert(out.count('"status": "400"') == 10),
                                     _assert(out.count('"status": "409"') == 2)),
})


# -- the Okta guide ---------------------------------------------------------------------------
NFONTAINE = "n.fontaine@etude-martin.fr"


def _team(world: dict[str, Any], output: str) -> None:
    gw = world["gw"]
    team = gw.group_by_path("etudes/75001/Contentieux")
    assert team is not None, output
    members = gw.get(gw.path("/groups/{g}/members", g=team["id"]), max=10)
    assert [m["username"] for m in members] == [NFONTAINE]


def _no_password(world: dict[str, Any], output: str) -> None:
    gw, rep = world["gw"], user(world, NFONTAINE)
    assert '"status": "400"' in output
    assert [c for c in gw.get(gw.path("/users/{u}/credentials", u=rep["id"]))
            if c["type"] == "password"] == []


AFTER.update({
    "okta-recherche": lambda w, out: empty_lists(out, 1),
    "okta-creation": lambda w, out: (
        granted(w, NFONTAINE, "75001", "/mars/gestionnaire_judiciaire"), mail_to(w, NFONTAINE)),
    "okta-mise-a-jour": lambda w, out: granted(
        w, NFONTAINE, "75001", "/mars/gestionnaire_judiciaire", "/v3/gestionnaire_judiciaire"),
    "okta-groupe": _team,
    "okta-desactivation": lambda w, out: revoked(w, NFONTAINE),
    "okta-reactivation": lambda w, out: granted(
        w, NFONTAINE, "75001", "/mars/gestionnaire_judiciaire", "/v3/gestionnaire_judiciaire"),
    "okta-mot-de-passe": _no_password,
})


# -- the troubleshooting guide ----------------------------------------------------------------
def pending(world: dict[str, Any], user_name: str) -> None:
    rep = user(world, user_name)
    assert rep["enabled"] is False and attribute(rep, "accessStatus") == "pending"
    assert not {p for p in kc_groups(world["gw"], rep["id"]) if p.split("/")[1] in PLATFORMS}


def _waiting(world: dict[str, Any], output: str) -> None:
    names = ("attente1", "attente2", "attente3", "attente4")
    for name in names:
        pending(world, name)
    listing = json.loads(output.strip().splitlines()[-1])
    assert set(names) <= {r["userName"] for r in listing["Resources"]}, listing


def _ended(world: dict[str, Any], output: str) -> None:
    assert attribute(revoked(world, "parti1"), "accessStatus") == "expired"
    assert attribute(revoked(world, "parti2"), "accessStatus") == "revoked"


def _statuses(output: str, *statuses: str) -> None:
    assert re.findall(r'"status": "(\d+)"', output) == list(statuses), output


AFTER.update({
    "depannage-en-attente": _waiting,
    "depannage-completer": lambda w, out: granted(w, "attente3", "75001", "/mars/huissier"),
    "depannage-termine": _ended,
    "depannage-409": lambda w, out: (_statuses(out, "409", "409"), absent(w, "v3.bruno"),
                                     _assert(user(w, "v3.alice")["lastName"] == "Vtrois")),
    "depannage-mail": lambda w, out: _assert('"passwordEmail": "sent"' in out),
    "depannage-401-404": lambda w, out: _statuses(out, "401", "401", "404"),
})
