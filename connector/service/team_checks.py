"""Check a team write before anything is written: its name, étude, catalogue values, member
ids and members' étude (R11, R12), and the name's uniqueness within the étude."""

from __future__ import annotations

from typing import Any

from connector.keycloak.etudes import EtudeDirectory, Principal, canonical_code_problem
from connector.keycloak.teams import TeamStore
from connector.keycloak.users import UserStore
from connector.mappings import Mappings
from connector.scim.errors import InvalidValue, NotFound, Uniqueness
from connector.scim.ids import is_id
from connector.scim.schema_defs import ETUDE_GROUP
from connector.service.team_plan import MAX_NAMED_IDS, Team, member_ids

MAX_NAME = 255  # Keycloak's group name column


def not_found(team_id: str) -> NotFound:
    """Build the 404 of a team the caller may not see, or that does not exist."""
    return NotFound(f"Group {team_id[:64]} not found.",
                    detail_fr=f"Groupe {team_id[:64]} introuvable.")


def name_problem(name: str) -> tuple[str, str] | None:
    """Say why Keycloak could not hold a team name as one group name, in EN and FR."""
    if "/" in name:
        return "cannot contain '/'", "ne peut pas contenir « / »"
    if name in (".", ".."):
        return "cannot be '.' or '..'", "ne peut pas valoir « . » ou « .. »"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "cannot contain control characters", "ne peut pas contenir de caractères de contrôle"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters", f"dépasse {MAX_NAME} caractères"
    return None


class TeamChecks:
    """Validate a team as a request would write it."""

    def __init__(self, store: TeamStore, users: UserStore, directory: EtudeDirectory,
                 mappings: Mappings) -> None:
        self.store, self.users, self.directory, self.mappings = store, users, directory, mappings

    def validate(self, resource: dict[str, Any], who: Principal,
                  old_etude: str | None) -> Team:
        name = resource.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue("displayName (the team's name) is required.",
                               detail_fr="displayName (le nom de l'équipe) est obligatoire.")
        name = name.strip()
        problem = name_problem(name)
        if problem:
            raise InvalidValue(f"displayName: a team name {problem[0]}.",
                               detail_fr=f"displayName : un nom d'équipe {problem[1]}.")
        ext = resource.get(ETUDE_GROUP) or {}
        etude = self.etude_of(ext.get("etude"), who, old_etude)
        permissions = self._listed(ext.get("delegatedPermissions"), "delegatedPermissions",
                                   list(self.mappings.permissions), lower=False)
        platforms = self._listed(ext.get("platforms"), "platforms",
                                 list(self.mappings.platforms), lower=True)
        members = (member_ids(resource.get("members"))
                   if resource.get("members") is not None else None)
        external = resource.get("externalId")
        return Team(name, etude, external if external else None, permissions, platforms,
                    members)

    def etude_of(self, given: Any, who: Principal, old_etude: str | None) -> str:
        """R11: the team's étude — the token's, canonical, registered, never another."""
        if not who.is_admin:
            if given not in (None, "", who.etude):
                raise InvalidValue(f"This token acts for étude {who.etude}: it cannot write a "
                                   "team of another étude.",
                                   detail_fr=f"Ce jeton agit pour l'étude {who.etude} : il ne "
                                   "peut pas écrire l'équipe d'une autre étude.")
            given = who.etude
        elif not given:
            given = old_etude
            if not given:
                raise InvalidValue("With an admin token the étude code is required "
                                   f"({ETUDE_GROUP}:etude).",
                                   detail_fr="Avec un jeton d'administration, le code de "
                                   f"l'étude est obligatoire ({ETUDE_GROUP}:etude).")
        problem = canonical_code_problem(given)
        if problem is not None:
            raise InvalidValue(f"{ETUDE_GROUP}:etude: {problem[0]}",
                               detail_fr=f"{ETUDE_GROUP}:etude : {problem[1]}")
        if old_etude and given != old_etude:
            raise InvalidValue("A team cannot move to another étude.",
                               detail_fr="Une équipe ne peut pas changer d'étude.")
        if self.directory.group_id(str(given)) is None:
            raise InvalidValue(f"Étude {given} is not registered.",
                               detail_fr=f"L'étude {given} n'est pas enregistrée.")
        return str(given)

    @staticmethod
    def _listed(values: Any, label: str, allowed: list[str], lower: bool) -> list[str]:
        items = [str(v).strip() for v in values or []]
        items = [v.lower() for v in items] if lower else items
        wrong = sorted({v for v in items if v not in allowed})
        if wrong:
            shown = ", ".join(w[:40] for w in wrong[:MAX_NAMED_IDS])
            raise InvalidValue(f"{ETUDE_GROUP}:{label}: {shown} not in the catalogue; allowed: "
                               f"{', '.join(allowed)}.",
                               detail_fr=f"{ETUDE_GROUP}:{label} : {shown} hors du catalogue ; "
                               f"valeurs permises : {', '.join(allowed)}.")
        return sorted(set(items))

    @staticmethod
    def check_ids(ids: list[str]) -> None:
        """Member ids are Keycloak ids (UUIDs): anything else is named in a 400."""
        wrong = [i[:40] for i in ids if not is_id(i)]
        if wrong:
            named = ", ".join(wrong[:MAX_NAMED_IDS])
            raise InvalidValue(f"members: {named} is not a user id.",
                               detail_fr=f"members : {named} n'est pas un id d'utilisateur.")

    def check_name(self, etude_gid: str, name: str, team_id: str | None) -> None:
        """Team names are unique within an étude, whatever the case (SCIM caseExact false)."""
        for team in self.store.all_children(etude_gid, search=name):
            if str(team["name"]).lower() == name.lower() and team["id"] != team_id:
                raise Uniqueness(f"The étude already has a team named '{team['name']}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {team['name']} ».")

    def members_of_etude(self, ids: list[str], etude: str) -> None:
        """Scope: every member added must be a user of the team's étude (else 400, named)."""
        self.members_found(ids, [self.users.get(i) for i in ids], etude)

    @staticmethod
    def members_found(ids: list[str], users: list[dict[str, Any] | None], etude: str) -> None:
        """Scope, on the users as read (None: no such user): each is of the étude, else 400."""
        wrong = [i for i, user in zip(ids, users, strict=True)
                 if ((user or {}).get("attributes") or {}).get("etude", [None])[0] != etude]
        if wrong:
            named = ", ".join(wrong[:MAX_NAMED_IDS]) + (" …" if len(wrong) > MAX_NAMED_IDS
                                                         else "")
            raise InvalidValue(f"members: no user of étude {etude} has the id {named}; a team "
                               "takes only the étude's own users.",
                               detail_fr=f"members : aucun utilisateur de l'étude {etude} n'a "
                               f"l'id {named} ; une équipe ne prend que les utilisateurs de "
                               "l'étude.")
