"""R12: the delegation subgroups a user's teams give him, read from Keycloak on each write."""

from __future__ import annotations

from typing import Any

from connector.keycloak.layout import team_parts
from connector.keycloak.teams import TeamStore


class Delegation:
    """Tell which team subgroups a user must be in, and which of his groups are teams."""

    def __init__(self, teams: TeamStore, platforms: list[str]) -> None:
        self.teams = teams
        self.platforms = platforms

    def groups_for(self, groups: list[dict[str, Any]], etude: str | None,
                   platforms: list[str], granted: bool) -> dict[str, str]:
        """Return path -> id of /etudes/<code>/<team>/<platform> due to a user (granted only)."""
        if not granted:
            return {}
        out: dict[str, str] = {}
        for group in groups:
            parts = team_parts(str(group.get("path", "")))
            if parts is None or parts[0] != etude:
                continue
            for child in self.teams.children(str(group["id"]), 0, 100):
                if child["name"] in platforms and child["name"] in self.platforms:
                    out[str(child["path"])] = str(child["id"])
        return out

    @staticmethod
    def teams_of(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """RFC 7643 §4.1.2: the user's teams (id, name) among his Keycloak groups."""
        return [{"id": g["id"], "name": g["name"]} for g in groups
                if team_parts(str(g.get("path", ""))) is not None]
