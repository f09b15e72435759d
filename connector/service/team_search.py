"""Answer a Groups query (RFC 7644 §3.4.2) over the teams a caller may see, paging in Keycloak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.keycloak.etudes import EtudeDirectory, Principal, canonical_code_problem
from connector.keycloak.layout import team_parts
from connector.keycloak.teams import TeamStore
from connector.keycloak.users import UserStore
from connector.scim import filter as scim_filter
from connector.scim.ids import is_id
from connector.scim.query import ListRequest, sort_resources
from connector.service.team_plan import member_term, mentions_members, narrowing

Render = Callable[[dict[str, Any], bool], dict[str, Any]]


class TeamSearch:
    """Find candidate teams from the narrowest source, then filter, sort and page them."""

    def __init__(self, store: TeamStore, users: UserStore, directory: EtudeDirectory) -> None:
        self.store, self.users, self.directory = store, users, directory

    def etudes(self, who: Principal, only: str | None) -> list[dict[str, Any]]:
        """The étude groups a query covers: the token's own, or every registered one."""
        if only is not None and canonical_code_problem(only.upper()) is not None:
            return []
        if not who.is_admin:
            if only is not None and only.upper() != who.etude:
                return []
            group = self.directory.group(str(who.etude))
            return [group] if group else []
        if only is not None:
            group = self.directory.group(only.upper())
            return [group] if group else []
        return self.directory.registered()

    def search(self, req: ListRequest, who: Principal, render: Render,
               with_members: bool) -> tuple[int, list[dict[str, Any]]]:
        """Exact totals; Keycloak pages the teams when the query has no filter and no sort."""
        narrow = narrowing(req.filter)
        etudes = self.etudes(who, narrow.get("etude"))
        if req.filter is None and not req.sort_by:
            return self._page(etudes, req, render, with_members)
        member_terms, residual = (scim_filter.split_conjuncts(req.filter, member_term)
                                  if req.filter is not None else ([], None))
        candidates = self._candidates(etudes, [str(t.value) for t in member_terms], narrow)
        load = with_members or mentions_members(residual)
        resources = [render(g, load) for g in candidates]
        if residual is not None:
            resources = [r for r in resources if scim_filter.matches(residual, r, "Group")]
        if load and not with_members:
            for resource in resources:
                resource.pop("members", None)
        resources = sort_resources(resources, req.sort_by, req.descending, "Group")
        start = req.start_index - 1
        return len(resources), resources[start:start + req.count]

    def _page(self, etudes: list[dict[str, Any]], req: ListRequest, render: Render,
              with_members: bool) -> tuple[int, list[dict[str, Any]]]:
        counts = [(str(e["id"]), int(e.get("subGroupCount") or 0)) for e in etudes]
        total = sum(c for _, c in counts)
        skip, want = req.start_index - 1, req.count
        out: list[dict[str, Any]] = []
        for gid, count in counts:
            if want <= 0:
                break
            if skip >= count:
                skip -= count
                continue
            page = self.store.children(gid, skip, min(want, count - skip))
            out += [render(g, with_members) for g in page]
            want -= len(page)
            skip = 0
        return total, out

    def _candidates(self, etudes: list[dict[str, Any]], members: list[str],
                    narrow: dict[str, str]) -> list[dict[str, Any]]:
        codes = {str(e["name"]) for e in etudes}
        if members:
            ids: set[str] | None = None
            for member in members:
                groups = self.users.memberships(member) if is_id(member) else []
                mine = {str(g["id"]) for g in groups
                        if (team_parts(str(g["path"])) or ("",))[0] in codes}
                ids = mine if ids is None else ids & mine
            found = [self.store.group(i) for i in sorted(ids or set())]
            return [g for g in found if g is not None]
        out: list[dict[str, Any]] = []
        for etude in etudes:
            name = narrow.get("name")
            teams = self.store.all_children(str(etude["id"]), search=name)
            if name is not None:
                teams = [t for t in teams if str(t["name"]).lower() == name.lower()]
            out += teams
        return out
