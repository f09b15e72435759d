"""Time what « Mon étude » reads for one étude against the direct Keycloak Admin API.

Run: .venv/bin/python -m bench.bench_portal [--sizes 10000] [--etude-size 500] [--runs 11]

Creates a throw-away realm, imports one étude of --etude-size users and, for each realm size, the
rest of the realm in another étude; one user in ten is a CDD whose access ends within 90 days.
For each read of the portal (a page of the list in Keycloak's order, the list sorted by another
column, the counts per status, the 90-day upcoming report) it prints the median time through
the portal's EtudeView and through the equivalent direct Admin API requests, measured in the
same run, their ratio and the Keycloak calls the portal made. The realm is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.populate import populate
from connector.domain.dates import today_in_paris
from connector.keycloak.bootstrap import INDEX_ROOT, bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, collect, connect
from connector.mappings import get_mappings
from connector.portal.accounts import EtudeView
from connector.portal.listing import ListingRequest
from connector.settings import Settings
from connector.web.app import create_app

ETUDE, OTHERS = "P1", "B2"
HORIZON = 90


def median_ms(run: Callable[[], Any], runs: int) -> float:
    run()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def direct_reads(gw: Gateway) -> dict[str, Callable[[], Any]]:
    """The same answers asked straight of the Admin API."""
    q = f"etude:{ETUDE}"
    users = gw.path("/users")

    def page() -> Any:
        gw.get(gw.path("/users/count"), q=q)
        return gw.get(users, q=q, first=25, max=25, briefRepresentation="false")

    def everyone() -> Any:
        gw.get(gw.path("/users/count"), q=q)
        return collect(lambda first, size: gw.get(users, q=q, first=first, max=size,
                                                  briefRepresentation="false"), 200)

    def counts() -> Any:
        return [gw.get(gw.path("/users/count"), q=f"{q} accessStatus:{s}")
                for s in ("granted", "pending", "expired", "revoked")]

    def upcoming() -> Any:
        today, out = today_in_paris(), []
        for i in range(1, HORIZON + 1):
            group = gw.group_by_path(f"{INDEX_ROOT}/{(today + timedelta(days=i)).isoformat()}")
            if group:
                out += collect(lambda first, size, g=group: gw.get(
                    gw.path("/groups/{g}/members", g=g["id"]), first=first, max=size,
                    briefRepresentation="false"), 200)
        return out

    return {"page 2 (user names)": page, "sorted by profile": everyone,
            "counts per status": counts, f"upcoming {HORIZON} days": upcoming}


def portal_reads(view: EtudeView) -> dict[str, Callable[[], Any]]:
    today = today_in_paris()
    return {"page 2 (user names)": lambda: view.page(ListingRequest(page=2), 25),
            "sorted by profile": lambda: view.page(ListingRequest(sort="profil"), 25),
            "counts per status": view.counts,
            f"upcoming {HORIZON} days": lambda: view.upcoming(HORIZON, today)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000", help="comma-separated realm sizes")
    parser.add_argument("--etude-size", type=int, default=500, help="users of the étude shown")
    parser.add_argument("--runs", type=int, default=11, help="reads per measure (median)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    settings = Settings.from_env(realm=f"bench-{secrets.token_hex(4)}", log_level="WARNING",
                                 keycloak_timeout=30)  # under the write lock's lease
    slow = dataclasses.replace(settings, keycloak_timeout=900)
    admin_gw = Gateway(slow, connect(slow, as_admin=True))
    print(f"realm {settings.realm} on {settings.keycloak_url}", file=sys.stderr)
    bootstrap(admin_gw, settings, get_mappings())
    today = today_in_paris()
    days = [today + timedelta(days=i) for i in range(1, HORIZON + 1)]
    try:
        directory = EtudeDirectory(admin_gw)
        directory.add(ETUDE, "Etude Bench")
        directory.add(OTHERS, "Les autres")
        populate(admin_gw, args.etude_size, ETUDE, expiring_every=10, ends_on=days,
                 memberships="expiring")
        app = create_app(settings)
        view = EtudeView(app.extensions["users"], None, ETUDE,
                         app.extensions["services"].lifecycle)
        app_gw: Gateway = app.extensions["gateway"]
        direct_gw = Gateway(settings, connect(settings, as_admin=True))
        print(f"étude {ETUDE}: {args.etude_size} users; median of {args.runs} reads; "
              "portal = EtudeView, direct = Admin API, same run\n")
        print(f"{'realm':>7}  {'read':<22} {'portal ms':>10} {'direct ms':>10} {'ratio':>6} "
              f"{'kc calls':>8}", flush=True)
        filled = args.etude_size
        for size in sizes:
            if size > filled:
                populate(admin_gw, size - filled, OTHERS, expiring_every=10, ends_on=days,
                         first=filled, memberships="expiring")
                filled = size
            direct = direct_reads(direct_gw)
            for label, read in portal_reads(view).items():
                ours = median_ms(read, args.runs)
                theirs = median_ms(direct[label], args.runs)
                before = app_gw.calls
                read()
                print(f"{size:>7}  {label:<22} {ours:>10.1f} {theirs:>10.1f} "
                      f"{ours / theirs:>6.2f} {app_gw.calls - before:>8}", flush=True)
    finally:
        with contextlib.suppress(KeycloakHTTPError):
            admin_gw.request("DELETE", admin_gw.path(""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
