"""SCIM Groups as étude teams, and the delegation they carry on top of profiles (R12).

A team write holds the team's lock; each member it adds or removes is changed under that
member's own lock, from a fresh read of him, so that a team write and a write of the member
himself never interleave: a member gets a team's delegation only while his record is granted.
"""

from __future__ import annotations

from typing import Any

from connector.audit import audited, changed_attributes
from connector.keycloak.etudes import EtudeDirectory, Principal, canonical_code_problem
from connector.keycloak.gateway import KeycloakHTTPError
from connector.keycloak.layout import team_parts
from connector.keycloak.locks import Locks
from connector.keycloak.teams import (
    TeamStore,
    eligible_platforms,
    now_stamp,
    team_attributes,
    team_from_keycloak,
)
from connector.keycloak.users import UserStore
from connector.mappings import Mappings
from connector.scim import patch as scim_patch
from connector.scim.errors import InvalidValue, NotFound, Uniqueness
from connector.scim.ids import check_id, is_id
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.query import ListRequest
from connector.scim.schema_defs import ETUDE_GROUP, PATCH_OP
from connector.scim.versioning import check_if_match
from connector.service.context import RequestContext
from connector.service.team_plan import MAX_NAMED_IDS, Team, member_ids, plan_patch
from connector.service.team_search import TeamSearch

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


