"""Admission control on the real app and Keycloak: sizes, rates (memory and a real Redis),
a share of the threads per étude, floods of bad tokens, read-only and expired tokens."""

from __future__ import annotations

import dataclasses
import io
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from connector.keycloak import tokens as tokens_module
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.tokens import Tokens
from connector.web.app import create_app
from tests.integration.conftest import CORE, PATCH, granted_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def make_app(settings: Any, **overrides: Any) -> Any:
    app = create_app(dataclasses.replace(settings, **overrides))
    app.testing = True
    return app


def bearer(token: str, lang: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": lang,
            "Content-Type": "application/scim+json"}


class CountingStream(io.BytesIO):
    """A request body that tells whether the server read any of it."""

    reads = 0

    def read(self, *args: Any) -> bytes:
        self.reads += 1
        return super().read(*args)


# -- body size ---------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_before_it_is_read(settings, tokens) -> None:
    app = make_app(settings, max_body_bytes=1000, bulk_max_payload=5000)
    client = app.test_client()
    body = CountingStream(b"{" + b" " * 1999 + b"}")
    r = client.post("/scim/v2/Users", input_stream=body,
                    headers={**bearer(tokens["E1"], "fr"), "Content-Length": "2001"})
    assert r.status_code == 413 and body.reads == 0
    assert r.json["schemas"] == [ERROR] and r.json["status"] == "413"
    assert "1000 octets" in r.json["detail"]
    # Sent without Content-Length (chunked): cut off at the limit, 413 all the same.
    r = client.post("/scim/v2/Users", input_stream=io.BytesIO(b"{" + b" " * 4000 + b"}"),
                    headers=bearer(tokens["E1"]),
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413 and "1000 bytes" in r.json["detail"]
    # Bulk keeps its own, larger limit.
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [], "padding": "x" * 2000}
    r = client.post("/scim/v2/Bulk", json=bulk, headers=bearer(tokens["E1"]))
    assert r.status_code != 413
    bulk["padding"] = "x" * 6000
    r = client.post("/scim/v2/Bulk", json=bulk, headers=bearer(tokens["E1"]))
    assert r.status_code == 413


# -- rate per étude ----------------------------------------------------------------------------
def _burst(app: Any, token: str, n: int, lang: str = "en") -> list[Any]:
    client = app.test_client()
    return [client.get("/scim/v2/ServiceProviderConfig", headers=bearer(token, lang))
            for _ in range(n)]


