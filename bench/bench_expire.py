"""Time the nightly `expire` at growing realm sizes against the direct Keycloak Admin API work.

Run: .venv/bin/python -m bench.bench_expire [--sizes 10000,50000] [--empty-days 30]

Creates a throw-away realm (bootstrapped like `connector bootstrap`, étude B1), fills it through
Keycloak's partial import with users shaped as the connector writes them, 1% of the realm on
each of two index days: one night is expired by the connector (`Lifecycle.expire`, the code of
`connector expire`), the other by the same work done directly on the Admin API (the members of
the day-index group `/access-ends-on/<day>`, paged, then per user PUT disabled+expired, POST
logout, DELETE the platform group). It also times nights on which nobody expires. Both are
measured in the same run; the realm is deleted at the end. The claim to check: time follows the
expiring users, not the realm (ms per expired user and ms per empty night flat across sizes).

Only the expiring users are imported with group memberships (bench/populate.py explains why);
every user carries the connector's full attribute set, which is what the day-index query reads.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import secrets
import sys
import time
from datetime import date, timedelta
from typing import Any

from bench.populate import populate, profile_of
from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.keycloak.jobstate import JobState
from connector.keycloak.layout import INDEX_ROOT
from connector.mappings import get_mappings
from connector.service.lifecycle import Lifecycle
from connector.settings import Settings
from connector.web.app import create_app

ETUDE = "B1"
FAR = date(2099, 1, 1)
PAGE = 200


def day_members(gw: Gateway, day: date) -> list[dict[str, Any]]:
    """Read the day-index group's members on the Admin API (none when it does not exist)."""
    try:
        group = gw.get(gw.group_path_url(f"{INDEX_ROOT}/{day.isoformat()}"))
    except KeycloakHTTPError as exc:
        if exc.status == 404:
            return []
        raise
    found: list[dict[str, Any]] = []
    first = 0
    while True:
        page = gw.get(gw.path("/groups/{g}/members", g=group["id"]), first=first, max=PAGE,
                      briefRepresentation="false")
        found += page
        if len(page) < PAGE:
            return found
        first += PAGE


def direct_expire(gw: Gateway, day: date, group_ids: dict[str, str]) -> int:
    """The same revocation done by hand on the Admin API; return the users revoked."""
    found = day_members(gw, day)
    for rep in found:
        uid = rep["id"]
        rep["enabled"] = False
        rep["attributes"]["accessStatus"] = ["expired"]
        gw.request("PUT", gw.path("/users/{u}", u=uid), body=rep)
        gw.request("POST", gw.path("/users/{u}/logout", u=uid))
        profile = rep["attributes"]["profile"][0]
        gw.request("DELETE", gw.path("/users/{u}/groups/{g}", u=uid, g=group_ids[profile]))
    return len(found)


def direct_empty(gw: Gateway, days: list[date]) -> None:
    for day in days:
        day_members(gw, day)


def bench_size(size: int, days: tuple[date, date], life: Lifecycle, state: JobState,
               direct_gw: Gateway, group_ids: dict[str, str], empty: int) -> dict[str, Any]:
    ours_day, theirs_day = days
    gw = life.store.gw
    # Connector: one night, marker at the day before.
    state.set_last_completed(ours_day - timedelta(days=1))
    calls = gw.calls
    started = time.perf_counter()
    report = life.expire(ours_day)
    ours = time.perf_counter() - started
    ours_calls = gw.calls - calls
    expired = sum(1 for u in report.users if u["outcome"] == "expired")
    assert report.failed == 0 and expired == len(report.users), report.counts()
    # Direct: the same work on the other night's users.
    calls = direct_gw.calls
    started = time.perf_counter()
    revoked = direct_expire(direct_gw, theirs_day, group_ids)
    theirs = time.perf_counter() - started
    theirs_calls = direct_gw.calls - calls
    # Empty nights: nobody's access ends on these days.
    quiet = [FAR - timedelta(days=empty + 10 - i) for i in range(empty)]
    state.set_last_completed(quiet[0] - timedelta(days=1))
    started = time.perf_counter()
    assert life.expire(quiet[-1]).users == []
    ours_empty = time.perf_counter() - started
    started = time.perf_counter()
    direct_empty(direct_gw, quiet)
    theirs_empty = time.perf_counter() - started
    return {"size": size, "expired": expired, "revoked": revoked, "ours": ours,
            "theirs": theirs, "ours_calls": ours_calls, "theirs_calls": theirs_calls,
            "ours_empty": ours_empty, "theirs_empty": theirs_empty, "empty": empty}


