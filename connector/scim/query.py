"""List requests (RFC 7644 §3.4.2): parameters, sorting, paging, projection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connector.scim import filter as scim_filter
from connector.scim.attributes import find_attribute
from connector.scim.errors import BadRequest, InvalidFilter, InvalidValue
from connector.scim.limits import MAX_INDEX
from connector.scim.schema_defs import RESOURCE_TYPES


@dataclass(frozen=True)
class ListRequest:
    """The parameters of a query (GET or POST /.search), validated."""

    filter: scim_filter.Node | None = None
    start_index: int = 1
    count: int = 100
    sort_by: str | None = None
    descending: bool = False
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def _int(value: Any, name: str, minimum: int) -> int:
    """Read startIndex or count (RFC 7644 §3.4.2.4): an integer up to 2^31 - 1."""
    error = InvalidValue(f"'{name}' must be an integer between {minimum} and {MAX_INDEX}.",
                         detail_fr=f"« {name} » doit être un entier entre {minimum} et "
                         f"{MAX_INDEX}.")
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise error
    if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value):
        raise error
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise error from None
    if number > MAX_INDEX:
        raise error
    return max(number, minimum)


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(i).strip() for i in items if str(i).strip())


def parse_list_request(params: dict[str, Any], resource_type: str,
                       max_page: int) -> ListRequest:
    """Validate filter, startIndex, count, sortBy, sortOrder and projections (§3.4.2)."""
    lowered = {k.lower(): v for k, v in params.items()}
    text = lowered.get("filter")
    node = None
    if text not in (None, ""):
        if not isinstance(text, str):
            raise InvalidFilter("The filter must be a string.",
                                detail_fr="Le filtre doit être une chaîne.")
        node = scim_filter.parse_filter(text, resource_type)
    sort_by = lowered.get("sortby")
    if sort_by and find_attribute(resource_type, str(sort_by)) is None:
        raise InvalidValue(f"sortBy names an unknown attribute '{sort_by}'.",
                           detail_fr=f"sortBy désigne un attribut inconnu « {sort_by} ».")
    order = str(lowered.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be 'ascending' or 'descending'.",
                           detail_fr="sortOrder vaut « ascending » ou « descending ».")
    attributes, excluded = _names(lowered.get("attributes")), _names(
        lowered.get("excludedattributes"))
    if attributes and excluded:
        raise BadRequest("Use either attributes or excludedAttributes, not both.",
                         detail_fr="Utilisez attributes ou excludedAttributes, pas les deux.")
    count = _int(lowered.get("count", max_page), "count", 0)
    return ListRequest(node, _int(lowered.get("startindex", 1), "startIndex", 1),
                       min(count, max_page), str(sort_by) if sort_by else None,
                       order == "descending", attributes, excluded)


def sort_resources(resources: list[dict[str, Any]], sort_by: str | None, descending: bool,
                   resource_type: str) -> list[dict[str, Any]]:
    """Sort by an attribute, missing values last (RFC 7644 §3.4.2.3)."""
    if not sort_by:
        return resources
    path = scim_filter.parse_path(sort_by, resource_type)
    attr_path = path.path if isinstance(path, scim_filter.ValuePath) else path

    def key(resource: dict[str, Any]) -> tuple[int, str]:
        values = scim_filter.attribute_values(resource, attr_path, resource_type)
        if not values:
            return (1, "")
        return (0, str(values[0]).lower())

    present = [r for r in resources if key(r)[0] == 0]
    missing = [r for r in resources if key(r)[0] == 1]
    present.sort(key=key, reverse=descending)
    return present + missing


def shown(name: str, attributes: tuple[str, ...], excluded: tuple[str, ...],
          resource_type: str) -> bool:
    """RFC 7644 §3.4.2.5: tell whether a core attribute will be in the answer (read it then)."""
    core = RESOURCE_TYPES[resource_type][0].lower() + ":"

    def head(item: str) -> str:
        return item.lower().removeprefix(core).split(".", 1)[0]

    if attributes:
        return any(head(a) == name.lower() for a in attributes)
    return not any(item.lower().removeprefix(core) == name.lower() for item in excluded)


def project(resource: dict[str, Any], attributes: tuple[str, ...], excluded: tuple[str, ...],
            resource_type: str) -> dict[str, Any]:
    """Apply attributes / excludedAttributes (RFC 7644 §3.4.2.5); id and schemas always stay."""
    if not attributes and not excluded:
        return resource
    core, extensions = RESOURCE_TYPES[resource_type]

    def split(name: str) -> tuple[str | None, str, str | None]:
        lowered = name.lower()
        for urn in [core, *extensions]:
            if lowered.startswith(urn.lower() + ":"):
                rest = name[len(urn) + 1:]
                head, _, sub = rest.partition(".")
                return (None if urn == core else urn), head, sub or None
            if lowered == urn.lower():
                return urn, "", None
        head, _, sub = name.partition(".")
        return None, head, sub or None

    def pick(obj: dict[str, Any], head: str) -> str | None:
        return next((k for k in obj if k.lower() == head.lower()), None)

    always = {"id", "schemas"}
    if attributes:
        out: dict[str, Any] = {k: v for k, v in resource.items() if k in always}
        for name in attributes:
            urn, head, sub = split(name)
            source = resource.get(urn, {}) if urn else resource
            if not isinstance(source, dict):
                continue
            target = out.setdefault(urn, {}) if urn else out
            if not head:  # a whole extension; a name with no attribute (".x") names nothing
                if urn:
                    out[urn] = source
                continue
            key = pick(source, head)
            if key is None:
                continue
            if sub and isinstance(source[key], dict):
                inner = pick(source[key], sub)
                if inner is not None:
                    target.setdefault(key, {})[inner] = source[key][inner]
            elif sub and isinstance(source[key], list):
                items = [{k: v for k, v in i.items() if k.lower() == sub.lower()}
                         for i in source[key] if isinstance(i, dict)]
                target[key] = [i for i in items if i]
            else:
                target[key] = source[key]
        return {k: v for k, v in out.items() if v != {} or k in always}
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in resource.items()}
    for name in excluded:
        urn, head, sub = split(name)
        if urn and not head:  # a whole extension, and its URN in `schemas` (RFC 7643 §3)
            out.pop(urn, None)
            if isinstance(out.get("schemas"), list):
                out["schemas"] = [s for s in out["schemas"] if s != urn]
            continue
        target = out.get(urn) if urn else out
        if not isinstance(target, dict) or not head:
            continue
        key = pick(target, head)
        if key is None or key in always:
            continue
        if sub and isinstance(target[key], dict):
            target[key] = {k: v for k, v in target[key].items() if k.lower() != sub.lower()}
        elif sub and isinstance(target[key], list):
            target[key] = [{k: v for k, v in i.items() if k.lower() != sub.lower()}
                           for i in target[key] if isinstance(i, dict)]
        else:
            del target[key]
    return out