def test_an_etude_over_its_rate_gets_429_the_others_do_not(settings, tokens) -> None:
    # 10 in any 10 s: wide enough that a slow first token check cannot let the window pass.
    app = make_app(settings, ratelimit_per_second=1, ratelimit_burst=10)
    answers = _burst(app, tokens["E1"], 11, lang="fr")
    assert [r.status_code for r in answers] == [200] * 10 + [429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert refused.json["schemas"] == [ERROR] and refused.json["status"] == "429"
    assert "Trop de requêtes pour cette étude" in refused.json["detail"]
    assert refused.headers["X-Request-Id"]
    assert [r.status_code for r in _burst(app, tokens["E2"], 10)] == [200] * 10
    # In memory the count is this process's: another replica counts on its own.
    other = make_app(settings, ratelimit_per_second=1, ratelimit_burst=10)
    assert _burst(other, tokens["E1"], 1)[0].status_code == 200


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server (Debian's package, installed by `make`), on a free loopback port."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: `make tools` installs it"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_rate_holds_across_replicas_through_redis(settings, tokens, redis_url) -> None:
    redis.Redis.from_url(redis_url).flushall()
    one, two = (make_app(settings, ratelimit_per_second=1, ratelimit_burst=30,
                         ratelimit_storage=redis_url) for _ in range(2))
    statuses = [r.status_code for r in _burst(one, tokens["E1"], 15)]
    statuses += [r.status_code for r in _burst(two, tokens["E1"], 15)]
    assert statuses == [200] * 30  # 30 in any 30 s, counted once for both replicas
    assert _burst(one, tokens["E1"], 1)[0].status_code == 429
    assert _burst(two, tokens["E1"], 1)[0].status_code == 429
    assert _burst(two, tokens["E2"], 1)[0].status_code == 200
    assert any(k.startswith(b"connector-ratelimit") for k in  # noqa: SIM118 - redis KEYS
               redis.Redis.from_url(redis_url).keys())


def test_redis_gone_means_no_limit_not_no_service(settings, tokens) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    app = make_app(settings, ratelimit_per_second=1, ratelimit_burst=1,
                   ratelimit_storage=f"redis://127.0.0.1:{port}/0")
    assert [r.status_code for r in _burst(app, tokens["E1"], 3)] == [200] * 3


# -- a share of the threads per étude ----------------------------------------------------------
def test_one_etude_holds_at_most_its_share_of_threads(settings, tokens) -> None:
    app = make_app(settings, etude_max_concurrent=1)
    users = app.extensions["users"]
    entered, release = threading.Event(), threading.Event()
    search = users.search

    def slow_search(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            release.wait(30)
        return search(*args, **kwargs)

    users.search = slow_search
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(r=app.test_client().get(
        "/scim/v2/Users", headers=bearer(tokens["E1"]))))
    worker.start()
    try:
        assert entered.wait(30)
        r = app.test_client().get("/scim/v2/Users", headers=bearer(tokens["E1"], "fr"))
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        assert "1 requêtes en cours" in r.json["detail"]
        assert app.test_client().get("/scim/v2/Users",
                                     headers=bearer(tokens["E2"])).status_code == 200
    finally:
        release.set()
        worker.join(30)
    assert first["r"].status_code == 200
    assert app.test_client().get("/scim/v2/Users",
                                 headers=bearer(tokens["E1"])).status_code == 200


# -- bad tokens --------------------------------------------------------------------------------
def test_a_flood_of_bad_tokens_costs_a_bounded_number_of_keycloak_reads(settings, tokens
                                                                        ) -> None:
    app = make_app(settings, auth_failures_per_minute=20, token_cache_seconds=60)
    gw, client = app.extensions["gateway"], app.test_client()
    attacker = {"REMOTE_ADDR": "10.77.0.1"}
    good = client.get("/scim/v2/Users?count=1", headers=bearer(tokens["E1"]),
                      environ_overrides=attacker)
    assert good.status_code == 200
    before = gw.calls
    statuses = []
    for i in range(300):
        scope = "E1" if i % 2 else f"X{i}"  # wrong secrets of a real étude, made-up études
        r = client.get("/scim/v2/Users", headers=bearer(f"cnx.{scope}.ab{i}.secret{i}"),
                       environ_overrides=attacker)
        statuses.append(r.status_code)
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    assert gw.calls - before <= 20  # never one Keycloak read per bad token
    # The étude whose token this address already used is not locked out by the flood.
    before = gw.calls
    r = client.get("/scim/v2/ServiceProviderConfig", headers=bearer(tokens["E1"]),
                   environ_overrides=attacker)
    assert r.status_code == 200 and gw.calls == before
    # Another address is not concerned.
    r = client.get("/scim/v2/ServiceProviderConfig", headers=bearer(tokens["E2"]),
                   environ_overrides={"REMOTE_ADDR": "10.77.0.2"})
    assert r.status_code == 200


def test_unknown_etudes_never_push_a_good_token_out_of_the_cache(settings, tokens,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(tokens_module, "ABSENT_MAX", 50)
    app = make_app(settings, auth_failures_per_minute=100_000, token_cache_seconds=60)
    gw, client = app.extensions["gateway"], app.test_client()
    assert client.get("/scim/v2/ServiceProviderConfig",
                      headers=bearer(tokens["E1"])).status_code == 200
    for i in range(200):  # four times the table of unknown études
        assert client.get("/scim/v2/ServiceProviderConfig",
                          headers=bearer(f"cnx.Z{i}.id.secret")).status_code == 401
    before = gw.calls
    assert client.get("/scim/v2/ServiceProviderConfig",
                      headers=bearer(tokens["E1"])).status_code == 200
    assert gw.calls == before  # still a cache hit


# -- read-only and expired tokens --------------------------------------------------------------
def test_a_read_only_token_reads_and_searches_never_writes(settings, admin_gw) -> None:
    _, token = EtudeDirectory(admin_gw).create_token("E1", read_only=True)
    client = make_app(settings).test_client()
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1}
    assert client.get("/scim/v2/Users?count=1", headers=bearer(token)).status_code == 200
    assert client.post("/scim/v2/Users/.search", json=search,
                       headers=bearer(token)).status_code == 200
    assert client.post("/scim/v2/.search", json=search, headers=bearer(token)).status_code == 200
    writes = [client.post("/scim/v2/Users", json=granted_user(), headers=bearer(token, "fr")),
              client.patch("/scim/v2/Users/00000000-0000-4000-8000-000000000000",
                           json={"schemas": [PATCH], "Operations": []}, headers=bearer(token)),
              client.delete("/scim/v2/Groups/00000000-0000-4000-8000-000000000000",
                            headers=bearer(token)),
              client.post("/scim/v2/Bulk", json={"schemas": [CORE]}, headers=bearer(token))]
    assert [r.status_code for r in writes] == [403] * 4
    assert "lecture seule" in writes[0].json["detail"]
    assert "read-only" in writes[1].json["detail"]


def test_an_expired_token_gets_401_saying_so(settings, admin_gw) -> None:
    directory = EtudeDirectory(admin_gw)
    past = datetime.now(UTC) - timedelta(days=400)
    issuer = Tokens(admin_gw, directory.tokens.hold, clock=lambda: past)
    _, token = issuer.create("E1", expires_in_days=365)
    client = make_app(settings).test_client()  # the session app's cache predates the token
    r = client.get("/scim/v2/Users", headers=bearer(token, "fr"))
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    day = (past + timedelta(days=365)).date().isoformat()
    assert r.json["detail"].startswith(f"Ce jeton a expiré le {day}")
    r = client.get("/scim/v2/Users", headers=bearer(token))
    assert f"expired on {day}" in r.json["detail"]
