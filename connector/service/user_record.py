"""Translate a SCIM user to the étude record the rules read, and normalise it (R1, R2, R4–R11).

Pure functions of a SCIM resource (no Keycloak, no clock): unit-tested on their own.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from connector.domain.dates import parse_day
from connector.domain.errors import RuleViolation
from connector.domain.names import display_name, strip_accents
from connector.domain.record import EtudeRecord
from connector.domain.rules import normalise_contract_type
from connector.keycloak.translate import primary_email
from connector.scim.errors import InvalidValue, ScimError, Uniqueness
from connector.scim.schema_defs import ETUDE_USER

DATE_FIELDS = ("kbisDate", "employerAttestationDate", "contractEndDate", "departureDate",
               "confidentialityAcceptedDate")


def rule_error(exc: RuleViolation) -> ScimError:
    """Turn a broken étude rule into its SCIM error (400 invalidValue or 409 uniqueness)."""
    cls = Uniqueness if exc.kind == "uniqueness" else InvalidValue
    return cls(exc.detail_en, detail_fr=exc.detail_fr)


def record_of(scim: dict[str, Any]) -> EtudeRecord:
    """Read the étude facts of a normalised SCIM user (R2, R4–R8, R11)."""
    ext = scim.get(ETUDE_USER) or {}

    def day(key: str) -> date | None:
        return parse_day(ext.get(key), key)

    return EtudeRecord(
        etude=ext.get("etude"), profile=ext.get("profile"),
        platforms=tuple(ext.get("platforms") or ()), titulaire=ext.get("titulaire"),
        kbis_date=day("kbisDate"), employer_attestation_date=day("employerAttestationDate"),
        contract_type=ext.get("contractType"), contract_end_date=day("contractEndDate"),
        departure_date=day("departureDate"),
        confidentiality_accepted_date=day("confidentialityAcceptedDate"),
        active=scim.get("active", True) is not False, primary_email=primary_email(scim))


def normalise(scim: dict[str, Any]) -> dict[str, Any]:
    """Apply R1 to names and reduce étude dates to Paris days; keep everything else."""
    out = copy.deepcopy(scim)
    name = out.get("name") or {}
    for key in ("givenName", "familyName", "middleName", "formatted"):
        if name.get(key):
            name[key] = strip_accents(name[key], f"name.{key}")
    if name:
        out["name"] = name
    if out.get("displayName"):
        out["displayName"] = strip_accents(out["displayName"], "displayName")
    else:
        derived = display_name(name.get("givenName"), name.get("familyName"))
        if derived:
            out["displayName"] = derived
    ext = out.get(ETUDE_USER)
    if isinstance(ext, dict):
        for key in DATE_FIELDS:
            parsed = parse_day(ext.get(key), key)
            ext[key] = parsed.isoformat() if parsed else None
        if ext.get("contractType") is not None:
            ext["contractType"] = normalise_contract_type(ext["contractType"])
        if ext.get("platforms") is not None:
            ext["platforms"] = sorted({str(p).lower() for p in ext["platforms"]})
        if ext.get("profile"):
            ext["profile"] = str(ext["profile"]).strip().lower()
    for email in out.get("emails") or []:
        if isinstance(email.get("value"), str):
            email["value"] = email["value"].strip()
    return out


def writable(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop what the server owns (id, meta, groups) before a rendered user is written back."""
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "groups")}


def departure_kept(resource: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A PUT that omits departureDate keeps a departure a titulaire declared in « Mon étude ».

    The HR system pushes the record it knows, which may not know the departure yet; only an
    explicit departureDate (a day, or null to clear it) changes it (R8).
    """
    before = old.get(ETUDE_USER) or {}
    ext = resource.get(ETUDE_USER)
    if not before.get("departureDeclaredBy") or not before.get("departureDate"):
        return resource
    if isinstance(ext, dict) and "departureDate" in ext:
        return resource
    kept = copy.deepcopy(resource)
    kept.setdefault(ETUDE_USER, {})["departureDate"] = before["departureDate"]
    if ETUDE_USER not in kept.setdefault("schemas", []):
        kept["schemas"].append(ETUDE_USER)
    return kept


def departure_declared_by(old: dict[str, Any] | None, new: dict[str, Any],
                          actor: str | None) -> str | None:
    """Who declared the departure in « Mon étude »: set by a titulaire's write of the date,
    cleared by any other write that changes it, kept otherwise (R8, R10)."""
    before = (old or {}).get(ETUDE_USER) or {}
    after = new.get(ETUDE_USER) or {}
    if before.get("departureDate") == after.get("departureDate"):
        return before.get("departureDeclaredBy") if after.get("departureDate") else None
    return f"portal:{actor}" if actor and after.get("departureDate") else None
