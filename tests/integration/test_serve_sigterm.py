"""`connector serve` on SIGTERM: stops accepting, finishes the requests in flight, then exits;
not one request that reached it fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from connector.keycloak.gateway import Gateway
from connector.settings import Settings
from tests.burst import Answer, burst, free_port, send, tally, wait_http
from tests.integration.conftest import granted_user, unique
from tests.integration.test_wheel import service_secret

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_in_the_middle_of_a_burst_fails_no_request(settings: Settings, kc: Gateway,
                                                           tokens: dict[str, Any],
                                                           tmp_path: Path):
    port = free_port()
    env = {**os.environ, "CONNECTOR_REALM": settings.realm, "CONNECTOR_PORT": str(port),
           "CONNECTOR_CLIENT_SECRET": service_secret(kc, settings), "CONNECTOR_DEV_MODE": "0",
           "CONNECTOR_WORKERS": "2", "CONNECTOR_THREADS": "3", "CONNECTOR_GRACEFUL_TIMEOUT": "30",
           # One étude's burst on purpose: admission control (tested apart) must not refuse it.
           "CONNECTOR_ETUDE_MAX_CONCURRENT": "1000", "CONNECTOR_RATELIMIT_BURST": "100000",
           "CONNECTOR_RATELIMIT_PER_SECOND": "100000", "CONNECTOR_METRICS_PORT": "0"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/connector"), "serve"], env=env,
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", proc=proc)
    prefix = unique("term")
    signalled: list[float] = []

    def create(i: int) -> Answer:
        return send(url + "/scim/v2", "POST", "/Users", granted_user(f"{prefix}{i}"),
                    token=tokens["E1"], index=i)

    def terminate_midway(answers: list[Answer]) -> None:
        while len(answers) < 15:
            time.sleep(0.01)
        signalled.append(time.monotonic())
        proc.send_signal(signal.SIGTERM)

    answers = burst(90, 10, create, during=terminate_midway)
    code = proc.wait(timeout=60)
    counts = tally(answers)
    at_signal = [a for a in answers if a.started < signalled[0] < a.ended and a.status]
    print(f"\nSIGTERM mid-burst: {dict(counts)}; in flight at the signal and answered: "
          f"{len(at_signal)}; exit code {code}", file=sys.stderr)
    assert counts["failed"] == 0, [a.error for a in answers if a.error]
    assert set(counts) <= {"201", "refused"}, counts
    assert at_signal and all(a.status == 201 for a in at_signal)
    assert counts["refused"] > 0, "the burst should outlast the server"
    assert code == 0
    # Every create answered 201 is in Keycloak.
    for a in answers:
        if a.status == 201:
            assert kc.get(kc.path("/users/{u}", u=a.body["id"]))["username"] == f"{prefix}{a.index}"
