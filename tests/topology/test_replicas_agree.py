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
    # Both replicas have checked (and cached) the token before it is revoked.
    assert [send(r, "GET", "/Users?count=1", token=value).status for r in REPLICAS] == [200, 200]
    cli("token", "revoke", value, "--etude", etude, keycloak_url=NODES[0])
    revoked = time.monotonic()
    refused_after: dict[str, float] = {}
    deadline = revoked + settings.token_cache_seconds + 1
    while len(refused_after) < len(REPLICAS) and time.monotonic() < deadline + 5:
        for replica in REPLICAS:
            if replica not in refused_after and \
                    send(replica, "GET", "/Users?count=1", token=value).status == 401:
                refused_after[replica] = time.monotonic() - revoked
        time.sleep(0.2)
    report("token revoked on node 1: refused after "
           + ", ".join(f"{r}: {t:.1f}s" for r, t in refused_after.items())
           + f" (cache {settings.token_cache_seconds}s)")
    assert set(refused_after) == set(REPLICAS)
    # The documented bound: no replica trusts a revoked token longer than the cache time.
    assert max(refused_after.values()) <= settings.token_cache_seconds + 1
    assert send(SCIM, "GET", "/Users?count=1", token=value, context=tls).status == 401