class TeamService:
    """Create, read, change and delete an étude's teams; keep delegation groups in step."""

    def __init__(self, store: TeamStore, users: UserStore, directory: EtudeDirectory,
                 mappings: Mappings, locks: Locks) -> None:
        self.store, self.users, self.directory = store, users, directory
        self.mappings, self.locks = mappings, locks
        self.searcher = TeamSearch(store, users, directory)

    # -- reading --------------------------------------------------------------------------------
    def load(self, team_id: str, who: Principal) -> dict[str, Any]:
        """Return the team group if the caller may see it; anything else is 404."""
        check_id(team_id, not_found)
        group = self.store.group(team_id)
        parts = team_parts(str((group or {}).get("path", "")))
        if group is None or parts is None or (not who.is_admin and parts[0] != who.etude):
            raise not_found(team_id)
        return group

    def render(self, group: dict[str, Any], ctx: RequestContext,
               with_members: bool) -> dict[str, Any]:
        """Render a team; its members cost ⌈n/1000⌉ calls, and only when shown."""
        members = self.store.all_members(str(group["id"])) if with_members else None
        return team_from_keycloak(group, members, ctx.base_url)

    def get(self, team_id: str, ctx: RequestContext, with_members: bool = True
            ) -> dict[str, Any]:
        """Return one team the caller may see (others are 404)."""
        return self.render(self.load(team_id, ctx.who), ctx, with_members)

    def search(self, req: ListRequest, ctx: RequestContext,
               with_members: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query (RFC 7644 §3.4.2) over the teams the caller may see."""
        return self.searcher.search(req, ctx.who,
                                    lambda g, load: self.render(g, ctx, load), with_members)

    # -- validation -----------------------------------------------------------------------------
    def _validate(self, resource: dict[str, Any], who: Principal,
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
        etude = self._etude_of(ext.get("etude"), who, old_etude)
        permissions = self._listed(ext.get("delegatedPermissions"), "delegatedPermissions",
                                   list(self.mappings.permissions), lower=False)
        platforms = self._listed(ext.get("platforms"), "platforms",
                                 list(self.mappings.platforms), lower=True)
        members = (member_ids(resource.get("members"))
                   if resource.get("members") is not None else None)
        external = resource.get("externalId")
        return Team(name, etude, external if external else None, permissions, platforms,
                    members)

    def _etude_of(self, given: Any, who: Principal, old_etude: str | None) -> str:
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
    def _check_ids(ids: list[str]) -> None:
        """Member ids are Keycloak ids (UUIDs): anything else is named in a 400."""
        wrong = [i[:40] for i in ids if not is_id(i)]
        if wrong:
            named = ", ".join(wrong[:MAX_NAMED_IDS])
            raise InvalidValue(f"members: {named} is not a user id.",
                               detail_fr=f"members : {named} n'est pas un id d'utilisateur.")

    def _check_name(self, etude_gid: str, name: str, team_id: str | None) -> None:
        """Team names are unique within an étude, whatever the case (SCIM caseExact false)."""
        for team in self.store.all_children(etude_gid, search=name):
            if str(team["name"]).lower() == name.lower() and team["id"] != team_id:
                raise Uniqueness(f"The étude already has a team named '{team['name']}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {team['name']} ».")

    # -- writing --------------------------------------------------------------------------------
    def create(self, payload: Any, ctx: RequestContext, with_members: bool = False
               ) -> dict[str, Any]:
        """POST /Groups (RFC 7644 §3.3): the team, its delegation subgroups, its members."""
        who = ctx.who
        resource = strip_read_only(parse_resource(payload, "Group"), "Group")
        with audited("group.create", who=who.label(), etude=who.etude,
                     target=None) as line:
            team = self._validate(resource, who, None)
            self._check_ids(team.members or [])
            self._members_of_etude(team.members or [], team.etude)
            line.update(etude=team.etude, name=team.name)
            etude_gid = str(self.directory.group_id(team.etude))
            stamp = now_stamp()
            attrs = team_attributes(team.external_id, team.permissions, team.platforms, stamp,
                                    stamp)
            with self.locks.hold(f"teams:{team.etude}"):
                self._check_name(etude_gid, team.name, None)
                try:
                    team_id = self.store.create_child(etude_gid, team.name, attrs)
                except KeycloakHTTPError as exc:
                    if exc.status == 409:
                        raise Uniqueness(f"The étude already has a team named '{team.name}'.",
                                         detail_fr=f"L'étude a déjà une équipe nommée "
                                         f"« {team.name} ».") from None
                    raise
            line["target"] = team_id
            with self.locks.hold(f"team:{team_id}"):
                try:
                    subs = self._sync_platforms(team_id, {}, team)
                    added = self._add_members(team_id, team, team.members or [], subs)
                except Exception:
                    self.store.delete(team_id)  # nothing half-made: the team and its subgroups
                    raise
            line.update(changed=changed_attributes(None, self._summary(team)), added=added)
        return self.get(team_id, ctx, with_members)

    def replace(self, team_id: str, payload: Any, ctx: RequestContext,
                if_match: str | None = None, with_members: bool = False) -> dict[str, Any]:
        """PUT /Groups/{id} (RFC 7644 §3.5.1): members absent means no members."""
        resource = strip_read_only(parse_resource(payload, "Group"), "Group")

        def change(group: dict[str, Any], old: Team) -> tuple[Team, list[str], list[str]]:
            new = self._validate(resource, ctx.who, old.etude)
            current = {str(u["id"]) for u in self.store.all_members(team_id)}
            wanted = new.members or []
            return new, [m for m in wanted if m not in current], sorted(current - set(wanted))

        return self._write(team_id, ctx, if_match, "group.replace", change, with_members)

    def patch(self, team_id: str, body: Any, ctx: RequestContext,
              if_match: str | None = None, with_members: bool = False) -> dict[str, Any]:
        """PATCH /Groups/{id} (RFC 7644 §3.5.2): member deltas without reading every member."""
        who = ctx.who

        def change(group: dict[str, Any], old: Team) -> tuple[Team, list[str], list[str]]:
            resource = team_from_keycloak(group, None)
            plan = plan_patch(body)
            if plan.needs_all:
                members = self.store.all_members(team_id)
                current = [str(u["id"]) for u in members]
                patched = scim_patch.apply_patch(team_from_keycloak(group, members), body,
                                                 "Group")
                wanted = member_ids(patched.get("members"))
                adds = [m for m in wanted if m not in current]
                removes = sorted(set(current) - set(wanted))
            else:
                patched = (scim_patch.apply_patch(resource, {"schemas": [PATCH_OP],
                                                             "Operations": plan.rest}, "Group")
                           if plan.rest else resource)
                adds, removes = plan.add, plan.remove
            if not who.is_admin and not (patched.get(ETUDE_GROUP) or {}).get("etude"):
                # R11: refuse loudly rather than put the token's étude back behind the client.
                raise InvalidValue(f"The étude code ({ETUDE_GROUP}:etude) cannot be removed: "
                                   f"it is the token's ({who.etude}).",
                                   detail_fr=f"Le code de l'étude ({ETUDE_GROUP}:etude) ne peut "
                                   f"pas être supprimé : c'est celui du jeton ({who.etude}).")
            clean = {k: v for k, v in patched.items() if k not in ("id", "meta", "members")}
            new = self._validate(strip_read_only(parse_resource(clean, "Group"), "Group"), who,
                                 old.etude)
            return new, adds, removes

        return self._write(team_id, ctx, if_match, "group.patch", change, with_members)

    def _write(self, team_id: str, ctx: RequestContext, if_match: str | None, action: str,
               change: Any, with_members: bool) -> dict[str, Any]:
        """Apply a change to the latest team under its lock: less access first, then more."""
        check_id(team_id, not_found)
        who = ctx.who
        with self.locks.hold(f"team:{team_id}"), \
                audited(action, who=who.label(), etude=who.etude, target=team_id) as line:
            group = self.load(team_id, who)
            old = self._team_of(group)
            line["etude"] = old.etude
            check_if_match(team_from_keycloak(group, None)["meta"]["version"], if_match)
            new, adds, removes = change(group, old)
            self._check_ids([*adds, *removes])
            line["name"] = new.name
            if new.name != old.name:
                with self.locks.hold(f"teams:{new.etude}"):
                    self._check_name(str(self.directory.group_id(new.etude)), new.name, team_id)
                    attrs = self._converge(team_id, group, old, new, adds, removes, line)
            else:
                attrs = self._converge(team_id, group, old, new, adds, removes, line)
            line["changed"] = (changed_attributes(self._summary(old), self._summary(new))
                               + (["members"] if line["added"] or line["removed"] else []))
        # What was just written, without reading it back (members only when shown).
        parent = str(group["path"]).rsplit("/", 1)[0]
        written = {**group, "name": new.name, "path": f"{parent}/{new.name}",
                   "attributes": attrs}
        return self.render(written, ctx, with_members)

    def _converge(self, team_id: str, group: dict[str, Any], old: Team, new: Team,
                  adds: list[str], removes: list[str],
                  line: dict[str, Any]) -> dict[str, list[str]]:
        """Change Keycloak so that no intermediate state grants more than before or after.

        Returns the team's attributes as written.
        """
        self._members_of_etude(adds, new.etude)
        subs = {str(c["name"]): str(c["id"]) for c in self.store.children(team_id, 0, 100)
                if c["name"] in self.mappings.platforms}
        line["removed"] = self._remove_members(team_id, removes, subs)
        created = ((group.get("attributes") or {}).get("scimCreated") or [now_stamp()])[0]
        attrs = team_attributes(new.external_id, new.permissions, new.platforms, created,
                                now_stamp())
        subs = self._sync_platforms(team_id, subs, new, old)
        try:
            self.store.update(team_id, new.name, attrs)
        except KeycloakHTTPError as exc:
            if exc.status == 409:
                raise Uniqueness(f"The étude already has a team named '{new.name}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {new.name} ».") from None
            raise
        line["added"] = self._add_members(team_id, new, adds, subs)
        return attrs

    def _sync_platforms(self, team_id: str, subs: dict[str, str], new: Team,
                        old: Team | None = None) -> dict[str, str]:
        """Keep one subgroup per platform mapped to exactly the delegated roles (R12)."""
        wanted = set(new.permissions)
        subs = dict(subs)
        for platform, sub_id in list(subs.items()):  # less access first
            if platform not in new.platforms:
                self.store.delete(sub_id)
                del subs[platform]
                continue
            client = self._client(platform)
            self.store.unmap_roles(sub_id, client, self.store.mapped_roles(sub_id, client)
                                   - wanted)
        for platform, sub_id in subs.items():
            client = self._client(platform)
            self.store.map_roles(sub_id, client, wanted - self.store.mapped_roles(sub_id, client))
        gained = {p: self.store.create_child(team_id, p, {"delegatesTo": [
            self.mappings.platforms[p].client_id]}) for p in new.platforms if p not in subs}
        for platform, sub_id in gained.items():
            self.store.map_roles(sub_id, self._client(platform), wanted)
        if gained and old is not None:  # members already there get the new platform's roles
            for user in self.store.all_members(team_id):
                self._grant_member(str(user["id"]), new.etude, gained, None)
        subs.update(gained)
        return subs

    def _members_of_etude(self, ids: list[str], etude: str) -> None:
        """Scope: every member added must be a user of the team's étude (else 400, named)."""
        wrong = [i for i in ids if ((self.users.get(i) or {}).get("attributes") or {}).get(
            "etude", [None])[0] != etude]
        if wrong:
            named = ", ".join(wrong[:MAX_NAMED_IDS]) + (" …" if len(wrong) > MAX_NAMED_IDS
                                                         else "")
            raise InvalidValue(f"members: no user of étude {etude} has the id {named}; a team "
                               "takes only the étude's own users.",
                               detail_fr=f"members : aucun utilisateur de l'étude {etude} n'a "
                               f"l'id {named} ; une équipe ne prend que les utilisateurs de "
                               "l'étude.")

    def _add_members(self, team_id: str, team: Team, ids: list[str],
                     subs: dict[str, str]) -> list[str]:
        """Join each member under his own lock, with the delegation only if granted now."""
        return [i for i in ids if self._grant_member(i, team.etude, subs, team_id)]

    def _grant_member(self, user_id: str, etude: str, subs: dict[str, str],
                      join_team: str | None) -> bool:
        """Under the user's lock: join the team, then its subgroups his fresh record allows."""
        with self.locks.hold(f"user:{user_id}"):
            user = self.users.get(user_id)
            if user is None or ((user.get("attributes") or {}).get("etude") or [None])[0] \
                    != etude:
                return False  # deleted, or not of this étude (checked before; raced since)
            if join_team is not None:
                self.users.join(user_id, join_team)
            for platform in eligible_platforms(user, sorted(subs)):
                self.users.join(user_id, subs[platform])
        return True

    def _remove_members(self, team_id: str, ids: list[str], subs: dict[str, str]) -> list[str]:
        """Under each member's lock: subgroups first, then the team; only real members count."""
        removed: list[str] = []
        for user_id in ids:
            with self.locks.hold(f"user:{user_id}"):
                groups = {str(g["id"]) for g in self.users.memberships(user_id)}
                if team_id not in groups:
                    continue  # not a member (or another étude's user): nothing happened
                for sub_id in subs.values():
                    if sub_id in groups:
                        self.users.leave(user_id, sub_id)
                self.users.leave(user_id, team_id)
                removed.append(user_id)
        return removed

    def delete(self, team_id: str, ctx: RequestContext, if_match: str | None = None) -> None:
        """DELETE /Groups/{id} (RFC 7644 §3.6): members lose what the team delegated at once."""
        check_id(team_id, not_found)
        who = ctx.who
        with self.locks.hold(f"team:{team_id}"), \
                audited("group.delete", who=who.label(), etude=who.etude,
                        target=team_id) as line:
            group = self.load(team_id, who)
            line.update(etude=self._team_of(group).etude, name=group["name"], changed=["*"])
            if if_match:
                check_if_match(team_from_keycloak(group, None)["meta"]["version"], if_match)
            self.store.delete(team_id)

    # -- helpers --------------------------------------------------------------------------------
    def _client(self, platform: str) -> str:
        return self.store.clients.uuid(self.mappings.platforms[platform].client_id)

    @staticmethod
    def _team_of(group: dict[str, Any]) -> Team:
        attrs = group.get("attributes") or {}
        parts = team_parts(str(group["path"])) or ("", str(group["name"]))
        return Team(str(group["name"]), parts[0], (attrs.get("externalId") or [None])[0],
                    sorted(attrs.get("delegatedPermissions") or []),
                    sorted(attrs.get("platforms") or []))

    @staticmethod
    def _summary(team: Team) -> dict[str, Any]:
        return {"displayName": team.name, "externalId": team.external_id,
                ETUDE_GROUP: {"etude": team.etude, "delegatedPermissions": team.permissions,
                              "platforms": team.platforms}}
