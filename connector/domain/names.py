"""R1: names are stored without accents, as on the civil-status record."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

from connector.domain.errors import RuleViolation

_WORD = re.compile(r"[^\W\d_]+")

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
    ascii_value = " ".join(transliterate(value).split())
    if not any(ch.isascii() and ch.isalpha() for ch in ascii_value):
        raise RuleViolation(
            "R1", field,
            f"{field} must contain letters, written without accents as on the civil-status "
            "record.",
            f"{field} doit comporter des lettres, sans accents et tel qu'il figure dans les "
            "documents d'état civil.",
        )
    return ascii_value


def transliterate(value: str) -> str:
    """Write a text in ASCII (anyascii, ISC), ligatures following their word's case (R1).

    `Œuvré` → `Oeuvre`, `ŒUVRÉ` → `OEUVRE`, `Lætitia` → `Laetitia`, `STRAUß` → `STRAUSS`.
    """
    text = unicodedata.normalize("NFC", value)
    out, last = [], 0
    for word in _WORD.finditer(text):
        out.append(_between(text[last:word.start()]))
        out.extend(_letter(c, word.group()) for c in word.group())
        last = word.end()
    out.append(_between(text[last:]))
    return "".join(out)


def _between(text: str) -> str:
    """Transliterate what separates words; pictographs (emoji, ©) are no part of a name.

    ASCII symbols stay as they are, so that `$` or `<` is refused (R1) rather than hidden.
    """
    return anyascii("".join(c for c in text if c.isascii()
                            or not unicodedata.category(c).startswith("S")))


def _letter(char: str, word: str) -> str:
    """Transliterate one letter; a ligature takes the case of the word around it."""
    out = anyascii(char)
    if len(out) < 2 or not out.isalpha():
        return out
    others = [c for c in word if c != char and c.lower() != c.upper()]
    if others and all(c.isupper() for c in others):
        return out.upper()
    return out[0].upper() + out[1:].lower() if char.isupper() else out.lower()


def display_name(given: str | None, family: str | None) -> str | None:
    """Build the accent-free "Given Family" display name per R1; None when both are absent."""
    parts = [
        strip_accents(value, field)
        for value, field in ((given, "givenName"), (family, "familyName"))
        if value is not None and value.strip() != ""
    ]
    return " ".join(parts) or None
