"""Bearer tokens of études and administrators: issued, checked, expired, revoked (R11, R13).

A token `cnx.<étude>.<id>.<secret>` is stored as the SHA-256 of its secret, with its creation,
its expiry and whether it may write, in the attribute `connectorTokens` of the étude's group
(admin tokens: of the `/etudes` group). Every read-change-write of that group runs under the
write lock `etude:<code>` (`etude:*` for `/etudes`): a PUT replaces every attribute of a group,
so a token created while another is revoked would otherwise be lost, and the portal's
attestations live on the same group.

Checking a token reads its holder group, cached for `cache_seconds`: a flood of wrong secrets
for one étude costs one Keycloak read per interval, not one each. A token id the cached holder
does not know (issued, or revoked, since it was cached) has the holder read again, at most once
per étude every `reread_seconds`: a new token works at once on every worker, and a flood of
made-up ids costs at most one read per étude per `reread_seconds`. Groups that do not exist are
remembered apart, in a bounded table, so a flood of made-up études cannot push the real ones
out of the cache.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.keycloak.gateway import Gateway
from connector.keycloak.layout import ETUDES_ROOT
from connector.scim.errors import Unauthorized

log = logging.getLogger(__name__)

TOKEN_ATTR = "connectorTokens"  # "<id>:<sha256>:<created>:<expires or ->:<rw|ro>"
USE_ATTR = "connectorTokenUse"  # "<id>:<last use>"
ADMIN_SCOPE = "admin"
PREFIX = "cnx"
# The étude part of a token only has to be safe in a group path; Keycloak says if it exists.
SCOPE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COMPACT = "%Y%m%dT%H%M%SZ"  # ISO 8601 basic format: no ':' inside a ':'-separated value
LEGACY = "%Y-%m-%dT%H:%M:%SZ"
USE_EVERY = timedelta(hours=1)
ABSENT_MAX = 10_000
ACCESS = {"rw": False, "ro": True}


def hash_secret(secret: str) -> str:
    """Hash a high-entropy token secret (SHA-256 suffices: it is never guessable)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str, str] | None:
    """Split `cnx.<scope>.<id>.<secret>` into scope, id and secret."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts[1:]):
        return None
    return parts[1], parts[2], parts[3]


def lock_key(scope: str) -> str:
    """Name the write lock of a token holder group: `etude:<code>`, `etude:*` for /etudes."""
    return "etude:*" if scope == ADMIN_SCOPE else f"etude:{scope}"


def _stamp(moment: datetime) -> str:
    return moment.strftime(COMPACT)


def _moment(text: str | None) -> datetime | None:
    for fmt in (COMPACT, LEGACY):
        try:
            return datetime.strptime(text or "", fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class TokenRecord:
    """One stored token: never the secret, only its hash."""

    token_id: str
    digest: str
    created: datetime | None
    expires: datetime | None
    read_only: bool = False

    def value(self) -> str:
        """Serialise as one attribute value."""
        created = _stamp(self.created) if self.created else "-"
        expires = _stamp(self.expires) if self.expires else "-"
        return (f"{self.token_id}:{self.digest}:{created}:{expires}:"
                f"{'ro' if self.read_only else 'rw'}")

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


@functools.lru_cache(maxsize=4096)  # a request reads its étude's records: parse them once
def parse_record(value: str) -> TokenRecord | None:
    """Read one stored token, in today's form or the earlier `<id>:<hash>:<created ISO>`."""
    parts = value.split(":")
    if len(parts) == 5 and parts[4] in ACCESS:
        return TokenRecord(parts[0], parts[1], _moment(parts[2]), _moment(parts[3]),
                           ACCESS[parts[4]])
    legacy = value.split(":", 2)
    if len(legacy) == 3:  # issued before tokens expired: never expires, may write
        return TokenRecord(legacy[0], legacy[1], _moment(legacy[2]), None)
    return None


def records(holder: dict[str, Any]) -> list[TokenRecord]:
    """Return the tokens stored on a holder group."""
    values = (holder.get("attributes") or {}).get(TOKEN_ATTR) or []
    return [r for r in map(parse_record, values) if r is not None]


def last_uses(holder: dict[str, Any]) -> dict[str, datetime]:
    """Return the recorded last use of each token of a holder group."""
    out: dict[str, datetime] = {}
    for value in (holder.get("attributes") or {}).get(USE_ATTR) or []:
        token_id, _, stamp = value.partition(":")
        moment = _moment(stamp)
        if moment is not None:
            out[token_id] = moment
    return out


