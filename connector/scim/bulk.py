"""Bulk requests (RFC 7644 §3.7): parse, limit, order by bulkId references, resolve them."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any

from connector.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
REFERENCE = re.compile(r"bulkId:([^\s\"/]+)")


class BulkConflict(ScimError):
    """409 invalidValue: a bulkId reference is circular or cannot be resolved (§3.7.1–§3.7.2)."""

    status = 409
    scim_type = "invalidValue"


@dataclass(frozen=True)
class BulkOperation:
    """One operation of a bulk request, as sent (§3.7)."""

    index: int
    method: str
    path: str
    bulk_id: str | None = None
    data: Any = None
    version: str | None = None


@dataclass(frozen=True)
class BulkRequest:
    """A validated bulk request: its operations and the error budget (§3.7.3)."""

    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None = None


def check_payload_size(size: int | None, max_payload: int) -> None:
    """§3.7.4: a body over maxPayloadSize is 413, before it is parsed."""
    if size is not None and size > max_payload:
        raise PayloadTooLarge(
            f"The size of the bulk operation exceeds the maxPayloadSize ({max_payload} bytes).",
            detail_fr=f"La taille de la requête bulk dépasse maxPayloadSize ({max_payload} "
            "octets).")


def _get(obj: dict[str, Any], name: str) -> Any:
    """Read a member whatever its case (SCIM attribute names are case-insensitive)."""
    return next((v for k, v in obj.items() if k.lower() == name.lower()), None)


def _invalid(detail: str, detail_fr: str) -> InvalidSyntax:
    return InvalidSyntax(detail, detail_fr=detail_fr)


def parse_bulk_request(body: Any, max_operations: int) -> BulkRequest:
    """Validate a BulkRequest message (§3.7); more than maxOperations is 413 (§3.7.4)."""
    if not isinstance(body, dict):
        raise _invalid("A bulk request is a JSON object.",
                       "Une requête bulk est un objet JSON.")
    schemas = _get(body, "schemas")
    if not isinstance(schemas, list) or BULK_REQUEST not in schemas:
        raise _invalid(f"The bulk request must declare the schema {BULK_REQUEST}.",
                       f"La requête bulk doit déclarer le schéma {BULK_REQUEST}.")
    raw_ops = _get(body, "Operations")
    if not isinstance(raw_ops, list):
        raise _invalid("The bulk request needs an 'Operations' array.",
                       "La requête bulk doit contenir un tableau « Operations ».")
    if len(raw_ops) > max_operations:
        raise PayloadTooLarge(
            f"The bulk request holds {len(raw_ops)} operations; maxOperations is "
            f"{max_operations}.",
            detail_fr=f"La requête bulk contient {len(raw_ops)} opérations ; maxOperations vaut "
            f"{max_operations}.")
    fail_on_errors = _get(body, "failOnErrors")
    if fail_on_errors is not None and (isinstance(fail_on_errors, bool)
                                       or not isinstance(fail_on_errors, int)
                                       or fail_on_errors < 1):
        raise InvalidValue("failOnErrors must be a positive integer.",
                           detail_fr="failOnErrors doit être un entier positif.")
    ops: list[BulkOperation] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_ops):
        ops.append(_operation(index, raw, seen))
    return BulkRequest(tuple(ops), fail_on_errors)


def _operation(index: int, raw: Any, seen: set[str]) -> BulkOperation:
    where, where_fr = f"Operation {index + 1}", f"Opération {index + 1}"
    if not isinstance(raw, dict):
        raise _invalid(f"{where} is not a JSON object.", f"{where_fr} n'est pas un objet JSON.")
    method = str(_get(raw, "method") or "").upper()
    if method not in METHODS:
        raise _invalid(f"{where}: method must be one of {', '.join(METHODS)}.",
                       f"{where_fr} : method vaut {', '.join(METHODS)}.")
    path = _get(raw, "path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _invalid(f"{where}: path must be a relative path such as /Users.",
                       f"{where_fr} : path doit être un chemin relatif comme /Users.")
    bulk_id = _get(raw, "bulkId")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        raise _invalid(f"{where}: bulkId must be a non-empty string.",
                       f"{where_fr} : bulkId doit être une chaîne non vide.")
    if method == "POST" and bulk_id is None:
        raise _invalid(f"{where}: bulkId is required with POST.",
                       f"{where_fr} : bulkId est obligatoire avec POST.")
    if bulk_id is not None:
        if bulk_id in seen:
            raise _invalid(f"{where}: bulkId '{bulk_id}' is used twice.",
                           f"{where_fr} : le bulkId « {bulk_id} » est utilisé deux fois.")
        seen.add(bulk_id)
    data = _get(raw, "data")
    if method != "DELETE" and not isinstance(data, dict):
        raise _invalid(f"{where}: data must be a JSON object with {method}.",
                       f"{where_fr} : data doit être un objet JSON avec {method}.")
    version = _get(raw, "version")
    return BulkOperation(index, method, path, bulk_id, data,
                         str(version) if version is not None else None)


def references(value: Any) -> set[str]:
    """Return every bulkId referenced as `bulkId:<id>` anywhere in a value (§3.7.2)."""
    if isinstance(value, str):
        return set(REFERENCE.findall(value))
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()


def operation_references(op: BulkOperation) -> set[str]:
    """Return the bulkIds an operation needs resolved first (in its path and its data)."""
    return references(op.path) | references(op.data)


def order(ops: tuple[BulkOperation, ...]) -> tuple[list[BulkOperation], dict[int, ScimError]]:
    """Order operations so that each runs after those it references (§3.7.2).

    Request order is kept wherever references allow it. Returns the runnable order and, by
    operation index, the errors of those that can never run: a reference to an unknown bulkId,
    or a circular reference (409, which §3.7.1 permits instead of resolving the cycle).
    """
    by_bulk_id = {op.bulk_id: op.index for op in ops if op.bulk_id}
    needs: dict[int, set[int]] = {}
    errors: dict[int, ScimError] = {}
    for op in ops:
        refs = operation_references(op)
        unknown = sorted(r for r in refs if r not in by_bulk_id)
        if unknown:
            errors[op.index] = BulkConflict(
                f"No operation of this request has bulkId '{unknown[0]}'.",
                detail_fr=f"Aucune opération de cette requête n'a le bulkId « {unknown[0]} ».")
        needs[op.index] = {by_bulk_id[r] for r in refs if r in by_bulk_id}
    dependents: dict[int, list[int]] = {op.index: [] for op in ops}
    for index, required in needs.items():
        for other in required:
            dependents[other].append(index)
    waiting = {i: len(r) for i, r in needs.items()}
    ready = [i for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[BulkOperation] = []
    while ready:
        index = heapq.heappop(ready)
        ordered.append(ops[index])
        for other in dependents[index]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, other)
    placed = {op.index for op in ordered}
    for op in ops:
        if op.index not in placed and op.index not in errors:
            errors[op.index] = BulkConflict(
                "Circular bulkId reference: this operation is part of, or waits on, a cycle "
                "of bulkId references.",
                detail_fr="Référence bulkId circulaire : cette opération fait partie d'un cycle "
                "de références bulkId, ou en attend un.")
    # Operations with an unknown reference still sit in `ordered` when they have no other
    # dependency; they are reported, never run.
    return [op for op in ordered if op.index not in errors], errors


def schedule(ops: tuple[BulkOperation, ...]
             ) -> list[tuple[BulkOperation, ScimError | None]]:
    """Return every operation once, runnable ones in dependency order, each with the error
    that prevents it from running (unknown or circular reference) placed at its request rank."""
    runnable, errors = order(ops)
    failed = sorted(errors)
    out: list[tuple[BulkOperation, ScimError | None]] = []
    for op in runnable:
        while failed and failed[0] < op.index:
            index = failed.pop(0)
            out.append((ops[index], errors[index]))
        out.append((op, None))
    out += [(ops[i], errors[i]) for i in failed]
    return out


def resolve(value: Any, ids: dict[str, str]) -> Any:
    """Replace every `bulkId:<id>` with the id the referenced POST created (§3.7.2)."""
    if isinstance(value, str):
        def swap(match: re.Match[str]) -> str:
            if match.group(1) not in ids:
                raise BulkConflict(
                    f"bulkId '{match.group(1)}' cannot be resolved: its operation failed.",
                    detail_fr=f"Le bulkId « {match.group(1)} » ne peut être résolu : son "
                    "opération a échoué.")
            return ids[match.group(1)]

        return REFERENCE.sub(swap, value)
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def split_path(path: str) -> tuple[str, str | None]:
    """Split `/Users/<id>` into the endpoint and the id (None for the endpoint itself)."""
    parts = path.strip("/").split("/")
    if len(parts) == 1:
        return f"/{parts[0]}", None
    if len(parts) == 2 and parts[1]:
        return f"/{parts[0]}", parts[1]
    raise InvalidValue(f"The path '{path}' names no resource.",
                       detail_fr=f"Le chemin « {path} » ne désigne aucune ressource.")


def operation_result(op: BulkOperation, status: int, *, location: str | None = None,
                     version: str | None = None, error: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """Render one entry of a BulkResponse (§3.7.3): status as a string, errors in response."""
    out: dict[str, Any] = {"method": op.method}
    if op.bulk_id:
        out["bulkId"] = op.bulk_id
    if location:
        out["location"] = location
    if version:
        out["version"] = version
    out["status"] = str(status)
    if error is not None:
        out["response"] = error
    return out


def bulk_response(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap operation results in a BulkResponse message (§3.7.3)."""
    return {"schemas": [BULK_RESPONSE], "Operations": results}
