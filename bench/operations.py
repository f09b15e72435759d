"""The SCIM operations a benchmark times, each as the connector, the Admin API and Keycloak's own
SCIM do it, on different users of the measured étude so that no side warms another's cache.

Every step takes the run number and does one whole operation; what prepares it (reading a
user's id, his current representation) happens before the clock starts.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.fill import MEASURED, BenchRealm
from bench.populate import user_name
from bench.sides import Client
from connector.keycloak.translate import user_to_keycloak
from connector.scim.schema_defs import ETUDE_USER

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ETUDE_GROUP = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
Step = Callable[[int], Any]


def payload(name: str, password: bool = True) -> dict[str, Any]:
    """A granted collaborator as an étude's HR system sends him."""
    body: dict[str, Any] = {
        "schemas": [CORE, ETUDE_USER], "userName": name, "externalId": f"ext-{name}",
        "name": {"givenName": "Paul", "familyName": "Durand"},
        "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}],
        ETUDE_USER: {"profile": "comptable", "platforms": ["mars"], "titulaire": False,
                     "contractType": "CDI", "employerAttestationDate": "2026-01-05",
                     "confidentialityAcceptedDate": "2026-01-06"}}
    if password:
        body["password"] = "Secret12"
    return body


def pending(name: str) -> dict[str, Any]:
    """A collaborator whose confidentiality clause is not signed yet: stored, no access."""
    body = payload(name, password=False)
    del body[ETUDE_USER]["confidentialityAcceptedDate"]
    return body


