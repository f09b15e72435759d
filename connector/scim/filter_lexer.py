"""Tokenise SCIM filters (RFC 7644 §3.4.2.2) with scim2-filter-parser's lexer, fixed.

The library lexes names, URNs, operators and brackets; it lexes neither JSON strings nor JSON
numbers correctly (its NUMBER token is a single digit, so `12`, `-1` and `1.5` fail; its string
token stops at the first quote, so `"a\\"b"` fails): those are scanned here. Each fix is pinned
by a unit test on the bare library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scim2_filter_parser.lexer import SCIMLexer

from connector.scim.errors import InvalidFilter
from connector.scim.filter_ast import COMPARE_OPS
from connector.scim.limits import MAX_NUMBER_DIGITS, too_complex

WORD_TOKENS = {"ATTRNAME", "NUMBER", "FALSE", "TRUE", "NULL", "AND", "OR", "NOT",
               "PR", *(op.upper() for op in COMPARE_OPS)}
_NUMBER = re.compile(r"(?<![\w$.:-])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w$.:-])")


def error(detail: str, detail_fr: str) -> InvalidFilter:
    """Build an InvalidFilter with both languages (RFC 7644 §3.12)."""
    return InvalidFilter(detail, detail_fr=detail_fr)


@dataclass(frozen=True)
class Token:
    type: str
    value: Any
    index: int
    end: int


def _library_tokens(chunk: str, offset: int) -> Iterator[Token]:
    """Lex a chunk without strings or numbers with the library lexer."""
    try:
        for tok in SCIMLexer().tokenize(chunk):
            yield Token(tok.type, tok.value, tok.index + offset, tok.end + offset)
    except ValueError as exc:  # the library's "Illegal character in filter query 'x'"
        char = str(exc).rsplit(" ", 1)[-1]
        raise error(f"Invalid filter: illegal character {char}.",
                     f"Filtre invalide : caractère interdit {char}.") from exc


def _split_numbers(chunk: str, offset: int) -> Iterator[Token]:
    """Lex a chunk, scanning JSON numbers ourselves (defect 2)."""
    pos = 0
    for match in _NUMBER.finditer(chunk):
        yield from _library_tokens(chunk[pos:match.start()], offset + pos)
        text = match.group()
        if sum(c.isdigit() for c in text) > MAX_NUMBER_DIGITS:
            raise too_complex(f"a number has more than {MAX_NUMBER_DIGITS} digits",
                              f"un nombre a plus de {MAX_NUMBER_DIGITS} chiffres")
        number: int | float = float(text) if re.search(r"[.eE]", text) else int(text)
        yield Token("NUMBER", number, offset + match.start(), offset + match.end())
        pos = match.end()
    yield from _library_tokens(chunk[pos:], offset + pos)


def _string_end(text: str, start: int) -> int:
    """Return the index after the JSON string opening at `start` (defect 3)."""
    pos = start + 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
        elif text[pos] == '"':
            return pos + 1
        else:
            pos += 1
    raise error("Invalid filter: unterminated string.",
                 "Filtre invalide : chaîne de caractères non terminée.")


def _decode_string(raw: str) -> str:
    """Decode a JSON string literal, escapes included (RFC 7159 §7)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"Invalid filter: bad string {raw}.",
                     f"Filtre invalide : chaîne incorrecte {raw}.") from exc
    return str(value)


def _raw_tokens(text: str) -> Iterator[Token]:
    """Tokenise: strings and numbers here, everything else by the library lexer."""
    pos = 0
    while pos < len(text):
        quote = text.find('"', pos)
        if quote < 0:
            yield from _split_numbers(text[pos:], pos)
            return
        yield from _split_numbers(text[pos:quote], pos)
        end = _string_end(text, quote)
        yield Token("COMP_VALUE", _decode_string(text[quote:end]), quote, end)
        pos = end


def _merge_words(tokens: list[Token]) -> list[Token]:
    """Rejoin names the library splits after a literal prefix (`nullable` → null + able)."""
    out: list[Token] = []
    for tok in tokens:
        prev = out[-1] if out else None
        if (prev is not None and prev.end == tok.index and tok.type in WORD_TOKENS
                and prev.type in ("ATTRNAME", "FALSE", "TRUE", "NULL")):
            out[-1] = Token("ATTRNAME", f"{prev.value}{tok.value}", prev.index, tok.end)
        else:
            out.append(tok)
    return out


def tokenize(text: str) -> list[Token]:
    """Tokenise a filter or PATCH path (RFC 7644 §3.4.2.2)."""
    return _merge_words(list(_raw_tokens(text)))
