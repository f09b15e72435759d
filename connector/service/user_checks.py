"""Check a user write before anything is written: the rules (R1–R11), the étude a token may
write, what Keycloak's user profile would refuse, and R2's one address per V3 account."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

from connector.domain.errors import RuleViolation
from connector.domain.password import check_password
from connector.domain.rules import validate_submission
from connector.keycloak.etudes import Principal, canonical_code_problem
from connector.keycloak.locks import Locks
from connector.keycloak.profile_checks import user_problems
from connector.keycloak.translate import primary_email
from connector.keycloak.user_query import UserQuery
from connector.keycloak.users import UserStore
from connector.mappings import Mappings
from connector.scim.errors import InvalidValue, Uniqueness
from connector.scim.payload import strip_read_only
from connector.scim.schema_defs import ETUDE_USER
from connector.service.user_record import normalise, record_of, rule_error


class UserChecks:
    """Validate and normalise what a request would write, and guard R2's unique addresses."""

    def __init__(self, store: UserStore, mappings: Mappings, locks: Locks,
                 today: Callable[[], date]) -> None:
        self.store, self.mappings, self.locks, self.today = store, mappings, locks, today

    def prepare(self, payload: dict[str, Any], who: Principal,
                old: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
        """Validate and normalise a full resource; return it and the pushed password (R3)."""
        scim = strip_read_only(payload, "User")
        password = scim.pop("password", None)
        if password is not None:
            policy = self.mappings.password
            try:
                password = check_password(password, policy.min_length, policy.max_length,
                                          policy.alphabet)
            except RuleViolation as exc:
                raise rule_error(exc) from None
        if not isinstance(scim.get("userName"), str) or not scim["userName"].strip():
            raise InvalidValue("userName is required.", detail_fr="userName est obligatoire.")
        ext = scim.setdefault(ETUDE_USER, {})
        if ETUDE_USER not in scim["schemas"]:
            scim["schemas"].append(ETUDE_USER)
        ext["etude"] = self.etude_of(ext.get("etude"), who, old)
        try:
            scim = normalise(scim)
            new = record_of(scim)
            validate_submission(new, record_of(old) if old else None, self.today(),
                                list(self.mappings.profiles), list(self.mappings.platforms))
        except RuleViolation as exc:
            raise rule_error(exc) from None
        problems = user_problems(scim["userName"], (scim.get("name") or {}).get("givenName"),
                                 (scim.get("name") or {}).get("familyName"),
                                 scim.get("emails") or [])
        if problems:  # what Keycloak's user profile would refuse, refused before any write
            field, en, fr = problems[0]
            raise InvalidValue(f"{field}: {en}.", detail_fr=f"{field} : {fr}.")
        return scim, password

    def etude_of(self, given: Any, who: Principal, old: dict[str, Any] | None) -> str:
        """R11: the étude a write names — the token's, canonical, never another one."""
        if not who.is_admin:
            if given not in (None, who.etude):
                raise InvalidValue(f"This token acts for étude {who.etude}: a user of another "
                                   "étude cannot be written with it.",
                                   detail_fr=f"Ce jeton agit pour l'étude {who.etude} : il ne "
                                   "peut pas écrire un utilisateur d'une autre étude.")
            given = who.etude
        elif not given:
            raise InvalidValue("With an admin token the étude code is required "
                               f"({ETUDE_USER}:etude).",
                               detail_fr="Avec un jeton d'administration, le code de l'étude est "
                               f"obligatoire ({ETUDE_USER}:etude).")
        problem = canonical_code_problem(given)
        if problem is not None:
            raise InvalidValue(f"{ETUDE_USER}:etude: {problem[0]}",
                               detail_fr=f"{ETUDE_USER}:etude : {problem[1]}")
        old_etude = ((old or {}).get(ETUDE_USER) or {}).get("etude")
        if old_etude and given != old_etude:
            raise InvalidValue("A user cannot move to another étude.",
                               detail_fr="Un utilisateur ne peut pas changer d'étude.")
        return str(given)

    def claims(self, scim: dict[str, Any] | None) -> set[tuple[str, str]]:
        """R2: the (platform, address) pairs a record holds on platforms that want one account
        per address (the primary address, lower-cased)."""
        return strict_claims(scim, {k for k, p in self.mappings.platforms.items()
                                    if not p.shared_email})

    def email_lock(self, scim: dict[str, Any],
                   old: dict[str, Any] | None = None) -> AbstractContextManager[Any]:
        """Hold the address while it is checked and written, so two writers cannot both take
        it; only when the write claims it on a platform the stored record did not."""
        emails = {email for _, email in self.claims(scim) - self.claims(old)}
        if not emails:
            return nullcontext()
        return self.locks.hold("email:" + hashlib.sha256(emails.pop().encode()).hexdigest()[:40])

    def check_email_unique(self, scim: dict[str, Any], user_id: str | None,
                           old: dict[str, Any] | None = None) -> None:
        """R2: on a platform that forbids shared addresses, one account per address; checked
        where the write claims an address the stored record did not hold there, so that an
        address two accounts already share (made outside SCIM) never blocks, say, a departure."""
        for platform, email in sorted(self.claims(scim) - self.claims(old)):
            query = UserQuery(email=email).with_attribute("platforms", platform)
            if any(u["id"] != user_id for u in self.store.search(query, 0, 5)):
                label = self.mappings.platforms[platform].label
                raise Uniqueness(f"The e-mail address is already used by another {label} "
                                 f"account; {label} needs one address per account (R2).",
                                 detail_fr=f"L'adresse e-mail est déjà utilisée par un autre "
                                 f"compte {label} ; {label} exige une adresse par compte (R2).")


def strict_claims(scim: dict[str, Any] | None, strict: set[str]) -> set[tuple[str, str]]:
    """R2: (platform, lower-cased primary address) for each of the record's strict platforms."""
    email = primary_email(scim) if scim else None
    if not email:
        return set()
    platforms = (scim or {}).get(ETUDE_USER, {}).get("platforms") or []
    return {(p, email.lower()) for p in platforms if p in strict}
