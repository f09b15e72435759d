"""R1: names are stored without accents, as on the civil-status record."""

from __future__ import annotations

import unicodedata

from unidecode import unidecode

from connector.domain.errors import RuleViolation

# Control/format characters and line/paragraph separators: never part of a civil-status name.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def strip_accents(value: str, field: str) -> str:
    """Transliterate a name to accent-free ASCII per R1 (É→E, ç→c, œ→oe), or raise R1."""
    if not isinstance(value, str):
        raise RuleViolation("R1", field, f"{field} must be a string.",
                            f"{field} doit être une chaîne de caractères.")
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value):
        raise RuleViolation(
            "R1", field,
            f"{field} must not contain control or invisible characters.",
            f"{field} ne doit pas contenir de caractères de contrôle ou invisibles.",
        )
    ascii_value = " ".join(unidecode(value).split())
    if not any(ch.isascii() and ch.isalpha() for ch in ascii_value):
        raise RuleViolation(
            "R1", field,
            f"{field} must contain letters, written without accents as on the civil-status "
            "record.",
            f"{field} doit comporter des lettres, sans accents et tel qu'il figure dans les "
            "documents d'état civil.",
        )
    return ascii_value


def display_name(given: str | None, family: str | None) -> str | None:
    """Build the accent-free "Given Family" display name per R1; None when both are absent."""
    parts = [
        strip_accents(value, field)
        for value, field in ((given, "givenName"), (family, "familyName"))
        if value is not None and value.strip() != ""
    ]
    return " ".join(parts) or None
