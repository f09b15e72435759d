"""R3: a password is 4 to 10 ASCII letters and digits."""

from __future__ import annotations

from connector.domain.errors import RuleViolation

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def check_password(value: object, min_len: int = 4, max_len: int = 10) -> str:
    """Check the password against R3: 4–10 ASCII letters and digits; never echo it."""
    if (isinstance(value, str) and min_len <= len(value) <= max_len
            and all(ch in _ALNUM for ch in value)):
        return value
    raise RuleViolation(
        "R3", "password",
        f"The password must be {min_len} to {max_len} characters, letters and digits only "
        "(A-Z, a-z, 0-9).",
        f"Le mot de passe doit comporter de {min_len} à {max_len} caractères, lettres et "
        "chiffres uniquement (A-Z, a-z, 0-9).",
    )
