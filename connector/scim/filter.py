"""SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), wrapping scim2-filter-parser.

The library's lexer tokenises names, URNs, operators and brackets. Its grammar and a few
token rules are defective, so this module fixes them and parses with a small
recursive-descent parser (each fix is pinned by a unit test on the bare library):

1. its parser gives `and` and `or` one precedence; §3.4.2.2 binds `and` tighter;
2. its NUMBER token is a single digit, so `12`, `-1` and `1.5` fail;
3. its string token stops at the first quote, so `"a\\"b"` fails;
4. its SQL transpiler silently drops attributes it cannot map (a match-all); here every
   attribute is resolved against schema_defs and an unknown one raises InvalidFilter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scim2_filter_parser.lexer import SCIMLexer

from connector.scim.errors import InvalidFilter
from connector.scim.limits import (
    MAX_FILTER_NESTING,
    MAX_FILTER_TERMS,
    MAX_NUMBER_DIGITS,
    check_filter_text,
    too_complex,
)
from connector.scim.schema_defs import COMMON_ATTRIBUTES, RESOURCE_TYPES, SCHEMAS

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
ORDER_OPS = ("gt", "ge", "lt", "le")
_LITERALS = {"true": True, "false": False, "null": None}
_WORD_TOKENS = {"ATTRNAME", "NUMBER", "FALSE", "TRUE", "NULL", "AND", "OR", "NOT",
                "PR", *(op.upper() for op in COMPARE_OPS)}
# The library lexes neither JSON strings nor JSON numbers (defects 2 and 3): scan them here.
_NUMBER = re.compile(r"(?<![\w$.:-])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w$.:-])")
# RFC 7644 §3.4.2.2 Figure 2: `schemas` is filterable though no schema defines it.
_SCHEMAS_ATTR: dict[str, Any] = {
    "name": "schemas", "type": "reference", "multiValued": True, "caseExact": False,
    "mutability": "readOnly",
}


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class AttrPath:
    """An attribute path `[urn:]attr[.sub]`, names lowercased (RFC 7644 §3.10)."""

    urn: str | None
    attr: str
    sub: str | None = None

    @property
    def dotted(self) -> str:
        """Return `attr.sub` (or `attr`), without the URN."""
        return f"{self.attr}.{self.sub}" if self.sub else self.attr

    @property
    def full(self) -> str:
        """Return `urn:attr.sub` when a URN was given, else the dotted form."""
        return f"{self.urn}:{self.dotted}" if self.urn else self.dotted


@dataclass(frozen=True)
class Compare:
    """`path op value` with op one of eq ne co sw ew gt ge lt le (RFC 7644 §3.4.2.2)."""

    path: AttrPath
    op: str
    value: object


@dataclass(frozen=True)
class Present:
    """`path pr` (RFC 7644 §3.4.2.2)."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """`left and right`."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    """`left or right`."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """`not (node)`."""

    node: Node


@dataclass(frozen=True)
class ValuePath:
    """`path[filter]`, plus `.sub` in PATCH paths only (RFC 7644 §3.5.2)."""

    path: AttrPath
    filter: Node
    sub: str | None = None


Node = Compare | Present | And | Or | Not | ValuePath


# --------------------------------------------------------------------------- errors


def _error(detail: str, detail_fr: str) -> InvalidFilter:
    """Build an InvalidFilter with both languages (RFC 7644 §3.12)."""
    return InvalidFilter(detail, detail_fr=detail_fr)


def _unknown(name: str) -> InvalidFilter:
    """Build the error for an attribute the schemas do not define."""
    return _error(f"Unknown attribute '{name}' in filter.",
                  f"Attribut inconnu '{name}' dans le filtre.")


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    type: str
    value: Any
    index: int
    end: int


def _library_tokens(chunk: str, offset: int) -> Iterator[_Token]:
    """Lex a chunk without strings or numbers with the library lexer."""
    try:
        for tok in SCIMLexer().tokenize(chunk):
            yield _Token(tok.type, tok.value, tok.index + offset, tok.end + offset)
    except ValueError as exc:  # the library's "Illegal character in filter query 'x'"
        char = str(exc).rsplit(" ", 1)[-1]
        raise _error(f"Invalid filter: illegal character {char}.",
                     f"Filtre invalide : caractère interdit {char}.") from exc


def _split_numbers(chunk: str, offset: int) -> Iterator[_Token]:
    """Lex a chunk, scanning JSON numbers ourselves (defect 2)."""
    pos = 0
    for match in _NUMBER.finditer(chunk):
        yield from _library_tokens(chunk[pos:match.start()], offset + pos)
        text = match.group()
        if sum(c.isdigit() for c in text) > MAX_NUMBER_DIGITS:
            raise too_complex(f"a number has more than {MAX_NUMBER_DIGITS} digits",
                              f"un nombre a plus de {MAX_NUMBER_DIGITS} chiffres")
        number: int | float = float(text) if re.search(r"[.eE]", text) else int(text)
        yield _Token("NUMBER", number, offset + match.start(), offset + match.end())
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
    raise _error("Invalid filter: unterminated string.",
                 "Filtre invalide : chaîne de caractères non terminée.")


def _decode_string(raw: str) -> str:
    """Decode a JSON string literal, escapes included (RFC 7159 §7)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _error(f"Invalid filter: bad string {raw}.",
                     f"Filtre invalide : chaîne incorrecte {raw}.") from exc
    return str(value)


