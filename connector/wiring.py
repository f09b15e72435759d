"""Build the services from settings, in dependency order: one wiring for the app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from connector.keycloak.clients import Clients
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway
from connector.keycloak.jobstate import JobState
from connector.keycloak.locks import Locks
from connector.keycloak.teams import TeamStore
from connector.keycloak.users import UserStore
from connector.mappings import Mappings, get_mappings
from connector.service.bulk import BulkService
from connector.service.delegation import Delegation
from connector.service.lifecycle import Lifecycle
from connector.service.teams import TeamService
from connector.service.users import UserService
from connector.settings import Settings, lease_problem, scope_problem, user_locks_problem


@dataclass(frozen=True)
class Services:
    """Everything a request or a command needs, built once per process."""

    settings: Settings
    mappings: Mappings
    gateway: Gateway
    directory: EtudeDirectory
    locks: Locks
    users: UserService
    teams: TeamService
    bulk: BulkService

    def lifecycle(self) -> Lifecycle:
        """Return the expiry, upcoming and reconcile jobs on these services."""
        return Lifecycle(self.users, JobState(self.gateway,
                                              ttl_seconds=self.settings.expire_lock_ttl))


def build_services(settings: Settings, gateway: Gateway | None = None,
                   release_later: bool = False) -> Services:
    """Validate the settings and mappings/ (fail fast), then wire the stores to the services.

    A server releases its write locks in the background (`release_later`, see locks.py); a
    command releases each before going on.
    """
    problem = (lease_problem(settings) or scope_problem(settings)
               or user_locks_problem(settings))
    if problem:
        raise ValueError(problem)
    mappings = get_mappings(settings.mappings_dir or None)
    gw = gateway or Gateway(settings)
    clients = Clients(gw)
    users_store, teams_store = UserStore(gw, clients), TeamStore(gw, clients)
    locks = Locks(gw, lease_seconds=settings.lock_lease_seconds,
                  wait_seconds=settings.lock_wait_seconds,
                  call_seconds=settings.keycloak_timeout, release_later=release_later,
                  user_groups_too=settings.user_locks == "both")
    directory = EtudeDirectory(gw, settings.token_cache_seconds, locks)
    delegation = Delegation(teams_store, list(mappings.platforms))
    users = UserService(users_store, directory, mappings, locks, delegation,
                        max_candidates=settings.max_candidates,
                        by_members=settings.etude_scope == "members")
    teams = TeamService(teams_store, users_store, directory, mappings, locks)
    return Services(settings, mappings, gw, directory, locks, users, teams,
                    BulkService(users, teams))
