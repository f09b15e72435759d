"""Études as groups /etudes/<code>, and the hashes of their bearer tokens (R11, R13)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from connector.keycloak.gateway import Gateway, collect
from connector.keycloak.layout import ETUDES_ROOT
from connector.keycloak.locks import Locks
from connector.keycloak.tokens import (  # noqa: F401 - their home before tokens.py
    ADMIN_SCOPE,
    PREFIX,
    TOKEN_ATTR,
    Tokens,
    hash_secret,
    parse_token,
)

# An étude code is written one way only (upper case), so that no case variant of a code can
# name another étude (Keycloak's attribute queries ignore case; group paths do not).
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
RESERVED_CODES = frozenset({"ADMIN", "ETUDES", "CONNECTOR", "ROOT", "SYSTEM"})
ATTEST_ATTR = "portalAttestations"  # JSON values, newest first (see Attestation)
ATTEST_KEEP = 24  # the history kept on the group: years of half-yearly reviews
STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Principal:
    """Who calls: an étude (sees only its people) or an administrator (sees all).

    `actor` names the person behind the call when there is one (the titulaire signed in to
    « Mon étude »), so that the audit line says who changed what (R10).
    """

    token_id: str
    etude: str | None
    actor: str | None = None
    read_only: bool = False

    @property
    def is_admin(self) -> bool:
        return self.etude is None

    def sees(self, etude: str | None) -> bool:
        """Tell whether a record of this étude is the caller's to see (exact: codes have one
        spelling, whatever Keycloak's case-insensitive queries matched)."""
        return self.is_admin or (etude is not None and etude == self.etude)

    def label(self) -> str:
        """Name the caller in audit lines without revealing the token (R10)."""
        base = f"admin:{self.token_id}" if self.is_admin else f"etude:{self.etude}:{self.token_id}"
        return f"{base}:{self.actor}" if self.actor else base


@dataclass(frozen=True)
class Attestation:
    """One review of an étude's accounts by its titulaire: who, when, how many (R10, R11)."""

    at: datetime
    by: str
    name: str
    accounts: int

    def to_value(self) -> str:
        """Serialise as one group attribute value."""
        return json.dumps({"at": self.at.strftime(STAMP), "by": self.by, "name": self.name,
                           "accounts": self.accounts}, ensure_ascii=False, sort_keys=True)


def parse_attestation(value: str) -> Attestation | None:
    """Read one stored attestation; None for a value that is not one (hand-edited)."""
    try:
        data = json.loads(value)
        at = datetime.strptime(str(data["at"]), STAMP).replace(tzinfo=UTC)
        return Attestation(at, str(data["by"]), str(data.get("name") or data["by"]),
                           int(data["accounts"]))
    except (ValueError, KeyError, TypeError):
        return None


def attestations_of(group: dict[str, Any]) -> list[Attestation]:
    """Return an étude group's attestations, newest first."""
    values = (group.get("attributes") or {}).get(ATTEST_ATTR) or []
    found = [a for a in map(parse_attestation, values) if a is not None]
    return sorted(found, key=lambda a: a.at, reverse=True)


def attestation_due(last: Attestation | None, today: date, period_days: int) -> bool:
    """Tell whether an étude must attest again: never did, or more than period_days ago."""
    return last is None or (today - last.at.date()).days > period_days