def _raw_tokens(text: str) -> Iterator[_Token]:
    """Tokenise: strings and numbers here, everything else by the library lexer."""
    pos = 0
    while pos < len(text):
        quote = text.find('"', pos)
        if quote < 0:
            yield from _split_numbers(text[pos:], pos)
            return
        yield from _split_numbers(text[pos:quote], pos)
        end = _string_end(text, quote)
        yield _Token("COMP_VALUE", _decode_string(text[quote:end]), quote, end)
        pos = end


def _merge_words(tokens: list[_Token]) -> list[_Token]:
    """Rejoin names the library splits after a literal prefix (`nullable` → null + able)."""
    out: list[_Token] = []
    for tok in tokens:
        prev = out[-1] if out else None
        if (prev is not None and prev.end == tok.index and tok.type in _WORD_TOKENS
                and prev.type in ("ATTRNAME", "FALSE", "TRUE", "NULL")):
            out[-1] = _Token("ATTRNAME", f"{prev.value}{tok.value}", prev.index, tok.end)
        else:
            out.append(tok)
    return out


def _tokenize(text: str) -> list[_Token]:
    """Tokenise a filter or PATCH path (RFC 7644 §3.4.2.2)."""
    return _merge_words(list(_raw_tokens(text)))


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token stream: or < and < not < primary (RFC 7644 §3.4.2.2)."""

    def __init__(self, text: str) -> None:
        check_filter_text(text)
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.terms = 0

    def enter(self) -> None:
        """Count one more level of nesting: parentheses, `not`, value paths."""
        self.depth += 1
        if self.depth > MAX_FILTER_NESTING:
            raise too_complex(f"more than {MAX_FILTER_NESTING} nested levels",
                              f"plus de {MAX_FILTER_NESTING} niveaux imbriqués")

    def term(self) -> None:
        """Count one more comparison."""
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise too_complex(f"more than {MAX_FILTER_TERMS} comparisons",
                              f"plus de {MAX_FILTER_TERMS} comparaisons")

    def peek(self) -> _Token | None:
        """Return the next token without consuming it."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def accept(self, *types: str) -> _Token | None:
        """Consume and return the next token when it has one of `types`."""
        tok = self.peek()
        if tok is not None and tok.type in types:
            self.pos += 1
            return tok
        return None

    def expect(self, kind: str, what: str, what_fr: str) -> _Token:
        """Consume a token of `kind` or raise InvalidFilter saying what was expected."""
        tok = self.accept(kind)
        if tok is None:
            raise self.fail(what, what_fr)
        return tok

    def fail(self, what: str, what_fr: str) -> InvalidFilter:
        """Build the syntax error for the current position."""
        tok = self.peek()
        if tok is None:
            where, where_fr = "at the end of the filter", "à la fin du filtre"
        else:
            found = self.text[tok.index:tok.end]
            where = f"at position {tok.index} (found '{found}')"
            where_fr = f"à la position {tok.index} (trouvé « {found} »)"
        return _error(f"Invalid filter '{self.text}': expected {what} {where}.",
                      f"Filtre invalide « {self.text} » : on attendait {what_fr} {where_fr}.")

    def finish(self) -> None:
        """Raise unless every token was consumed."""
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end", "« and », « or » ou la fin")

    def filter(self, in_brackets: bool = False) -> Node:
        """FILTER: and-terms joined by `or` (left associative)."""
        node = self.conjunction(in_brackets)
        while self.accept("OR"):
            node = Or(node, self.conjunction(in_brackets))
        return node

    def conjunction(self, in_brackets: bool) -> Node:
        """Unary terms joined by `and`, which binds tighter than `or` (defect 1)."""
        node = self.unary(in_brackets)
        while self.accept("AND"):
            node = And(node, self.unary(in_brackets))
        return node

    def unary(self, in_brackets: bool) -> Node:
        """`not` applied to the next term, or a primary term."""
        if self.accept("NOT"):
            self.enter()
            node = Not(self.unary(in_brackets))
            self.depth -= 1
            return node
        return self.primary(in_brackets)

    def primary(self, in_brackets: bool) -> Node:
        """`( FILTER )`, a value path or an attribute expression."""
        if self.accept("LPAREN"):
            self.enter()
            node = self.filter(in_brackets)
            self.expect("RPAREN", "')'", "« ) »")
            self.depth -= 1
            return node
        self.term()
        path = self.attr_path()
        nxt = self.peek()
        if nxt is not None and nxt.type == "LBRACKET":
            if in_brackets or path.sub:
                raise self.fail("an operator", "un opérateur")
            return ValuePath(path, self.bracket())
        if self.accept("PR"):
            return Present(path)
        op = self.accept(*(o.upper() for o in COMPARE_OPS))
        if op is None:
            raise self.fail("an operator (eq ne co sw ew gt ge lt le pr)",
                            "un opérateur (eq ne co sw ew gt ge lt le pr)")
        return Compare(path, op.type.lower(), self.comp_value())

    def bracket(self) -> Node:
        """`[ valFilter ]` of a value path."""
        self.expect("LBRACKET", "'['", "« [ »")
        self.enter()
        node = self.filter(in_brackets=True)
        self.expect("RBRACKET", "']'", "« ] »")
        self.depth -= 1
        return node

    def attr_path(self) -> AttrPath:
        """attrPath = [URI ":"] ATTRNAME *1subAttr."""
        urn = self.accept("SCHEMA_URI")
        name = self.expect("ATTRNAME", "an attribute name", "un nom d'attribut")
        sub = self.accept("SUBATTR")
        return AttrPath(urn.value if urn else None, str(name.value).lower(),
                        str(sub.value).lower() if sub else None)

    def comp_value(self) -> object:
        """compValue = false / null / true / number / string (RFC 7159)."""
        tok = self.accept("COMP_VALUE", "NUMBER", "TRUE", "FALSE", "NULL", "ATTRNAME")
        if tok is not None and tok.type == "COMP_VALUE":
            return tok.value
        if tok is not None and tok.type == "NUMBER":
            return int(tok.value) if isinstance(tok.value, str) else tok.value
        if tok is not None and str(tok.value).lower() in _LITERALS:
            return _LITERALS[str(tok.value).lower()]
        if tok is not None:
            self.pos -= 1
        raise self.fail("a value (string, number, true, false or null)",
                        "une valeur (chaîne, nombre, true, false ou null)")


