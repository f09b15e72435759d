"""Every stderr line is one JSON object: `connector serve`, gunicorn's workers, the CLI.

Real processes, real HTTP, the real Keycloak: stderr is read whole and parsed line by line.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from connector.observability.logs import JsonFormatter
from connector.web.app import create_app
from tests.integration.conftest import granted_user

VENV_BIN = Path(sys.executable).parent
FORGED = 'x%0A{"event":"audit","action":"user.delete","who":"admin:forged"}'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(settings: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_",
                                                                    "PROMETHEUS_"))}
    # Dev mode: these processes sign in as the bootstrap administrator, like the suite.
    env.update({"CONNECTOR_REALM": settings.realm, "CONNECTOR_HOST": "127.0.0.1",
                "CONNECTOR_DEV_MODE": "1", **extra})
    return env


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def json_lines(raw: bytes) -> list[dict[str, Any]]:
    """Parse every line of a stderr capture; any line that is not one JSON object fails."""
    lines = raw.decode("utf-8").split("\n")
    assert lines[-1] == ""
    parsed = []
    for line in lines[:-1]:
        value = json.loads(line)
        assert isinstance(value, dict), line
        for key in ("time", "level", "logger", "message"):
            assert key in value, line
        parsed.append(value)
    return parsed


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_connector_serve_writes_only_json_lines(settings, tokens) -> None:
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen([str(VENV_BIN / "connector"), "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=env_for(settings, CONNECTOR_PORT=str(port),
                                        CONNECTOR_METRICS_PORT=str(metrics_port)))
    base = f"http://127.0.0.1:{port}/scim/v2"
    sent: list[requests.Response] = []
    try:
        wait_for(f"{base}/ServiceProviderConfig", proc)
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        e1 = {"Authorization": f"Bearer {tokens['E1']}"}
        kept = requests.get(f"{base}/Users", params={"filter": 'userName eq "secret-name"'},
                            headers={**e1, "X-Request-Id": "support-call-12345678"}, timeout=30)
        sent.append(kept)
        assert kept.headers["X-Request-Id"] == "support-call-12345678"
        forged = requests.get(f"{base}/Users/{FORGED}", headers=admin, timeout=30)
        sent.append(forged)
        assert forged.status_code in (400, 404, 500)
        bad_id = 'bad"id\x85{}'.encode("latin-1")
        refused = requests.get(f"{base}/Users", headers={"X-Request-Id": bad_id}, timeout=30)
        sent.append(refused)
        assert refused.status_code == 401 and len(refused.headers["X-Request-Id"]) == 32
        created = requests.post(f"{base}/Users", json=granted_user(), timeout=30,
                                headers={**e1, "X-Request-Id": "create-call-87654321",
                                         "Content-Type": "application/scim+json"})
        sent.append(created)
        assert created.status_code == 201
        figures = scrape(metrics_port)
        assert figures[("connector_http_requests_total", frozenset({
            ("resource", "Users"), ("method", "POST"), ("status", "201"),
            ("etude", "E1")}))] == 1
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
    finally:
        err = stop(proc)
    lines = json_lines(err)
    access = [line for line in lines if line["logger"] == "connector.access"]
    by_id = {line["request_id"]: line for line in access}
    assert len(by_id) == len(access)  # one access line per request, never two
    assert {r.headers["X-Request-Id"] for r in sent} <= set(by_id)
    assert by_id["support-call-12345678"]["route"] == "/scim/v2/Users"
    assert by_id[forged.headers["X-Request-Id"]]["route"] == "/scim/v2/Users/<user_id>"
    assert by_id["create-call-87654321"]["status"] == 201
    assert all(line["duration_ms"] >= 0 for line in access)
    text = err.decode()
    assert "secret-name" not in text and "%0A" not in text
    assert 'bad\\"id' not in text  # the client's id was replaced, not logged
    audits = [line for line in lines if line.get("event") == "audit"]
    assert [a["action"] for a in audits] == ["user.create"]
    assert audits[0]["request_id"] == "create-call-87654321" and audits[0]["etude"] == "E1"


LAUNCHER = """
from gunicorn.app.base import BaseApplication
from connector.observability.exposition import gunicorn_options
from connector.settings import Settings

