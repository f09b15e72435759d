"""Type one simple value as its RFC 7643 §2.3 definition says: payloads and PATCH alike."""

from __future__ import annotations

from typing import Any

_TRUTHY = {"true": True, "false": False}
TEXT_KINDS = ("string", "reference", "dateTime", "binary")
EXPECTED = {"boolean": ("a boolean", "un booléen"), "integer": ("an integer", "un entier"),
            "decimal": ("a number", "un nombre"), **{k: ("a string", "une chaîne")
                                                    for k in TEXT_KINDS}}


class WrongType(ValueError):
    """A value is not of its attribute's type; says what was expected, in EN and FR."""

    def __init__(self, kind: str) -> None:
        self.expected, self.expected_fr = EXPECTED.get(kind, ("a value", "une valeur"))
        super().__init__(self.expected)


def scalar(kind: str, value: object) -> Any:
    """Return a simple value of the given type, or raise WrongType (None stays None).

    Booleans also come as the strings "True"/"False" in any case (Entra ID sends them so).
    """
    if value is None:
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUTHY:
            return _TRUTHY[value.strip().lower()]
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif isinstance(value, str):
        return value
    raise WrongType(kind)
