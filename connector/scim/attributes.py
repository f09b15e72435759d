"""Resolve attribute paths against the served schemas (RFC 7643 §2.1, §7): one resolver for
filters, PATCH paths, sortBy and projections. Names are case-insensitive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.scim.errors import ScimError
from connector.scim.filter_ast import AttrPath
from connector.scim.filter_parser import parse_path_text
from connector.scim.schema_defs import COMMON_ATTRIBUTES, RESOURCE_TYPES, SCHEMAS

# RFC 7644 §3.4.2.2 Figure 2: `schemas` is filterable though no schema defines it.
SCHEMAS_ATTR: dict[str, Any] = {
    "name": "schemas", "type": "reference", "multiValued": True, "caseExact": False,
    "mutability": "readOnly",
}


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
    extra = [*COMMON_ATTRIBUTES, SCHEMAS_ATTR] if schema == core else []
    return SCHEMAS[schema][2] + extra


def named(pool: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """Find an attribute by case-insensitive name (RFC 7643 §2.1)."""
    return next((a for a in pool if a["name"].lower() == name.lower()), None)


def _schema_of(path: AttrPath, resource_type: str) -> str | None:
    """Pick the schema of a path: its URN, the core, or the one extension defining it."""
    core, extensions = RESOURCE_TYPES[resource_type]
    if path.urn:
        return next((s for s in (core, *extensions) if s.lower() == path.urn.lower()), None)
    if named(_pool(core, core), path.attr):
        return core
    owners = [e for e in extensions if named(SCHEMAS[e][2], path.attr)]
    return owners[0] if len(owners) == 1 else None


def resolve(path: AttrPath, resource_type: str = "User") -> Resolved | None:
    """Resolve a path against the served schemas (RFC 7643 §7), None when undefined."""
    core = RESOURCE_TYPES[resource_type][0]
    schema = _schema_of(path, resource_type)
    attr = named(_pool(schema, core), path.attr) if schema else None
    if schema is None or attr is None:
        return None
    sub = named(attr.get("subAttributes", []), path.sub) if path.sub else None
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


def value_sub(definition: dict[str, Any]) -> dict[str, Any] | None:
    """Return the `value` sub-attribute a complex attribute is compared by (RFC 7644 §3.4.2.2)."""
    return named(definition.get("subAttributes", []), "value")


def find_attribute(resource_type: str, text: str) -> dict[str, Any] | None:
    """Find the definition of a path like `emails.value` or `urn:…:User:profile` (sortBy)."""
    try:
        parsed = parse_path_text(text)
    except ScimError:
        return None
    if not isinstance(parsed, AttrPath):
        return None
    found = resolve(parsed, resource_type)
    return found.definition if found else None