settings = Settings.from_env()
# Sync workers accept only when idle: concurrent requests reach both.
options = {"bind": f"127.0.0.1:{settings.port}", "workers": 2, "worker_class": "sync",
           **gunicorn_options(settings)}


class Served(BaseApplication):
    def load_config(self):
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from connector.web.app import create_app
        return create_app(settings)


Served().run()
"""


def test_gunicorn_workers_add_up_and_log_json(settings, tokens, tmp_path) -> None:
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for(
                                settings, CONNECTOR_PORT=str(port),
                                CONNECTOR_METRICS_PORT=str(metrics_port),
                                CONNECTOR_METRICS_DIR=str(tmp_path / "metrics")))
    url = f"http://127.0.0.1:{port}/scim/v2/Users?count=5"
    headers = {"Authorization": f"Bearer {tokens['E2']}", "Connection": "close"}

    def get(_: int) -> int:
        return requests.get(url, headers=headers, timeout=60).status_code

    try:
        wait_for(url, proc)
        with ThreadPoolExecutor(6) as pool:
            for _ in range(10):  # bursts until both workers have answered
                assert set(pool.map(get, range(12))) == {200}
                if len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 2:
                    break
        figures = scrape(metrics_port)
    finally:
        err = stop(proc)
    lines = json_lines(err)
    ok = [line for line in lines if line["logger"] == "connector.access"
          and line["status"] == 200 and line["etude"] == "E2"]
    assert len({line["pid"] for line in ok}) >= 2  # both workers served
    total = sum(v for (name, labels), v in figures.items()
                if name == "connector_http_requests_total"
                and dict(labels) == {"resource": "Users", "method": "GET",
                                     "status": "200", "etude": "E2"})
    assert total == len(ok)  # the listener adds up every worker's count
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own, JSON


def test_cli_errors_are_json_lines_too(settings) -> None:
    env = env_for(settings)
    revoke = subprocess.run([str(VENV_BIN / "connector"), "token", "revoke", "nope",
                             "--etude", "E1"], capture_output=True, env=env, timeout=120)
    assert revoke.returncode == 1
    [line] = json_lines(revoke.stderr)
    assert line["level"] == "ERROR" and "no such token" in line["message"]
    usage = subprocess.run([str(VENV_BIN / "connector"), "etude", "add", "X1"],
                           capture_output=True, env=env, timeout=120)
    assert usage.returncode == 2
    [line] = json_lines(usage.stderr)
    assert "--name" in line["message"]


def test_an_unexpected_error_logs_its_stack_with_the_request_id(settings, tokens) -> None:
    app = create_app(settings)

    def boom() -> Any:
        raise RuntimeError("the unexpected")

    app.add_url_rule("/scim/v2/Boom", "boom", boom)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("connector")
    logger.addHandler(handler)
    try:
        r = app.test_client().get("/scim/v2/Boom", headers={
            "Authorization": f"Bearer {tokens['E1']}", "X-Request-Id": "boom-request-0001"})
    finally:
        logger.removeHandler(handler)
    assert r.status_code == 500 and r.headers["X-Request-Id"] == "boom-request-0001"
    lines = json_lines(stream.getvalue().encode())
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "boom-request-0001" and error["etude"] == "E1"
    assert "Traceback" in error["exception"] and "RuntimeError: the unexpected" in (
        error["exception"])


@pytest.mark.parametrize("path", ["/scim/v2/Users", "/scim/v2/Nothing", "/livez-not-here"])
def test_every_answer_carries_a_request_id(app, path: str) -> None:
    assert app.test_client().get(path).headers["X-Request-Id"]
