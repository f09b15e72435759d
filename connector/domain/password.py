"""R3: a password is 4 to 10 ASCII letters and digits (mappings/password.yaml)."""

from __future__ import annotations

import re
from functools import lru_cache

from connector.domain.errors import RuleViolation

DEFAULT_ALPHABET = "A-Za-z0-9"


@lru_cache(maxsize=8)
def _pattern(alphabet: str) -> re.Pattern[str]:
    """Compile the character class of mappings/password.yaml, ASCII only (no \\w surprises)."""
    return re.compile(f"[{alphabet}]+", re.ASCII)


def _shown(alphabet: str) -> str:
    """Spell the alphabet for people: `A-Za-z0-9` → `A-Z, a-z, 0-9`."""
    return ", ".join(re.findall(r".-.|.", alphabet))


def check_password(value: object, min_len: int = 4, max_len: int = 10,
                   alphabet: str = DEFAULT_ALPHABET) -> str:
    """Check the password against R3: its length and alphabet; never echo it."""
    if (isinstance(value, str) and min_len <= len(value) <= max_len
            and _pattern(alphabet).fullmatch(value)):
        return value
    kind_en, kind_fr = (("letters and digits only", "lettres et chiffres uniquement")
                        if alphabet == DEFAULT_ALPHABET else ("only", "uniquement"))
    raise RuleViolation(
        "R3", "password",
        f"The password must be {min_len} to {max_len} characters, {kind_en} "
        f"({_shown(alphabet)}).",
        f"Le mot de passe doit comporter de {min_len} à {max_len} caractères, {kind_fr} "
        f"({_shown(alphabet)}).",
    )
