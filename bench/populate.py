"""Fill a throw-away realm fast with users shaped exactly as the connector writes them.

Keycloak's partial import takes ~1,000 users per request; no password is set (hashing tens of
thousands of passwords would time the hash, not the connector). Shared by the benchmarks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.keycloak.clients import Clients
from connector.keycloak.gateway import Gateway
from connector.keycloak.layout import INDEX_ROOT
from connector.keycloak.translate import user_to_keycloak
from connector.keycloak.users import UserStore
from connector.scim.schema_defs import ETUDE_USER

CHUNK = 1000
PROFILES = ("comptable", "gestionnaire_amiable", "superviseur", "back_office")


def user_name(i: int, etude: str = "B1") -> str:
    return f"bench.{etude.lower()}.user{i:06d}"


def profile_of(i: int) -> str:
    return PROFILES[i % len(PROFILES)]


def modified_of(i: int) -> datetime:
    """When user i was last written: one user in 365 on each of the past year's days, the
    newest yesterday (what an HR system's incremental read asks for)."""
    yesterday = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return yesterday - timedelta(days=1 + i % 365)


def user_rep(i: int, etude: str = "B1", ends_on: date | None = None,
             platforms: Sequence[str] = ("mars",)) -> dict[str, Any]:
    """One granted collaborator as translate.user_to_keycloak writes him; a CDD if ends_on."""
    name = user_name(i, etude)
    ext: dict[str, Any] = {"etude": etude, "profile": profile_of(i),
                           "platforms": sorted(platforms), "titulaire": False,
                           "contractType": "CDI", "employerAttestationDate": "2026-01-05",
                           "confidentialityAcceptedDate": "2026-01-06"}
    if ends_on is not None:  # last day = the day before access ends (rules.access_ends_on)
        ext.update(contractType="CDD",
                   contractEndDate=(ends_on - timedelta(days=1)).isoformat())
    scim = {"schemas": [], "userName": name, "externalId": f"ext-{etude}-{i:06d}",
            "active": True, "displayName": f"Paul Durand{i}",
            "name": {"givenName": "Paul", "familyName": f"Durand{i}"},
            "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}],
            ETUDE_USER: ext}
    rep = user_to_keycloak(scim, status="granted", issues=[],
                           ends_on=ends_on.isoformat() if ends_on else None,
                           now=modified_of(i))
    rep["groups"] = [f"/etudes/{etude}", *(f"/{p}/{profile_of(i)}" for p in sorted(platforms))]
    if ends_on is not None:  # the R9 day index the nightly job reads
        rep["groups"].append(f"/{INDEX_ROOT}/{ends_on.isoformat()}")
    return rep


def populate(gw: Gateway, count: int, etude: str = "B1", expiring_every: int = 100,
             ends_on: Sequence[date] = (date(2031, 1, 15),), first: int = 0,
             platforms: Sequence[str] = ("mars",), memberships: str = "all",
             quiet: bool = False) -> dict[str, Any]:
    """Import users first..first+count-1 of an étude (registered beforehand).

    Every `expiring_every`-th user (0 for none) is a CDD whose access ends on one of
    `ends_on`, taken in turn. `memberships`: "all" puts every user in his étude and platform
    groups; "expiring" only the expiring ones (group paths make Keycloak's import ~5x slower
    per user, and the others' memberships play no part in a day-index query). Returns the
    seconds taken and how many users end on each day.
    """
    started = time.perf_counter()
    store = UserStore(gw, Clients(gw))
    for night in ends_on:  # partial import needs the groups it names to exist
        store.ensure_group(f"/{INDEX_ROOT}/{night.isoformat()}")
    per_day: dict[str, int] = {d.isoformat(): 0 for d in ends_on}
    turn = 0
    last = first + count
    for start in range(first, last, CHUNK):
        reps = []
        for i in range(start, min(start + CHUNK, last)):
            day: date | None = None
            if expiring_every and (i - first) % expiring_every == 0:
                day = ends_on[turn % len(ends_on)]
                turn += 1
                per_day[day.isoformat()] += 1
            rep = user_rep(i, etude, day, platforms)
            if memberships == "none" or (memberships == "expiring" and day is None):
                rep.pop("groups")
            reps.append(rep)
        gw.request("POST", gw.path("/partialImport"),
                   body={"ifResourceExists": "SKIP", "users": reps})
        if not quiet:
            print(f"  imported {min(start + CHUNK, last) - first}/{count}", end="\r",
                  file=sys.stderr)
    if not quiet:
        print(file=sys.stderr)
    return {"seconds": time.perf_counter() - started, "endingPerDay": per_day}