def parse_filter(text: str, resource_type: str | None = None) -> Node:
    """Parse a filter (RFC 7644 §3.4.2.2); validate its attributes when given a resource type."""
    if not isinstance(text, str) or not text.strip():
        raise _error("The filter is empty.", "Le filtre est vide.")
    parser = _Parser(text)
    node = parser.filter()
    parser.finish()
    if resource_type is not None:
        validate(node, resource_type)
    return node


def parse_path(text: str, resource_type: str | None = None) -> AttrPath | ValuePath:
    """Parse a PATCH path `attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2)."""
    if not isinstance(text, str) or not text.strip():
        raise _error("The path is empty.", "Le chemin est vide.")
    parser = _Parser(text)
    path = parser.attr_path()
    result: AttrPath | ValuePath = path
    if parser.peek() is not None and not path.sub:
        node = parser.bracket()
        sub = parser.accept("SUBATTR")
        result = ValuePath(path, node, str(sub.value).lower() if sub else None)
    parser.finish()
    if resource_type is not None:
        validate(result, resource_type)
    return result


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Resolved:
    """Where an attribute path lives: its schema, definition and sub-attribute definition."""

    schema: str
    extension: bool
    attr: dict[str, Any]
    sub: dict[str, Any] | None

    @property
    def definition(self) -> dict[str, Any]:
        """Return the definition of the leaf (the sub-attribute when there is one)."""
        return self.sub or self.attr


