"""Translate users between SCIM resources and Keycloak representations (pure functions)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from connector.domain.rules import AccessIssue
from connector.keycloak.user_query import (
    A_EMAIL_INDEX,
    A_ETUDE_KEY,
    A_MODIFIED_DAY,
    A_MODIFIED_MONTH,
    A_MODIFIED_YEAR,
    ETUDE_DATED,
    LINK_PROVIDER,
    etude_key,
    external_link,
    modified_attributes,
)
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, USER

# SCIM core attribute -> Keycloak user attribute (single string values).
CORE_STRINGS = {"displayName": "displayName", "nickName": "nickName", "title": "title",
                "userType": "userType", "preferredLanguage": "preferredLanguage",
                "locale": "scimLocale", "timezone": "timezone"}
NAME_EXTRAS = {"formatted": "formattedName", "middleName": "middleName",
               "honorificPrefix": "honorificPrefix", "honorificSuffix": "honorificSuffix"}
ENTERPRISE_STRINGS = ("employeeNumber", "costCenter", "organization", "division", "department")
ETUDE_STRINGS = ("etude", "profile", "kbisDate", "employerAttestationDate", "contractType",
                 "contractEndDate", "departureDate", "confidentialityAcceptedDate",
                 "departureDeclaredBy")
# Attributes the connector writes for its own bookkeeping (never sent by clients).
A_USERNAME, A_EXTERNAL, A_ACTIVE = "scimUserName", "externalId", "scimActive"
A_EMAILS, A_PHONES = "scimEmails", "scimPhoneNumbers"
A_STATUS, A_ISSUES, A_ENDS, A_MODIFIED = "accessStatus", "accessIssues", "accessEndsOn", \
    "scimLastModified"
A_MANAGER, A_PASSWORD_MAIL, A_CREATED = "managerId", "passwordEmail", "scimCreated"
INDEX_KEYS = (A_ETUDE_KEY, A_EMAIL_INDEX, A_MODIFIED_DAY, A_MODIFIED_MONTH, A_MODIFIED_YEAR,
              *ETUDE_DATED.values())


def _one(attrs: dict[str, list[str]], key: str) -> str | None:
    values = attrs.get(key) or []
    return values[0] if values else None


def _set(attrs: dict[str, list[str]], key: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        attrs.pop(key, None)
    elif isinstance(value, list):
        attrs[key] = [str(v) for v in value]
    elif isinstance(value, bool):
        attrs[key] = ["true" if value else "false"]
    else:
        attrs[key] = [str(value)]


def primary_email(scim: dict[str, Any]) -> str | None:
    """Return the primary e-mail, else the first one (RFC 7643 §4.1.2)."""
    emails = [e for e in scim.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    return str(chosen["value"]) if chosen else None


def index_attributes(scim: dict[str, Any], moment: datetime) -> dict[str, list[str]]:
    """The attributes that let Keycloak answer queries exactly (keycloak/user_query.py): the
    étude in a case-safe form, the addresses other than the primary (Keycloak's e-mail column
    holds that one), and the day, month and year of the last write, alone and behind the
    étude's key."""
    out: dict[str, list[str]] = {}
    etude = (scim.get(ETUDE_USER) or {}).get("etude")
    if etude:
        out[A_ETUDE_KEY] = [etude_key(str(etude))]
    primary = (primary_email(scim) or "").lower()
    others = sorted({str(e["value"]).lower() for e in scim.get("emails") or []
                     if isinstance(e, dict) and e.get("value")} - {primary})
    if others:
        out[A_EMAIL_INDEX] = others
    out.update({k: [v] for k, v in modified_attributes(moment, etude and str(etude)).items()})
    return out


