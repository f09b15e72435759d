"""Étude teams (SCIM Groups, R12) in Keycloak: /etudes/<code>/<team>, one delegation subgroup
/etudes/<code>/<team>/<platform> per platform, carrying the delegated client roles."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from connector.keycloak.clients import Clients
from connector.keycloak.gateway import Gateway, collect
from connector.keycloak.layout import team_parts
from connector.scim.schema_defs import ETUDE_GROUP, GROUP

A_EXTERNAL, A_PERMISSIONS, A_PLATFORMS = "externalId", "delegatedPermissions", "platforms"
A_CREATED, A_MODIFIED = "scimCreated", "scimLastModified"
MEMBER_PAGE = 1000  # Keycloak's default is 10: always pass first/max
TEAM_PAGE = 500


# -- pure translation ------------------------------------------------------------------------
def now_stamp(now: datetime | None = None) -> str:
    """Stamp a write to the microsecond, so each write yields a new version (RFC 7644 §3.14)."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def team_attributes(external_id: str | None, permissions: list[str], platforms: list[str],
                    created: str, modified: str) -> dict[str, list[str]]:
    """Write a team's SCIM data as Keycloak group attributes."""
    attrs: dict[str, list[str]] = {A_PERMISSIONS: sorted(set(permissions)),
                                   A_PLATFORMS: sorted(set(platforms)),
                                   A_CREATED: [created], A_MODIFIED: [modified]}
    if external_id:
        attrs[A_EXTERNAL] = [external_id]
    return {k: v for k, v in attrs.items() if v}


def _one(attrs: dict[str, list[str]], key: str) -> str | None:
    values = attrs.get(key) or []
    return values[0] if values else None


def member_from_keycloak(user: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Render one member as RFC 7643 §8.7.1 defines it: value, $ref, type."""
    return {"value": user["id"], "$ref": f"{base_url}/Users/{user['id']}", "type": "User"}


def team_from_keycloak(group: dict[str, Any], members: list[dict[str, Any]] | None,
                       base_url: str = "") -> dict[str, Any]:
    """Render a team group as a SCIM Group; `members` None means they were not read."""
    attrs: dict[str, list[str]] = group.get("attributes") or {}
    parts = team_parts(str(group.get("path", ""))) or ("", str(group["name"]))
    out: dict[str, Any] = {"schemas": [GROUP, ETUDE_GROUP], "id": group["id"],
                           "displayName": group["name"]}
    if _one(attrs, A_EXTERNAL):
        out["externalId"] = _one(attrs, A_EXTERNAL)
    if members is not None:
        out["members"] = [member_from_keycloak(u, base_url) for u in members]
    out[ETUDE_GROUP] = {"etude": parts[0],
                        "delegatedPermissions": sorted(attrs.get(A_PERMISSIONS) or []),
                        "platforms": sorted(attrs.get(A_PLATFORMS) or [])}
    modified = _one(attrs, A_MODIFIED)
    out["meta"] = {"resourceType": "Group", "created": _one(attrs, A_CREATED) or modified,
                   "lastModified": modified, "location": f"{base_url}/Groups/{group['id']}"}
    out["meta"]["version"] = team_version(out)
    return out


def team_version(resource: dict[str, Any]) -> str:
    """Weak ETag over everything but the members, whose every change moves lastModified."""
    body = {k: v for k, v in resource.items() if k not in ("meta", "members")}
    body["_modified"] = (resource.get("meta") or {}).get("lastModified")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    return f'W/"{digest.hexdigest()[:16]}"'


def eligible_platforms(user: dict[str, Any], team_platforms: list[str]) -> list[str]:
    """R12: the team platforms on which a member gets the delegation (granted users only)."""
    attrs = user.get("attributes") or {}
    if not user.get("enabled") or (attrs.get("accessStatus") or [None])[0] != "granted":
        return []
    return sorted(set(attrs.get("platforms") or []) & set(team_platforms))


# -- Keycloak reads and writes ---------------------------------------------------------------
class TeamStore:
    """The Keycloak side of SCIM Groups: team groups, delegation subgroups, role mappings."""

    def __init__(self, gw: Gateway, clients: Clients) -> None:
        self.gw = gw
        self.clients = clients

    def group(self, group_id: str) -> dict[str, Any] | None:
        """Return a group with its attributes, or None."""
        return self.gw.find(self.gw.path("/groups/{g}", g=group_id))

    def children(self, parent_id: str, first: int, max_results: int,
                 search: str | None = None) -> list[dict[str, Any]]:
        """Return one page of subgroups with their attributes (never the default page of 10)."""
        return list(self.gw.get(self.gw.path("/groups/{g}/children", g=parent_id),
                                first=first, max=max_results, search=search,
                                briefRepresentation="false"))

    def all_children(self, parent_id: str, search: str | None = None) -> list[dict[str, Any]]:
        """Return every subgroup, page by page."""
        return collect(lambda first, size: self.children(parent_id, first, size, search),
                       TEAM_PAGE)

    def create_child(self, parent_id: str, name: str, attributes: dict[str, list[str]]) -> str:
        """Create a subgroup and return its id (409 when a sibling has the name)."""
        return self.gw.created_id(self.gw.path("/groups/{g}/children", g=parent_id),
                                  {"name": name, "attributes": attributes})

    def update(self, group_id: str, name: str, attributes: dict[str, list[str]]) -> None:
        """Rename and rewrite attributes (PUT replaces them all); subgroups follow a rename."""
        self.gw.request("PUT", self.gw.path("/groups/{g}", g=group_id),
                        body={"name": name, "attributes": attributes})

    def delete(self, group_id: str) -> None:
        """Delete a group and its subgroups (their members lose the roles at once); one already
        gone counts as deleted (a load balancer may replay a DELETE that committed)."""
        self.gw.request("DELETE", self.gw.path("/groups/{g}", g=group_id), ok=(204, 404))

    def members(self, group_id: str, first: int, max_results: int,
                brief: bool = True) -> list[dict[str, Any]]:
        """Return one page of a group's direct members."""
        return list(self.gw.get(self.gw.path("/groups/{g}/members", g=group_id),
                                first=first, max=max_results,
                                briefRepresentation="true" if brief else "false"))

    def all_members(self, group_id: str, brief: bool = True) -> list[dict[str, Any]]:
        """Return every member, MEMBER_PAGE at a time (5,000 members: 6 calls)."""
        return collect(lambda first, size: self.members(group_id, first, size, brief),
                       MEMBER_PAGE)

    # -- client roles of the delegation subgroups -----------------------------------------------
    def mapped_roles(self, group_id: str, client_uuid: str) -> set[str]:
        """Return the client roles mapped directly on a group."""
        url = self.gw.path("/groups/{g}/role-mappings/clients/{c}", g=group_id, c=client_uuid)
        return {r["name"] for r in self.gw.get(url) or []}

    def map_roles(self, group_id: str, client_uuid: str, names: set[str]) -> None:
        """Map client roles on a group: its members get them at once."""
        if names:
            self.gw.request("POST", self.gw.path("/groups/{g}/role-mappings/clients/{c}",
                                                 g=group_id, c=client_uuid),
                            body=self.clients.role_reps(client_uuid, names))

    def unmap_roles(self, group_id: str, client_uuid: str, names: set[str]) -> None:
        """Remove client roles from a group: its members lose them at once."""
        if names:
            self.gw.request("DELETE", self.gw.path("/groups/{g}/role-mappings/clients/{c}",
                                                   g=group_id, c=client_uuid),
                            body=self.clients.role_reps(client_uuid, names))
