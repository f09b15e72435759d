"""Real `connector serve` processes on the session's realm, for tests that need replicas."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from connector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a replica serving the test realm (dev mode: the bootstrap admin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update({"CONNECTOR_REALM": settings.realm, "CONNECTOR_KEYCLOAK_URL":
                settings.keycloak_url, "CONNECTOR_DEV_MODE": "1",
                # Admission control has its own tests: replicas here must not throttle the
                # writers, and several on one machine cannot share one metrics port.
                "CONNECTOR_ETUDE_MAX_CONCURRENT": "1000", "CONNECTOR_RATELIMIT_BURST": "100000",
                "CONNECTOR_RATELIMIT_PER_SECOND": "100000", "CONNECTOR_METRICS_PORT": "0",
                **extra})
    return env


@contextlib.contextmanager
def replicas(settings: Settings, count: int = 2, **extra: str) -> Iterator[list[str]]:
    """Start `count` servers and yield their SCIM roots; stop them afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    roots: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "connector.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port)], cwd=ROOT, env=server_env(settings, **extra),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            roots.append(f"http://127.0.0.1:{port}")
        for proc, root in zip(procs, roots, strict=True):
            wait_ready(proc, root)
        yield [f"{root}/scim/v2" for root in roots]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_ready(proc: subprocess.Popen[bytes], root: str, timeout: float = 60) -> None:
    """Wait until a server answers its health probe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server at {root} exited with {proc.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{root}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server at {root} was not ready in {timeout} s")
