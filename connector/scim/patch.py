"""RFC 7644 §3.5.2 PATCH engine: pure and atomic, tolerant of what Entra ID and Okta send."""

from __future__ import annotations

import copy
from typing import Any

from connector.scim.attributes import find_key, get_ci, resolve
from connector.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from connector.scim.filter import (
    AttrPath,
    ValuePath,
    parse_path,
    validate,
)
from connector.scim.patch_apply import Target, apply_to, drop_extension, sub_def
from connector.scim.schema_defs import PATCH_OP, RESOURCE_TYPES, schemas_of

OPS = ("add", "replace", "remove")


# --------------------------------------------------------------------------- entry point


def apply_patch(resource: dict[str, Any], body: dict[str, Any],
                resource_type: str = "User") -> dict[str, Any]:
    """Apply a PatchOp to a deep copy of the resource, all or nothing (RFC 7644 §3.5.2)."""
    operations = _operations(body)
    result = copy.deepcopy(resource)
    for number, operation in enumerate(operations, 1):
        try:
            _apply_operation(result, operation, resource_type)
        except ScimError as exc:
            raise type(exc)(f"Operation {number}: {exc.detail}",
                            detail_fr=f"Opération {number} : {exc.detail_fr}") from exc
    return result


def _operations(body: object) -> list[dict[str, Any]]:
    """Check the PatchOp envelope and return its Operations (RFC 7644 §3.5.2)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object.",
                            detail_fr="Le corps du PATCH doit être un objet JSON.")
    schemas = get_ci(body, "schemas")
    if not isinstance(schemas, list) or PATCH_OP.lower() not in {
            str(s).lower() for s in schemas}:
        raise InvalidSyntax(f"The PATCH body must list the schema {PATCH_OP}.",
                            detail_fr=f"Le corps du PATCH doit déclarer le schéma {PATCH_OP}.")
    operations = get_ci(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("The PATCH body needs a non-empty 'Operations' list.",
                            detail_fr="Le corps du PATCH doit contenir une liste "
                            "« Operations » non vide.")
    if not all(isinstance(op, dict) for op in operations):
        raise InvalidSyntax("Each PATCH operation must be a JSON object.",
                            detail_fr="Chaque opération PATCH doit être un objet JSON.")
    return operations


def _apply_operation(resource: dict[str, Any], operation: dict[str, Any], rt: str) -> None:
    """Dispatch one operation on its op and path (RFC 7644 §3.5.2.1-3)."""
    op = str(get_ci(operation, "op") or "").lower()
    if op not in OPS:
        raise InvalidSyntax(f"Unknown PATCH op '{get_ci(operation, 'op')}': use add, replace "
                            "or remove.",
                            detail_fr=f"Opération PATCH inconnue « {get_ci(operation, 'op')} » :"
                            " utilisez add, replace ou remove.")
    path, value = get_ci(operation, "path"), get_ci(operation, "value")
    if path is None or path == "":
        _apply_pathless(resource, op, value, rt)
    elif not isinstance(path, str):
        raise InvalidPath("The PATCH path must be a string.",
                          detail_fr="Le chemin PATCH doit être une chaîne.")
    elif _schema_urn(path, rt):
        _apply_schema(resource, op, _schema_urn(path, rt) or "", value, rt)
    elif op != "remove" and find_key(operation, "value") is None:
        raise InvalidSyntax(f"The '{op}' operation on '{path}' needs a value.",
                            detail_fr=f"L'opération « {op} » sur « {path} » exige une valeur.")
    else:
        apply_to(resource, op, _target(path, rt, InvalidPath), value)


# --------------------------------------------------------------------------- targets


def _schema_urn(text: str, rt: str) -> str | None:
    """Return the schema URN `text` names, ignoring case."""
    return next((s for s in schemas_of(rt) if s.lower() == text.lower()), None)


def _target(text: str, rt: str, error: type[ScimError]) -> Target:
    """Parse and resolve a path; `error` is raised for unknown or illegal ones (§3.5.2)."""
    try:
        parsed = parse_path(text)
    except InvalidFilter as exc:
        raise error(f"Invalid path '{text}': {exc.detail}",
                    detail_fr=f"Chemin invalide « {text} » : {exc.detail_fr}") from exc
    attr_path = parsed.path if isinstance(parsed, ValuePath) else parsed
    found = resolve(attr_path, rt)
    if found is None:
        raise error(f"Unknown attribute '{text}'.", detail_fr=f"Attribut inconnu « {text} ».")
    try:
        validate(parsed, rt)
    except InvalidFilter as exc:
        raise error(f"Invalid path '{text}': {exc.detail}",
                    detail_fr=f"Chemin invalide « {text} » : {exc.detail_fr}") from exc
    if isinstance(parsed, ValuePath):
        if not found.attr["multiValued"]:
            raise error(f"Invalid path '{text}': only multi-valued attributes take a filter.",
                        detail_fr=f"Chemin invalide « {text} » : seuls les attributs "
                        "multivalués acceptent un filtre.")
        sub = sub_def(found.attr, parsed.sub) if parsed.sub else None
        target = Target(text, found, attr_path, parsed.filter, sub, rt)
    else:
        target = Target(text, found, attr_path, None, found.sub, rt)
    _check_mutability(target)
    return target


def _check_mutability(target: Target) -> None:
    """Refuse to write readOnly attributes (RFC 7643 §2.2, RFC 7644 §3.12 mutability)."""
    for definition in (target.attr, target.sub):
        if definition is not None and definition["mutability"] == "readOnly":
            raise Mutability(f"Attribute '{target.label}' is read-only.",
                             detail_fr=f"L'attribut « {target.label} » est en lecture seule.")


# --------------------------------------------------------------------------- path-less


def _apply_pathless(resource: dict[str, Any], op: str, value: object, rt: str) -> None:
    """Apply `add`/`replace` without path: each key names a target (RFC 7644 §3.5.2.1)."""
    if op == "remove":
        raise NoTarget("A 'remove' operation needs a path.",
                       detail_fr="Une opération « remove » exige un chemin.")
    if not isinstance(value, dict):
        raise InvalidSyntax(f"Without a path, the '{op}' value must be a JSON object.",
                            detail_fr=f"Sans chemin, la valeur de « {op} » doit être un "
                            "objet JSON.")
    for key, item in value.items():
        urn = _schema_urn(str(key), rt)
        if str(key).lower() == "schemas":
            continue
        if urn is not None:
            _apply_schema(resource, op, urn, item, rt)
        else:
            _apply_key(resource, op, str(key), item, rt)


def _apply_key(resource: dict[str, Any], op: str, key: str, value: object, rt: str) -> None:
    """Apply one key of a path-less value, tolerating a no-op write of a readOnly value."""
    try:
        target = _target(key, rt, InvalidValue)
    except Mutability:
        if _current_equals(resource, key, value, rt):
            return
        raise
    # A key with a filter (`emails[type eq "work"].value`, as Entra ID sends) acts as a path.
    apply_to(resource, op, target, value)


def _current_equals(resource: dict[str, Any], key: str, value: object, rt: str) -> bool:
    """Tell whether a top-level attribute already holds exactly `value`."""
    found = resolve(AttrPath(None, key.lower()), rt) if "." not in key else None
    return found is not None and not found.extension and get_ci(
        resource, found.attr["name"]) == value


def _apply_schema(resource: dict[str, Any], op: str, urn: str, value: object, rt: str) -> None:
    """Apply an operation whose path or key is a whole schema URN."""
    if op == "remove":
        if urn == RESOURCE_TYPES[rt][0]:
            raise Mutability("The core schema cannot be removed.",
                             detail_fr="Le schéma principal ne peut pas être supprimé.")
        drop_extension(resource, urn)
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"The value of '{urn}' must be a JSON object.",
                           detail_fr=f"La valeur de « {urn} » doit être un objet JSON.")
    for key, item in value.items():
        if str(key).lower() == "schemas":  # scim2-client echoes the extension's own URN
            continue
        _apply_key(resource, op, f"{urn}:{key}", item, rt)
