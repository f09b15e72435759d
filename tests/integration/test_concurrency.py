"""Never more access than the record, with many writers at once on two replicas (R8, R9, R12).

Threads send mixed PATCH, PUT (with If-Match) and departures to two `connector serve` processes
on one Keycloak, all on the same few users and the same team. Afterwards every write that was
answered 2xx is in the final record (no lost update), and Keycloak's enabled flag, platform
groups, delegation subgroups, day-index group and accessStatus are exactly what each final
record implies — computed here from the rules, independently of the connector's write plan.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import requests

from connector.domain.dates import today_in_paris
from tests.integration.access import access_problems
from tests.integration.conftest import PATCH, E, granted_user, unique
from tests.integration.servers import replicas

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
SEED = 20261127
USERS, THREADS, OPS = 3, 8, 30
PERMISSIONS = ["send_reminders", "collect_payments", "contact_debtor", "attach_documents",
               "communicate_clients", "record_payments", "assign_files", "mobile_app"]


@pytest.fixture(scope="module")
def servers(settings: Any, tokens: dict[str, str]) -> Any:
    # A loaded test machine may queue a writer longer than the default wait: allow for it, so
    # that only a lost update or an over-grant fails the test, not a slow Keycloak.
    with replicas(settings, 2, CONNECTOR_LOCK_WAIT_SECONDS="120") as roots:
        yield roots


class Writer:
    """One HR system's thread: a session to one of the replicas, and what it was told."""

    def __init__(self, roots: list[str], token: str, rng: random.Random) -> None:
        self.roots, self.rng = roots, rng
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/scim+json"})
        self.statuses: Counter[int] = Counter()
        self.acknowledged: list[tuple[str, str, str]] = []  # (resource id, kind, value)
        self.failures: list[str] = []

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        root = self.rng.choice(self.roots)
        resp = self.session.request(method, f"{root}{path}", json=body, headers=headers,
                                    timeout=60)
        self.statuses[resp.status_code] += 1
        return resp

    def patch(self, path: str, *ops: dict[str, Any]) -> Any:
        return self.send("PATCH", path, {"schemas": [PATCH], "Operations": list(ops)})


def one_write(w: Writer, users: list[str], team_id: str, permission: str) -> None:
    """Send one random write and remember what a 2xx answer promised."""
    uid = w.rng.choice(users)
    kind = w.rng.choice(["phone", "email", "active", "profile", "confidentiality",
                         "departure", "put", "team", "member"])
    today = today_in_paris()
    if kind == "phone":
        value = f"+33 1 {w.rng.randrange(10**8):08d}"
        r = w.patch(f"/Users/{uid}", {"op": "add", "path": "phoneNumbers",
                                      "value": [{"value": value, "type": "work"}]})
        if r.status_code == 200:
            w.acknowledged.append((uid, "phone", value))
    elif kind == "email":
        value = f"{unique('alt')}@etude.example"
        r = w.patch(f"/Users/{uid}", {"op": "add", "path": "emails",
                                      "value": [{"value": value, "type": "home"}]})
        if r.status_code == 200:
            w.acknowledged.append((uid, "email", value))
    elif kind == "active":
        r = w.patch(f"/Users/{uid}", {"op": "replace", "path": "active",
                                      "value": w.rng.random() < 0.6})
    elif kind == "profile":
        r = w.patch(f"/Users/{uid}", {"op": "replace", "path": f"{E}:profile",
                                      "value": w.rng.choice(["comptable", "huissier", "accueil"])})
    elif kind == "confidentiality":
        op = ({"op": "remove", "path": f"{E}:confidentialityAcceptedDate"}
              if w.rng.random() < 0.4 else
              {"op": "replace", "path": f"{E}:confidentialityAcceptedDate",
               "value": today.isoformat()})
        r = w.patch(f"/Users/{uid}", op)
    elif kind == "departure":
        op = ({"op": "remove", "path": f"{E}:departureDate"} if w.rng.random() < 0.5 else
              {"op": "replace", "path": f"{E}:departureDate",
               "value": (today + timedelta(days=w.rng.choice([-1, 20]))).isoformat()})
        r = w.patch(f"/Users/{uid}", op)
    elif kind == "put":
        got = w.send("GET", f"/Users/{uid}")
        body = {k: v for k, v in got.json().items() if k not in ("meta", "groups")}
        body["title"] = unique("title")
        body[E] = {k: v for k, v in body[E].items()
                   if k not in ("accessStatus", "accessIssues", "passwordEmail")}
        r = w.send("PUT", f"/Users/{uid}", body, **{"If-Match": got.headers["ETag"]})
    elif kind == "team":
        r = w.patch(f"/Groups/{team_id}", {"op": "add", "path": f"{EG}:delegatedPermissions",
                                           "value": [permission]})
        if r.status_code == 204:
            w.acknowledged.append((team_id, "permission", permission))
    else:
        op = "add" if w.rng.random() < 0.6 else "remove"
        r = w.patch(f"/Groups/{team_id}", {"op": op, "path": "members",
                                           "value": [{"value": uid}]})
    allowed = {200, 204} | ({412} if kind == "put" else set())
    if r.status_code not in allowed:
        w.failures.append(f"{kind}: {r.status_code} {r.text[:300]}")


