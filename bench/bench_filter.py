"""Time equality lookups through the connector against the direct Keycloak Admin API lookup.

Run: .venv/bin/python -m bench.bench_filter [--sizes 10000,50000] [--runs 31]

Creates a throw-away realm (bootstrapped like `connector bootstrap`), fills it through Keycloak's
partial import with users shaped as the connector writes them, and for each size prints the
median time per lookup of the connector (Flask test client, étude token, real Keycloak behind)
and of the equivalent direct Admin API request, measured in the same run, with their ratio and
the Keycloak calls one connector lookup costs. The realm is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.keycloak.translate import user_to_keycloak
from connector.mappings import get_mappings
from connector.scim.schema_defs import ETUDE_USER
from connector.settings import Settings
from connector.web.app import create_app

ETUDE = "B1"
CHUNK = 1000
PROFILES = ("comptable", "clerc", "superviseur")


def user_name(i: int) -> str:
    return f"bench.user{i:06d}"


def profile_of(i: int) -> str:
    return PROFILES[i % len(PROFILES)]


def user_rep(i: int) -> dict[str, Any]:
    """One étude collaborator as connector/keycloak/translate.py writes him."""
    name = user_name(i)
    scim = {"userName": name, "externalId": f"ext-{i:06d}",
            "name": {"givenName": "Paul", "familyName": f"Durand{i}"},
            "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}],
            ETUDE_USER: {"etude": ETUDE, "profile": profile_of(i), "platforms": ["mars"],
                         "titulaire": False, "contractType": "CDI",
                         "employerAttestationDate": "2026-01-05",
                         "confidentialityAcceptedDate": "2026-01-06"}}
    # No group memberships: lookups never read them, and they triple the import time.
    return user_to_keycloak(scim, status="granted", issues=[], ends_on=None)


def fill(gw: Gateway, first: int, last: int) -> float:
    """Import users first..last-1 through partial import; return the seconds it took."""
    started = time.perf_counter()
    for start in range(first, last, CHUNK):
        reps = [user_rep(i) for i in range(start, min(start + CHUNK, last))]
        gw.request("POST", gw.path("/partialImport"),
                   body={"ifResourceExists": "SKIP", "users": reps})
        print(f"  imported {min(start + CHUNK, last)}/{last}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(runs: int, picks: list[int], connector: Callable[[int], None],
            direct: Callable[[int], None]) -> tuple[float, float]:
    """Alternate connector and direct lookups of the same users; return both medians (ms)."""
    for i in picks[:3]:  # warm-up: connections, JIT of Keycloak's queries
        connector(i)
        direct(i)
    ours: list[float] = []
    theirs: list[float] = []
    for run in range(runs):
        i = picks[run % len(picks)]
        started = time.perf_counter()
        connector(i)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        direct(i)
        theirs.append(time.perf_counter() - started)
    return median_ms(ours), median_ms(theirs)


def bench_size(size: int, runs: int, client: Any, token: str, app_gw: Gateway,
               direct_gw: Gateway) -> list[tuple[str, float, float, int]]:
    """Measure the three lookups at one realm size."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(size)
    picks = rng.sample(range(size), min(size, max(runs, 10)))

    def scim(expression: str) -> None:
        response = client.get("/scim/v2/Users", query_string={"filter": expression},
                              headers=headers)
        body = response.get_json()
        assert response.status_code == 200 and len(body["Resources"]) == 1, (expression, body)

    def users(**params: Any) -> None:
        found = direct_gw.get(direct_gw.path("/users"), **params)
        assert len(found) == 1, found

    cases: list[tuple[str, Callable[[int], str], Callable[[int], dict[str, Any]]]] = [
        ("userName eq",
         lambda i: f'userName eq "{user_name(i)}"',
         lambda i: {"username": user_name(i), "exact": "true"}),
        ("externalId eq",
         lambda i: f'externalId eq "ext-{i:06d}"',
         lambda i: {"q": f"externalId:ext-{i:06d}"}),
        ("externalId eq (direct with scope)",
         lambda i: f'externalId eq "ext-{i:06d}"',
         lambda i: {"q": f"externalId:ext-{i:06d} etude:{ETUDE}"}),
        ("profile eq .. and userName eq ..",
         lambda i: f'{ETUDE_USER}:profile eq "{profile_of(i)}" and userName eq "{user_name(i)}"',
         lambda i: {"username": user_name(i), "exact": "true", "q": f"profile:{profile_of(i)}"}),
    ]
    rows = []
    for label, expression, params in cases:
        def ours_once(i: int, expression: Callable[[int], str] = expression) -> None:
            scim(expression(i))

        def theirs_once(i: int, params: Callable[[int], dict[str, Any]] = params) -> None:
            users(**params(i))

        ours, theirs = measure(runs, picks, ours_once, theirs_once)
        before = app_gw.calls
        scim(expression(picks[0]))
        rows.append((label, ours, theirs, app_gw.calls - before))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,50000",
                        help="comma-separated realm sizes, filled in increasing order")
    parser.add_argument("--runs", type=int, default=31, help="lookups per measure (median)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    # The token check is cached for the whole run: the bench times the lookup, not the login.
    settings = Settings.from_env(realm=f"bench-{secrets.token_hex(4)}", token_cache_seconds=3600,
                                 log_level="WARNING", keycloak_timeout=120)
    # Partial import of a chunk takes longer than a request's usual timeout.
    slow = dataclasses.replace(settings, keycloak_timeout=900)
    admin_gw = Gateway(slow, connect(slow, as_admin=True))
    print(f"realm {settings.realm} on {settings.keycloak_url}", file=sys.stderr)
    bootstrap(admin_gw, settings, get_mappings())
    try:
        directory = EtudeDirectory(admin_gw)
        directory.add(ETUDE, "Etude Bench")
        token = directory.create_token(ETUDE)[1]
        app = create_app(settings)
        client = app.test_client()
        app_gw: Gateway = app.extensions["gateway"]
        direct_gw = Gateway(settings, connect(settings, as_admin=True))
        print(f"median of {args.runs} lookups, each of a different user; "
              "connector = Flask test client + étude token; direct = Admin API, same run\n")
        print(f"{'users':>7}  {'lookup':<34} {'connector ms':>12} {'direct ms':>10} "
              f"{'ratio':>6} {'kc calls':>8}", flush=True)
        filled = 0
        for size in sizes:
            seconds = fill(admin_gw, filled, size)
            filled = size
            print(f"  {size} users ready (import {seconds:.0f} s)", file=sys.stderr)
            for label, ours, theirs, calls in bench_size(size, args.runs, client, token,
                                                         app_gw, direct_gw):
                print(f"{size:>7}  {label:<34} {ours:>12.1f} {theirs:>10.1f} "
                      f"{ours / theirs:>6.2f} {calls:>8}", flush=True)
    finally:
        with contextlib.suppress(KeycloakHTTPError):
            admin_gw.request("DELETE", admin_gw.path(""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
