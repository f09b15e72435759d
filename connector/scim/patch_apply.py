"""Apply one PATCH operation to its resolved target (RFC 7644 §3.5.2.1–3): containers, values,
multi-valued entries and their single primary. Pure: works on a copy the caller owns."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from connector.scim.attributes import Resolved, find_key, get_ci
from connector.scim.errors import InvalidPath, InvalidValue, Mutability, NoTarget
from connector.scim.filter import AttrPath, Node, element_matches, split_conjuncts
from connector.scim.schema_defs import RESOURCE_TYPES
from connector.scim.values import WrongType, scalar


@dataclass
class Target:
    """What one operation addresses: an attribute, maybe filtered, maybe one sub-attribute."""

    label: str
    found: Resolved
    path: AttrPath
    filter: Node | None = None
    sub: dict[str, Any] | None = None
    resource_type: str = "User"
    core: str = field(init=False)

    def __post_init__(self) -> None:
        self.core = RESOURCE_TYPES[self.resource_type][0]

    @property
    def attr(self) -> dict[str, Any]:
        """Return the attribute's definition."""
        return self.found.attr

    @property
    def name(self) -> str:
        """Return the attribute's canonical name."""
        return str(self.found.attr["name"])

    @property
    def complex_multi(self) -> bool:
        """Tell whether the attribute is multi-valued with sub-attributes."""
        return bool(self.attr["multiValued"] and self.attr["type"] == "complex")


def sub_def(attr: dict[str, Any], name: str) -> dict[str, Any]:
    """Return a sub-attribute definition by case-insensitive name (RFC 7643 §2.1)."""
    found = next((s for s in attr.get("subAttributes", []) if s["name"].lower() == name.lower()),
                 None)
    if found is None:
        raise InvalidPath(f"Unknown attribute '{attr['name']}.{name}'.",
                          detail_fr=f"Attribut inconnu « {attr['name']}.{name} ».")
    return found


def _check_immutable(target: Target, op: str) -> None:
    """Refuse to replace or remove an immutable sub-attribute (RFC 7643 §2.2)."""
    if op != "add" and target.sub is not None and target.sub["mutability"] == "immutable":
        raise Mutability(f"Attribute '{target.label}' is immutable.",
                         detail_fr=f"L'attribut « {target.label} » est immuable.")


# --------------------------------------------------------------------------- containers


def _container(resource: dict[str, Any], target: Target, create: bool) -> dict[str, Any] | None:
    """Return the dict holding the attribute: the resource or its extension object."""
    if not target.found.extension:
        return resource
    urn = target.found.schema
    key = find_key(resource, urn)
    if key is None and not create:
        return None
    held = resource.pop(key) if key is not None else None
    resource[urn] = held if isinstance(held, dict) else {}
    if create:
        _declare(resource, urn, target.core)
    return resource[urn]


def _declare(resource: dict[str, Any], urn: str, core: str) -> None:
    """List an extension URN in `schemas` once it holds attributes (RFC 7643 §3)."""
    schemas = get_ci(resource, "schemas")
    if not isinstance(schemas, list):
        schemas = [core]
    if urn.lower() not in {str(s).lower() for s in schemas}:
        schemas = [*schemas, urn]
    _put(resource, "schemas", schemas)


def drop_extension(resource: dict[str, Any], urn: str) -> None:
    """Remove an extension object and its URN from `schemas`."""
    key = find_key(resource, urn)
    if key is not None:
        del resource[key]
    schemas = get_ci(resource, "schemas")
    if isinstance(schemas, list):
        _put(resource, "schemas", [s for s in schemas if str(s).lower() != urn.lower()])


def _tidy(resource: dict[str, Any], target: Target) -> None:
    """Drop an extension object left empty by a removal."""
    if target.found.extension and get_ci(resource, target.found.schema) == {}:
        drop_extension(resource, target.found.schema)


def _put(container: dict[str, Any], name: str, value: object) -> None:
    """Store under the canonical name; None, [] and {} unassign (RFC 7643 §2.5)."""
    key = find_key(container, name)
    if key is not None:
        del container[key]
    if value is not None and value != [] and value != {}:
        container[name] = value


# --------------------------------------------------------------------------- values


def _coerce(definition: dict[str, Any], value: object, label: str) -> Any:
    """Check one value against its definition, typed as payloads are (RFC 7643 §2.3)."""
    if value is not None and definition["type"] == "complex":
        return _complex(definition, value, label)
    try:
        return scalar(definition["type"], value)
    except WrongType as exc:
        raise _bad_value(label, exc.expected, exc.expected_fr) from None