def _pool(schema: str, core: str) -> list[dict[str, Any]]:
    """Return the attributes a schema defines, common ones included for the core."""
    extra = [*COMMON_ATTRIBUTES, _SCHEMAS_ATTR] if schema == core else []
    return SCHEMAS[schema][2] + extra


def _named(pool: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """Find an attribute by case-insensitive name (RFC 7643 §2.1)."""
    return next((a for a in pool if a["name"].lower() == name.lower()), None)


def _schema_of(path: AttrPath, resource_type: str) -> str | None:
    """Pick the schema of a path: its URN, the core, or the one extension defining it."""
    core, extensions = RESOURCE_TYPES[resource_type]
    if path.urn:
        return next((s for s in (core, *extensions) if s.lower() == path.urn.lower()), None)
    if _named(_pool(core, core), path.attr):
        return core
    owners = [e for e in extensions if _named(SCHEMAS[e][2], path.attr)]
    return owners[0] if len(owners) == 1 else None


def resolve(path: AttrPath, resource_type: str = "User") -> Resolved | None:
    """Resolve a path against the served schemas (RFC 7643 §7), None when undefined."""
    core = RESOURCE_TYPES[resource_type][0]
    schema = _schema_of(path, resource_type)
    attr = _named(_pool(schema, core), path.attr) if schema else None
    if schema is None or attr is None:
        return None
    sub = _named(attr.get("subAttributes", []), path.sub) if path.sub else None
    if path.sub and sub is None:
        return None
    return Resolved(schema, schema != core, attr, sub)


def find_key(mapping: object, name: str) -> str | None:
    """Return the key of `mapping` equal to `name` ignoring case (RFC 7643 §2.1)."""
    if not isinstance(mapping, dict):
        return None
    if name in mapping:
        return name
    return next((k for k in mapping if isinstance(k, str) and k.lower() == name.lower()), None)


def get_ci(mapping: object, name: str) -> Any:
    """Return `mapping[name]` ignoring the key's case, None when absent."""
    key = find_key(mapping, name)
    return mapping[key] if key is not None and isinstance(mapping, dict) else None


def _value_sub(definition: dict[str, Any]) -> dict[str, Any] | None:
    """Return the `value` sub-attribute a complex attribute is compared by (RFC 7644 §3.4.2.2)."""
    return _named(definition.get("subAttributes", []), "value")


# --------------------------------------------------------------------------- scopes


class _ResourceScope:
    """Resolves paths against a whole resource."""

    def __init__(self, resource_type: str, resource: object = None) -> None:
        self.resource_type = resource_type
        self.resource = resource

    def resolved(self, path: AttrPath) -> Resolved:
        """Resolve a path or raise InvalidFilter naming it."""
        found = resolve(path, self.resource_type)
        if found is None:
            raise _unknown(path.full)
        return found

    def definition(self, path: AttrPath) -> dict[str, Any]:
        """Return the leaf definition of a path."""
        return self.resolved(path).definition

    def raw(self, path: AttrPath) -> tuple[Resolved, Any]:
        """Return the resolution and the raw value of the path's attribute."""
        found = self.resolved(path)
        container = get_ci(self.resource, found.schema) if found.extension else self.resource
        return found, get_ci(container, found.attr["name"])

    def values(self, path: AttrPath, compare: bool) -> list[Any]:
        """Flatten the values at a path, primary value first (RFC 7644 §3.4.2.3)."""
        found, raw = self.raw(path)
        items = _primary_first(raw if isinstance(raw, list) else [raw])
        sub = found.sub["name"] if found.sub else None
        if sub is None and compare and found.attr["type"] == "complex":
            value_sub = _value_sub(found.attr)
            sub = value_sub["name"] if value_sub else None
        if sub is not None:
            items = [get_ci(item, sub) for item in items]
        return _flatten(items)

    def elements(self, path: AttrPath) -> tuple[Resolved, list[Any]]:
        """Return the values a value path filters (RFC 7644 §3.4.2.2 `[ ]`)."""
        found, raw = self.raw(path)
        return found, [v for v in (raw if isinstance(raw, list) else [raw]) if v is not None]


class _ElementScope:
    """Resolves the sub-attribute paths inside `attr[...]` against one value."""

    def __init__(self, parent: AttrPath, parent_def: dict[str, Any], element: object = None):
        self.parent = parent
        self.parent_def = parent_def
        self.element = element

    def definition(self, path: AttrPath) -> dict[str, Any]:
        """Return the sub-attribute definition, or the parent's for `value` of a simple one."""
        subs = self.parent_def.get("subAttributes")
        found = _named(subs, path.attr) if subs else None
        if subs is None and path.attr == "value":
            found = self.parent_def
        if found is None or path.urn or path.sub:
            raise _unknown(f"{self.parent.full}.{path.full}")
        return found

    def values(self, path: AttrPath, compare: bool) -> list[Any]:
        """Return the sub-attribute value of the element as a list."""
        definition = self.definition(path)
        if definition is self.parent_def:
            return _flatten([self.element])
        return _flatten([get_ci(self.element, definition["name"])])


_Scope = _ResourceScope | _ElementScope


def _primary_first(items: list[Any]) -> list[Any]:
    """Order multi-valued entries with the primary one first (RFC 7643 §2.4)."""
    return sorted(items, key=lambda v: not (isinstance(v, dict) and get_ci(v, "primary") is True))


def _flatten(items: list[Any]) -> list[Any]:
    """Flatten one level of lists and drop None."""
    out: list[Any] = []
    for item in items:
        out.extend(v for v in (item if isinstance(item, list) else [item]) if v is not None)
    return out


# --------------------------------------------------------------------------- validation


def validate(node: Node | AttrPath, resource_type: str = "User") -> None:
    """Raise InvalidFilter for unknown attributes or operators their type forbids (§3.4.2.2)."""
    _validate_cached(node, resource_type)


@lru_cache(maxsize=512)
def _validate_cached(node: Node | AttrPath, resource_type: str) -> None:
    _check(node, _ResourceScope(resource_type))


def _check(node: Node | AttrPath, scope: _Scope) -> None:
    """Validate one node within a scope."""
    if isinstance(node, And | Or):
        _check(node.left, scope)
        _check(node.right, scope)
    elif isinstance(node, Not):
        _check(node.node, scope)
    elif isinstance(node, Present | AttrPath):
        scope.definition(node if isinstance(node, AttrPath) else node.path)
    elif isinstance(node, Compare):
        _check_compare(node, scope)
    else:
        _check_value_path(node, scope)


def _check_compare(node: Compare, scope: _Scope) -> None:
    """Reject comparisons the attribute's type cannot serve (RFC 7644 §3.4.2.2 Table 3)."""
    definition = scope.definition(node.path)
    if definition["type"] == "complex":
        definition = _value_sub(definition) or {}
        if not definition:
            raise _error(f"Attribute '{node.path.full}' is complex: filter on a sub-attribute.",
                         f"L'attribut « {node.path.full} » est complexe : filtrez sur un "
                         "sous-attribut.")
    if node.op in ORDER_OPS and definition["type"] in ("boolean", "binary"):
        raise _error(f"Operator '{node.op}' cannot compare the {definition['type']} attribute "
                     f"'{node.path.full}'.",
                     f"L'opérateur « {node.op} » ne peut pas comparer l'attribut "
                     f"« {node.path.full} » de type {definition['type']}.")
    if node.value is None and node.op not in ("eq", "ne"):
        raise _error(f"Operator '{node.op}' cannot compare with null.",
                     f"L'opérateur « {node.op} » ne peut pas comparer avec null.")


def _check_value_path(node: ValuePath, scope: _Scope) -> None:
    """Validate `attr[filter].sub` with the filter scoped to the attribute's values."""
    if not isinstance(scope, _ResourceScope):
        raise _unknown(node.path.full)
    found = scope.resolved(node.path)
    if found.sub is not None or found.attr["type"] != "complex" and not found.attr["multiValued"]:
        raise _error(f"'{node.path.full}' cannot be filtered with [ ].",
                     f"« {node.path.full} » ne peut pas être filtré avec [ ].")
    _check(node.filter, _ElementScope(node.path, found.attr))
    if node.sub is not None:
        _ElementScope(node.path, found.attr).definition(AttrPath(None, node.sub))


# --------------------------------------------------------------------------- evaluation


def matches(node: Node, resource: dict[str, Any], resource_type: str = "User") -> bool:
    """Tell whether a resource matches a filter (RFC 7644 §3.4.2.2)."""
    validate(node, resource_type)
    return _eval(node, _ResourceScope(resource_type, resource))


def element_matches(node: Node, element: object, parent: AttrPath,
                    resource_type: str = "User") -> bool:
    """Tell whether one value of `parent` matches the filter of `parent[filter]` (§3.5.2)."""
    found = _ResourceScope(resource_type).resolved(parent)
    scope = _ElementScope(parent, found.attr, element)
    _check(node, scope)
    return _eval(node, scope)


def attribute_values(resource: dict[str, Any], path: AttrPath,
                     resource_type: str = "User") -> list[object]:
    """Return the flattened values at a path, primary first, for sortBy (RFC 7644 §3.4.2.3)."""
    return _ResourceScope(resource_type, resource).values(path, compare=True)


def _eval(node: Node, scope: _Scope) -> bool:
    """Evaluate a validated node."""
    if isinstance(node, And):
        return _eval(node.left, scope) and _eval(node.right, scope)
    if isinstance(node, Or):
        return _eval(node.left, scope) or _eval(node.right, scope)
    if isinstance(node, Not):
        return not _eval(node.node, scope)
    if isinstance(node, Present):
        return any(_present(v) for v in scope.values(node.path, compare=False))
    if isinstance(node, Compare):
        return _eval_compare(node, scope)
    assert isinstance(scope, _ResourceScope)
    found, elements = scope.elements(node.path)
    return any(_eval(node.filter, _ElementScope(node.path, found.attr, e)) for e in elements)


def _present(value: object) -> bool:
    """`pr`: a non-empty, non-null value or a non-empty complex node (RFC 7644 §3.4.2.2)."""
    if isinstance(value, dict):
        return any(_present(v) for v in value.values())
    if isinstance(value, list):
        return any(_present(v) for v in value)
    return value is not None and value != ""


def _eval_compare(node: Compare, scope: _Scope) -> bool:
    """Compare every value at the path; any match matches; `ne` is `not eq`."""
    op = "eq" if node.op == "ne" else node.op
    values = scope.values(node.path, compare=True)
    definition = scope.definition(node.path)
    if definition["type"] == "complex":
        definition = _value_sub(definition) or definition
    if node.value is None:
        hit = not any(_present(v) for v in values)
    else:
        case_exact = bool(definition.get("caseExact"))
        hit = any(_compare(op, v, node.value, case_exact) for v in values)
    return not hit if node.op == "ne" else hit


def _compare(op: str, actual: object, expected: object, case_exact: bool) -> bool:
    """Compare one value; mismatched types never match (RFC 7644 §3.4.2.2 Table 3)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return op == "eq" and type(actual) is type(expected) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return _ordered(op, actual, expected)
    if isinstance(actual, str) and isinstance(expected, str):
        if not case_exact:
            actual, expected = actual.casefold(), expected.casefold()
        return _textual(op, actual, expected)
    return False


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    """Apply eq/gt/ge/lt/le to two comparable values."""
    return {
        "eq": actual == expected, "gt": actual > expected, "ge": actual >= expected,
        "lt": actual < expected, "le": actual <= expected,
    }.get(op, False)


def _textual(op: str, actual: str, expected: str) -> bool:
    """Apply a string operator (co sw ew included)."""
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    if op == "ew":
        return actual.endswith(expected)
    return _ordered(op, actual, expected)


# --------------------------------------------------------------------------- push-down


def conjuncts(node: Node) -> list[Node]:
    """Flatten the top-level AND chain of a filter."""
    if isinstance(node, And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def split_conjuncts(node: Node, pushable: Callable[[Compare], bool]
                    ) -> tuple[list[Compare], Node | None]:
    """Split the top-level AND chain into pushable Compare terms and the residual filter."""
    pushed: list[Compare] = []
    rest: list[Node] = []
    for term in conjuncts(node):
        if isinstance(term, Compare) and pushable(term):
            pushed.append(term)
        else:
            rest.append(term)
    residual: Node | None = None
    for term in rest:
        residual = term if residual is None else And(residual, term)
    return pushed, residual
