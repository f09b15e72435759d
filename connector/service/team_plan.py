"""Plan a team PATCH and a team query without Keycloak (RFC 7644 §3.4.2, §3.5.2; pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.scim import filter as scim_filter
from connector.scim.errors import InvalidValue
from connector.scim.filter import And, Compare, Node, Not, Or, Present, ValuePath, get_ci
from connector.scim.schema_defs import ETUDE_GROUP

MAX_NAMED_IDS = 10


# -- pure planning ---------------------------------------------------------------------------
@dataclass
class Team:
    """A team as the connector writes it."""

    name: str
    etude: str
    external_id: str | None
    permissions: list[str]
    platforms: list[str]
    members: list[str] | None = None  # None: not given (PATCH without a members change)


@dataclass
class PatchPlan:
    """A PatchOp split into member deltas and the other operations (RFC 7644 §3.5.2)."""

    rest: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)  # member id -> "add" | "remove"
    needs_all: bool = False

    @property
    def add(self) -> list[str]:
        return [m for m, op in self.last.items() if op == "add"]

    @property
    def remove(self) -> list[str]:
        return [m for m, op in self.last.items() if op == "remove"]


def member_ids(value: Any, label: str = "members") -> list[str]:
    """Read member ids from `[{"value": id, "type": "User"}]`; groups cannot nest."""
    items = [value] if isinstance(value, dict) else value
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidValue(f"'{label}' must be a list of {{\"value\": <user id>}}.",
                           detail_fr=f"« {label} » doit être une liste de {{\"value\": <id>}}.")
    out: list[str] = []
    for item in items:
        ident = get_ci(item, "value") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident.strip():
            raise InvalidValue(f"Each entry of '{label}' needs a string 'value' (a user id).",
                               detail_fr=f"Chaque entrée de « {label} » exige une « value » "
                               "(l'id d'un utilisateur).")
        kind = get_ci(item, "type")
        if kind is not None and str(kind).lower() != "user":
            raise InvalidValue(f"Member {ident}: a team's members are users (type 'User'); "
                               "teams do not nest.",
                               detail_fr=f"Membre {ident} : les membres d'une équipe sont des "
                               "utilisateurs (type « User ») ; les équipes ne s'imbriquent pas.")
        if ident.strip() not in out:
            out.append(ident.strip())
    return out


def _filter_ids(node: Node) -> list[str] | None:
    """Read `value eq "a" or value eq "b"` of a members[...] path; None for anything else."""
    if isinstance(node, Or):
        left, right = _filter_ids(node.left), _filter_ids(node.right)
        return None if left is None or right is None else left + right
    if (isinstance(node, Compare) and node.op == "eq" and node.path.attr == "value"
            and node.path.sub is None and isinstance(node.value, str)):
        return [node.value]
    return None


def plan_patch(body: Any) -> PatchPlan:
    """Turn member adds and removes into deltas, so a PATCH never reads every member."""
    plan = PatchPlan()
    operations = get_ci(body, "Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list):
        plan.needs_all = True  # let the PATCH engine name the mistake
        return plan
    for operation in operations:
        if not isinstance(operation, dict):
            plan.needs_all = True
            return plan
        op = str(get_ci(operation, "op") or "").lower()
        path, value = get_ci(operation, "path"), get_ci(operation, "value")
        lowered = path.strip().lower() if isinstance(path, str) else ""
        if lowered in ("members", "urn:ietf:params:scim:schemas:core:2.0:group:members"):
            if op == "add" or (op == "remove" and value is not None):
                for ident in member_ids(value):
                    plan.last.pop(ident, None)
                    plan.last[ident] = op
                continue
            plan.needs_all = True  # replace, or remove them all
        elif lowered.startswith("members"):
            parsed = scim_filter.parse_path(path, "Group")
            ids = (_filter_ids(parsed.filter) if isinstance(parsed, ValuePath)
                   and parsed.sub is None and op == "remove" else None)
            if ids is None:
                plan.needs_all = True
                continue
            for ident in ids:
                plan.last.pop(ident, None)
                plan.last[ident] = "remove"
        elif not lowered and isinstance(value, dict) and get_ci(value, "members") is not None:
            if op != "add":
                plan.needs_all = True
                continue
            for ident in member_ids(get_ci(value, "members")):
                plan.last.pop(ident, None)
                plan.last[ident] = "add"
            rest = {k: v for k, v in value.items() if k.lower() != "members"}
            if rest:
                plan.rest.append({**operation, "value": rest})
        else:
            plan.rest.append(operation)
    return plan


def mentions_members(node: Node | None) -> bool:
    """Tell whether a filter reads members (then they must be loaded to evaluate it)."""
    if node is None:
        return False
    if isinstance(node, And | Or):
        return mentions_members(node.left) or mentions_members(node.right)
    if isinstance(node, Not):
        return mentions_members(node.node)
    if isinstance(node, Compare | Present | ValuePath):
        return node.path.attr == "members"
    return False


def member_term(term: Compare) -> bool:
    """`members.value eq "<id>"` (or `members eq`): answered by the user's own groups."""
    return (term.path.attr == "members" and term.path.sub in (None, "value")
            and term.op == "eq" and isinstance(term.value, str))


def narrowing(node: Node | None) -> dict[str, str]:
    """Top-level equalities that narrow the candidate teams (all still re-checked)."""
    out: dict[str, str] = {}
    if node is None:
        return out
    for term in scim_filter.conjuncts(node):
        if not isinstance(term, Compare) or term.op != "eq" or not isinstance(term.value, str):
            continue
        if term.path.attr == "displayname" and term.path.sub is None:
            out["name"] = term.value
        elif term.path.attr == "etude" and (term.path.urn or "").lower() == ETUDE_GROUP.lower():
            out["etude"] = term.value
        elif term.path.attr == "externalid":
            out["externalId"] = term.value
    return out


def needs_members(attributes: tuple[str, ...], excluded: tuple[str, ...]) -> bool:
    """RFC 7644 §3.4.2.5: read members only when the answer will show them."""
    def head(name: str) -> str:
        lowered = name.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:group:")
        return lowered.split(".", 1)[0]

    if attributes:
        return any(head(a) == "members" for a in attributes)
    return not any(name.lower().removeprefix(
        "urn:ietf:params:scim:schemas:core:2.0:group:") == "members" for name in excluded)


# -- the service -----------------------------------------------------------------------------
