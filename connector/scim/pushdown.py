"""Split a Users filter into what a directory can answer and what the connector checks.

Pure (RFC 7644 §3.4.2.2): a filter becomes a union of conjunctions of neutral terms (`branches`,
the candidates), terms whose matches are left out (`excluded`, from a top-level `not`), and the
residual filter the connector evaluates on every candidate. The store decides how exactly it
can answer each term; whatever it only narrows, the connector checks again with the whole filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.scim import filter as scim_filter
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER

# SCIM attribute (canonical, lowercased) -> neutral field, and the operators pushed for it.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "username": ("userName", ("eq", "co", "sw")),
    "emails.value": ("emails", ("eq",)),
    "emails": ("emails", ("eq",)),
    "name.givenname": ("givenName", ("eq", "co", "sw")),
    "name.familyname": ("familyName", ("eq", "co", "sw")),
    "displayname": ("attr:displayName", ("eq", "co", "sw")),
    "externalid": ("attr:externalId", ("eq",)),
    "active": ("attr:scimActive", ("eq",)),
    "meta.lastmodified": ("modified", ("gt", "ge")),
}
for _name in ("etude", "profile", "platforms", "titulaire", "kbisDate", "employerAttestationDate",
              "contractType", "contractEndDate", "departureDate", "confidentialityAcceptedDate",
              "accessStatus"):
    FIELDS[f"{ETUDE_USER}:{_name}".lower()] = (f"attr:{_name}", ("eq",))
for _name in ("employeeNumber", "costCenter", "organization", "division", "department"):
    FIELDS[f"{ENTERPRISE}:{_name}".lower()] = (f"attr:{_name}", ("eq",))

MAX_BRANCHES = 8  # an `or` of more pushed terms is evaluated on the candidates instead


@dataclass(frozen=True)
class Term:
    """One condition a directory may evaluate: `field op value` (value as text)."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Pushdown:
    """Candidates (any branch, none of `excluded`) and what is left to check on them."""

    branches: tuple[tuple[Term, ...], ...] = ((),)
    excluded: tuple[Term, ...] = ()
    residual: scim_filter.Node | None = None  # conjuncts no term carries
    filter: scim_filter.Node | None = None  # the whole filter, to check what the store narrowed


def _canonical(path: scim_filter.AttrPath) -> str:
    """Name a path as `attr.sub`, or `urn:attr.sub` for an extension, lowercased."""
    found = scim_filter.resolve(path, "User")
    if found is None:
        return path.dotted
    return f"{found.schema}:{path.dotted}".lower() if found.extension else path.dotted


def term_of(node: scim_filter.Node) -> Term | None:
    """Return the pushed term of a comparison, or None when the connector must evaluate it."""
    if isinstance(node, scim_filter.ValuePath):
        return _value_path_email(node)
    if not isinstance(node, scim_filter.Compare):
        return None
    field = FIELDS.get(_canonical(node.path))
    if field is None or node.op not in field[1]:
        return None
    value = node.value
    if isinstance(value, bool):
        if field[0] != "attr:scimActive" and not field[0].endswith(":titulaire"):
            return None
        value = "true" if value else "false"
    if not isinstance(value, str) or not value.strip():
        return None
    return Term(field[0], node.op, value.lower() if field[0] == "emails" else value)


def _value_path_email(node: scim_filter.ValuePath) -> Term | None:
    """`emails[type eq "work" and value eq "x"]` (Entra ID's matching form): the address."""
    if node.path.attr != "emails" or node.path.urn is not None or node.sub is not None:
        return None
    for inner in scim_filter.conjuncts(node.filter):
        if (isinstance(inner, scim_filter.Compare) and inner.path.attr == "value"
                and inner.op == "eq" and isinstance(inner.value, str) and inner.value.strip()):
            return Term("emails", "eq", inner.value.lower())
    return None


def _conjunction(node: scim_filter.Node) -> tuple[Term, ...] | None:
    """Return the terms of a conjunction made only of pushed comparisons, else None."""
    terms = [term_of(c) for c in scim_filter.conjuncts(node)]
    if any(t is None or t.field == "modified" for t in terms):
        return None
    return tuple(t for t in terms if t is not None)


def _disjuncts(node: scim_filter.Node) -> list[scim_filter.Node]:
    if isinstance(node, scim_filter.Or):
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


def plan_users(node: scim_filter.Node | None) -> Pushdown:
    """Split a Users filter: pushed terms, one `or` as a union, one `not` as an exclusion."""
    if node is None:
        return Pushdown()
    base: list[Term] = []
    union: list[tuple[Term, ...]] | None = None
    excluded: tuple[Term, ...] = ()
    rest: list[scim_filter.Node] = []
    for conjunct in scim_filter.conjuncts(node):
        term = term_of(conjunct)
        if term is not None:
            base.append(term)
            if isinstance(conjunct, scim_filter.ValuePath):
                rest.append(conjunct)  # the entry's other conditions (type) are checked here
            continue
        if isinstance(conjunct, scim_filter.Or) and union is None:
            options = [_conjunction(d) for d in _disjuncts(conjunct)]
            if len(options) <= MAX_BRANCHES and all(options):
                union = [b for b in options if b is not None]
                continue
        if isinstance(conjunct, scim_filter.Not) and not excluded:
            inner = _conjunction(conjunct.node)
            if inner:
                excluded = inner
                continue
        rest.append(conjunct)
    residual: scim_filter.Node | None = None
    for part in rest:
        residual = part if residual is None else scim_filter.And(residual, part)
    branches = tuple((*base, *b) for b in union) if union else (tuple(base),)
    return Pushdown(branches, excluded, residual, node)
