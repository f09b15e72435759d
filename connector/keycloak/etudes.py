"""Études as groups /etudes/<code>, and the hashes of their bearer tokens (R11, R13)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from connector.keycloak.gateway import Gateway, collect
from connector.keycloak.layout import ETUDES_ROOT

if TYPE_CHECKING:
    from connector.keycloak.locks import Locks

# An étude code is written one way only (upper case), so that no case variant of a code can
# name another étude (Keycloak's attribute queries ignore case; group paths do not).
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
RESERVED_CODES = frozenset({"ADMIN", "ETUDES", "CONNECTOR", "ROOT", "SYSTEM"})
TOKEN_ATTR = "connectorTokens"  # values "<id>:<sha256 hex>:<created ISO>"
ADMIN_SCOPE = "admin"
PREFIX = "cnx"
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


def hash_secret(secret: str) -> str:
    """Hash a high-entropy token secret (SHA-256 suffices: it is never guessable)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str, str] | None:
    """Split `cnx.<scope>.<id>.<secret>` into scope, id and secret."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3]


class EtudeDirectory:
    """Register études and issue, check and revoke their tokens, all stored in Keycloak."""

    def __init__(self, gw: Gateway, cache_seconds: int = 10) -> None:
        self.gw = gw
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}

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

    # -- tokens -----------------------------------------------------------------------------
    def _holder(self, scope: str) -> dict[str, Any] | None:
        return self.group() if scope == ADMIN_SCOPE else self.group(scope)

    def create_token(self, etude: str | None) -> tuple[str, str]:
        """Issue a token for an étude (or admin when None); return (token id, bearer token)."""
        scope = etude or ADMIN_SCOPE
        holder = self._holder(scope)
        if holder is None:
            raise LookupError(f"étude {etude} is not registered: `connector etude add` first"
                              if etude else "run `connector bootstrap` first")
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        attrs = holder.get("attributes") or {}
        attrs.setdefault(TOKEN_ATTR, []).append(f"{token_id}:{hash_secret(secret)}:{stamp}")
        self._put_attributes(holder, attrs)
        return token_id, f"{PREFIX}.{scope}.{token_id}.{secret}"

    def revoke_token(self, token_or_id: str, etude: str | None = None) -> bool:
        """End a token, given the token itself or its id (with its étude, or admin)."""
        parsed = parse_token(token_or_id)
        scope, token_id = (parsed[0], parsed[1]) if parsed else (etude or ADMIN_SCOPE,
                                                                 token_or_id)
        holder = self._holder(scope)
        if holder is None:
            return False
        attrs = holder.get("attributes") or {}
        kept = [v for v in attrs.get(TOKEN_ATTR, []) if v.split(":", 1)[0] != token_id]
        if len(kept) == len(attrs.get(TOKEN_ATTR, [])):
            return False
        attrs[TOKEN_ATTR] = kept
        self._put_attributes(holder, attrs)
        with self._lock:
            self._cache.clear()
        return True

    def list_tokens(self, etude: str | None) -> list[tuple[str, str]]:
        """Return (token id, created) of an étude's tokens, or the admin ones."""
        holder = self._holder(etude or ADMIN_SCOPE) or {}
        values = (holder.get("attributes") or {}).get(TOKEN_ATTR, [])
        return [(v.split(":")[0], v.split(":", 2)[2]) for v in values]

    def _put_attributes(self, group: dict[str, Any], attrs: dict[str, list[str]]) -> None:
        rep = {"name": group["name"], "attributes": attrs}
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=group["id"]), body=rep)

    def authenticate(self, token: str) -> Principal | None:
        """Check a bearer token against the stored hashes (cached briefly per process)."""
        now = time.monotonic()
        key = hash_secret(token)
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self.cache_seconds:
                return hit[1]
        principal = self._check(token)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now, principal)
        return principal

    def _check(self, token: str) -> Principal | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        scope, token_id, secret = parsed
        if scope != ADMIN_SCOPE and canonical_code_problem(scope) is not None:
            return None
        holder = self._holder(scope)
        if holder is None:  # R11: a token for an unknown étude is refused
            return None
        digest = hash_secret(secret)
        for value in (holder.get("attributes") or {}).get(TOKEN_ATTR, []):
            tid, stored = value.split(":")[:2]
            if tid == token_id and hmac.compare_digest(stored, digest):
                return Principal(token_id, None if scope == ADMIN_SCOPE else scope)
        return None
