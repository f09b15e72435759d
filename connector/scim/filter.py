"""SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): check and evaluate.

Parsing is in filter_parser (scim2-filter-parser's lexer, fixed, and our parser); attribute
resolution is in attributes. Here a parsed filter is checked against the served schemas (an
unknown attribute is InvalidFilter, where the library's SQL transpiler silently drops it) and
evaluated on resources.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from connector.scim.attributes import Resolved, get_ci, named, resolve, value_sub
from connector.scim.errors import InvalidFilter
from connector.scim.filter_ast import (
    ORDER_OPS,
    And,
    AttrPath,
    Compare,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
)
from connector.scim.filter_lexer import error
from connector.scim.filter_parser import parse_filter_text, parse_path_text

__all__ = ["And", "AttrPath", "Compare", "Node", "Not", "Or", "Present", "Resolved",
           "ValuePath", "attribute_values", "conjuncts", "element_matches", "matches",
           "parse_filter", "parse_path", "resolve", "split_conjuncts", "validate"]


def _unknown(name: str) -> InvalidFilter:
    """Build the error for an attribute the schemas do not define."""
    return error(f"Unknown attribute '{name}' in filter.",
                 f"Attribut inconnu '{name}' dans le filtre.")


def parse_filter(text: str, resource_type: str | None = None) -> Node:
    """Parse a filter (RFC 7644 §3.4.2.2); validate its attributes when given a resource type."""
    node = parse_filter_text(text)
    if resource_type is not None:
        validate(node, resource_type)
    return node


def parse_path(text: str, resource_type: str | None = None) -> AttrPath | ValuePath:
    """Parse a PATCH path `attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2)."""
    result = parse_path_text(text)
    if resource_type is not None:
        validate(result, resource_type)
    return result


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
            by_value = value_sub(found.attr)
            sub = by_value["name"] if by_value else None
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
        found = named(subs, path.attr) if subs else None
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
        definition = value_sub(definition) or {}
        if not definition:
            raise error(f"Attribute '{node.path.full}' is complex: filter on a sub-attribute.",
                         f"L'attribut « {node.path.full} » est complexe : filtrez sur un "
                         "sous-attribut.")
    if node.op in ORDER_OPS and definition["type"] in ("boolean", "binary"):
        raise error(f"Operator '{node.op}' cannot compare the {definition['type']} attribute "
                     f"'{node.path.full}'.",
                     f"L'opérateur « {node.op} » ne peut pas comparer l'attribut "
                     f"« {node.path.full} » de type {definition['type']}.")
    if node.value is None and node.op not in ("eq", "ne"):
        raise error(f"Operator '{node.op}' cannot compare with null.",
                     f"L'opérateur « {node.op} » ne peut pas comparer avec null.")


def _check_value_path(node: ValuePath, scope: _Scope) -> None:
    """Validate `attr[filter].sub` with the filter scoped to the attribute's values."""
    if not isinstance(scope, _ResourceScope):
        raise _unknown(node.path.full)
    found = scope.resolved(node.path)
    if found.sub is not None or found.attr["type"] != "complex" and not found.attr["multiValued"]:
        raise error(f"'{node.path.full}' cannot be filtered with [ ].",
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
        definition = value_sub(definition) or definition
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
