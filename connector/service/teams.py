"""SCIM Groups as étude teams, and the delegation they carry on top of profiles (R12).

A team write holds the team's lock; each member it adds or removes is changed under that
member's own lock, from a fresh read of him, so that a team write and a write of the member
himself never interleave: a member gets a team's delegation only while his record is granted.
"""

from __future__ import annotations

from typing import Any

from connector.audit import audited, changed_attributes
from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.fanout import together
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
from connector.scim.errors import InvalidValue, Uniqueness
from connector.scim.ids import check_id
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.query import ListRequest
from connector.scim.schema_defs import ETUDE_GROUP, PATCH_OP
from connector.scim.versioning import check_if_match
from connector.service.context import RequestContext
from connector.service.team_checks import TeamChecks, not_found
from connector.service.team_plan import Team, member_ids, plan_patch
from connector.service.team_search import TeamSearch


class TeamService:
    """Create, read, change and delete an étude's teams; keep delegation groups in step."""

    def __init__(self, store: TeamStore, users: UserStore, directory: EtudeDirectory,
                 mappings: Mappings, locks: Locks) -> None:
        self.store, self.users, self.directory = store, users, directory
        self.mappings, self.locks = mappings, locks
        self.searcher = TeamSearch(store, users, directory)
        self.checks = TeamChecks(store, users, directory, mappings)

    # -- reading --------------------------------------------------------------------------------
    def load(self, team_id: str, who: Principal) -> dict[str, Any]:
        """Return the team group if the caller may see it; anything else is 404."""
        check_id(team_id, not_found)
        group = self.store.group(team_id)
        parts = team_parts(str((group or {}).get("path", "")))
        if group is None or parts is None or not who.sees(parts[0]):
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

    # -- writing --------------------------------------------------------------------------------
    def create(self, payload: Any, ctx: RequestContext, with_members: bool = False
               ) -> dict[str, Any]:
        """POST /Groups (RFC 7644 §3.3): the team, its delegation subgroups, its members."""
        who = ctx.who
        resource = strip_read_only(parse_resource(payload, "Group"), "Group")
        with audited("group.create", who=who.label(), etude=who.etude,
                     target=None) as line:
            team = self.checks.validate(resource, who, None)
            self.checks.check_ids(team.members or [])
            self.checks.members_of_etude(team.members or [], team.etude)
            line.update(etude=team.etude, name=team.name)
            etude_gid = str(self.directory.group_id(team.etude))
            stamp = now_stamp()
            attrs = team_attributes(team.external_id, team.permissions, team.platforms, stamp,
                                    stamp)
            with self.locks.hold(f"teams:{team.etude}"):
                self.checks.check_name(etude_gid, team.name, None)
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
            new = self.checks.validate(resource, ctx.who, old.etude)
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
            new = self.checks.validate(strip_read_only(parse_resource(clean, "Group"), "Group"),
                                       who, old.etude)
            return new, adds, removes

        return self._write(team_id, ctx, if_match, "group.patch", change, with_members)

    def _write(self, team_id: str, ctx: RequestContext, if_match: str | None, action: str,
               change: Any, with_members: bool) -> dict[str, Any]:
        """Apply a change to the latest team under its lock: less access first, then more."""
        check_id(team_id, not_found)
        who = ctx.who
        with self.locks.hold(f"team:{team_id}"), \
                audited(action, who=who.label(), etude=who.etude, target=team_id) as line:
            # The subgroups are read with the team, not after it (its 404 wins if it is gone).
            group, subs = together(lambda: self.load(team_id, who),
                                   lambda: self._subgroups(team_id))
            old = self._team_of(group)
            line["etude"] = old.etude
            check_if_match(team_from_keycloak(group, None)["meta"]["version"], if_match)
            new, adds, removes = change(group, old)
            self.checks.check_ids([*adds, *removes])
            line["name"] = new.name
            if new.name != old.name:
                with self.locks.hold(f"teams:{new.etude}"):
                    self.checks.check_name(str(self.directory.group_id(new.etude)), new.name,
                                           team_id)
                    attrs = self._converge(team_id, group, subs, old, new, adds, removes,
                                           line)
            else:
                attrs = self._converge(team_id, group, subs, old, new, adds, removes, line)
            line["changed"] = (changed_attributes(self._summary(old), self._summary(new))
                               + (["members"] if line["added"] or line["removed"] else []))
        # What was just written, without reading it back (members only when shown).
        parent = str(group["path"]).rsplit("/", 1)[0]
        written = {**group, "name": new.name, "path": f"{parent}/{new.name}",
                   "attributes": attrs}
        return self.render(written, ctx, with_members)

    def _converge(self, team_id: str, group: dict[str, Any], subs: dict[str, str], old: Team,
                  new: Team, adds: list[str], removes: list[str],
                  line: dict[str, Any]) -> dict[str, list[str]]:
        """Change Keycloak so that no intermediate state grants more than before or after.

        What it reads comes first and at once: the users to add (all of the étude, or 400
        before anything changes) and the roles on the subgroups the team keeps (only team
        writes change them, and this one holds the team's lock). Returns the attributes written.
        """
        kept = [(p, g) for p, g in subs.items() if p in new.platforms]
        read = together(*[lambda i=i: self.users.get(i) for i in adds],
                        *[lambda p=p, g=g: self.store.mapped_roles(g, self._client(p))
                          for p, g in kept])
        self.checks.members_found(adds, read[:len(adds)], new.etude)
        mapped = dict(zip([p for p, _ in kept], read[len(adds):], strict=True))
        line["removed"] = self._remove_members(team_id, removes, subs)
        created = ((group.get("attributes") or {}).get("scimCreated") or [now_stamp()])[0]
        attrs = team_attributes(new.external_id, new.permissions, new.platforms, created,
                                now_stamp())
        subs = self._sync_platforms(team_id, subs, new, old, mapped)
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
                        old: Team | None = None,
                        known: dict[str, set[str]] | None = None) -> dict[str, str]:
        """Keep one subgroup per platform mapped to exactly the delegated roles (R12).

        `known`: the roles already read on the subgroups kept, by platform (else read here).
        """
        wanted = set(new.permissions)
        subs = dict(subs)
        for platform, sub_id in list(subs.items()):  # less access first
            if platform not in new.platforms:
                self.store.delete(sub_id)
                del subs[platform]
        kept = list(subs.items())
        mapped = ([known[p] for p, _ in kept] if known is not None else
                  together(*[lambda p=p, g=g: self.store.mapped_roles(g, self._client(p))
                             for p, g in kept]))
        for (platform, sub_id), roles in zip(kept, mapped, strict=True):
            self.store.unmap_roles(sub_id, self._client(platform), roles - wanted)
        for (platform, sub_id), roles in zip(kept, mapped, strict=True):
            self.store.map_roles(sub_id, self._client(platform), wanted - roles)
        gained = {p: self.store.create_child(team_id, p, {"delegatesTo": [
            self.mappings.platforms[p].client_id]}) for p in new.platforms if p not in subs}
        for platform, sub_id in gained.items():
            self.store.map_roles(sub_id, self._client(platform), wanted)
        if gained and old is not None:  # members already there get the new platform's roles
            for user in self.store.all_members(team_id):
                self._grant_member(str(user["id"]), new.etude, gained, None)
        subs.update(gained)
        return subs

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
    def _subgroups(self, team_id: str) -> dict[str, str]:
        """The team's delegation subgroups: platform -> group id."""
        return {str(c["name"]): str(c["id"]) for c in self.store.children(team_id, 0, 100)
                if c["name"] in self.mappings.platforms}

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
