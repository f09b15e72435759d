"""Replicas are interchangeable: what one writes, each reads; a token revoked is refused by
every replica within CONNECTOR_TOKEN_CACHE_SECONDS."""

from __future__ import annotations

import ssl
import time

from connector.settings import Settings
from tests.burst import send
from tests.integration.conftest import E, granted_user
from tests.topology.conftest import NODES, REPLICAS, SCIM, cli, report


def test_a_user_written_through_nginx_reads_the_same_on_each_replica(tls: ssl.SSLContext,
                                                                     token: str):
    created = send(SCIM, "POST", "/Users", granted_user(), token=token, context=tls)
    assert created.status == 201, created.body
    user_id = created.body["id"]
    assert created.body["meta"]["location"] == f"{SCIM}/Users/{user_id}"
    reads = [send(replica, "GET", f"/Users/{user_id}", token=token) for replica in REPLICAS]
    assert [r.status for r in reads] == [200, 200]
    assert reads[0].body == reads[1].body == created.body
    assert reads[0].headers["etag"] == reads[1].headers["etag"] == created.headers["etag"]
    assert created.body[E]["accessStatus"] == "granted"
    report(f"replicas agree: 1 user written through nginx, read identically on "
           f"{len(REPLICAS)} replicas")


def test_a_token_revoked_through_one_node_is_refused_by_both_replicas(tls: ssl.SSLContext,
                                                                      etude: str,
                                                                      settings: Settings):
    value = cli("token", "create", "--etude", etude).stdout.strip().splitlines()[-1]

    def statuses(replica: str, times: int = 8) -> list[int | None]:
        return [send(replica, "GET", "/Users?count=1", token=value).status for _ in range(times)]

    # Every worker of both replicas has checked (and cached) the token before it is revoked.
    # A token just issued can be refused for a moment by one replica (seen once in CI: 401,
    # 401, then 200; probably its Keycloak node had not yet seen the étude group's new token):
    # wait until both accept it, within the cache bound, and report how long that took.
    issued, cache = time.monotonic(), settings.token_cache_seconds
    while True:
        before = {r: statuses(r) for r in REPLICAS}
        if all(status == 200 for r in REPLICAS for status in before[r]):
            break
        assert time.monotonic() < issued + cache, before
        time.sleep(0.5)
    report(f"new token accepted by every worker of both replicas "
           f"{time.monotonic() - issued:.1f}s after it was issued")
    cli("token", "revoke", value, "--etude", etude, keycloak_url=NODES[0])
    revoked = time.monotonic()
    last_accepted: dict[str, float] = {}
    while time.monotonic() < revoked + cache + 1:
        for replica in REPLICAS:
            if send(replica, "GET", "/Users?count=1", token=value).status == 200:
                last_accepted[replica] = time.monotonic() - revoked
        time.sleep(0.2)
    after = {r: statuses(r) for r in REPLICAS}
    report("token revoked through node 1: last accepted "
           + ", ".join(f"{r}: {last_accepted.get(r, 0):.1f}s" for r in REPLICAS)
           + f" after the revocation (cache {cache}s); then "
           + ", ".join(f"{r}: {after[r].count(401)}/{len(after[r])} refused" for r in REPLICAS))
    # The documented bound: no worker of any replica trusts a revoked token longer than that.
    assert all(t <= cache for t in last_accepted.values()), last_accepted
    assert all(status == 401 for r in REPLICAS for status in after[r]), after
    assert send(SCIM, "GET", "/Users?count=1", token=value, context=tls).status == 401
