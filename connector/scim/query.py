"""List requests (RFC 7644 §3.4.2): parameters, push-down plan, sorting, paging, projection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connector.scim import filter as scim_filter
from connector.scim.attributes import find_attribute
from connector.scim.errors import BadRequest, InvalidFilter, InvalidValue
from connector.scim.limits import MAX_INDEX
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, RESOURCE_TYPES

# SCIM attribute (canonical, lowercased full name) -> neutral push-down field.
# `exact` says the store's match has the SCIM semantics (case-insensitive equality), so a
# filter made only of exact terms can be paged and counted by the store itself.
USER_PUSHDOWN: dict[str, tuple[str, bool]] = {
    "username": ("userName", True),
    "emails.value": ("attr:emailIndex", True),
    "emails": ("attr:emailIndex", True),
    "externalid": ("attr:externalId", False),  # caseExact in SCIM, not in Keycloak's q
    "active": ("attr:scimActive", True),
    "name.givenname": ("firstName", False),
    "name.familyname": ("lastName", False),
}
for _name in ("etude", "profile", "platforms", "titulaire", "kbisDate", "employerAttestationDate",
              "contractType", "contractEndDate", "departureDate", "confidentialityAcceptedDate",
              "accessStatus"):
    USER_PUSHDOWN[f"{ETUDE_USER}:{_name}".lower()] = (f"attr:{_name}", True)
for _name in ("employeeNumber", "costCenter", "organization", "division", "department"):
    USER_PUSHDOWN[f"{ENTERPRISE}:{_name}".lower()] = (f"attr:{_name}", True)


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


@dataclass
class Plan:
    """What the store is asked (push-down terms) and what the connector still checks."""

    terms: list[tuple[str, str]] = field(default_factory=list)
    residual: scim_filter.Node | None = None
    exact: bool = True


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


def _canonical(path: scim_filter.AttrPath, resource_type: str) -> str:
    """Name a path as `attr.sub`, or `urn:attr.sub` for an extension, lowercased."""
    found = scim_filter.resolve(path, resource_type)
    if found is None:
        return path.dotted
    return f"{found.schema}:{path.dotted}".lower() if found.extension else path.dotted


def plan_users(node: scim_filter.Node | None) -> Plan:
    """Split a Users filter into store terms and the residual the connector evaluates."""
    if node is None:
        return Plan()
    pushed: list[tuple[str, str]] = []
    exact = True

    def pushable(term: scim_filter.Compare) -> bool:
        key = USER_PUSHDOWN.get(_canonical(term.path, "User"))
        if term.op != "eq" or key is None or term.value is None:
            return False
        value = term.value
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str) or not value:
            return False
        # `q=key:value` cannot carry separators; plain parameters (username=…) can.
        return not key[0].startswith("attr:") or _q_safe(value)

    terms, residual = scim_filter.split_conjuncts(node, pushable)
    for term in terms:
        store_field, is_exact = USER_PUSHDOWN[_canonical(term.path, "User")]
        value = term.value
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pushed.append((store_field, text.lower() if store_field == "attr:emailIndex" else text))
        exact = exact and is_exact
    for rest in scim_filter.conjuncts(residual) if residual is not None else []:
        address = _value_path_email(rest)
        if address is not None:  # narrows by the address; the entry's type is checked here
            pushed.append(("attr:emailIndex", address.lower()))
    plan = Plan(pushed, residual, exact and residual is None)
    if not plan.exact:  # re-check everything the store only narrowed
        plan.residual = node
    return plan


def _value_path_email(term: scim_filter.Node) -> str | None:
    """`emails[type eq "work" and value eq "x"]` (Entra ID's matching form): the address."""
    if not (isinstance(term, scim_filter.ValuePath) and term.path.attr == "emails"
            and term.path.urn is None and term.sub is None):
        return None
    for inner in scim_filter.conjuncts(term.filter):
        if (isinstance(inner, scim_filter.Compare) and inner.path.attr == "value"
                and inner.op == "eq" and isinstance(inner.value, str) and inner.value
                and _q_safe(inner.value)):
            return inner.value
    return None


def _q_safe(value: str) -> bool:
    return not any(c in value for c in ' :"\t\n')


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
