"""A bounded soak: concurrent clients on `connector serve` for a fixed time, memory printed.

Run: .venv/bin/python -m bench.bench_soak [--size 10000] [--seconds 600] [--clients 8]
         [--keycloak-url URL]

Fills a throw-away realm (études of 500), serves it on gunicorn with as many workers as the
machine has cores, and lets `clients` threads (keep-alive sessions) send an HR system's mix for
`seconds`: lookups by userName (70%), reads by id (15%), pages of 100 (10%) and one-attribute
PATCHes (5%). Prints each worker's resident memory at the start, every minute and at the end,
the requests per second, and every status that was not 2xx (the soak expects none).
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter

from bench.bench_race import constant, load
from bench.fill import ETUDES, MEASURED, BenchRealm
from bench.operations import ops
from bench.populate import user_name
from bench.serve import rss_mb, served
from bench.sides import scim


def client(root: str, token: str, ids: list[str], names: list[str], stop: float,
           statuses: Counter[int], lock: threading.Lock, seed: int) -> None:
    """One HR system's connection: the mix, until the clock says stop."""
    rng = random.Random(seed)
    http = scim(root, constant(token))
    mine: Counter[int] = Counter()
    while time.monotonic() < stop:
        roll = rng.random()
        if roll < 0.70:
            resp = http.send("GET", "/Users", ok=tuple(range(100, 600)), params={
                "filter": f'userName eq "{rng.choice(names)}"'})
        elif roll < 0.85:
            resp = http.send("GET", f"/Users/{rng.choice(ids)}", ok=tuple(range(100, 600)))
        elif roll < 0.95:
            resp = http.send("GET", "/Users", ok=tuple(range(100, 600)), params={
                "startIndex": rng.randrange(1, 400), "count": 100})
        else:
            resp = http.send("PATCH", f"/Users/{rng.choice(ids)}", ok=tuple(range(100, 600)),
                             json=ops({"op": "replace", "path": "title",
                                       "value": f"Poste {rng.randrange(100)}"}))
        mine[resp.status_code] += 1
    with lock:
        statuses.update(mine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8081")
    args = parser.parse_args(argv)
    realm = BenchRealm.create(args.keycloak_url, ETUDES)
    try:
        realm.grow(args.size)
        token = realm.token()
        names = [user_name(i, MEASURED) for i in range(ETUDES.etude_size(args.size))]
        admin = realm.admin
        ids = [str(admin.get(admin.path("/users"), username=n, exact="true")[0]["id"])
               for n in random.Random(1).sample(names, 200)]
        with served(realm.settings) as (root, pid):
            print(f"soak: {args.clients} clients, {args.seconds} s, {args.size:,} users, "
                  f"{load()}")
            print(f"  start  RSS MB per process {rss_mb(pid)}", flush=True)
            statuses: Counter[int] = Counter()
            lock = threading.Lock()
            stop = time.monotonic() + args.seconds
            threads = [threading.Thread(target=client, args=(root, token, ids, names, stop,
                                                             statuses, lock, i))
                       for i in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                time.sleep(min(60.0, max(0.5, stop - time.monotonic())))
                print(f"  {time.perf_counter() - started:5.0f} s RSS MB {rss_mb(pid)}, "
                      f"{load()}", flush=True)
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            total = sum(statuses.values())
            print(f"  end    RSS MB per process {rss_mb(pid)}")
            print(f"  {total} requests, {total / elapsed:.0f} req/s, statuses "
                  f"{dict(sorted(statuses.items()))}", flush=True)
            bad = {s: n for s, n in statuses.items() if s >= 300}
            return 1 if bad else 0
    finally:
        realm.drop()


if __name__ == "__main__":
    raise SystemExit(main())