def _complex(definition: dict[str, Any], value: object, label: str) -> dict[str, Any]:
    """Check a complex value; a bare string stands for its `value` sub-attribute."""
    subs = definition.get("subAttributes", [])
    if isinstance(value, list) and len(value) == 1 and not definition["multiValued"]:
        value = value[0]
    if isinstance(value, str) and any(s["name"] == "value" for s in subs):
        value = {"value": value}
    if not isinstance(value, dict):
        raise _bad_value(label, "an object", "un objet")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = next((s for s in subs if s["name"].lower() == str(key).lower()), None)
        if sub is None:
            raise InvalidValue(f"Unknown attribute '{label}.{key}'.",
                               detail_fr=f"Attribut inconnu « {label}.{key} ».")
        if sub["mutability"] != "readOnly":  # readOnly values are ignored (RFC 7643 §2.2)
            out[sub["name"]] = _coerce(sub, item, f"{label}.{sub['name']}")
    return out


def _many(definition: dict[str, Any], value: object, label: str) -> list[Any]:
    """Coerce a multi-valued value; a single value counts as a list of one."""
    items = value if isinstance(value, list) else [value]
    coerced = (_coerce(definition, item, label) for item in items if item is not None)
    return [_clean(item) for item in coerced]


def _clean(item: Any) -> Any:
    """Drop null sub-attributes of a new complex value (e.g. Entra's `"$ref": null`)."""
    return {k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item


def _bad_value(label: str, expected: str, expected_fr: str) -> InvalidValue:
    """Build the error for a value of the wrong type."""
    return InvalidValue(f"Attribute '{label}' expects {expected}.",
                        detail_fr=f"L'attribut « {label} » attend {expected_fr}.")


def _same_text(a: object, b: object, case_exact: bool) -> bool:
    """Compare two values, strings ignoring case unless caseExact (RFC 7643 §2.2)."""
    if isinstance(a, str) and isinstance(b, str) and not case_exact:
        return a.casefold() == b.casefold()
    return a == b


def _same_entry(target: Target, old: object, new: object) -> bool:
    """Tell whether a new multi-valued entry duplicates an old one (same value and type)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return _same_text(old, new, bool(target.attr["caseExact"]))
    if "value" not in new or "value" not in old:
        return old == new
    exact = bool(sub_def(target.attr, "value")["caseExact"])
    types = (old.get("type"), new.get("type"))
    return _same_text(old["value"], new["value"], exact) and (
        None in types or _same_text(types[0], types[1], False))


def _selects(item: object, old: object, target: Target) -> bool:
    """Tell whether a removal item (e.g. `{"value": id}`) designates an old entry."""
    if not (isinstance(item, dict) and isinstance(old, dict)):
        return _same_text(old, item, bool(target.attr["caseExact"]))
    given = {k: v for k, v in item.items() if v is not None}
    return bool(given) and all(
        _same_text(old.get(k), v, bool(sub_def(target.attr, k)["caseExact"]))
        for k, v in given.items())


def _enforce_primary(entries: list[Any], changed: list[int]) -> None:
    """Keep one primary: the last changed entry marked primary wins (RFC 7643 §2.4)."""
    winners = [i for i in changed if isinstance(entries[i], dict) and entries[i].get("primary")]
    if not winners:
        return
    for index, entry in enumerate(entries):
        if index != winners[-1] and isinstance(entry, dict) and entry.get("primary"):
            entry["primary"] = False


# --------------------------------------------------------------------------- operations


def apply_to(resource: dict[str, Any], op: str, target: Target, value: object) -> None:
    """Apply add, replace or remove to a resolved target (RFC 7644 §3.5.2.1-3)."""
    _check_immutable(target, op)
    if op == "remove" or value is None:
        _remove(resource, target, value)
        _tidy(resource, target)
    elif target.filter is not None:
        _set_filtered(resource, op, target, value)
    elif target.sub is not None:
        _set_sub(resource, target, value)
    else:
        _set_attribute(resource, op, target, value)


def _set_attribute(resource: dict[str, Any], op: str, target: Target, value: object) -> None:
    """Set a whole attribute: append or replace lists, merge complex values (§3.5.2.1, 3)."""
    container = _container(resource, target, create=True)
    assert container is not None
    current = get_ci(container, target.name)
    if target.attr["multiValued"]:
        new = _many(target.attr, value, target.label)
        merged, changed = _merge_entries(target, current if op == "add" else [], new)
        _enforce_primary(merged, changed)
        _put(container, target.name, merged)
    elif target.attr["type"] == "complex":
        incoming = _coerce(target.attr, value, target.label)
        merged_dict = dict(current) if isinstance(current, dict) else {}
        for key, item in incoming.items():
            _put(merged_dict, key, item)
        _put(container, target.name, merged_dict)
    else:
        _put(container, target.name, _coerce(target.attr, value, target.label))


def _merge_entries(target: Target, current: object, new: list[Any]
                   ) -> tuple[list[Any], list[int]]:
    """Append new entries to a list, merging duplicates instead (RFC 7644 §3.5.2.1)."""
    entries = [copy.deepcopy(e) for e in current] if isinstance(current, list) else []
    changed: list[int] = []
    for item in new:
        index = next((i for i, old in enumerate(entries) if _same_entry(target, old, item)), None)
        if index is None:
            entries.append(item)
            changed.append(len(entries) - 1)
        elif isinstance(item, dict):
            entries[index].update(item)
            changed.append(index)
    return entries, changed


def _set_sub(resource: dict[str, Any], target: Target, value: object) -> None:
    """Set `attr.sub` on a complex attribute, or on every entry of a multi-valued one."""
    assert target.sub is not None
    container = _container(resource, target, create=True)
    assert container is not None
    coerced = _coerce(target.sub, value, target.label)
    current = get_ci(container, target.name)
    if target.attr["multiValued"]:
        entries = [e for e in current if isinstance(e, dict)] if isinstance(current, list) else []
        entries = entries or [{}]
        for entry in entries:
            _put(entry, target.sub["name"], coerced)
        _enforce_primary(entries, list(range(len(entries))))
        _put(container, target.name, entries)
    else:
        holder = dict(current) if isinstance(current, dict) else {}
        _put(holder, target.sub["name"], coerced)
        _put(container, target.name, holder)


def _set_filtered(resource: dict[str, Any], op: str, target: Target, value: object) -> None:
    """Set `attr[filter]` or `attr[filter].sub`, creating the entry when none matches."""
    container = _container(resource, target, create=True)
    assert container is not None
    current = get_ci(container, target.name)
    entries = list(current) if isinstance(current, list) else []
    matched = _matching(entries, target)
    if not matched:  # RFC 7644 says noTarget; Entra ID expects the entry to be created
        entries.append(_entry_from_filter(target))
        matched, op = [len(entries) - 1], "add"
    for index in matched:
        entries[index] = _updated_entry(op, target, entries[index], value)
    _enforce_primary(entries, matched)
    _put(container, target.name, entries)


def _updated_entry(op: str, target: Target, entry: Any, value: object) -> Any:
    """Return an entry with its sub-attribute set, or merged (add) / replaced (replace)."""
    if not target.complex_multi:
        return _coerce(target.attr, value, target.label)
    if target.sub is not None:
        updated = dict(entry)
        _put(updated, target.sub["name"], _coerce(target.sub, value, target.label))
        return updated
    incoming = _clean(_coerce(target.attr, value, target.label))
    return {**entry, **incoming} if op == "add" else incoming


def _matching(entries: list[Any], target: Target) -> list[int]:
    """Return the indexes of the entries the target's filter selects (RFC 7644 §3.5.2)."""
    assert target.filter is not None
    return [i for i, entry in enumerate(entries)
            if element_matches(target.filter, entry, target.path, target.resource_type)]


def _entry_from_filter(target: Target) -> Any:
    """Build the entry an unmatched `attr[filter]` designates from its `eq` terms (Entra ID)."""
    assert target.filter is not None
    terms, residual = split_conjuncts(target.filter, lambda term: term.op == "eq")
    if residual is not None or not terms:
        raise NoTarget(f"No value matches '{target.label}' and its filter cannot describe a "
                       "new one.",
                       detail_fr=f"Aucune valeur ne correspond à « {target.label} » et son "
                       "filtre ne permet pas d'en créer une.")
    if not target.complex_multi:
        return terms[0].value
    entry: dict[str, Any] = {}
    for term in terms:
        sub = sub_def(target.attr, term.path.attr)
        entry[sub["name"]] = _coerce(sub, term.value, f"{target.label}.{sub['name']}")
    return entry


def _remove(resource: dict[str, Any], target: Target, value: object) -> None:
    """Remove an attribute, a sub-attribute or selected entries (RFC 7644 §3.5.2.2)."""
    container = _container(resource, target, create=False)
    if container is None:
        return
    current = get_ci(container, target.name)
    if target.filter is not None:
        _remove_filtered(container, target, current)
    elif target.sub is not None:
        _remove_sub(container, target, current)
    elif target.attr["multiValued"] and value is not None and isinstance(current, list):
        items = value if isinstance(value, list) else [value]
        kept = [e for e in current if not any(_selects(i, e, target) for i in items)]
        _put(container, target.name, kept)
    else:
        _put(container, target.name, None)


def _remove_filtered(container: dict[str, Any], target: Target, current: object) -> None:
    """Remove the entries `attr[filter]` selects, or their `.sub`; none is a no-op."""
    entries = list(current) if isinstance(current, list) else []
    matched = set(_matching(entries, target))
    if target.sub is None:
        kept = [e for i, e in enumerate(entries) if i not in matched]
    else:
        kept = [_without(e, target.sub["name"]) if i in matched else e
                for i, e in enumerate(entries)]
    _put(container, target.name, [e for e in kept if e != {}])


def _remove_sub(container: dict[str, Any], target: Target, current: object) -> None:
    """Remove `attr.sub` from a complex attribute or from every entry."""
    assert target.sub is not None
    name = target.sub["name"]
    if isinstance(current, list):
        _put(container, target.name, [e for e in (_without(x, name) for x in current) if e != {}])
    elif isinstance(current, dict):
        _put(container, target.name, _without(current, name))


def _without(entry: Any, name: str) -> Any:
    """Return a copy of a complex value without one sub-attribute."""
    if not isinstance(entry, dict):
        return entry
    key = find_key(entry, name)
    return {k: v for k, v in entry.items() if k != key}
