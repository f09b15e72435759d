"""The artifact: the wheel, installed outside the checkout with the image's own steps
(deploy/build-wheel.sh, deploy/install.sh), works from any directory with its own mappings."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector import __version__
from connector.keycloak.gateway import Gateway
from connector.settings import Settings
from tests.burst import free_port, send, wait_http
from tests.integration.conftest import granted_user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel and install it into a fresh virtual environment under /tmp."""
    base = tmp_path_factory.mktemp("wheel")
    assert not base.is_relative_to(ROOT)
    env = {**os.environ, "UV": str(ROOT / ".venv/bin/uv")}
    subprocess.run([str(ROOT / "deploy/build-wheel.sh"), str(base / "dist")], env=env,
                   check=True)
    subprocess.run([str(ROOT / "deploy/install.sh"), str(base / "venv"), str(base / "dist")],
                   check=True, cwd=base)
    return base


def clean_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an operator's shell: no CONNECTOR_* but what is given, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONNECTOR_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "CONNECTOR_KEYCLOAK_URL": settings.keycloak_url, **extra}


def connector(base: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    elsewhere = base / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run([str(base / "venv/bin/connector"), *args], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)


def service_secret(kc: Gateway, settings: Settings) -> str:
    client = kc.get(kc.path("/clients"), clientId=settings.client_id)[0]
    return str(kc.get(kc.path("/clients/{c}/client-secret", c=client["id"]))["value"])


def test_the_wheel_carries_the_code_and_the_mappings_not_the_checkout(installed: Path,
                                                                        settings: Settings):
    result = connector(installed, "--version", env=clean_env(settings))
    assert result.returncode == 0 and result.stdout.strip() == f"connector, version {__version__}"
    probe = subprocess.run([str(installed / "venv/bin/python"), "-c",
                            "import connector.mappings as m; print(m.DEFAULT_DIR); "
                            "print(len(m.load_mappings().profiles))"],
                           cwd=installed, env=clean_env(settings), capture_output=True,
                           text=True, check=True)
    where, profiles = probe.stdout.split()
    assert where.startswith(str(installed / "venv")) and profiles == "7"


def test_installed_bootstrap_dry_run_plans_a_new_realm(installed: Path, settings: Settings):
    realm = f"wheel-{secrets.token_hex(3)}"
    result = connector(installed, "bootstrap", "--dry-run",
                       env=clean_env(settings, CONNECTOR_REALM=realm))
    assert result.returncode == 0, result.stderr
    assert f"create  realm {realm}" in result.stdout
    assert "dry run: nothing changed" in result.stdout


def test_mappings_dir_still_overrides_the_packaged_ones(installed: Path, settings: Settings):
    empty = installed / "no-mappings"
    empty.mkdir(exist_ok=True)
    result = connector(installed, "etude", "list",
                       env=clean_env(settings, CONNECTOR_MAPPINGS_DIR=str(empty),
                                     CONNECTOR_DEV_MODE="1"))
    assert result.returncode != 0
    assert f"{empty}/permissions.yaml: file missing" in result.stderr


def test_outside_dev_mode_commands_refuse_the_bootstrap_administrator(installed: Path,
                                                                        settings: Settings):
    env = clean_env(settings, CONNECTOR_REALM=settings.realm)
    for args in (["serve"], ["etude", "list"], ["token", "list"], ["expire", "--dry-run"],
                 ["reconcile"]):
        result = connector(installed, *args, env=env)
        assert result.returncode == 1, args
        assert "set CONNECTOR_CLIENT_SECRET" in result.stderr.replace("Set", "set"), args


@pytest.fixture
def served(installed: Path, settings: Settings, kc: Gateway) -> Iterator[str]:
    """`connector serve` from the wheel, in another directory, on the service account."""
    port = free_port()
    env = clean_env(settings, CONNECTOR_REALM=settings.realm, CONNECTOR_PORT=str(port),
                    CONNECTOR_CLIENT_SECRET=service_secret(kc, settings),
                    CONNECTOR_WORKERS="1", CONNECTOR_THREADS="2")
    elsewhere = installed / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    proc = subprocess.Popen([str(installed / "venv/bin/connector"), "serve"], cwd=elsewhere,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_installed_serve_answers_scim_and_its_probes(served: str, tokens: dict[str, Any]):
    assert send(served, "GET", "/livez").status == 200
    assert send(served, "GET", "/health").body == {"status": "UP"}
    user = granted_user()
    created = send(served + "/scim/v2", "POST", "/Users", user, token=tokens["E1"])
    assert created.status == 201, created.body
    read = send(served + "/scim/v2", "GET", f"/Users/{created.body['id']}", token=tokens["E1"])
    assert read.status == 200 and read.body["userName"] == user["userName"]
    assert read.body["urn:iqera:params:scim:schemas:extension:etude:2.0:User"][
        "accessStatus"] == "granted"
