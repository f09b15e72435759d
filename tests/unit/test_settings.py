"""Settings that could never work are refused at start, with the setting to change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.settings import Settings, lease_problem, scope_problem, user_locks_problem
from connector.wiring import build_services


def test_a_keycloak_timeout_under_the_lease_is_fine() -> None:
    assert lease_problem(Settings(keycloak_timeout=10, lock_lease_seconds=60)) is None
    assert lease_problem(Settings(keycloak_timeout=59, lock_lease_seconds=60)) is None


def test_a_keycloak_timeout_as_long_as_the_lease_is_named() -> None:
    problem = lease_problem(Settings(keycloak_timeout=60, lock_lease_seconds=60))
    assert problem is not None
    assert "CONNECTOR_KEYCLOAK_TIMEOUT (60 s)" in problem
    assert "CONNECTOR_LOCK_LEASE_SECONDS (60 s)" in problem


def test_the_services_are_not_built_on_such_settings() -> None:
    with pytest.raises(ValueError, match="CONNECTOR_KEYCLOAK_TIMEOUT"):
        build_services(replace(Settings(), keycloak_timeout=300))


def test_the_cli_stops_before_any_command_on_such_settings() -> None:
    env = {"CONNECTOR_KEYCLOAK_TIMEOUT": "300", "CONNECTOR_DEV_MODE": "1"}
    result = CliRunner().invoke(cli, ["etude", "list"], env=env)
    assert result.exit_code == 1
    assert "CONNECTOR_LOCK_LEASE_SECONDS" in result.output


def test_an_unknown_etude_scope_stops_the_services() -> None:
    assert scope_problem(Settings()) is None  # members, the default
    assert scope_problem(Settings(etude_scope="attribute")) is None
    problem = scope_problem(Settings(etude_scope="attributes"))
    assert problem is not None and "CONNECTOR_ETUDE_SCOPE is 'attributes'" in problem
    with pytest.raises(ValueError, match="CONNECTOR_ETUDE_SCOPE"):
        build_services(Settings(etude_scope="group"))


def test_an_unknown_user_lock_kind_stops_the_services() -> None:
    assert user_locks_problem(Settings()) is None  # link, the default
    assert user_locks_problem(Settings(user_locks="both")) is None
    problem = user_locks_problem(Settings(user_locks="group"))
    assert problem is not None and "CONNECTOR_USER_LOCKS is 'group'" in problem
    with pytest.raises(ValueError, match="CONNECTOR_USER_LOCKS"):
        build_services(Settings(user_locks="links"))
    assert build_services(Settings(user_locks="both")).locks.user_groups_too