def test_many_writers_on_two_replicas_lose_nothing_and_never_over_grant(servers, tokens, e1,
                                                                         admin, kc):
    users = []
    for _ in range(USERS):
        r = e1.post("/Users", json=granted_user(platforms=["mars", "v3"]))
        assert r.status_code == 201, r.json
        users.append(r.json["id"])
    r = e1.post("/Groups", json={"schemas": [G, EG], "displayName": unique("race"),
                                 "members": [{"value": u} for u in users],
                                 EG: {"delegatedPermissions": [], "platforms": ["mars", "v3"]}})
    assert r.status_code == 201, r.json
    team_id = r.json["id"]
    rng = random.Random(SEED)
    writers = [Writer(servers, tokens["E1"], random.Random(rng.random())) for _ in range(THREADS)]

    def run(i: int) -> None:
        for _ in range(OPS):
            one_write(writers[i], users, team_id, PERMISSIONS[i % len(PERMISSIONS)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sum((w.statuses for w in writers), Counter())
    print(f"\n{sum(statuses.values())} requests on 2 replicas: {dict(sorted(statuses.items()))}")
    assert [f for w in writers for f in w.failures] == []
    team = admin.get(f"/Groups/{team_id}").json
    problems: list[str] = []
    for uid, kind, value in (a for w in writers for a in w.acknowledged):
        if kind == "permission":
            found = value in team[EG]["delegatedPermissions"]
        else:
            record = admin.get(f"/Users/{uid}").json
            found = (value in [p["value"] for p in record.get("phoneNumbers", [])]
                     if kind == "phone" else
                     value in [m["value"] for m in record.get("emails", [])])
        if not found:
            problems.append(f"lost update: {kind} {value} of {uid} was acknowledged")
    for uid in users:
        problems += access_problems(kc, uid)
    assert problems == []


def test_writes_racing_a_delete_answer_404_never_5xx(servers, tokens, e1, kc):
    """Writers keep patching a user while another request deletes him (on either replica)."""
    outcomes: Counter[int] = Counter()
    for _ in range(3):
        uid = e1.post("/Users", json=granted_user()).json["id"]
        writers = [Writer(servers, tokens["E1"], random.Random(SEED + i)) for i in range(5)]

        def patch(w: Writer, uid: str) -> None:
            for n in range(6):
                r = w.patch(f"/Users/{uid}", {"op": "add", "path": "phoneNumbers",
                                              "value": [{"value": f"+33 2 {n:08d}"}]})
                outcomes[r.status_code] += 1

        def delete(w: Writer, uid: str) -> None:
            outcomes[w.send("DELETE", f"/Users/{uid}").status_code] += 1

        threads = [threading.Thread(target=patch, args=(w, uid)) for w in writers[1:]]
        threads.insert(2, threading.Thread(target=delete, args=(writers[0], uid)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert kc.find(kc.path("/users/{u}", u=uid)) is None
    print(f"\nwrites racing deletes: {dict(sorted(outcomes.items()))}")
    assert set(outcomes) <= {200, 204, 404} and outcomes[204] == 3


def _race_for_an_address(servers: Any, token: str, address: str, seed: int) -> list[int]:
    """Six HR threads, on either replica, create a V3 account with one address at once."""
    start = threading.Barrier(6)
    statuses: list[int] = []

    def create(i: int) -> None:
        writer = Writer(servers, token, random.Random(seed + i))
        body = granted_user(platforms=["v3"])
        body["emails"] = [{"value": address, "primary": True}]
        start.wait()
        statuses.append(writer.send("POST", "/Users", body).status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_one_v3_address_is_taken_once_by_racing_creates(servers, tokens):
    """R2 on two replicas: the address's lock lets one create through, the others answer 409
    uniqueness."""
    for round_ in range(3):
        address = f"{unique('race')}@etude.example"
        statuses = _race_for_an_address(servers, tokens["E1"], address, SEED + 10 * round_)
        assert statuses == [201] + [409] * 5, statuses