def report(results: list[dict[str, Any]], empty: int, file: Any = sys.stdout) -> None:
    """Print the two tables: one night with 1% ending, and nights with nobody ending."""

    def out(line: str = "") -> None:
        print(line, file=file, flush=True)

    out("\nexpire, one night with 1% of the realm ending; connector = Lifecycle.expire "
        "(`connector expire`), direct = same revocation on the Admin API, same run\n")
    out(f"{'users':>7} {'ending':>6} {'connector s':>11} {'direct s':>8} {'ratio':>5} "
        f"{'ms/user':>7} {'direct ms/user':>14} {'kc calls':>8} {'direct calls':>12}")
    for r in results:
        out(f"{r['size']:>7} {r['expired']:>6} {r['ours']:>11.2f} {r['theirs']:>8.2f} "
            f"{r['ours'] / r['theirs']:>5.2f} {1000 * r['ours'] / r['expired']:>7.1f} "
            f"{1000 * r['theirs'] / r['revoked']:>14.1f} {r['ours_calls']:>8} "
            f"{r['theirs_calls']:>12}")
    out(f"\nnights with nobody ending ({empty} at each size)\n")
    out(f"{'users':>7} {'connector ms/night':>18} {'direct ms/night':>15} {'ratio':>5}")
    for r in results:
        out(f"{r['size']:>7} {1000 * r['ours_empty'] / r['empty']:>18.1f} "
            f"{1000 * r['theirs_empty'] / r['empty']:>15.1f} "
            f"{r['ours_empty'] / r['theirs_empty']:>5.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,50000",
                        help="comma-separated realm sizes, filled in increasing order")
    parser.add_argument("--empty-days", type=int, default=30,
                        help="nights without anyone expiring, timed at each size")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    # As in production, the connector and the direct side sign in as the realm's service
    # account (bootstrap gives it this secret): the master realm's administrator pays for
    # permission checks that the service account does not (a lock group took 5-7x longer).
    settings = Settings.from_env(realm=f"bench-{secrets.token_hex(4)}", log_level="WARNING",
                                 client_secret=secrets.token_urlsafe(24),
                                 keycloak_timeout=30)  # under the write lock's lease
    slow = dataclasses.replace(settings, keycloak_timeout=300)  # partial imports
    admin_gw = Gateway(slow, connect(slow, as_admin=True))
    print(f"realm {settings.realm} on {settings.keycloak_url}", file=sys.stderr)
    mappings = get_mappings()
    bootstrap(admin_gw, settings, mappings)
    results = []
    try:
        EtudeDirectory(admin_gw).add(ETUDE, "Etude Bench")
        app = create_app(settings)
        life = Lifecycle(app.extensions["users"], JobState(app.extensions["gateway"]),
                         clock=lambda: FAR)
        direct_gw = Gateway(settings)
        group_ids = {p: str(admin_gw.get(admin_gw.group_path_url(f"mars/{p}"))["id"])
                     for p in {profile_of(i) for i in range(8)}}
        filled = 0
        for n, size in enumerate(sizes):
            # Two nights of this size, each ending 1% of the realm: one per contender.
            nights = (date(2031, 1, 10) + timedelta(days=10 * n),
                      date(2031, 1, 11) + timedelta(days=10 * n))
            every = max(1, (size - filled) // (2 * size // 100))
            fill = populate(admin_gw, size - filled, ETUDE, expiring_every=every,
                            ends_on=nights, first=filled, memberships="expiring")
            filled = size
            print(f"  {size} users ready (import {fill['seconds']:.0f} s, ending per night "
                  f"{fill['endingPerDay']})", file=sys.stderr)
            results.append(bench_size(size, nights, life, JobState(life.store.gw), direct_gw,
                                      group_ids, args.empty_days))
            report(results[-1:], args.empty_days, file=sys.stderr)  # in case a later size dies
    finally:
        with contextlib.suppress(KeycloakHTTPError):
            admin_gw.request("DELETE", admin_gw.path(""))
    report(results, args.empty_days)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
