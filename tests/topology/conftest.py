"""The production topology of `make topology`, as its operator sees it: nginx with TLS in front of
two connector replicas and two Keycloak nodes on PostgreSQL. A throw-away étude per session,
registered with the connector's own CLI on the service account (never the bootstrap admin)."""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.keycloak.gateway import Gateway
from connector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = Path(os.environ.get("TOPOLOGY_DIR", ROOT / ".cache/topology"))
SCIM = "https://127.0.0.1:8443/scim/v2"
KEYCLOAK = "https://127.0.0.1:8444"
REPLICAS = ["http://127.0.0.1:8281/scim/v2", "http://127.0.0.1:8282/scim/v2"]
NODES = ["http://127.0.0.1:8181", "http://127.0.0.1:8182"]


def read_env(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            out[key.strip()] = value.strip()
    return out


ENV = read_env(TOPOLOGY / "connector.env")
# python-keycloak (requests) trusts the topology's certificate, as a deployment's would its CA.
os.environ["REQUESTS_CA_BUNDLE"] = ENV["REQUESTS_CA_BUNDLE"]


def cli(*args: str, keycloak_url: str | None = None, check: bool = True,
        **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run `connector` as an operator would, on the service account (no dev mode)."""
    result = subprocess.run([str(ROOT / ".venv/bin/connector"), *args], env=cli_env(keycloak_url),
                            capture_output=True, text=True, timeout=600, **popen)
    if check and result.returncode != 0:
        raise AssertionError(f"connector {' '.join(args)}: {result.returncode}\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def cli_env(keycloak_url: str | None = None) -> dict[str, str]:
    """The topology's connector.env over this environment, maybe aimed at one Keycloak node."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(ENV)
    if keycloak_url:
        env["CONNECTOR_KEYCLOAK_URL"] = keycloak_url
    return env


def topology(command: str) -> str:
    """Run deploy/topology.sh (start brings back whatever part is down)."""
    began = time.monotonic()
    result = subprocess.run([str(ROOT / "deploy/topology.sh"), command], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report(f"topology.sh {command}: {time.monotonic() - began:.1f}s")
    return result.stdout


def pid_of(name: str) -> int:
    return int((TOPOLOGY / f"{name}.pid").read_text().strip())


def report(line: str) -> None:
    """Print a scenario's counts and times (make test-topology runs pytest -s)."""
    print(f"\n[topology] {line}", file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ENV["REQUESTS_CA_BUNDLE"])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(ENV)


@pytest.fixture(scope="session")
def kc(settings: Settings) -> Gateway:
    """Keycloak through nginx, on the service account: to check what SCIM answered."""
    return Gateway(settings)


@pytest.fixture(scope="session")
def etude() -> str:
    code = f"T{secrets.token_hex(3)}".upper()
    cli("etude", "add", code, "--name", "Etude de test topologie")
    return code


@pytest.fixture(scope="session")
def token(etude: str) -> str:
    return cli("token", "create", "--etude", etude).stdout.strip().splitlines()[-1]


@pytest.fixture(autouse=True, scope="module")
def whole_topology_after() -> Iterator[None]:
    """Each scenario leaves every part up again for the next one."""
    yield
    topology("start")