def core_payload(name: str) -> dict[str, Any]:
    """The same person in the core schema only (what Keycloak's SCIM keeps)."""
    return {"schemas": [CORE], "userName": name, "externalId": f"ext-{name}", "active": True,
            "name": {"givenName": "Paul", "familyName": "Durand"},
            "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}]}


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


@dataclass
class Sides:
    """The clients of one benchmark run; `kc` is None when Keycloak has no SCIM."""

    realm: BenchRealm
    connector: Client
    admin: Client
    kc: Client | None
    rng: random.Random = field(default_factory=lambda: random.Random(20261127))
    gone: set[str] = field(default_factory=set)  # deleted by a step: never picked again
    _ids: dict[str, str] = field(default_factory=dict)

    def names(self, count: int, size: int, keycloak_scim: bool = False) -> list[str]:
        """`count` different users of the measured étude (of `size` users).

        Keycloak's SCIM writes users its own way (a PUT keeps only its schema), so it gets
        users of its own: the upper part of the étude, which the other sides never touch.
        """
        split = size * 55 // 100
        pool = [name for i in (range(split, size) if keycloak_scim else range(split))
                if (name := user_name(i, MEASURED)) not in self.gone]
        return self.rng.sample(pool, count)

    def id_of(self, name: str) -> str:
        """A user's Keycloak id (read once, before any timing)."""
        if name not in self._ids:
            found = self.admin.json("GET", "/users", params={"username": name, "exact": "true"})
            self._ids[name] = str(found[0]["id"])
        return self._ids[name]


def steps(sides: Sides, runs: int, size: int, team: dict[str, str]) -> dict[str, dict[str, Step]]:
    """Operation -> side -> step(run), for runs + 3 warm-ups on users no other step touches."""
    n = runs + 3
    c, a, k = sides.connector, sides.admin, sides.kc
    table: dict[str, dict[str, Step]] = {}

    def pick() -> dict[str, list[str]]:
        names = sides.names(2 * n, size)
        return {"connector": names[:n], "admin": names[n:],
                "kc": sides.names(n, size, keycloak_scim=True)}

    def ids(group: dict[str, list[str]]) -> dict[str, list[str]]:
        return {side: [sides.id_of(x) for x in names] for side, names in group.items()}

    users = ids(pick())
    table["get (teams shown)"] = {
        "connector": lambda i: c.json("GET", f"/Users/{users['connector'][i]}"),
        "admin": lambda i: (a.json("GET", f"/users/{users['admin'][i]}"),
                            a.json("GET", f"/users/{users['admin'][i]}/groups")),
        "kc": lambda i: k and k.json("GET", f"/Users/{users['kc'][i]}")}
    table["get (groups excluded)"] = {
        "connector": lambda i: c.json("GET", f"/Users/{users['connector'][i]}",
                                      params={"excludedAttributes": "groups"}),
        "admin": lambda i: a.json("GET", f"/users/{users['admin'][i]}")}
    looked = pick()
    table["lookup userName eq"] = {
        "connector": lambda i: c.json("GET", "/Users", params={
            "filter": f'userName eq "{looked["connector"][i]}"'}),
        "admin": lambda i: a.json("GET", "/users", params={"username": looked["admin"][i],
                                                            "exact": "true"}),
        "kc": lambda i: k and k.json("GET", "/Users", params={
            "filter": f'userName eq "{looked["kc"][i]}"'})}
    group_id = sides.realm.admin.group_by_path(f"etudes/{MEASURED}")["id"]  # type: ignore[index]
    pages = [sides.rng.randrange(0, max(1, size - 100)) for _ in range(n)]
    table["list a page of 100"] = {
        "connector": lambda i: c.json("GET", "/Users", params={"startIndex": pages[i] + 1,
                                                               "count": 100}),
        "admin": lambda i: (a.json("GET", f"/groups/{group_id}/members", params={
            "first": pages[i], "max": 100, "briefRepresentation": "false"}),
            a.json("GET", "/users/count", params={"q": f"etude:{MEASURED}"})),
        "kc": lambda i: k and k.json("GET", "/Users", params={"startIndex": pages[i] + 1,
                                                              "count": 100})}
    tag = secrets.token_hex(3)

    def new(side: str, i: int) -> str:
        return f"bench.new.{tag}.{side}{i + 3}"

    def admin_create(i: int, password: bool = True, side: str = "a") -> Any:
        scim = payload(new(side, i))
        scim[ETUDE_USER]["etude"] = MEASURED
        rep = user_to_keycloak(scim, status="granted", issues=[], ends_on=None)
        rep["groups"] = [f"/etudes/{MEASURED}", "/mars/comptable"]
        if password:
            rep["credentials"] = [{"type": "password", "value": "Secret12",
                                   "temporary": False}]
        else:
            rep["requiredActions"] = ["UPDATE_PASSWORD"]
        return a.send("POST", "/users", json=rep, ok=(201,))

    def admin_mail(i: int) -> Any:
        created = admin_create(i, password=False, side="b")
        user = str(created.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]
        return a.send("PUT", f"/users/{user}/execute-actions-email", json=["UPDATE_PASSWORD"],
                      params={"client_id": "mars", "lifespan": 604800})

    table["create (pending: no mail yet)"] = {
        "connector": lambda i: c.send("POST", "/Users", json=pending(new("p", i)), ok=(201,)),
        "admin": lambda i: admin_create(i, password=False, side="q"),
        "kc": lambda i: k and k.send("POST", "/Users", json=core_payload(new("k", i)),
                                     ok=(201,))}
    table["create (password pushed)"] = {
        "connector": lambda i: c.send("POST", "/Users", json=payload(new("c", i)), ok=(201,)),
        "admin": admin_create}
    table["create (granted: R3 mail sent)"] = {
        "connector": lambda i: c.send("POST", "/Users", json=payload(new("m", i), False),
                                      ok=(201,)),
        "admin": admin_mail}
    written = ids(pick())
    bodies: dict[str, list[Any]] = {}
    table["replace (PUT)"] = {
        "connector": lambda i: c.send("PUT", f"/Users/{written['connector'][i]}",
                                      json=bodies["connector"][i]),
        "admin": lambda i: a.send("PUT", f"/users/{written['admin'][i]}",
                                  json=a.json("GET", f"/users/{written['admin'][i]}")),
        "kc": lambda i: k and k.send("PUT", f"/Users/{written['kc'][i]}",
                                     json=bodies["kc"][i])}

    def prepare_bodies() -> None:
        bodies["connector"] = [
            {key: v for key, v in c.json("GET", f"/Users/{u}").items()
             if key not in ("id", "meta", "groups")} for u in written["connector"]]
        if k is not None:  # the core schema, and the id: Keycloak's PUT refuses a body without it
            bodies["kc"] = [{**core_payload(k.json("GET", f"/Users/{u}")["userName"]), "id": u}
                            for u in written["kc"]]
    prepare_bodies()

    def admin_title(i: int) -> Any:
        rep = a.json("GET", f"/users/{written['admin'][i]}")
        rep.setdefault("attributes", {})["title"] = [f"Comptable {i}"]
        return a.send("PUT", f"/users/{written['admin'][i]}", json=rep)

    table["PATCH one attribute"] = {
        "connector": lambda i: c.send("PATCH", f"/Users/{written['connector'][i]}", json=ops(
            {"op": "replace", "path": "title", "value": f"Comptable {i}"})),
        "admin": admin_title,
        "kc": lambda i: k and k.send("PATCH", f"/Users/{written['kc'][i]}", json=ops(
            {"op": "replace", "path": "title", "value": f"Comptable {i}"}))}
    team_users = ids(pick())

    def admin_join(i: int) -> None:
        user = team_users["admin"][i]
        a.send("PUT", f"/users/{user}/groups/{team['id']}")
        a.send("PUT", f"/users/{user}/groups/{team['sub']}")

    def admin_leave(i: int) -> None:
        user = team_users["admin"][i]
        a.send("DELETE", f"/users/{user}/groups/{team['sub']}")
        a.send("DELETE", f"/users/{user}/groups/{team['id']}")

    table["team: add a member"] = {
        "connector": lambda i: c.send("PATCH", f"/Groups/{team['id']}", json=ops(
            {"op": "add", "path": "members", "value": [{"value": team_users["connector"][i]}]})),
        "admin": admin_join,
        "kc": lambda i: k and k.send("PATCH", f"/Groups/{team['id']}", json=ops(
            {"op": "add", "path": "members", "value": [{"value": team_users["kc"][i]}]}))}
    table["team: remove a member"] = {
        "connector": lambda i: c.send("PATCH", f"/Groups/{team['id']}", json=ops(
            {"op": "remove", "path": f'members[value eq "{team_users["connector"][i]}"]'})),
        "admin": admin_leave,
        "kc": lambda i: k and k.send("PATCH", f"/Groups/{team['id']}", json=ops(
            {"op": "remove", "path": f'members[value eq "{team_users["kc"][i]}"]'}))}
    revoked = ids(pick())
    profile = sides.realm.admin.group_by_path("mars/comptable")["id"]  # type: ignore[index]

    def admin_revoke(i: int) -> None:
        user = revoked["admin"][i]
        rep = a.json("GET", f"/users/{user}")
        rep["enabled"] = False
        rep.setdefault("attributes", {})["accessStatus"] = ["revoked"]
        a.send("PUT", f"/users/{user}", json=rep)
        a.send("POST", f"/users/{user}/logout")
        a.send("DELETE", f"/users/{user}/groups/{profile}")

    table["PATCH that ends access"] = {
        "connector": lambda i: c.send("PATCH", f"/Users/{revoked['connector'][i]}", json=ops(
            {"op": "replace", "path": "active", "value": False})),
        "admin": admin_revoke,
        "kc": lambda i: k and k.send("PATCH", f"/Users/{revoked['kc'][i]}", json=ops(
            {"op": "replace", "path": "active", "value": False}))}
    doomed_names = pick()
    for names in doomed_names.values():
        sides.gone.update(names)
    doomed = ids(doomed_names)
    table["delete"] = {
        "connector": lambda i: c.send("DELETE", f"/Users/{doomed['connector'][i]}"),
        "admin": lambda i: a.send("DELETE", f"/users/{doomed['admin'][i]}"),
        "kc": lambda i: k and k.send("DELETE", f"/Users/{doomed['kc'][i]}")}
    if k is None:
        for row in table.values():
            row.pop("kc", None)
    return table
