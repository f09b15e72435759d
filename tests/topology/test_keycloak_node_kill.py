"""`kill -9` of one Keycloak node in the middle of a burst of writes through nginx: every answer
is 2xx, a legitimate 4xx or 503 with Retry-After (never 500); every write answered 2xx is in
PostgreSQL (none lost); no user has more access than his record; reconcile repairs the rest;
the node restarts and rejoins the cluster."""

from __future__ import annotations

import os
import re
import signal
import ssl
import time
from collections.abc import Callable
from typing import Any

from connector.keycloak.gateway import Gateway
from tests.burst import Answer, burst, send, tally
from tests.integration.conftest import PATCH, E, granted_user, unique
from tests.topology.conftest import SCIM, TOPOLOGY, cli, pid_of, report, topology

PLATFORM_ROOTS = ("/mars/", "/v3/")


def patch(op: str, path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": op, "path": path, "value": value}]}


# Each existing user gets exactly one write; `expect` says what Keycloak holds once it is 2xx.
WRITES: list[tuple[str, Callable[[str], tuple[str, str, Any]]]] = [
    ("depart", lambda uid: ("PATCH", f"/Users/{uid}", patch("replace", "active", False))),
    ("profile", lambda uid: ("PATCH", f"/Users/{uid}",
                             patch("replace", f"{E}:profile", "accueil"))),
    ("platforms", lambda uid: ("PATCH", f"/Users/{uid}",
                               patch("replace", f"{E}:platforms", ["mars", "v3"]))),
    ("delete", lambda uid: ("DELETE", f"/Users/{uid}", None)),
]


def platform_groups(kc: Gateway, user_id: str) -> set[str]:
    groups = kc.get(kc.path("/users/{u}/groups", u=user_id), max=100)
    return {g["path"] for g in groups if g["path"].startswith(PLATFORM_ROOTS)}


def over_grants(kc: Gateway, etude: str) -> list[str]:
    """Every user of the étude whose Keycloak access exceeds what his stored record allows."""
    problems = []
    users = kc.get(kc.path("/users"), q=f"etude:{etude}", max=2000, briefRepresentation="false")
    for user in users:
        attrs = user.get("attributes") or {}
        one = {k: (v[0] if v else None) for k, v in attrs.items()}
        groups = platform_groups(kc, user["id"])
        allowed = {f"/{p}/{one.get('profile')}" for p in attrs.get("platforms") or []}
        name = user["username"]
        if one.get("scimActive") == "false":
            # A departure disables first (keycloak/user_plan.py): a disabled account cannot
            # sign in whatever its groups (tests/integration/access.py says the same), so groups
            # an outage left behind are for reconcile to remove, which this test checks below.
            if user["enabled"] or one.get("accessStatus") == "granted":
                problems.append(f"{name}: departed but enabled={user['enabled']} "
                                f"groups={sorted(groups)} status={one.get('accessStatus')}")
        elif not groups <= allowed:
            problems.append(f"{name}: groups {sorted(groups)} beyond record {sorted(allowed)}")
        elif user["enabled"] and one.get("accessStatus") != "granted":
            problems.append(f"{name}: enabled while status {one.get('accessStatus')}")
    return problems


def lost_writes(kc: Gateway, kind: str, answer: Answer, user_id: str, user_name: str) -> str:
    """Say how Keycloak differs from a write it acknowledged, or '' when it holds it."""
    rep = kc.find(kc.path("/users/{u}", u=user_id))
    if kind == "delete":
        return f"{user_name}: deleted (204) but still there" if rep else ""
    if rep is None:
        return f"{user_name}: {kind} answered {answer.status} but the user is gone"
    attrs = rep.get("attributes") or {}
    groups = platform_groups(kc, user_id)
    expected = {
        "create": (rep["enabled"] and groups == {"/mars/comptable"}),
        "depart": (not rep["enabled"] and attrs.get("scimActive") == ["false"] and not groups),
        "profile": (attrs.get("profile") == ["accueil"] and groups == {"/mars/accueil"}),
        "platforms": (sorted(attrs.get("platforms") or []) == ["mars", "v3"]
                      and groups == {"/mars/comptable", "/v3/comptable"}),
    }[kind]
    return "" if expected else (f"{user_name}: {kind} answered {answer.status}, Keycloak has "
                                f"enabled={rep['enabled']} groups={sorted(groups)}")


def test_kill_9_of_a_keycloak_node_mid_burst_loses_nothing_and_never_over_grants(
        tls: ssl.SSLContext, token: str, etude: str, kc: Gateway):
    prefix = unique("kn")
    began = time.monotonic()
    existing = burst(160, 8, lambda i: send(SCIM, "POST", "/Users",
                                            granted_user(f"{prefix}e{i}"), token=token,
                                            context=tls, index=i))
    assert all(a.status == 201 for a in existing), tally(existing)
    users = [(a.body["id"], a.body["userName"]) for a in existing]
    report(f"node kill: {len(users)} users made in {time.monotonic() - began:.1f}s")

    plan: list[tuple[str, str, str, str, Any]] = []   # kind, user name, method, path, body
    for i in range(200):
        if i % 5 == 4:
            name = f"{prefix}n{i}"
            plan.append(("create", name, "POST", "/Users", granted_user(name)))
        else:
            user_id, name = users.pop()
            kind, make = WRITES[i % 5]
            plan.append((kind, name, *make(user_id)))
    killed: list[float] = []

    def write(i: int) -> Answer:
        _, _, method, path, body = plan[i]
        return send(SCIM, method, path, body, token=token, context=tls, index=i)

    def kill_node_1(answers: list[Answer]) -> None:
        while len(answers) < 60:
            time.sleep(0.01)
        os.kill(pid_of("keycloak-node1"), signal.SIGKILL)
        killed.append(time.monotonic())

    began = time.monotonic()
    answers = burst(len(plan), 8, write, during=kill_node_1)
    counts = tally(answers)
    report(f"kill -9 of Keycloak node 1 mid-burst: {dict(counts)} in "
           f"{time.monotonic() - began:.1f}s ({sum(a.started > killed[0] for a in answers)} "
           "writes sent after the kill)")
    bad = [(plan[a.index][0], a.status, a.error, a.body) for a in answers
           if a.status is None or a.status >= 500 and not (
               a.status == 503 and "retry-after" in a.headers)]
    assert not bad, bad

    lost = []
    for a in answers:
        kind, name = plan[a.index][:2]
        if a.status is not None and 200 <= a.status < 300:
            user_id = a.body["id"] if kind == "create" else plan[a.index][3].rsplit("/", 1)[-1]
            lost.append(lost_writes(kc, kind, a, user_id, name))
    lost = [line for line in lost if line]
    grants = over_grants(kc, etude)
    report(f"after the kill: {sum(1 for a in answers if a.status and a.status < 300)} writes "
           f"answered 2xx, {len(lost)} lost; {len(grants)} user(s) with more access than "
           "their record")
    assert not lost, lost
    assert not grants, grants

    repaired = cli("reconcile", "--etude", etude, "--apply", check=False)
    again = cli("reconcile", "--etude", etude)
    report("reconcile --apply: " + repaired.stdout.strip().splitlines()[-1]
           + "; then reconcile: " + again.stdout.strip().splitlines()[-1])
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert again.stdout.strip().splitlines()[-1].startswith("reconcile: 0 difference(s)")

    log = TOPOLOGY / "keycloak-node1.log"
    offset = log.stat().st_size
    topology("start")
    rejoined = rejoin_view(log, offset)
    report(f"Keycloak node 1 restarted; cluster view after restart: {rejoined}")
    assert rejoined and "(2)" in rejoined


def rejoin_view(log: Any, offset: int, timeout: float = 60) -> str:
    """The cluster view the restarted node logged (Infinispan ISPN000094), once it has two."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            views = re.findall(r"ISPN000094: Received new cluster view[^\n]*", f.read())
        if views:
            seen = views[-1]
            if "(2)" in seen:
                return seen
        time.sleep(1)
    return seen