def attested_before(groups: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    """Return the étude groups whose last attestation is before a day, or that never attested."""
    out = []
    for group in groups:
        history = attestations_of(group)
        if not history or history[0].at.date() < day:
            out.append(group)
    return out


def canonical_code_problem(code: object) -> tuple[str, str] | None:
    """Say why a value is not a canonical étude code (R11), in English and French; None if it is."""
    if not isinstance(code, str) or not CODE_RE.match(code):
        shown = str(code)[:40]
        return (f"'{shown}' is not an étude code: 1 to 32 capital letters, digits, '-' or '_' "
                "(e.g. 75001 or SECA).",
                f"« {shown} » n'est pas un code d'étude : 1 à 32 lettres majuscules, chiffres, "
                "« - » ou « _ » (par ex. 75001 ou SECA).")
    if code in RESERVED_CODES:
        return (f"'{code}' is a reserved word, not an étude code.",
                f"« {code} » est un mot réservé, pas un code d'étude.")
    return None


class EtudeDirectory:
    """Register études and issue, check and revoke their tokens, all stored in Keycloak."""

    def __init__(self, gw: Gateway, cache_seconds: int = 10, locks: Locks | None = None) -> None:
        self.gw = gw
        self.cache_seconds = cache_seconds
        self._ids: dict[str, str] = {}
        self.tokens = Tokens(gw, (locks or Locks(gw)).hold, cache_seconds, valid_scope=lambda s:
                             s == ADMIN_SCOPE or canonical_code_problem(s) is None)

    # -- groups -----------------------------------------------------------------------------
    def group(self, code: str | None = None) -> dict[str, Any] | None:
        """Return the group of an étude (or the /etudes root), or None if not registered."""
        return self.gw.group_by_path(f"{ETUDES_ROOT}/{code}" if code else ETUDES_ROOT)

    def group_id(self, code: str) -> str | None:
        """Return the Keycloak id of an étude's group, cached (ids never change)."""
        if canonical_code_problem(code) is not None:
            return None
        if code not in self._ids:
            group = self.group(code)
            if group is None:
                return None
            self._ids[code] = str(group["id"])
        return self._ids[code]

    def add(self, code: str, name: str) -> tuple[bool, dict[str, Any]]:
        """Register an étude (R11); return (created, group). Idempotent on the same code."""
        problem = canonical_code_problem(code)
        if problem is not None:
            raise ValueError(problem[0])
        existing = self.group(code)
        if existing is not None:
            return False, existing
        root = self.group()
        if root is None:
            raise LookupError("the realm has no /etudes group: run `connector bootstrap` first")
        similar = [str(g["name"]) for g in self.gw.get(
            self.gw.path("/groups/{g}/children", g=root["id"]), search=code, first=0, max=100,
            briefRepresentation="true") if str(g["name"]).lower() == code.lower()]
        if similar:
            raise ValueError(f"étude {similar[0]} is already registered; a code differing only "
                             "by case cannot be registered beside it")
        attrs = {"etudeName": [name], "registeredOn": [datetime.now(UTC).date().isoformat()]}
        self.gw.request("POST", self.gw.path("/groups/{g}/children", g=root["id"]),
                        body={"name": code, "attributes": attrs})
        created = self.group(code)
        assert created is not None
        return True, created

    def registered(self) -> list[dict[str, Any]]:
        """Return the registered études (code, name), paging past Keycloak's defaults."""
        root = self.group()
        if root is None:
            return []
        return collect(lambda first, size: list(self.gw.get(
            self.gw.path("/groups/{g}/children", g=root["id"]), first=first, max=size,
            briefRepresentation="false")), 500)

    # -- attestations (« Mon étude ») ------------------------------------------------------
    def attest(self, code: str, by: str, name: str, accounts: int, locks: Locks,
               now: datetime | None = None) -> Attestation:
        """Record that the titulaire reviewed the étude's accounts (R10, R11).

        The étude group also holds the token hashes and a PUT replaces every attribute, so the
        read-change-write runs under the étude's write lock, on a fresh read.
        """
        made = Attestation((now or datetime.now(UTC)).replace(microsecond=0), by, name, accounts)
        with locks.hold(f"etude:{code}"):
            group = self.group(code)
            if group is None:
                raise LookupError(f"étude {code} is not registered")
            attrs = group.get("attributes") or {}
            history = [made, *attestations_of(group)][:ATTEST_KEEP]
            attrs[ATTEST_ATTR] = [a.to_value() for a in history]
            self._put_attributes(group, attrs)
        return made

    def last_attestation(self, code: str) -> Attestation | None:
        """Return the étude's latest attestation, or None if it never attested."""
        history = attestations_of(self.group(code) or {})
        return history[0] if history else None

    # -- tokens (connector/keycloak/tokens.py) ----------------------------------------------
    def create_token(self, etude: str | None, expires_in_days: int = 365,
                     read_only: bool = False) -> tuple[str, str]:
        """Issue a token for an étude (or admin when None); return (token id, bearer token)."""
        return self.tokens.create(etude, expires_in_days, read_only)

    def revoke_token(self, token_or_id: str, etude: str | None = None) -> bool:
        """End a token, given the token itself or its id (with its étude, or admin)."""
        return self.tokens.revoke(token_or_id, etude)

    def list_tokens(self, etude: str | None) -> list[dict[str, Any]]:
        """Describe an étude's tokens, or the admin ones: dates and rights, never secrets."""
        return self.tokens.list(etude)

    def _put_attributes(self, group: dict[str, Any], attrs: dict[str, list[str]]) -> None:
        rep = {"name": group["name"], "attributes": attrs}
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=group["id"]), body=rep)

    def authenticate(self, token: str) -> Principal | None:
        """Check a bearer token against the stored hashes (cached briefly per process)."""
        grant = self.tokens.authenticate(token)
        return None if grant is None else Principal(grant.token_id, grant.etude,
                                                    read_only=grant.read_only)
