"""Serving settings and the readiness cache (pure logic; the live probes run in integration)."""

from __future__ import annotations

from connector.scim.errors import Unavailable
from connector.settings import Settings, admin_refusal
from connector.web.probe_views import Readiness


def test_serving_settings_come_from_the_environment():
    s = Settings.from_env({"CONNECTOR_WORKERS": "4", "CONNECTOR_THREADS": "16",
                           "CONNECTOR_WORKER_TIMEOUT": "90", "CONNECTOR_GRACEFUL_TIMEOUT": "20",
                           "CONNECTOR_READY_CACHE_SECONDS": "3", "CONNECTOR_DEV_MODE": "true"})
    assert (s.workers, s.threads, s.worker_timeout, s.graceful_timeout) == (4, 16, 90, 20)
    assert s.ready_cache_seconds == 3 and s.dev_mode is True
    assert Settings.from_env({"CONNECTOR_DEV_MODE": "0"}).dev_mode is False
    assert Settings.from_env({}).dev_mode is False


def test_only_dev_mode_or_a_client_secret_lets_commands_run():
    assert admin_refusal(Settings(dev_mode=True)) is None
    assert admin_refusal(Settings(client_secret="s3cret")) is None
    refusal = admin_refusal(Settings())
    assert refusal and "CONNECTOR_CLIENT_SECRET" in refusal and "scim-connector" in refusal


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_readiness_asks_keycloak_at_most_once_per_interval():
    calls: list[float] = []
    clock = Clock()
    answers = iter([None, Unavailable("down"), None])

    def check() -> None:
        calls.append(clock.now)
        outcome = next(answers)
        if outcome is not None:
            raise outcome

    ready = Readiness(check, interval=5, clock=clock)
    assert [ready.ready() for _ in range(10)] == [True] * 10 and calls == [100.0]
    clock.now = 105.0
    assert ready.ready() is False and ready.ready() is False and len(calls) == 2
    clock.now = 109.9
    assert ready.ready() is False and len(calls) == 2
    clock.now = 110.0
    assert ready.ready() is True and len(calls) == 3
