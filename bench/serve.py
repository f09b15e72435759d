"""Run `connector serve` on a benchmark realm, as production runs it (service account)."""

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
from connector.web import SCIM_PREFIX

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(settings: Settings, workers: int | None = None) -> Iterator[tuple[str, int]]:
    """Serve the realm; yield (SCIM root, server pid). Workers default to the machine's cores."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update({"CONNECTOR_KEYCLOAK_URL": settings.keycloak_url,
                "CONNECTOR_REALM": settings.realm,
                "CONNECTOR_CLIENT_SECRET": settings.client_secret,
                "CONNECTOR_TOKEN_CACHE_SECONDS": str(settings.token_cache_seconds),
                "CONNECTOR_ETUDE_SCOPE": settings.etude_scope,
                "CONNECTOR_LOG_LEVEL": "WARNING",
                # 8 clients of one étude measure the server, not the étude's rate limit nor
                # its share of a process's threads (half of them: 429 for the fifth client)
                "CONNECTOR_RATELIMIT_PER_SECOND": "100000", "CONNECTOR_RATELIMIT_BURST": "100000",
                "CONNECTOR_ETUDE_MAX_CONCURRENT": str(settings.threads),
                "CONNECTOR_THREADS": str(settings.threads),
                "CONNECTOR_WORKERS": str(workers or os.cpu_count() or 2)})
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--host",
                             "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"connector serve exited with {proc.returncode}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{root}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("connector serve was not ready in 120 s")
            time.sleep(0.3)
        yield f"{root}{SCIM_PREFIX}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mb(pid: int) -> dict[int, float]:
    """Resident memory (MB) of a server and of each of its worker processes."""
    out: dict[int, float] = {}
    for candidate in [pid, *_children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[candidate] = round(int(line.split()[1]) / 1024, 1)
    return out


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]
