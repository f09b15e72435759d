"""What a user's record implies in Keycloak: his status on a day, and the groups the connector
keeps in step — profile groups per platform (R6), team delegation (R12), day index (R9), étude."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.domain.rules import AccessIssue, access_ends_on, access_status
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.layout import (
    delegation_parts,
    etude_group,
    index_group,
    is_etude_group,
    is_index_group,
    is_profile_group,
    profile_group,
)
from connector.keycloak.users import UserStore
from connector.mappings import Mappings
from connector.scim.schema_defs import ETUDE_USER
from connector.service.delegation import Delegation
from connector.service.user_record import record_of


@dataclass(frozen=True)
class Decision:
    """What a record implies on a day: status, unmet conditions, end day, étude registered."""

    status: str
    issues: list[AccessIssue]
    ends: str | None
    registered: bool


class UserAccess:
    """Decide a record's access and name the groups it implies (path -> id)."""

    def __init__(self, store: UserStore, directory: EtudeDirectory, mappings: Mappings,
                 delegation: Delegation, today: Callable[[], date]) -> None:
        self.store, self.directory, self.mappings = store, directory, mappings
        self.delegation, self.today = delegation, today

    def decide(self, scim: dict[str, Any], today: date | None = None) -> Decision:
        """Compute status, issues and end day of a record (R2, R4–R9, R11)."""
        record = record_of(scim)
        registered = bool(record.etude) and self.directory.group_id(str(record.etude)) is not None
        status, issues = access_status(record, today or self.today(), registered)
        ends = access_ends_on(record)
        return Decision(status, issues, ends.isoformat() if ends else None, registered)

    def managed(self, groups: list[dict[str, Any]]) -> dict[str, str]:
        """The user's groups the connector keeps in step: access, day index, étude."""
        roots = [p.group_root for p in self.mappings.platforms.values()]
        platforms = list(self.mappings.platforms)
        out: dict[str, str] = {}
        for group in groups:
            path = str(group["path"])
            if (is_profile_group(path, roots) or is_index_group(path) or is_etude_group(path)
                    or delegation_parts(path, platforms) is not None):
                out[path] = str(group["id"])
        return out

    def wanted(self, groups: list[dict[str, Any]], scim: dict[str, Any],
                decision: Decision) -> dict[str, str]:
        """The managed groups a record implies (path -> id): none grant unless granted."""
        ext = scim.get(ETUDE_USER) or {}
        granted = decision.status == "granted"
        platforms = list(ext.get("platforms") or [])
        out: dict[str, str] = {}
        if granted:
            for platform in platforms:
                path = profile_group(self.mappings.platforms[platform].group_root,
                                     ext["profile"])
                out[path] = self.store.group_id(path)
        out.update(self.delegation.groups_for(groups, ext.get("etude"), platforms, granted))
        day = index_group(decision.ends)
        if day:  # a member of his day already has its id from the fresh read: no lookup
            have = {str(g["path"]): str(g["id"]) for g in groups}
            out[day] = have.get(day) or self.store.ensure_group(day)
        if decision.registered:
            out[etude_group(ext["etude"])] = str(self.directory.group_id(ext["etude"]))
        return out
