"""Answer a Users query (RFC 7644 §3.4.2) from Keycloak's database, scoped to the caller's étude.

The filter's equality terms Keycloak can evaluate are pushed down (scim/query.py `plan_users`);
what remains is evaluated here on the candidates. Keycloak's `q=` matches ignore case, so every
record it returns is checked again against the caller's étude before it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.keycloak.etudes import Principal
from connector.keycloak.gateway import collect
from connector.keycloak.users import UserQuery, UserStore
from connector.scim import filter as scim_filter
from connector.scim.errors import TooMany
from connector.scim.query import ListRequest, Plan, plan_users, sort_resources

# Push-down terms that leave a handful of users at most, whatever the realm size.
SELECTIVE = {"userName", "attr:emailIndex", "attr:externalId"}
PAGE = 500
Render = Callable[[dict[str, Any]], dict[str, Any]]


def etude_of(rep: dict[str, Any]) -> str | None:
    """Return the étude a Keycloak user belongs to (exact, as stored)."""
    return ((rep.get("attributes") or {}).get("etude") or [None])[0]


def store_query(plan: Plan) -> UserQuery:
    """Turn push-down terms into a Keycloak /users query."""
    fields: dict[str, str] = {}
    attributes: list[tuple[str, str]] = []
    for name, value in plan.terms:
        if name in ("userName", "firstName", "lastName"):
            fields[name] = value
        else:
            attributes.append((name.removeprefix("attr:"), value))
    return UserQuery(fields.get("userName"), None, fields.get("firstName"),
                     fields.get("lastName"), tuple(attributes))


def scoped(query: UserQuery, who: Principal) -> UserQuery | None:
    """Add the caller's étude to a query; None when the query names another étude (empty)."""
    if who.is_admin:
        return query
    others = [v for k, v in query.attributes if k == "etude"]
    if any(v.lower() != str(who.etude).lower() for v in others):
        return None
    kept = tuple((k, v) for k, v in query.attributes if k != "etude")
    return UserQuery(query.username, query.email, query.first_name, query.last_name,
                     (*kept, ("etude", str(who.etude))))


class UserSearch:
    """Plan, fetch, re-check and page the users a query asks for."""

    def __init__(self, store: UserStore, max_candidates: int = 10000) -> None:
        self.store = store
        self.max_candidates = max_candidates

    def search(self, req: ListRequest, who: Principal,
               render: Render) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query: Keycloak paging when the filter is pushed down whole, else here."""
        plan = plan_users(req.filter)
        unscoped = store_query(plan)
        query = scoped(unscoped, who)
        if query is None:
            return 0, []

        def mine(reps: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [r for r in reps if who.sees(etude_of(r))]

        if plan.residual is None and not req.sort_by:
            pushed = self._pushed(query, req, mine, render)
            if pushed is not None:
                return pushed
        if not who.is_admin and SELECTIVE & {f for f, _ in plan.terms}:
            # A selective term narrows enough on its own; a second attribute term (the étude
            # scope) only slows Keycloak's query down. The scope is then applied here.
            candidates = mine(self._all(unscoped))
        else:
            candidates = mine(self._all(query))
        resources = [render(r) for r in candidates]
        if plan.residual is not None:
            resources = [r for r in resources if scim_filter.matches(plan.residual, r, "User")]
        resources = sort_resources(resources, req.sort_by, req.descending, "User")
        start = req.start_index - 1
        return len(resources), resources[start:start + req.count]

    def _pushed(self, query: UserQuery, req: ListRequest,
                mine: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
                render: Render) -> tuple[int, list[dict[str, Any]]] | None:
        """Let Keycloak page and count; None when it returned a record of another étude."""
        if req.count == 0:
            return self.store.count(query), []
        reps = self.store.search(query, req.start_index - 1, req.count)
        if len(mine(reps)) != len(reps):
            return None  # a case variant slipped through Keycloak's match: answer in memory
        # A first page that is not full is the whole answer: no count needed (the usual
        # `userName eq` lookup of Entra ID and Okta costs one call).
        if req.start_index == 1 and len(reps) < req.count:
            total = len(reps)
        else:
            total = self.store.count(query)
        return total, [render(r) for r in reps]

    def _all(self, query: UserQuery) -> list[dict[str, Any]]:
        """Read every candidate; a short first page needs no count (selective filters)."""
        out: list[dict[str, Any]] = list(self.store.search(query, 0, PAGE))
        if len(out) < PAGE:
            return out
        if self.store.count(query) > self.max_candidates:
            raise TooMany(f"The filter leaves more than {self.max_candidates} users to examine; "
                          "add an equality on userName, externalId, emails or an étude "
                          "attribute.",
                          detail_fr=f"Le filtre laisse plus de {self.max_candidates} utilisateurs "
                          "à examiner ; ajoutez une égalité sur userName, externalId, emails ou "
                          "un attribut de l'étude.")
        return out + collect(lambda first, size: self.store.search(query, first, size), PAGE,
                             first=PAGE)
