"""Probes: /livez never asks Keycloak; /readyz (and /health) asks at most once per interval,
and answers 503 with Retry-After when Keycloak does not answer the service account."""

from __future__ import annotations

from typing import Any

from connector.settings import Settings
from connector.web.app import create_app
from tests.burst import free_port


def test_livez_answers_without_asking_keycloak(app: Any):
    gw = app.extensions["gateway"]
    before = gw.calls
    for _ in range(5):
        resp = app.test_client().get("/livez")
        assert resp.status_code == 200 and resp.get_json() == {"status": "UP"}
    assert gw.calls == before


def test_readyz_and_health_cost_one_keycloak_call_per_interval(settings: Settings, admin_gw):
    application = create_app(Settings(**{**settings.__dict__, "ready_cache_seconds": 60}))
    gw = application.extensions["gateway"]
    client = application.test_client()
    before = gw.calls
    answers = [client.get(path) for path in ["/readyz", "/health"] * 10]
    assert {a.status_code for a in answers} == {200}
    assert answers[1].get_json() == {"status": "UP"}
    assert gw.calls - before == 1


def test_readyz_is_503_with_retry_after_when_keycloak_does_not_answer(settings: Settings):
    nowhere = Settings(**{**settings.__dict__, "keycloak_url": f"http://127.0.0.1:{free_port()}",
                          "keycloak_timeout": 2})
    client = create_app(nowhere).test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["status"] == "503"
    assert client.get("/livez").status_code == 200