@dataclass(frozen=True)
class Grant:
    """What a valid token lets its bearer be: an étude (None: admin), perhaps read-only."""

    token_id: str
    etude: str | None
    read_only: bool


class Tokens:
    """Issue, check, list and revoke tokens; every holder write under its étude's lock."""

    def __init__(self, gw: Gateway, hold: Callable[[str], AbstractContextManager[Any]],
                 cache_seconds: int = 10,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 valid_scope: Callable[[str], bool] = lambda scope: True,
                 reread_seconds: float = 1.0) -> None:
        self.gw = gw
        self.reread_seconds = reread_seconds
        self.valid_scope = valid_scope
        self.hold = hold
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.observer: Callable[[str, str], None] | None = None
        self._lock = threading.Lock()
        self._present: dict[str, tuple[float, dict[str, Any]]] = {}
        self._absent: OrderedDict[str, float] = OrderedDict()
        self._used: dict[str, datetime] = {}
        self._reread: dict[str, float] = {}

    # -- holder groups ---------------------------------------------------------------------
    def read(self, scope: str) -> dict[str, Any] | None:
        """Read a holder group from Keycloak (the étude's, or /etudes for admin tokens)."""
        path = ETUDES_ROOT if scope == ADMIN_SCOPE else f"{ETUDES_ROOT}/{scope}"
        return self.gw.group_by_path(path)

    def cached(self, scope: str, max_age: float | None = None) -> tuple[dict[str, Any] | None,
                                                                        str]:
        """Return a holder group and whether it came from the cache (`hit`) or not (`miss`)."""
        now = time.monotonic()
        age = self.cache_seconds if max_age is None else min(max_age, self.cache_seconds)
        with self._lock:
            present = self._present.get(scope)
            if present and now - present[0] < age:
                return present[1], "hit"
            absent = self._absent.get(scope)
            if absent is not None and now - absent < self.cache_seconds:
                return None, "hit"
        holder = self.read(scope)
        with self._lock:
            if holder is not None:  # bounded by the registered études
                self._present[scope] = (now, holder)
                self._absent.pop(scope, None)
            else:
                self._absent[scope] = now
                self._absent.move_to_end(scope)
                while len(self._absent) > ABSENT_MAX:
                    self._absent.popitem(last=False)
        return holder, "miss"

    def forget(self, scope: str) -> None:
        """Drop a holder from the cache after this process changed it."""
        with self._lock:
            self._present.pop(scope, None)

    def update(self, scope: str, change: Callable[[dict[str, list[str]]], bool]) -> bool:
        """Read-change-write a holder's attributes under its étude's lock; False if unchanged."""
        with self.hold(lock_key(scope)):
            holder = self.read(scope)
            if holder is None:
                raise LookupError(f"étude {scope} is not registered: `connector etude add` first"
                                  if scope != ADMIN_SCOPE else "run `connector bootstrap` first")
            attrs: dict[str, list[str]] = dict(holder.get("attributes") or {})
            if not change(attrs):
                return False
            self.gw.request("PUT", self.gw.path("/groups/{g}", g=str(holder["id"])),
                            body={"name": holder["name"], "attributes": attrs})
        self.forget(scope)
        return True

    # -- operator commands -----------------------------------------------------------------
    def create(self, etude: str | None, expires_in_days: int = 365,
               read_only: bool = False) -> tuple[str, str]:
        """Issue a token (admin when etude is None); return (token id, bearer token)."""
        scope = etude or ADMIN_SCOPE
        if not SCOPE_RE.match(scope):
            raise LookupError(f"étude {etude} is not registered")
        now = self.clock().replace(microsecond=0)
        expires = now + timedelta(days=expires_in_days) if expires_in_days > 0 else None
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        record = TokenRecord(token_id, hash_secret(secret), now, expires, read_only)

        def add(attrs: dict[str, list[str]]) -> bool:
            attrs[TOKEN_ATTR] = [*attrs.get(TOKEN_ATTR, []), record.value()]
            return True

        self.update(scope, add)
        return token_id, f"{PREFIX}.{scope}.{token_id}.{secret}"

    def revoke(self, token_or_id: str, etude: str | None = None) -> bool:
        """End a token, given the token itself or its id (with its étude, or admin)."""
        parsed = parse_token(token_or_id)
        scope, token_id = ((parsed[0], parsed[1]) if parsed
                           else (etude or ADMIN_SCOPE, token_or_id))
        if not SCOPE_RE.match(scope):
            return False

        def drop(attrs: dict[str, list[str]]) -> bool:
            stored = attrs.get(TOKEN_ATTR, [])
            kept = [v for v in stored if v.split(":", 1)[0] != token_id]
            attrs[TOKEN_ATTR] = kept
            attrs[USE_ATTR] = [v for v in attrs.get(USE_ATTR, [])
                               if v.split(":", 1)[0] != token_id]
            return len(kept) != len(stored)

        try:
            return self.update(scope, drop)
        except LookupError:
            return False

    def list(self, etude: str | None) -> list[dict[str, Any]]:
        """Describe an étude's tokens (or the admin ones): never a secret nor a hash."""
        holder = self.read(etude or ADMIN_SCOPE) or {}
        used = last_uses(holder)
        return [{"id": r.token_id, "created": r.created, "expires": r.expires,
                 "readOnly": r.read_only, "lastUsed": used.get(r.token_id)}
                for r in records(holder)]

    # -- requests --------------------------------------------------------------------------
    def authenticate(self, token: str) -> Grant | None:
        """Check a bearer token; None when unknown or revoked, 401 saying so when expired."""
        parsed = parse_token(token)
        if parsed is None or not SCOPE_RE.match(parsed[0]) or not self.valid_scope(parsed[0]):
            self._observe("none", "refused")
            return None
        scope, token_id, secret = parsed
        holder, cache = self.cached(scope)
        if (cache == "hit" and holder is not None and self._may_reread(scope)
                and not any(r.token_id == token_id for r in records(holder))):
            holder, cache = self.cached(scope, max_age=0)  # issued since it was cached?
        digest = hash_secret(secret)
        record = next((r for r in records(holder or {})
                       if r.token_id == token_id and hmac.compare_digest(r.digest, digest)),
                      None)
        if holder is None or record is None:
            self._observe(cache, "refused")
            return None
        now = self.clock()
        if record.expired(now):
            self._observe(cache, "expired")
            day = record.expires.date().isoformat() if record.expires else ""
            raise Unauthorized(
                f"This token expired on {day}; ask the connector's administrators for a new one.",
                detail_fr=f"Ce jeton a expiré le {day} ; demandez-en un nouveau aux "
                "administrateurs du connecteur.")
        self._note_use(scope, holder, token_id, now)
        self._observe(cache, "accepted")
        return Grant(token_id, None if scope == ADMIN_SCOPE else scope, record.read_only)

    def _may_reread(self, scope: str) -> bool:
        """Allow one read of a holder for an unknown token id per `reread_seconds`."""
        now = time.monotonic()
        with self._lock:
            if now - self._reread.get(scope, -self.reread_seconds) < self.reread_seconds:
                return False
            self._reread[scope] = now
            return True

    def _observe(self, cache: str, result: str) -> None:
        if self.observer is not None:
            self.observer(cache, result)

    def _note_use(self, scope: str, holder: dict[str, Any], token_id: str,
                  now: datetime) -> None:
        """Record a token's last use at most once an hour, so that checks stay reads."""
        with self._lock:
            last = self._used.get(token_id) or last_uses(holder).get(token_id)
            if last is not None and now - last < USE_EVERY:
                self._used[token_id] = last
                return
            self._used[token_id] = now  # one thread of this process writes, the others go on

        def touch(attrs: dict[str, list[str]]) -> bool:
            if not any(r.token_id == token_id for r in records({"attributes": attrs})):
                return False  # revoked meanwhile: leave no trace of it
            attrs[USE_ATTR] = [*(v for v in attrs.get(USE_ATTR, [])
                                 if v.split(":", 1)[0] != token_id), f"{token_id}:{_stamp(now)}"]
            return True

        try:
            self.update(scope, touch)
        except Exception as exc:  # noqa: BLE001 - a missed last-use stamp must not fail a call
            log.warning("could not record the last use of token %s: %s", token_id, exc)


def token_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Render `token list`: a header, then one tab-separated line per token."""
    def day(moment: datetime | None, none: str) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else none

    out = ["id\tcreated\texpires\taccess\tlast used"]
    for row in rows:
        out.append("\t".join([row["id"], day(row["created"], "-"), day(row["expires"], "never"),
                              "read-only" if row["readOnly"] else "read-write",
                              day(row["lastUsed"], "never")]))
    return out
