"""Read one étude, and nothing else, from Keycloak: its accounts, upcoming ends and teams.

Every read names the étude (`q=etude:<code>`, the étude's own teams), and every user Keycloak
returns is checked again here: `q=` matches ignore case, so `etude:AB` also finds `ab`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.keycloak.etudes import Principal
from connector.keycloak.gateway import collect
from connector.keycloak.users import UserQuery
from connector.portal.listing import (
    MAX_SORTED,
    Account,
    ListingRequest,
    Window,
    account_from_keycloak,
    sort_accounts,
    window,
)
from connector.portal.words import STATUS_ORDER
from connector.scim.ids import is_id
from connector.scim.query import ListRequest
from connector.scim.schema_defs import ETUDE_GROUP
from connector.service.context import RequestContext
from connector.service.lifecycle import Lifecycle
from connector.service.users import UserService

READ_PAGE = 200
CURRENT = ("granted", "pending")  # the accounts a departure can still be declared for


@dataclass(frozen=True)
class Listing:
    """One page of the étude's accounts, and whether the asked sort had to give way."""

    accounts: list[Account]
    window: Window
    sort_kept: bool


class EtudeView:
    """What « Mon étude » reads for one étude, through the connector's own services."""

    def __init__(self, users: UserService, teams: Any, etude: str,
                 lifecycle: Callable[[], Lifecycle] | None = None) -> None:
        self.users, self.teams, self.etude = users, teams, etude
        self.store = users.store
        self.lifecycle = lifecycle

    def _query(self, status: str | None = None) -> UserQuery:
        query = UserQuery().with_attribute("etude", self.etude)
        return query.with_attribute("accessStatus", status) if status else query

    def _mine(self, reps: list[dict[str, Any]]) -> list[Account]:
        accounts = [account_from_keycloak(r) for r in reps]
        return [a for a in accounts if a.etude == self.etude]

    def count(self, status: str | None = None) -> int:
        """Count the étude's accounts (of one status), in Keycloak's database."""
        return self.store.count(self._query(status))

    def counts(self) -> dict[str, int]:
        """Count the étude's accounts per access status."""
        return {status: self.count(status) for status in STATUS_ORDER}

    def _read_all(self, status: str | None) -> list[Account]:
        query = self._query(status)
        return self._mine(collect(lambda first, size: self.store.search(query, first, size),
                                  READ_PAGE))

    def page(self, req: ListingRequest, size: int) -> Listing:
        """Return one page of the list: straight from Keycloak in its order (user names), or,
        for another sort, from the étude's accounts read page by page and sorted here."""
        total = self.count(req.status)
        if req.native or total > MAX_SORTED:
            place = window(total, req.page, size)
            reps = self.store.search(self._query(req.status), place.first, place.size)
            return Listing(self._mine(reps), place, req.native)
        accounts = sort_accounts(self._read_all(req.status), req.sort, req.descending)
        place = window(len(accounts), req.page, size)
        return Listing(accounts[place.first:place.first + place.size], place, True)

    def current(self) -> list[Account]:
        """Return the accounts still granted or pending, by user name (departure form)."""
        out: list[Account] = []
        for status in CURRENT:
            if self.count(status) > MAX_SORTED:
                raise TooLarge(status)
            out += self._read_all(status)
        return sort_accounts(out, "identifiant", False)

    def account(self, user_id: str) -> Account | None:
        """Return one account of the étude, or None (unknown, another étude's, not an id)."""
        if not is_id(user_id):
            return None
        rep = self.store.get(user_id)
        if rep is None:
            return None
        account = account_from_keycloak(rep)
        return account if account.etude == self.etude else None

    def upcoming(self, days: int, today: date) -> list[dict[str, Any]]:
        """Return the étude's granted accesses whose last day is within `days` days from
        today: the nightly job's report (`connector expire --upcoming`) for this étude only."""
        if self.lifecycle is None:
            return []
        report = self.lifecycle().upcoming(days, today)
        mine = [u for u in report.users if u.get("etude") == self.etude]
        return sorted(mine, key=lambda u: (u["lastDay"], str(u["userName"]).lower()))

    def team_list(self, who: Principal) -> list[Team]:
        """Return the étude's teams (SCIM Groups, R12), read through the teams service."""
        if self.teams is None:
            return []
        _, found = self.teams.search(ListRequest(count=1000), RequestContext(who),
                                     with_members=True)
        teams = [team_of(t) for t in found]
        return sorted((t for t in teams if t.etude == self.etude), key=lambda t: t.name.lower())


@dataclass(frozen=True)
class Team:
    """What the titulaire sees of one team: its name, members, platforms, delegation (R12)."""

    name: str
    etude: str | None
    members: int
    platforms: tuple[str, ...]
    permissions: tuple[str, ...]


def team_of(resource: dict[str, Any]) -> Team:
    """Read a SCIM Group as the teams service renders it."""
    ext = resource.get(ETUDE_GROUP) or {}
    return Team(str(resource.get("displayName", "")), ext.get("etude"),
                len(resource.get("members") or []), tuple(ext.get("platforms") or ()),
                tuple(ext.get("delegatedPermissions") or ()))


class TooLarge(Exception):
    """The étude has more current accounts than one form can list."""
