"""Every size limit of the SCIM surface in one place, and the checks that apply them.

A client's mistake, however large or strange, is answered with a clear 400 (or 413 for size),
never a 500: bodies are bounded before they are read, JSON nesting and string contents are
checked before anything walks them, filters are bounded before they are parsed. The README's
"Limits" table lists these values; `/ServiceProviderConfig` declares the ones RFC 7643 §5 has
a place for (filter.maxResults, bulk.maxOperations, bulk.maxPayloadSize).
"""

from __future__ import annotations

import re
from typing import Any

from connector.scim.errors import InvalidFilter, InvalidSyntax, InvalidValue

MAX_JSON_DEPTH = 32  # a SCIM resource in a PATCH in a Bulk request is about 8 deep
MAX_STRING = 4096  # characters in one JSON string (names and e-mails are held to 255)
MAX_ITEMS = 10000  # entries in one JSON array or object (a big team's members)
MAX_FILTER_LENGTH = 4096  # characters in a filter or a PATCH path
MAX_FILTER_TERMS = 100  # comparisons in one filter
MAX_FILTER_NESTING = 16  # nested parentheses, `not` and value paths
MAX_NUMBER_DIGITS = 30  # digits of a number in a filter
MAX_INDEX = 2**31 - 1  # startIndex and count (RFC 7644 §3.4.2.4: integers)

# NUL, and the surrogate halves a JSON `\uXXXX` escape can smuggle in, have no UTF-8 form:
# Keycloak (and PostgreSQL) cannot store them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """Tell whether a string holds a character no UTF-8 store can keep (NUL, lone surrogate)."""
    return _UNSTORABLE.search(text) is not None


def check_json(value: Any) -> None:
    """Raise 400 for JSON nested too deep, too large a collection, or an unstorable string."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidSyntax(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} "
                                    "levels.",
                                    detail_fr=f"Le corps JSON est imbriqué sur plus de "
                                    f"{MAX_JSON_DEPTH} niveaux.")
            if len(item) > MAX_ITEMS:
                raise InvalidValue(f"A JSON array or object holds more than {MAX_ITEMS} entries.",
                                   detail_fr=f"Un tableau ou objet JSON contient plus de "
                                   f"{MAX_ITEMS} entrées.")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_string(str(key), where)
                    stack.append((child, depth + 1, str(key)))
            else:
                stack.extend((child, depth + 1, where) for child in item)


def _check_string(text: str, where: str) -> None:
    named, named_fr = (f"The value of '{where[:60]}'", f"La valeur de « {where[:60]} »") \
        if where else ("A value", "Une valeur")
    if len(text) > MAX_STRING:
        raise InvalidValue(f"{named} is longer than {MAX_STRING} characters.",
                           detail_fr=f"{named_fr} dépasse {MAX_STRING} caractères.")
    if unstorable(text):
        raise InvalidValue(f"{named} contains a NUL character or an unpaired surrogate "
                           "(\\u0000, \\ud800–\\udfff), which cannot be stored.",
                           detail_fr=f"{named_fr} contient un caractère NUL ou une moitié de "
                           "paire de substitution (\\u0000, \\ud800–\\udfff), impossible à "
                           "enregistrer.")


def check_filter_text(text: str) -> None:
    """Raise 400 invalidFilter for a filter or path too long to be a real one, or unstorable."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.",
                            detail_fr=f"Le filtre dépasse {MAX_FILTER_LENGTH} caractères.")
    if unstorable(text):
        raise InvalidFilter("The filter contains a NUL character or an unpaired surrogate.",
                            detail_fr="Le filtre contient un caractère NUL ou une moitié de "
                            "paire de substitution.")


def too_complex(what: str, what_fr: str) -> InvalidFilter:
    """Build the 400 of a filter over one of the structural limits."""
    return InvalidFilter(f"The filter is too complex: {what}.",
                         detail_fr=f"Le filtre est trop complexe : {what_fr}.")
