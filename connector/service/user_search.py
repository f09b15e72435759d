"""Answer a Users query (RFC 7644 §3.4.2) from Keycloak, scoped to the caller's étude.

The filter is split (scim/pushdown.py) and its terms turned into Keycloak queries
(keycloak/user_query.py); then the cheapest way that gives the exact answer is taken:

- nothing to push (no filter, or `etude eq` the caller's own): pages of the étude group's
  members, in Keycloak's username order, and Keycloak's count of the étude;
- one query Keycloak answers exactly: Keycloak pages and counts it;
- a top-level `not` of an exact query: counted by difference, read only up to the page asked;
- otherwise Keycloak narrows (one query, a union of queries, or the étude itself) and the
  connector reads the candidates page by page, keeping those the whole filter matches, never
  more than `max_candidates` of them.

Keycloak's attribute matches ignore case, so every record it returns is checked again against
the caller's étude (exact) before it is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.fanout import together
from connector.keycloak.user_query import Compiled, UserQuery, compile_branch, scope_query
from connector.keycloak.users import UserStore
from connector.scim import filter as scim_filter
from connector.scim.errors import TooMany
from connector.scim.pushdown import Pushdown, Term, plan_users
from connector.scim.query import ListRequest, sort_resources

PAGE = 500
HANDFUL = 20  # a selective equality finds at most this many users in the whole realm
COUNT_PAGE = 1000  # an étude with fewer members is counted from one brief page of its group
log = logging.getLogger("connector.search")
Render = Callable[[dict[str, Any]], dict[str, Any]]


def etude_of(rep: dict[str, Any]) -> str | None:
    """Return the étude a Keycloak user belongs to (exact, as stored)."""
    return ((rep.get("attributes") or {}).get("etude") or [None])[0]


class Source:
    """Users Keycloak returns page by page in username order, and can count."""

    def __init__(self, store: UserStore, query: UserQuery, group_id: str | None = None) -> None:
        self.store, self.query, self.group_id = store, query, group_id

    def page(self, first: int, size: int) -> list[dict[str, Any]]:
        """Read one page (full representations)."""
        if self.group_id is not None:
            return self.store.members(self.group_id, first, size)
        return self.store.search(self.query, first, size)

    def count(self) -> int:
        """Count in Keycloak's database: an étude of fewer than COUNT_PAGE users from its
        group's members, one brief page (the étude's attribute count walks the realm's
        attribute rows on H2: 2.4 s at 50,000 users, against 0.2 s), a larger one by query."""
        if self.group_id is not None:
            members = self.store.count_members(self.group_id, COUNT_PAGE)
            if members < COUNT_PAGE:
                return members
        return self.store.count(self.query)


class Handful(Source):
    """A selective equality (userName, an e-mail, externalId): the few users it finds are read
    without the étude term and counted here, those of the caller's étude only.

    With the étude's attribute term beside `username`, H2 walks the realm's attribute rows: a
    `not (userName eq …)` took 2.1 s at 50,000 users, against 98 ms at 10,000.
    """

    def __init__(self, store: UserStore, query: UserQuery, scoped: UserQuery,
                 sees: Callable[[str | None], bool]) -> None:
        super().__init__(store, scoped)
        self.selective, self.sees = query, sees

    def count(self) -> int:
        found = self.store.search(self.selective, 0, HANDFUL)
        if len(found) >= HANDFUL:  # not a handful after all: Keycloak counts the étude's
            return super().count()
        return sum(1 for rep in found if self.sees(etude_of(rep)))


def scoped_branches(pushdown: Pushdown, who: Principal) -> list[tuple[Term, ...]]:
    """Drop `etude eq` terms the scope already says; a branch naming another étude is empty."""
    out = []
    for branch in pushdown.branches:
        kept: list[Term] = []
        other = False
        for term in branch:
            if term.field == "attr:etude" and not who.is_admin:
                other = other or term.value.lower() != str(who.etude).lower()
            else:
                kept.append(term)
        if not other:
            out.append(tuple(kept))
    return out


class UserSearch:
    """Plan, fetch, re-check and page the users a query asks for."""

    def __init__(self, store: UserStore, directory: EtudeDirectory,
                 max_candidates: int = 10000, by_members: bool = True) -> None:
        self.store, self.directory = store, directory
        self.max_candidates = max_candidates
        self.by_members = by_members

    def everyone(self, who: Principal) -> Source:
        """The users a caller may see: the realm, or his étude (its group's members, or its
        attribute term: CONNECTOR_ETUDE_SCOPE)."""
        if who.is_admin:
            return Source(self.store, UserQuery())
        query = scope_query(str(who.etude))
        if not self.by_members:
            return Source(self.store, query)
        return Source(self.store, query, self.directory.group_id(str(who.etude)))

    def search(self, req: ListRequest, who: Principal,
               render: Render) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query with an exact total, reading as little as the answer allows."""
        pushdown = plan_users(req.filter)
        branches = scoped_branches(pushdown, who)
        if not branches:
            return 0, []
        whole = pushdown.filter

        def keep(rep: dict[str, Any]) -> dict[str, Any] | None:
            if not who.sees(etude_of(rep)):
                return None
            resource = render(rep)
            if whole is not None and not scim_filter.matches(whole, resource, "User"):
                return None
            return resource

        scope = None if who.is_admin else who.etude
        today = datetime.now(UTC).date()
        everyone = self.everyone(who)
        compiled: list[Compiled] | None = []
        for branch in branches if any(branches) else []:
            found = compile_branch(branch, scope, today)
            compiled = None if found is None or compiled is None else compiled + found
        if compiled is None:  # too wide a union: read the étude, check each one
            return self._collect([everyone], req, keep)
        simple = pushdown.residual is None
        base: Source | None = None
        base_terms: tuple[Term, ...] = ()
        if not compiled:  # nothing narrows: the étude (or the realm) itself
            base = everyone
        elif len(compiled) == 1 and compiled[0].exact and len(branches) == 1:
            base, base_terms = Source(self.store, compiled[0].query), branches[0]
        if base is not None and simple and not pushdown.excluded:
            return self._paged(base, req, who, render, keep)
        if base is not None and simple:
            narrowed = compile_branch((*base_terms, *pushdown.excluded), scope, today,
                                      lookup=False)
            if narrowed is not None and len(narrowed) == 1 and narrowed[0].exact:
                excluded = self._excluded((*base_terms, *pushdown.excluded), scope, today,
                                          narrowed[0].query, who)
                return self._complement(base, excluded, req, keep)
        sources = [Source(self.store, c.query) for c in compiled] or [everyone]
        return self._collect(sources, req, keep)

    def _excluded(self, terms: tuple[Term, ...], scope: str | None, today: Any,
                  scoped: UserQuery, who: Principal) -> Source:
        """The users a `not (…)` leaves out: a handful read and counted here when selective."""
        found = compile_branch(terms, scope, today)
        if (scope is not None and found is not None and len(found) == 1
                and found[0].query != scoped):
            return Handful(self.store, found[0].query, scoped, who.sees)
        return Source(self.store, scoped)

    # -- Keycloak pages ---------------------------------------------------------------------
    def _paged(self, source: Source, req: ListRequest, who: Principal, render: Render,
               keep: Callable[[dict[str, Any]], dict[str, Any] | None]
               ) -> tuple[int, list[dict[str, Any]]]:
        """Let Keycloak page (username order) and count; fall back when a record is not ours."""
        if req.sort_by and req.sort_by.lower() != "username":
            return self._collect([source], req, keep)
        if req.count == 0:
            return source.count(), []
        if req.sort_by and req.descending:
            total = source.count()
            end = total - (req.start_index - 1)
            first = max(0, end - req.count)
            reps = list(reversed(source.page(first, end - first))) if end > 0 else []
            expected = max(0, end - first)
        elif source.group_id is not None:  # an étude's list: its count is cheap, ask both
            reps, total = together(lambda: source.page(req.start_index - 1, req.count),
                                   source.count)
            expected = min(req.count, max(0, total - (req.start_index - 1)))
        else:
            reps = source.page(req.start_index - 1, req.count)
            # A first page that is not full is the whole answer: no count needed.
            short = req.start_index == 1 and len(reps) < req.count
            total = len(reps) if short else source.count()
            expected = min(req.count, max(0, total - (req.start_index - 1)))
        if len(reps) != expected or any(not who.sees(etude_of(r)) for r in reps):
            # Keycloak counted a user its page does not hold (an étude code in another case,
            # a user outside his étude's group): answer from the pages themselves.
            log.warning("étude list and count disagree (%d listed, %d expected): reading "
                        "every candidate", len(reps), expected)
            return self._collect([source], req, keep)
        return total, [render(r) for r in reps]

    def _complement(self, base: Source, excluded: Source, req: ListRequest,
                    keep: Callable[[dict[str, Any]], dict[str, Any] | None]
                    ) -> tuple[int, list[dict[str, Any]]]:
        """`… and not (…)`: count by difference, read the base only up to the page asked."""
        if req.sort_by and (req.sort_by.lower() != "username" or req.descending):
            return self._collect([base], req, keep)
        total, left_out = together(base.count, excluded.count)
        total = max(0, total - left_out)
        want = req.start_index - 1 + req.count
        kept: list[dict[str, Any]] = []
        first = 0
        while req.count and len(kept) < want:
            size = PAGE if first else min(PAGE, max(want + 10, 50))
            page = base.page(first, size)
            self._guard(first + len(page))
            kept += [r for r in map(keep, page) if r is not None]
            if len(page) < size:
                break
            first += size
        return max(total, len(kept)), kept[req.start_index - 1:want]

    # -- the connector reads the candidates ---------------------------------------------------
    def _collect(self, sources: list[Source], req: ListRequest,
                 keep: Callable[[dict[str, Any]], dict[str, Any] | None]
                 ) -> tuple[int, list[dict[str, Any]]]:
        """Read every candidate page by page, keep the matches, sort and page them here."""
        found: dict[str, dict[str, Any]] = {}
        firsts = together(*[lambda s=s: s.page(0, PAGE) for s in sources])
        examined = 0
        for source, page in zip(sources, firsts, strict=True):
            first = 0
            while True:
                if first == 0 and len(page) == PAGE:
                    self._guard(source.count())
                examined += len(page)
                self._guard(examined)
                for rep in page:
                    if rep["id"] not in found:
                        resource = keep(rep)
                        if resource is not None:
                            found[rep["id"]] = resource
                if len(page) < PAGE:
                    break
                first += PAGE
                page = source.page(first, PAGE)
        resources = sort_resources(list(found.values()), req.sort_by or "userName",
                                   req.descending if req.sort_by else False, "User")
        start = req.start_index - 1
        return len(resources), resources[start:start + req.count]

    def _guard(self, candidates: int) -> None:
        """Refuse a filter that leaves more than max_candidates users to examine."""
        if candidates > self.max_candidates:
            raise TooMany(f"The filter leaves more than {self.max_candidates} users to examine; "
                          "add an equality on userName, externalId, emails or an étude "
                          "attribute.",
                          detail_fr=f"Le filtre laisse plus de {self.max_candidates} utilisateurs "
                          "à examiner ; ajoutez une égalité sur userName, externalId, emails ou "
                          "un attribut de l'étude.")
