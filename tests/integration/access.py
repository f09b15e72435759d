"""What a stored record implies in Keycloak, computed from the rules alone (R6, R8, R9, R12).

Independent of the connector's write plan: read the record the connector stored (user
attributes) and the teams he is in, apply the domain rules, and compare with what Keycloak
holds (enabled flag, platform groups, delegation subgroups, day-index group, accessStatus).
"""

from __future__ import annotations

from typing import Any

from connector.domain.dates import today_in_paris
from connector.domain.rules import access_ends_on, access_status
from connector.keycloak.translate import user_from_keycloak
from connector.service.user_record import record_of
from tests.integration.conftest import E, kc_groups, kc_user

EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"


def implied(kc: Any, uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (what the stored record implies, what Keycloak holds) for one user."""
    rep = kc_user(kc, uid)
    record = user_from_keycloak(rep)
    ext = record[E]
    rec = record_of(record)
    registered = kc.group_by_path(f"etudes/{ext.get('etude')}") is not None
    status, _ = access_status(rec, today_in_paris(), registered)
    granted = status == "granted"
    groups = kc_groups(kc, uid, index=True)
    ends = access_ends_on(rec)
    delegation: set[str] = set()
    for path in (g for g in groups if g.startswith("/etudes/") and g.count("/") == 3):
        team = kc.group_by_path(path)
        shared = set((team.get("attributes") or {}).get("platforms") or []) & set(
            ext.get("platforms") or [])
        delegation |= {f"{path}/{p}" for p in shared}
    expected = {
        "accessStatus": status,
        "enabled": granted,
        "platform groups": {f"/{p}/{ext['profile']}" for p in ext.get("platforms") or []}
        if granted else set(),
        "delegation": delegation if granted else set(),
        "day index": {f"/access-ends-on/{ends.isoformat()}"} if ends else set()}
    actual = {
        "accessStatus": ext.get("accessStatus"),
        "enabled": rep["enabled"],
        "platform groups": {g for g in groups if g.split("/")[1] in ("mars", "v3")},
        "delegation": {g for g in groups if g.startswith("/etudes/") and g.count("/") == 4},
        "day index": {g for g in groups if g.startswith("/access-ends-on/")}}
    return expected, actual


def access_problems(kc: Any, uid: str) -> list[str]:
    """List how Keycloak differs from exactly what the user's stored record implies."""
    expected, actual = implied(kc, uid)
    return [f"user {uid}: {key} is {actual[key]}, record implies {expected[key]}"
            for key in expected if actual[key] != expected[key]]


def over_grants(kc: Any, uid: str) -> list[str]:
    """List any access Keycloak gives beyond the stored record (less is allowed)."""
    expected, actual = implied(kc, uid)
    if not actual["enabled"]:
        return []  # a disabled account cannot sign in: no access, whatever its groups
    out = [] if expected["enabled"] else [f"user {uid}: enabled, record is "
                                          f"{expected['accessStatus']}"]
    for key in ("platform groups", "delegation"):
        extra = actual[key] - expected[key]
        if extra:
            out.append(f"user {uid}: {key} {sorted(extra)} beyond the record")
    return out
