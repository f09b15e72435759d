"""Validate incoming SCIM resources (RFC 7643 §2, §3): names, types, unknown attributes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from marshmallow import Schema, ValidationError, fields

from connector.scim.delimited import DelimitedList
from connector.scim.errors import InvalidSyntax, InvalidValue
from connector.scim.schema_defs import COMMON_ATTRIBUTES, RESOURCE_TYPES, SCHEMAS
from connector.scim.values import WrongType, scalar

# Attributes a client may echo back but that the server owns (RFC 7643 §3.1: ignored).
SERVER_OWNED = {"id", "meta"}


class Scalar(fields.Field):
    """A simple value typed by scim/values.py, as PATCH values are (one typing for both)."""

    def __init__(self, kind: str) -> None:
        super().__init__(allow_none=True)
        self.kind = kind

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return scalar(self.kind, value)
        except WrongType as exc:
            raise ValidationError(f"expects {exc.expected}") from None


def _field(defn: dict[str, Any]) -> fields.Field:
    """Build the marshmallow field of one RFC 7643 §7 attribute definition."""
    kind = defn["type"]
    inner: fields.Field
    if kind == "complex":
        inner = fields.Nested(_schema_for(tuple(
            (s["name"], s["type"]) for s in defn.get("subAttributes", []))))
    else:
        inner = Scalar(kind)
    if defn["multiValued"]:
        many = DelimitedList if kind == "string" else fields.List
        return many(inner, allow_none=True)
    return inner


@lru_cache(maxsize=64)
def _schema_for(subs: tuple[tuple[str, str], ...]) -> Schema:
    defs = {n: {"name": n, "type": t, "multiValued": False} for n, t in subs}
    return Schema.from_dict({n: _field(d) for n, d in defs.items()})()


@lru_cache(maxsize=16)
def _schema(urn: str) -> Schema:
    return Schema.from_dict({a["name"]: _field(a) for a in SCHEMAS[urn][2]})()


def _canonical_keys(obj: dict[str, Any], defs: list[dict[str, Any]], where: str,
                    drop_unknown: set[str] | None = None) -> dict[str, Any]:
    """Rename keys to their schema spelling (names are case-insensitive, RFC 7643 §2.1)."""
    by_lower = {d["name"].lower(): d for d in defs}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        defn = by_lower.get(key.lower())
        if defn is None:
            if drop_unknown is not None and key.lower() in drop_unknown:
                continue
            if value is None or value == []:
                continue  # unassigned (RFC 7643 §2.5), e.g. Entra ID's `"roles": []`
            raise InvalidSyntax(f"Unknown attribute '{where}{key}': no schema of this resource "
                               "defines it.",
                               detail_fr=f"Attribut inconnu « {where}{key} » : aucun schéma de "
                               "cette ressource ne le définit.")
        name = defn["name"]
        if defn["type"] == "complex" and value is not None:
            subs = defn.get("subAttributes", [])
            if defn["multiValued"]:
                if isinstance(value, dict):
                    value = [value]  # lenient: one object for a list of one
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise _type_error(f"{where}{name}", "a list of objects")
                value = [_canonical_keys(v, subs, f"{where}{name}.") for v in value]
            elif isinstance(value, dict):
                value = _canonical_keys(value, subs, f"{where}{name}.")
            else:
                raise _type_error(f"{where}{name}", "an object")
        out[name] = value
    return out


def _type_error(name: str, expected: str) -> InvalidValue:
    return InvalidValue(f"Attribute '{name}' must be {expected}.",
                        detail_fr=f"L'attribut « {name} » doit être {_FR.get(expected, expected)}.")


_FR = {"a list of objects": "une liste d'objets", "an object": "un objet"}


def _check_types(obj: dict[str, Any], urn: str, where: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _schema(urn).load(obj)
    except ValidationError as exc:
        first = next(iter(exc.normalized_messages().items()))
        raise InvalidValue(f"Attribute '{where}{first[0]}' has a value of the wrong type: "
                           f"{first[1][0] if isinstance(first[1], list) else first[1]}",
                           detail_fr=f"L'attribut « {where}{first[0]} » a une valeur de type "
                           "incorrect.") from exc
    # marshmallow returns only the keys it knows; keep explicit nulls (they clear a value).
    return {k: loaded.get(k) for k in obj}


def parse_resource(payload: Any, resource_type: str) -> dict[str, Any]:
    """Return the resource with canonical names and checked types, or raise a SCIM 400."""
    if not isinstance(payload, dict):
        raise InvalidSyntax("The request body must be a JSON object.",
                            detail_fr="Le corps de la requête doit être un objet JSON.")
    core, extensions = RESOURCE_TYPES[resource_type]
    declared = payload.get("schemas", payload.get("Schemas"))
    if declared is not None and (not isinstance(declared, list)
                                 or not all(isinstance(s, str) for s in declared)):
        raise InvalidSyntax("'schemas' must be a list of schema URNs.",
                            detail_fr="« schemas » doit être une liste d'URN de schémas.")
    ext_by_lower = {e.lower(): e for e in extensions}
    core_defs = SCHEMAS[core][2] + COMMON_ATTRIBUTES
    core_part: dict[str, Any] = {}
    result: dict[str, Any] = {"schemas": [core]}
    for key, value in payload.items():
        lowered = key.lower()
        if lowered == "schemas":
            continue
        if lowered in ext_by_lower:
            urn = ext_by_lower[lowered]
            if value is None:
                continue
            if not isinstance(value, dict):
                raise _type_error(urn, "an object")
            canon = _canonical_keys(value, SCHEMAS[urn][2], f"{urn}:")
            result[urn] = _check_types(canon, urn, f"{urn}:")
            result["schemas"].append(urn)
        elif lowered.startswith("urn:"):
            # A URN listed in `schemas` that carries no attribute is ignored (Entra ID);
            # an unknown extension with content is a client mistake, named.
            raise InvalidSyntax(f"Unknown schema extension '{key}'.",
                               detail_fr=f"Extension de schéma inconnue « {key} ».")
        else:
            core_part[key] = value
    canon = _canonical_keys(core_part, core_defs, "")
    for owned in SERVER_OWNED:
        canon.pop(owned, None)
    core_types = {k: v for k, v in canon.items() if k != "externalId"}
    checked = _check_types(core_types, core, "")
    if "externalId" in canon:
        if canon["externalId"] is not None and not isinstance(canon["externalId"], str):
            raise _type_error("externalId", "a string")
        checked["externalId"] = canon["externalId"]
    result.update(checked)
    return result


def strip_read_only(resource: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """Drop readOnly attributes a client sent back (RFC 7643 §2.2: the server ignores them)."""
    out = dict(resource)
    core, extensions = RESOURCE_TYPES[resource_type]
    for defn in SCHEMAS[core][2]:
        if defn["mutability"] == "readOnly":
            out.pop(defn["name"], None)
    for urn in extensions:
        if isinstance(out.get(urn), dict):
            out[urn] = {k: v for k, v in out[urn].items()
                        if next((d["mutability"] for d in SCHEMAS[urn][2] if d["name"] == k),
                                "readWrite") != "readOnly"}
    return out
