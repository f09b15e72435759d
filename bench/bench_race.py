"""Race the connector against the Keycloak Admin API and Keycloak's own SCIM, on one Keycloak.

Run: .venv/bin/python -m bench.bench_race [--sizes 10000,50000] [--layouts etudes,one]
         [--runs 41] [--keycloak-url URL]

Without --keycloak-url it starts the benchmark's own Keycloak (26.7.x, `scim-api` preview, ports
8381/9301, cache .cache/keycloak-bench; never the shared development one) and stops it at the
end. Each layout gets a throw-away realm filled through partial import; the connector is served
by `connector serve` (service account, as in production) and every side is asked over HTTP with
keep-alive, sides taking turns on different users of the measured étude (B000). Printed:

1. per operation: median ms of the connector, the Admin API doing the same, Keycloak's SCIM,
   both ratios, and the Keycloak calls the connector made (counted in-process);
2. single requests (first page): the filters of RFC 7644 an HR system sends, in both layouts;
3. 8 concurrent clients doing lookups: requests per second of each side, and errors.

Tests never run this; timings vary with whatever shares the CPU (the load is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from bench import keycloak_scim
from bench.cpu import Meter, listener
from bench.fill import ETUDES, LAYOUTS, MEASURED, BenchRealm, Layout
from bench.inprocess import InProcess
from bench.operations import ETUDE_GROUP, GROUP, Sides, steps
from bench.populate import modified_of, user_name
from bench.serve import rss_mb, served
from bench.sides import Http, admin_api, interleaved, median_ms, scim
from connector.web import SCIM_PREFIX


def constant(token: str) -> Callable[[], str]:
    """A token that never needs renewing (the connector's étude tokens do not expire)."""
    return lambda: token


def load() -> str:
    """The machine's load averages, printed beside every table."""
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


class Mailbox:
    """An SMTP server that accepts R3's mails (so that sending one costs what it costs)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "250 OK"


@contextlib.contextmanager
def mail_server() -> Iterator[int]:
    from bench.serve import free_port

    port = free_port()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def ratio(ours: float, theirs: float | None) -> str:
    return f"{ours / theirs:6.2f}" if theirs else "     -"


def server_root(scim_root: str) -> str:
    """The served connector's root (its probes), from its SCIM root."""
    return scim_root.removesuffix(SCIM_PREFIX)


def operations_table(realm: BenchRealm, sides: Sides, inproc: InProcess, size: int,
                     runs: int, root: str) -> None:
    """Time each operation on the three sides; print medians, ratios and Keycloak calls.

    The first row is the floor: the same client asking the served connector's `/livez`, which
    calls no Keycloak, against the Admin API's get of a user. What a request through the
    connector costs over the Admin API can never be less than that hop.
    """
    # Counted first: the users it deletes are then never picked by the timed runs.
    counted = Sides(realm, inproc, sides.admin, None, gone=sides.gone)
    calls = {}  # each operation once to warm the caches (group ids), then counted
    for op, row in steps(counted, 1, realm.layout.etude_size(size),
                         make_team(inproc, realm)).items():
        row["connector"](-1)
        calls[op] = inproc.calls(row["connector"], 0)
    team = make_team(sides.connector, sides.realm)
    table = steps(sides, runs, realm.layout.etude_size(size), team)
    print(f"\n{size:,} users ({realm.layout.name}), median of {runs} per side, "
          f"étude scope {realm.settings.etude_scope}, {load()}")
    print(f"{'operation':<32}{'connector':>10}{'admin API':>10}{'ratio':>7}"
          f"{'kc SCIM':>9}{'ratio':>7}{'kc calls':>9}")
    probe = scim(server_root(root), constant(""))
    someone = sides.id_of(sides.names(1, realm.layout.etude_size(size))[0])
    floor = interleaved(runs, {"connector": lambda i: probe.send("GET", "/livez"),
                               "admin": lambda i: sides.admin.send("GET", f"/users/{someone}")})
    print(f"{'hop only: /livez vs a get':<32}{floor['connector']:>10.1f}{floor['admin']:>10.1f}"
          f"{'':>7}{'':>9}{'':>7}{0:>9}", flush=True)
    for op, row in table.items():
        ms = interleaved(runs, row)
        print(f"{op:<32}{ms['connector']:>10.1f}{ms.get('admin', float('nan')):>10.1f}"
              f"{ratio(ms['connector'], ms.get('admin')):>7}"
              f"{ms.get('kc', float('nan')):>9.1f}{ratio(ms['connector'], ms.get('kc')):>7}"
              f"{calls.get(op, 0):>9}", flush=True)


def make_team(connector: Any, realm: BenchRealm) -> dict[str, str]:
    """A team of the measured étude delegating one permission on Mars."""
    team = connector.json("POST", "/Groups", json={
        "schemas": [GROUP, ETUDE_GROUP], "displayName": f"Equipe {random.randrange(10**6)}",
        ETUDE_GROUP: {"delegatedPermissions": ["send_reminders"], "platforms": ["mars"]}})
    sub = realm.admin.get(realm.admin.path("/groups/{g}/children", g=team["id"]), max=10)
    return {"id": team["id"], "sub": next(g["id"] for g in sub if g["name"] == "mars")}


def requests_of(layout: Layout, size: int) -> dict[str, dict[str, Any]]:
    """The single requests of an HR system, as query parameters (first page of 100)."""
    n = layout.etude_size(size)
    one, other = user_name(n // 3, MEASURED), user_name(2 * n // 3, MEASURED)
    since = (modified_of(0)).strftime("%Y-%m-%dT00:00:00Z")  # the newest day of the fill
    return {
        "userName eq": {"filter": f'userName eq "{one}"'},
        "emails.value eq": {"filter": f'emails.value eq "{one}@etude.example"'},
        "emails[type eq work].value eq": {
            "filter": f'emails[type eq "work"].value eq "{one}@etude.example"'},
        "externalId eq": {"filter": f'externalId eq "ext-{MEASURED}-{n // 3:06d}"'},
        "count=0": {"count": 0},
        "page, startIndex deep": {"startIndex": max(1, n - 150), "count": 100},
        "attributes=userName": {"attributes": "userName", "count": 100},
        "sortBy=userName": {"sortBy": "userName", "count": 100},
        "userName sw": {"filter": f'userName sw "{one[:-2]}"', "count": 100},
        "userName co": {"filter": f'userName co "{one[-8:-2]}"', "count": 100},
        "userName eq … or userName eq …": {
            "filter": f'userName eq "{one}" or userName eq "{other}"'},
        "not (userName eq …)": {"filter": f'not (userName eq "{one}")', "count": 100},
        "meta.lastModified gt": {"filter": f'meta.lastModified gt "{since}"', "count": 100},
    }


def touch(realm: BenchRealm, size: int) -> Callable[[], None]:
    """Write the realm's last user (his title), as a live realm does all day: outside the
    measured étude when there are several, one of its users in the one-étude layout.

    H2 reuses the result of a query asked again unchanged until a write touches its tables: a
    repeated single request then costs a few milliseconds, however long its first run took
    (3 s for an attribute term at 50,000 users). A write before each run makes every run pay
    what a request arriving among other writes pays.
    """
    admin = realm.admin
    [user] = admin.get(admin.path("/users"), username=user_name(size - 1, realm.layout.etude(
        size - 1)), exact="true", briefRepresentation="false")

    def write() -> None:
        user["attributes"]["title"] = [str(time.time_ns())]
        admin.request("PUT", admin.path("/users/{u}", u=user["id"]), body=user)
    return write


def filters_table(layout: Layout, size: int, connector: Http, kc: Http | None,
                  inproc: InProcess, write: Callable[[], None], runs: int = 5) -> None:
    """Time each single request (first page) on the connector and Keycloak's SCIM, each run
    after a write elsewhere in the realm (see `touch`)."""
    print(f"\n{size:,} users ({layout.name}: the étude holds {layout.etude_size(size):,}), "
          f"median of {runs}, a write before each run, étude scope "
          f"{inproc.settings.etude_scope}, {load()}")
    print(f"{'request':<34}{'connector':>10}{'total':>8}{'kc SCIM':>9}{'total':>8}"
          f"{'kc calls':>9}")
    for label, params in requests_of(layout, size).items():
        samples: dict[str, list[float]] = {"c": [], "k": []}
        found: dict[str, Any] = {}
        for _ in range(runs):
            for key, side in (("c", connector), ("k", kc)):
                if side is None:
                    continue
                write()
                started = time.perf_counter()
                # 503: a Keycloak call outlasted CONNECTOR_KEYCLOAK_TIMEOUT; printed, not fatal
                resp = side.send("GET", "/Users", params=params, ok=(200, 400, 503))
                samples[key].append(time.perf_counter() - started)
                body = resp.json()
                found[key] = body.get("totalResults", body.get("status"))
        def ask(_: int, p: dict[str, Any] = params) -> Any:
            return inproc.send("GET", "/Users", params=p, ok=(200, 400, 503))
        ask(-1)  # once to warm the caches (the étude's group), then counted
        calls = inproc.calls(ask, 0)
        print(f"{label:<34}{median_ms(samples['c']):>10.1f}{found.get('c', ''):>8}"
              f"{median_ms(samples['k']):>9.1f}{found.get('k', '-'):>8}{calls:>9}",
              flush=True)


def throughput(label: str, send: Callable[[Any, str], int], names: list[str],
               clients: int, make: Callable[[], Any]) -> tuple[float, int]:
    """`clients` threads, each with its own keep-alive session, share the lookups."""
    errors = [0]
    lock = threading.Lock()
    chunks = [names[i::clients] for i in range(clients)]

    def worker(chunk: list[str]) -> None:
        session = make()
        for name in chunk:
            try:
                failed = send(session, name) != 200
            except (RuntimeError, OSError):  # an unexpected status or a dropped connection
                failed = True
            if failed:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(names) / (time.perf_counter() - started), errors[0]


def throughput_table(realm: BenchRealm, root: str, pid: int, token: str,
                     kc: keycloak_scim.ScimClient | None, size: int, clients: int,
                     lookups: int) -> None:
    """Lookups per second with `clients` concurrent clients, each side in turn."""
    rng = random.Random(size)
    n = realm.layout.etude_size(size)
    names = [user_name(rng.randrange(n), MEASURED) for _ in range(lookups)]
    settings = realm.settings
    sides: dict[str, tuple[Callable[[], Any], Callable[[Any, str], int]]] = {
        "connector": (lambda: scim(root, constant(token)),
                      lambda s, x: s.send("GET", "/Users", ok=(200, 503), params={
                          "filter": f'userName eq "{x}"'}).status_code),
        "admin API": (lambda: admin_api(settings),
                      lambda s, x: s.send("GET", "/users", ok=(200, 503), params={
                          "username": x, "exact": "true"}).status_code)}
    if kc is not None:
        sides["kc SCIM"] = (lambda: scim(kc.base, kc.token),
                            lambda s, x: s.send("GET", "/Users", ok=(200, 503), params={
                                "filter": f'userName eq "{x}"'}).status_code)
    print(f"\n{clients} clients, {lookups} lookups each side, {size:,} users, {load()}; "
          f"server RSS MB {rss_mb(pid)}")
    # Every side asks the same Keycloak (Keycloak's SCIM is the realm's own): one meter for all.
    kc_port = urlsplit(settings.keycloak_url).port
    meter = Meter(pid, listener(kc_port) if kc_port else None)
    print(meter.at_rest(), flush=True)
    sides["hop only"] = (lambda: scim(server_root(root), constant("")),  # /livez: no Keycloak
                         lambda s, x: s.send("GET", "/livez").status_code)
    rates: dict[str, float] = {}
    for label, (make, send) in sides.items():
        before = meter.read()
        rates[label], errors = throughput(label, send, names, clients, make)
        print(f"{label:<12}{rates[label]:>8.0f} req/s  errors {errors}  "
              f"{meter.per_request(before, len(names))}", flush=True)
    print(f"connector / admin API: {rates['connector'] / rates['admin API']:.2f}; "
          f"server RSS MB {rss_mb(pid)}")


def run_layout(layout: Layout, url: str, sizes: list[int], runs: int, race: bool,
               smtp_port: int, clients: int, lookups: int) -> None:
    realm = BenchRealm.create(url, layout, smtp_port=smtp_port)
    try:
        kc = keycloak_scim.enable(realm.admin, realm.settings.realm) if race else None
        token = ""
        gone: set[str] = set()  # users a size's deletes removed: the next size never picks them
        for size in sizes:
            seconds = realm.grow(size)
            print(f"  {size:,} users ready (import {seconds:.0f} s)", file=sys.stderr)
            token = token or realm.token()
            inproc = InProcess(realm.settings, token)
            with served(realm.settings) as (root, pid):
                connector = scim(root, constant(token))
                kc_http = scim(kc.base, kc.token) if kc else None
                filters_table(layout, size, connector, kc_http, inproc, touch(realm, size))
                if layout is ETUDES:
                    sides = Sides(realm, connector, admin_api(realm.settings), kc_http,
                                  gone=gone)
                    operations_table(realm, sides, inproc, size, runs, root)
                    throughput_table(realm, root, pid, token, kc, size, clients, lookups)
    finally:
        realm.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--layouts", default="etudes,one")
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--keycloak-url", default="",
                        help="measure on this Keycloak (no race with its SCIM)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    race = not args.keycloak_url
    started = keycloak_scim.start() if race else False
    url = args.keycloak_url or keycloak_scim.URL
    try:
        with mail_server() as smtp_port:
            for name in args.layouts.split(","):
                run_layout(LAYOUTS[name.strip()], url, sizes, args.runs, race, smtp_port,
                           args.clients, args.lookups)
    finally:
        if started:
            keycloak_scim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