def last_written(rep: dict[str, Any]) -> datetime | None:
    """When the connector last wrote a user (his scimLastModified), None if never."""
    value = _one(rep.get("attributes") or {}, A_MODIFIED)
    try:
        return datetime.strptime(value or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def wanted_link(scim: dict[str, Any]) -> str | None:
    """The id of the link a user's record implies (his étude and externalId), or None."""
    return external_link((scim.get(ETUDE_USER) or {}).get("etude"), scim.get("externalId"))


def link_change(rep: dict[str, Any], scim: dict[str, Any]) -> tuple[str | None,
                                                                 str | None] | None:
    """(stored, wanted) ids of a user's externalId link when they differ; None when right, or
    when unseen (`rep` read by id; a realm without identity providers leaves links out)."""
    if "federatedIdentities" not in rep:
        return None
    stored = next((str(f.get("userId")) for f in rep["federatedIdentities"] or []
                   if f.get("identityProvider") == LINK_PROVIDER), None)
    wanted = wanted_link(scim)
    return None if stored == wanted else (stored, wanted)


def stale_index(rep: dict[str, Any], scim: dict[str, Any]) -> list[str]:
    """Name the query attributes (and the externalId link) a stored user lacks or holds out of
    date (reconcile fixes users written before they existed); `rep` as read by id."""
    attrs = rep.get("attributes") or {}
    want = index_attributes(scim, last_written(rep) or datetime.now(UTC))
    stale = [k for k in INDEX_KEYS if sorted(attrs.get(k) or []) != want.get(k, [])]
    return stale + (["externalIdLink"] if link_change(rep, scim) else [])


def user_to_keycloak(scim: dict[str, Any], *, status: str, issues: list[AccessIssue],
                     ends_on: str | None, base: dict[str, Any] | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
    """Write a validated SCIM user onto a full Keycloak representation (read-change-write)."""
    rep: dict[str, Any] = dict(base or {})
    attrs: dict[str, list[str]] = {k: list(v) for k, v in (rep.get("attributes") or {}).items()}
    name = scim.get("name") or {}
    ext = scim.get(ETUDE_USER) or {}
    ent = scim.get(ENTERPRISE) or {}
    rep["username"] = scim["userName"]
    rep["firstName"] = name.get("givenName") or ""
    rep["lastName"] = name.get("familyName") or ""
    rep["email"] = primary_email(scim) or ""
    rep["enabled"] = status == "granted"
    _set(attrs, A_USERNAME, scim["userName"])
    _set(attrs, A_EXTERNAL, scim.get("externalId"))
    # Absent at creation: active (server default). Removed later: unassigned, rendered absent
    # (RFC 7644 §3.5.2.2); the rules still read an unassigned `active` as true.
    active = scim.get("active", True if base is None else None)
    _set(attrs, A_ACTIVE, None if active is None else active is not False)
    for key, target in CORE_STRINGS.items():
        _set(attrs, target, scim.get(key))
    for key, target in NAME_EXTRAS.items():
        _set(attrs, target, name.get(key))
    emails = [e for e in scim.get("emails") or [] if e.get("value")]
    _set(attrs, A_EMAILS, json.dumps(emails, ensure_ascii=False) if emails else None)
    phones = [p for p in scim.get("phoneNumbers") or [] if p.get("value")]
    _set(attrs, A_PHONES, json.dumps(phones, ensure_ascii=False) if phones else None)
    for key in ENTERPRISE_STRINGS:
        _set(attrs, key, ent.get(key))
    _set(attrs, A_MANAGER, (ent.get("manager") or {}).get("value"))
    for key in ETUDE_STRINGS:
        _set(attrs, key, ext.get(key))
    _set(attrs, "platforms", sorted(set(ext.get("platforms") or [])))
    _set(attrs, "titulaire", ext.get("titulaire"))
    _set(attrs, A_STATUS, status)
    _set(attrs, A_ISSUES, json.dumps([[i.code, i.detail_en, i.detail_fr] for i in issues],
                                     ensure_ascii=False) if issues else None)
    _set(attrs, A_ENDS, ends_on)
    moment = now or datetime.now(UTC)
    _set(attrs, A_MODIFIED, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if base is None:  # meta.created, so that a created user renders without being read back
        _set(attrs, A_CREATED, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    index = index_attributes(scim, moment)
    for key in INDEX_KEYS:
        _set(attrs, key, index.get(key))
    lang = str(scim.get("preferredLanguage") or scim.get("locale") or "")[:2].lower()
    _set(attrs, "locale", lang if lang in ("fr", "en") else None)
    rep["attributes"] = attrs
    link = wanted_link(scim)
    if base is None and link:  # created with the user, in his POST; later writes relink
        rep["federatedIdentities"] = [{"identityProvider": LINK_PROVIDER, "userId": link,
                                       "userName": link}]
    return rep


def _bool(value: str | None) -> bool | None:
    return None if value is None else value == "true"


def user_from_keycloak(rep: dict[str, Any], *, teams: list[dict[str, Any]] | None = None,
                       base_url: str = "", french: bool = False) -> dict[str, Any]:
    """Render a Keycloak user as a SCIM User with the étude extension (RFC 7643 §4.1)."""
    attrs: dict[str, list[str]] = rep.get("attributes") or {}
    out: dict[str, Any] = {"schemas": [USER, ETUDE_USER], "id": rep["id"],
                           "userName": _one(attrs, A_USERNAME) or rep.get("username")}
    if _one(attrs, A_EXTERNAL):
        out["externalId"] = _one(attrs, A_EXTERNAL)
    name = {k: v for k, v in {
        "givenName": rep.get("firstName") or None, "familyName": rep.get("lastName") or None,
        **{k: _one(attrs, a) for k, a in NAME_EXTRAS.items()}}.items() if v}
    if name:
        out["name"] = name
    for key, source in CORE_STRINGS.items():
        if _one(attrs, source):
            out[key] = _one(attrs, source)
    if _one(attrs, A_ACTIVE) is not None:
        out["active"] = _one(attrs, A_ACTIVE) != "false"
    emails = json.loads(_one(attrs, A_EMAILS) or "[]")
    if not emails and rep.get("email"):
        emails = [{"value": rep["email"], "primary": True}]
    if emails:
        out["emails"] = emails
    phones = json.loads(_one(attrs, A_PHONES) or "[]")
    if phones:
        out["phoneNumbers"] = phones
    if teams:
        out["groups"] = [{"value": t["id"], "display": t["name"], "type": "direct",
                          "$ref": f"{base_url}/Groups/{t['id']}"} for t in teams]
    ent: dict[str, Any] = {k: _one(attrs, k) for k in ENTERPRISE_STRINGS if _one(attrs, k)}
    if _one(attrs, A_MANAGER):
        ent["manager"] = {"value": _one(attrs, A_MANAGER),
                          "$ref": f"{base_url}/Users/{_one(attrs, A_MANAGER)}"}
    if ent:
        out["schemas"].insert(1, ENTERPRISE)
        out[ENTERPRISE] = ent
    ext: dict[str, Any] = {k: _one(attrs, k) for k in ETUDE_STRINGS if _one(attrs, k)}
    if attrs.get("platforms"):
        ext["platforms"] = sorted(attrs["platforms"])
    if _one(attrs, "titulaire") is not None:
        ext["titulaire"] = _bool(_one(attrs, "titulaire"))
    ext["accessStatus"] = _one(attrs, A_STATUS) or "pending"
    issues = json.loads(_one(attrs, A_ISSUES) or "[]")
    if issues:
        ext["accessIssues"] = [{"code": c, "detail": fr if french else en}
                               for c, en, fr in issues]
    if _one(attrs, A_PASSWORD_MAIL):
        ext["passwordEmail"] = _one(attrs, A_PASSWORD_MAIL)
    out[ETUDE_USER] = ext
    created = rep.get("createdTimestamp")
    created_iso = _one(attrs, A_CREATED) or (
        datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if created else None)
    out["meta"] = {"resourceType": "User",
                   "created": created_iso,
                   "lastModified": _one(attrs, A_MODIFIED) or created_iso,
                   "location": f"{base_url}/Users/{rep['id']}"}
    out["meta"]["version"] = version_of(out)
    return out


def version_of(resource: dict[str, Any]) -> str:
    """Return a weak ETag over the resource's content (RFC 7644 §3.14).

    `groups` is left out: it is read-only here, changed by team writes, and not always read.
    """
    body = {k: v for k, v in resource.items() if k not in ("meta", "groups")}
    ext = body.get(ETUDE_USER)
    if isinstance(ext, dict) and ext.get("accessIssues"):  # same version in FR and EN
        body[ETUDE_USER] = {**ext, "accessIssues": [i["code"] for i in ext["accessIssues"]]}
    body["_modified"] = (resource.get("meta") or {}).get("lastModified")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    return f'W/"{digest.hexdigest()[:16]}"'
