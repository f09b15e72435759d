"""What Keycloak's user profile refuses at write time, checked before the first write.

Keycloak validates a user only when he is written (its default user profile: `length`,
`person-name-prohibited-characters`, `username-prohibited-characters`, `email`), and a request
refused part-way must change nothing: so the same rules run here first, on the values about to
be written. Pure functions; each returns the problems found as (attribute, reason EN, reason FR).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# keycloak-services: PersonNameProhibitedCharactersValidator, UsernameProhibitedCharactersValidator
PERSON_NAME_FORBIDDEN = re.compile(r'[<>&"\v$%!#?§;*~/\\|^=\[\]{}()\x00-\x1f\x7f]')
USERNAME_FORBIDDEN = re.compile(r"[<>&\"'\s$%!#?§,;:*~/\\|^=\[\]{}()`\x00-\x1f\x7f]")
# keycloak-server-spi-private: EmailValidationUtil (unquoted local parts, host names; Keycloak
# also takes quoted local parts and IP literals, which no étude mailbox uses: refused here).
_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+"
_LABEL = r"[a-z0-9!#$%&'*+/=?^`{|}~\u0080-\uffff](?:[a-z0-9!#$%&'*+/=?^`{|}~\u0080-\uffff-]*" \
         r"[a-z0-9!#$%&'*+/=?^`{|}~\u0080-\uffff])?"
EMAIL = re.compile(rf"^{_LOCAL}(?:\.{_LOCAL})*@{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
MAX_LENGTH = 255  # Keycloak's user-profile `length` validators and its USER_ENTITY columns
USERNAME_MIN = 3

Problem = tuple[str, str, str]


def person_name_problems(field: str, value: str | None) -> Iterator[Problem]:
    """Yield why Keycloak would refuse a first or last name (length, prohibited characters)."""
    if not value:
        return
    if len(value) > MAX_LENGTH:
        yield (field, f"at most {MAX_LENGTH} characters", f"{MAX_LENGTH} caractères au plus")
    bad = sorted(set(PERSON_NAME_FORBIDDEN.findall(value)))
    if bad:
        shown = " ".join(repr(c)[1:-1] for c in bad)
        yield (field, f"characters not allowed in a name: {shown}",
               f"caractères interdits dans un nom : {shown}")


def username_problems(value: str) -> Iterator[Problem]:
    """Yield why Keycloak would refuse a username (length, prohibited characters)."""
    if not USERNAME_MIN <= len(value) <= MAX_LENGTH:
        yield ("userName", f"{USERNAME_MIN} to {MAX_LENGTH} characters",
               f"de {USERNAME_MIN} à {MAX_LENGTH} caractères")
    bad = sorted(set(USERNAME_FORBIDDEN.findall(value)))
    if bad:
        shown = " ".join(repr(c)[1:-1] for c in bad if c != " ")
        en, fr = (f"{shown} space".strip(), f"{shown} espace".strip()) if " " in bad \
            else (shown, shown)
        yield ("userName", f"characters not allowed: {en}", f"caractères interdits : {fr}")


def email_problems(field: str, value: str | None) -> Iterator[Problem]:
    """Yield why Keycloak would refuse an e-mail address (syntax, length)."""
    if not value:
        return
    local = value.rsplit("@", 1)[0]
    if len(value) > MAX_LENGTH or len(local) > 64 or not EMAIL.match(value):
        yield (field, "not a valid e-mail address", "adresse e-mail invalide")


def user_problems(username: str, first: str | None, last: str | None,
                  emails: list[Any]) -> list[Problem]:
    """List every problem Keycloak's user profile would raise for these values."""
    out = [*username_problems(username), *person_name_problems("name.givenName", first),
           *person_name_problems("name.familyName", last)]
    for email in emails:
        value = email.get("value") if isinstance(email, dict) else None
        if isinstance(value, str):
            out += email_problems("emails.value", value)
    return out
