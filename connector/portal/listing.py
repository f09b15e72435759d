"""The étude's account list: one row per account, filters, sorting and pages (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from connector.keycloak.translate import user_from_keycloak
from connector.portal.words import STATUS_ORDER
from connector.scim.schema_defs import ETUDE_USER

PAGE_SIZE = 25
# Sorting on anything but the user name reads the étude's (filtered) accounts; above this many,
# the list keeps Keycloak's own order and pages straight from it.
MAX_SORTED = 2000
# URL words (French, no accents) for each access status code.
STATUS_SLUGS = {"accorde": "granted", "en-attente": "pending", "expire": "expired",
                "revoque": "revoked"}
SLUG_OF = {code: slug for slug, code in STATUS_SLUGS.items()}
SORTS = {"identifiant": "user_name", "nom": "display", "profil": "profile",
         "statut": "status", "fin-contrat": "contract_end", "depart": "departure",
         "modification": "modified"}
DEFAULT_SORT = "identifiant"  # Keycloak lists users by username: pages come straight from it


@dataclass(frozen=True)
class Account:
    """What the titulaire sees of one account (R2, R4–R9)."""

    id: str
    user_name: str
    display: str
    etude: str | None
    profile: str | None
    platforms: tuple[str, ...]
    status: str
    issues: tuple[str, ...]
    titulaire: bool | None
    contract_type: str | None
    contract_end: str | None
    departure: str | None
    modified: str | None


def account_from_keycloak(rep: dict[str, Any]) -> Account:
    """Read one Keycloak user as the portal shows him, with French issue details."""
    scim = user_from_keycloak(rep, french=True)
    ext = scim.get(ETUDE_USER) or {}
    name = scim.get("name") or {}
    display = (scim.get("displayName")
               or " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
               or scim["userName"])
    return Account(
        id=str(scim["id"]), user_name=str(scim["userName"]), display=str(display),
        etude=ext.get("etude"), profile=ext.get("profile"),
        platforms=tuple(ext.get("platforms") or ()), status=str(ext.get("accessStatus")),
        issues=tuple(str(i["detail"]) for i in ext.get("accessIssues") or []),
        titulaire=ext.get("titulaire"), contract_type=ext.get("contractType"),
        contract_end=ext.get("contractEndDate"), departure=ext.get("departureDate"),
        modified=(scim.get("meta") or {}).get("lastModified"))


@dataclass(frozen=True)
class ListingRequest:
    """What the titulaire asked the list for: a status, a sort, a page."""

    status: str | None = None
    sort: str = DEFAULT_SORT
    descending: bool = False
    page: int = 1

    @property
    def native(self) -> bool:
        """Tell whether Keycloak's own order answers (user names ascending)."""
        return self.sort == DEFAULT_SORT and not self.descending

    def query(self, **changes: Any) -> str:
        """Return the query string of this request with some fields changed."""
        req = replace(self, **changes)
        params: dict[str, str] = {}
        if req.status:
            params["statut"] = SLUG_OF[req.status]
        if req.sort != DEFAULT_SORT:
            params["tri"] = req.sort
        if req.descending:
            params["ordre"] = "desc"
        if req.page > 1:
            params["page"] = str(req.page)
        return "?" + urlencode(params) if params else "?"


def listing_request(args: Mapping[str, str]) -> ListingRequest:
    """Read the list's query parameters; anything unknown falls back to the default."""
    status = STATUS_SLUGS.get(args.get("statut", ""))
    sort = args.get("tri", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    return ListingRequest(status, sort, args.get("ordre") == "desc", page)


@dataclass(frozen=True)
class Window:
    """One page of a list: its number, how many there are, and the rows it covers."""

    page: int
    pages: int
    first: int
    size: int
    total: int

    @property
    def last(self) -> int:
        """Return the 1-based number of the last row shown (0 when empty)."""
        return min(self.first + self.size, self.total)


def window(total: int, page: int, size: int = PAGE_SIZE) -> Window:
    """Place a page within a total: a page past the end shows the last one."""
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    return Window(page, pages, (page - 1) * size, size, total)


def _key(account: Account, field: str) -> Any:
    if field == "status":
        return STATUS_ORDER.index(account.status) if account.status in STATUS_ORDER else 9
    value = getattr(account, field)
    return str(value).lower() if value is not None else None


def sort_accounts(accounts: list[Account], sort: str, descending: bool) -> list[Account]:
    """Sort rows by a column; rows without a value come last either way, then by user name."""
    field = SORTS.get(sort, SORTS[DEFAULT_SORT])
    present = [a for a in accounts if _key(a, field) is not None]
    absent = [a for a in accounts if _key(a, field) is None]
    present.sort(key=lambda a: a.user_name.lower())
    present.sort(key=lambda a: _key(a, field), reverse=descending)
    absent.sort(key=lambda a: a.user_name.lower())
    return present + absent
