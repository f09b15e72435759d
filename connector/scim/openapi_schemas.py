"""JSON Schemas (OpenAPI 3.1) of SCIM resources, built from the served RFC 7643 §7 definitions.

Pure functions of the discovery documents: whatever `/Schemas` says (names, types, mutability,
canonical values) the description says too. Two views of each resource: what a client may send
(`request`, readOnly attributes allowed and ignored, password writable) and what the server
answers (`response`, writeOnly and `returned: never` attributes absent, nothing unknown).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.scim.limits import MAX_ITEMS, MAX_STRING

IETF = "urn:ietf:params:scim:"
_BOOLEAN_STRINGS = ["True", "False", "true", "false"]


@dataclass(frozen=True)
class Shape:
    """How to render attributes: direction, day-valued names and per-path length bounds."""

    request: bool
    dates: Collection[str] = ()
    lengths: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def enforced(urn: str) -> bool:
    """Tell whether a schema's canonical values are the only ones accepted (R5, R6, R12).

    The IETF schemas' canonical values are suggestions (RFC 7643 §2.3.1: a service provider
    MAY accept others); the étude extensions' are rules the server enforces.
    """
    return not urn.startswith(IETF)


def _scalar(defn: dict[str, Any], path: str, shape: Shape, strict: bool) -> dict[str, Any]:
    """Render one single value of a non-complex attribute."""
    kind = defn["type"]
    if kind == "boolean":
        if shape.request:  # Microsoft Entra ID sends "True" / "False" strings
            return {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": _BOOLEAN_STRINGS}]}
        return {"type": "boolean"}
    if kind == "integer":
        return {"type": "integer"}
    if kind == "decimal":
        return {"type": "number"}
    if defn["name"] in shape.dates and not path.count("."):
        if shape.request:
            return {"anyOf": [{"type": "string", "format": "date"},
                              {"type": "string", "format": "date-time"}],
                    "description": "YYYY-MM-DD; an ISO 8601 date-time is reduced to its day "
                                   "in Europe/Paris."}
        return {"type": "string", "format": "date"}
    out: dict[str, Any] = {"type": "string"}
    if kind == "dateTime":
        out["format"] = "date-time"
    canonical = defn.get("canonicalValues")
    if canonical and strict:
        out["enum"] = list(canonical)
    elif canonical:
        out["examples"] = list(canonical)
    if shape.request:
        low, high = shape.lengths.get(path, (0, MAX_STRING))
        out["maxLength"] = high
        if low:
            out["minLength"] = low
    return out


def attribute_schema(defn: dict[str, Any], urn: str, shape: Shape,
                     path: str = "") -> dict[str, Any]:
    """Render one RFC 7643 §7 attribute definition as a JSON Schema."""
    path = path or defn["name"]
    strict = enforced(urn)
    if defn["type"] == "complex":
        one = object_schema(defn.get("subAttributes", []), urn, shape, prefix=path + ".")
    else:
        one = _scalar(defn, path, shape, strict)
    if defn["multiValued"]:
        many: dict[str, Any] = {"type": "array", "items": one}
        if shape.request:
            many["maxItems"] = MAX_ITEMS
        if shape.request and defn["type"] == "string":
            # Entra ID cannot send a list for a custom attribute: "mars,v3" stands for both.
            out: dict[str, Any] = {"anyOf": [many, {"type": "string", "maxLength": MAX_STRING,
                                                    "description": "Comma-separated values."}]}
        else:
            out = many
    else:
        out = one
    out = dict(out)
    if defn.get("description") and defn["description"] != defn["name"]:
        out.setdefault("description", defn["description"])
    if defn["mutability"] == "readOnly":
        out["readOnly"] = True
    if defn["mutability"] == "writeOnly":
        out["writeOnly"] = True
    return out


def visible(defn: dict[str, Any], shape: Shape) -> bool:
    """Tell whether an attribute appears in this direction (RFC 7643 §7 returned, mutability)."""
    if shape.request:
        return True
    return defn["mutability"] != "writeOnly" and defn.get("returned") != "never"


def object_schema(defs: list[dict[str, Any]], urn: str, shape: Shape,
                  prefix: str = "") -> dict[str, Any]:
    """Render a set of attributes as a closed object (unknown names are refused, §3.12)."""
    props = {d["name"]: attribute_schema(d, urn, shape, prefix + d["name"])
             for d in defs if visible(d, shape)}
    return {"type": "object", "properties": props, "additionalProperties": False}


def resource_schema(resource_type: dict[str, Any], schemas: Mapping[str, dict[str, Any]],
                    common: list[dict[str, Any]], shape: Shape) -> dict[str, Any]:
    """Render a resource type: core and common attributes, then one object per extension."""
    core = resource_type["schema"]
    extensions = [e["schema"] for e in resource_type.get("schemaExtensions", [])]
    body = object_schema(schemas[core]["attributes"] + common, core, shape)
    urns = [core, *extensions]
    body["properties"]["schemas"] = {
        "type": "array", "minItems": 1, "uniqueItems": True,
        "items": {"type": "string"} if shape.request else {"enum": urns},
        "description": "The core schema URN, then the URN of each extension present."}
    for urn in extensions:
        extension = object_schema(schemas[urn]["attributes"], urn, shape)
        extension["description"] = schemas[urn].get("description", urn)
        body["properties"][urn] = extension
    required = [d["name"] for d in schemas[core]["attributes"] if d.get("required")]
    body["required"] = required if shape.request else ["id", "schemas"]
    body["description"] = schemas[core].get("description", core)
    return body
