"""SCIM Groups as étude teams, and the delegation they carry on top of profiles (R12)."""

from __future__ import annotations

from typing import Any

from connector.audit import audit, changed_attributes
from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.gateway import KeycloakHTTPError
from connector.keycloak.teams import (
    TeamStore,
    eligible_platforms,
    now_stamp,
    team_attributes,
    team_from_keycloak,
    team_parts,
)
from connector.mappings import Mappings
from connector.scim import filter as scim_filter
from connector.scim import patch as scim_patch
from connector.scim.errors import InvalidValue, NotFound, Uniqueness
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.query import ListRequest, sort_resources
from connector.scim.schema_defs import ETUDE_GROUP, ETUDE_USER, PATCH_OP
from connector.scim.versioning import check_if_match
from connector.service.team_plan import (
    MAX_NAMED_IDS,
    Team,
    member_ids,
    member_term,
    mentions_members,
    narrowing,
    plan_patch,
)


class TeamService:
    """Create, read, change and delete an étude's teams; keep delegation groups in step."""

    def __init__(self, store: TeamStore, directory: EtudeDirectory, mappings: Mappings) -> None:
        self.store, self.directory, self.mappings = store, directory, mappings

    # -- Delegation protocol (service/users.py calls these on every user write) -----------------
    def groups_for(self, groups: list[dict[str, Any]], scim: dict[str, Any],
                   status: str) -> set[str]:
        """R12: the delegation subgroups due to a granted user, from his teams and platforms."""
        if status != "granted":
            return set()
        ext = scim.get(ETUDE_USER) or {}
        platforms = set(ext.get("platforms") or [])
        out: set[str] = set()
        for group in groups:
            parts = team_parts(str(group.get("path", "")))
            if parts is None or parts[0] != ext.get("etude"):
                continue
            for child in self.store.children(str(group["id"]), 0, 100):
                if child["name"] in platforms:
                    out.add(str(child["path"]))
        return out

    def teams_of(self, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """RFC 7643 §4.1.2: the user's teams among his groups."""
        return [{"id": g["id"], "name": g["name"]} for g in groups
                if team_parts(str(g.get("path", ""))) is not None]

    # -- reading --------------------------------------------------------------------------------
    def load(self, team_id: str, who: Principal) -> dict[str, Any]:
        """Return the team group if the caller may see it; anything else is 404."""
        group = self.store.group(team_id)
        parts = team_parts(str((group or {}).get("path", "")))
        if group is None or parts is None or (not who.is_admin and parts[0] != who.etude):
            raise NotFound(f"Group {team_id} not found.",
                           detail_fr=f"Groupe {team_id} introuvable.")
        return group

    def render(self, group: dict[str, Any], base_url: str, with_members: bool) -> dict[str, Any]:
        """Render a team; its members cost ⌈n/1000⌉ calls, and only when shown."""
        members = self.store.all_members(str(group["id"])) if with_members else None
        return team_from_keycloak(group, members, base_url)

    def get(self, team_id: str, who: Principal, base_url: str = "",
            with_members: bool = True) -> dict[str, Any]:
        """Return one team the caller may see (others are 404)."""
        return self.render(self.load(team_id, who), base_url, with_members)

    def _etudes(self, who: Principal, only: str | None) -> list[dict[str, Any]]:
        """The étude groups a query covers: the token's own, or every registered one."""
        if not who.is_admin:
            if only is not None and only != who.etude:
                return []
            group = self.directory.group(str(who.etude))
            return [group] if group else []
        if only is not None:
            group = self.directory.group(only)
            return [group] if group else []
        return self.directory.registered()

    def search(self, req: ListRequest, who: Principal, base_url: str = "",
               with_members: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query (RFC 7644 §3.4.2): exact totals, Keycloak paging when unfiltered."""
        narrow = narrowing(req.filter)
        etudes = self._etudes(who, narrow.get("etude"))
        if req.filter is None and not req.sort_by:
            return self._page(etudes, req, base_url, with_members)
        member_terms, residual = (scim_filter.split_conjuncts(req.filter, member_term)
                                  if req.filter is not None else ([], None))
        candidates = self._candidates(etudes, [str(t.value) for t in member_terms], narrow)
        load = with_members or mentions_members(residual)
        resources = [self.render(g, base_url, load) for g in candidates]
        if residual is not None:
            resources = [r for r in resources if scim_filter.matches(residual, r, "Group")]
        if load and not with_members:
            for resource in resources:
                resource.pop("members", None)
        resources = sort_resources(resources, req.sort_by, req.descending, "Group")
        start = req.start_index - 1
        return len(resources), resources[start:start + req.count]

    def _page(self, etudes: list[dict[str, Any]], req: ListRequest, base_url: str,
              with_members: bool) -> tuple[int, list[dict[str, Any]]]:
        counts = [(str(e["id"]), int(e.get("subGroupCount") or 0)) for e in etudes]
        total = sum(c for _, c in counts)
        skip, want = req.start_index - 1, req.count
        out: list[dict[str, Any]] = []
        for gid, count in counts:
            if want <= 0:
                break
            if skip >= count:
                skip -= count
                continue
            page = self.store.children(gid, skip, min(want, count - skip))
            out += [self.render(g, base_url, with_members) for g in page]
            want -= len(page)
            skip = 0
        return total, out

    def _candidates(self, etudes: list[dict[str, Any]], members: list[str],
                    narrow: dict[str, str]) -> list[dict[str, Any]]:
        codes = {str(e["name"]) for e in etudes}
        if members:
            ids: set[str] | None = None
            for member in members:
                mine = {str(g["id"]) for g in self.store.user_groups(member)
                        if (team_parts(str(g["path"])) or ("",))[0] in codes}
                ids = mine if ids is None else ids & mine
            found = [self.store.group(i) for i in sorted(ids or set())]
            return [g for g in found if g is not None]
        out: list[dict[str, Any]] = []
        for etude in etudes:
            name = narrow.get("name")
            teams = self.store.all_children(str(etude["id"]), search=name)
            if name is not None:
                teams = [t for t in teams if str(t["name"]).lower() == name.lower()]
            out += teams
        return out

    # -- validation -----------------------------------------------------------------------------
    def _validate(self, resource: dict[str, Any], who: Principal,
                  old_etude: str | None) -> Team:
        name = resource.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue("displayName (the team's name) is required.",
                               detail_fr="displayName (le nom de l'équipe) est obligatoire.")
        name = name.strip()
        if "/" in name:
            raise InvalidValue(f"A team name cannot contain '/': '{name}'.",
                               detail_fr=f"Un nom d'équipe ne peut pas contenir « / » : "
                               f"« {name} ».")
        ext = resource.get(ETUDE_GROUP) or {}
        etude = ext.get("etude")
        if not who.is_admin:
            if etude not in (None, "", who.etude):
                raise InvalidValue(f"This token acts for étude {who.etude}: it cannot write a "
                                   "team of another étude.",
                                   detail_fr=f"Ce jeton agit pour l'étude {who.etude} : il ne "
                                   "peut pas écrire l'équipe d'une autre étude.")
            etude = who.etude
        elif not etude:
            etude = old_etude
            if not etude:
                raise InvalidValue("With an admin token the étude code is required "
                                   f"({ETUDE_GROUP}:etude).",
                                   detail_fr="Avec un jeton d'administration, le code de "
                                   f"l'étude est obligatoire ({ETUDE_GROUP}:etude).")
        if old_etude and etude != old_etude:
            raise InvalidValue("A team cannot move to another étude.",
                               detail_fr="Une équipe ne peut pas changer d'étude.")
        if self.directory.group_id(str(etude)) is None:
            raise InvalidValue(f"Étude {etude} is not registered.",
                               detail_fr=f"L'étude {etude} n'est pas enregistrée.")
        permissions = self._listed(ext.get("delegatedPermissions"), "delegatedPermissions",
                                   list(self.mappings.permissions), lower=False)
        platforms = self._listed(ext.get("platforms"), "platforms",
                                 list(self.mappings.platforms), lower=True)
        members = (member_ids(resource.get("members"))
                   if resource.get("members") is not None else None)
        external = resource.get("externalId")
        return Team(name, str(etude), external if external else None, permissions, platforms,
                    members)

    @staticmethod
    def _listed(values: Any, label: str, allowed: list[str], lower: bool) -> list[str]:
        items = [str(v).strip() for v in values or []]
        items = [v.lower() for v in items] if lower else items
        wrong = sorted({v for v in items if v not in allowed})
        if wrong:
            raise InvalidValue(f"{ETUDE_GROUP}:{label}: {', '.join(wrong)} not in the "
                               f"catalogue; allowed: {', '.join(allowed)}.",
                               detail_fr=f"{ETUDE_GROUP}:{label} : {', '.join(wrong)} hors du "
                               f"catalogue ; valeurs permises : {', '.join(allowed)}.")
        return sorted(set(items))

    def _users(self, ids: list[str], etude: str) -> dict[str, dict[str, Any]]:
        """Scope: every member added must be a user of the team's étude (else 400, named)."""
        found: dict[str, dict[str, Any]] = {}
        wrong: list[str] = []
        for ident in ids:
            user = self.store.user(ident)
            if user is None or ((user.get("attributes") or {}).get("etude") or [None])[0] \
                    != etude:
                wrong.append(ident)
            else:
                found[ident] = user
        if wrong:
            named = ", ".join(wrong[:MAX_NAMED_IDS]) + (" …" if len(wrong) > MAX_NAMED_IDS
                                                         else "")
            raise InvalidValue(f"members: no user of étude {etude} has the id {named}; a team "
                               "takes only the étude's own users.",
                               detail_fr=f"members : aucun utilisateur de l'étude {etude} n'a "
                               f"l'id {named} ; une équipe ne prend que les utilisateurs de "
                               "l'étude.")
        return found

    def _check_name(self, etude_gid: str, name: str, team_id: str | None) -> None:
        """Team names are unique within an étude, whatever the case (SCIM caseExact false)."""
        for team in self.store.all_children(etude_gid, search=name):
            if str(team["name"]).lower() == name.lower() and team["id"] != team_id:
                raise Uniqueness(f"The étude already has a team named '{team['name']}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {team['name']} ».")

    # -- writing --------------------------------------------------------------------------------
    def create(self, payload: Any, who: Principal) -> dict[str, Any]:
        """POST /Groups (RFC 7644 §3.3): the team, its delegation subgroups, its members."""
        team = self._validate(strip_read_only(parse_resource(payload, "Group"), "Group"),
                              who, None)
        etude_gid = str(self.directory.group_id(team.etude))
        self._check_name(etude_gid, team.name, None)
        users = self._users(team.members or [], team.etude)
        stamp = now_stamp()
        attrs = team_attributes(team.external_id, team.permissions, team.platforms, stamp, stamp)
        try:
            team_id = self.store.create_child(etude_gid, team.name, attrs)
        except KeycloakHTTPError as exc:
            if exc.status == 409:
                raise Uniqueness(f"The étude already has a team named '{team.name}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {team.name} ».") from None
            raise
        try:
            self._converge(team_id, Team(team.name, team.etude, None, [], []), team, attrs,
                           users, [])
        except Exception:
            self.store.delete(team_id)  # nothing half-made: the team goes with its subgroups
            raise
        audit("group.create", who=who.label(), etude=team.etude, target=team_id,
              changed=changed_attributes(None, self._summary(team)), name=team.name,
              added=sorted(users))
        group = self.store.group(team_id)
        assert group is not None
        return group

    def replace(self, team_id: str, payload: Any, who: Principal,
                if_match: str | None = None) -> dict[str, Any]:
        """PUT /Groups/{id} (RFC 7644 §3.5.1): members absent means no members."""
        group = self.load(team_id, who)
        old = self._team_of(group)
        self._check_version(team_from_keycloak(group, None), if_match)
        new = self._validate(strip_read_only(parse_resource(payload, "Group"), "Group"),
                             who, old.etude)
        current = {str(u["id"]) for u in self.store.all_members(team_id)}
        wanted = new.members or []
        adds = [m for m in wanted if m not in current]
        removes = sorted(current - set(wanted))
        return self._write(group, old, new, adds, removes, who, "group.replace")

    def patch(self, team_id: str, body: Any, who: Principal,
              if_match: str | None = None) -> dict[str, Any]:
        """PATCH /Groups/{id} (RFC 7644 §3.5.2): member deltas without reading every member."""
        group = self.load(team_id, who)
        old = self._team_of(group)
        resource = team_from_keycloak(group, None)
        self._check_version(resource, if_match)
        plan = plan_patch(body)
        if plan.needs_all:
            members = self.store.all_members(team_id)
            current = [str(u["id"]) for u in members]
            patched = scim_patch.apply_patch(team_from_keycloak(group, members), body, "Group")
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
            raise InvalidValue(f"The étude code ({ETUDE_GROUP}:etude) cannot be removed: it is "
                               f"the token's ({who.etude}).",
                               detail_fr=f"Le code de l'étude ({ETUDE_GROUP}:etude) ne peut pas "
                               f"être supprimé : c'est celui du jeton ({who.etude}).")
        clean = {k: v for k, v in patched.items() if k not in ("id", "meta", "members")}
        new = self._validate(strip_read_only(parse_resource(clean, "Group"), "Group"), who,
                             old.etude)
        return self._write(group, old, new, adds, removes, who, "group.patch")

    def _write(self, group: dict[str, Any], old: Team, new: Team, adds: list[str],
               removes: list[str], who: Principal, action: str) -> dict[str, Any]:
        team_id = str(group["id"])
        if new.name != old.name:
            self._check_name(str(self.directory.group_id(new.etude)), new.name, team_id)
        users = self._users(adds, new.etude)
        created = ((group.get("attributes") or {}).get("scimCreated") or [now_stamp()])[0]
        attrs = team_attributes(new.external_id, new.permissions, new.platforms, created,
                                now_stamp())
        try:
            self._converge(team_id, old, new, attrs, users, removes)
        except KeycloakHTTPError as exc:
            audit(action, who=who.label(), etude=new.etude, target=team_id,
                  outcome=f"refused:{exc.status}")
            if exc.status == 409:
                raise Uniqueness(f"The étude already has a team named '{new.name}'.",
                                 detail_fr=f"L'étude a déjà une équipe nommée "
                                 f"« {new.name} ».") from None
            raise
        audit(action, who=who.label(), etude=new.etude, target=team_id,
              changed=changed_attributes(self._summary(old), self._summary(new))
              + (["members"] if users or removes else []),
              name=new.name, added=sorted(users), removed=sorted(removes))
        fresh = self.store.group(team_id)
        assert fresh is not None
        return fresh

    def _converge(self, team_id: str, old: Team, new: Team, attrs: dict[str, list[str]],
                  adds: dict[str, dict[str, Any]], removes: list[str]) -> None:
        """Change Keycloak so that no intermediate state grants more than before or after."""
        subs = {str(c["name"]): str(c["id"]) for c in self.store.children(team_id, 0, 100)
                if c["name"] in self.mappings.platforms}
        for user_id in removes:  # less access first: subgroups, then the team
            for sub_id in subs.values():
                self.store.leave(user_id, sub_id)
            self.store.leave(user_id, team_id)
        wanted = set(new.permissions)
        for platform, sub_id in list(subs.items()):
            if platform not in new.platforms:
                self.store.delete(sub_id)
                del subs[platform]
                continue
            client = self._client(platform)
            extra = self.store.mapped_roles(sub_id, client) - wanted
            self.store.unmap_roles(sub_id, client, extra)
        self.store.update(team_id, new.name, attrs)
        for platform, sub_id in subs.items():
            client = self._client(platform)
            self.store.map_roles(sub_id, client, wanted - self.store.mapped_roles(sub_id, client))
        gained = {p: self.store.create_child(team_id, p, {"delegatesTo": [
            self.mappings.platforms[p].client_id]}) for p in new.platforms if p not in subs}
        for platform, sub_id in gained.items():
            self.store.map_roles(sub_id, self._client(platform), wanted)
        if gained:  # members already there get the new platform's delegation
            for user in self.store.all_members(team_id, brief=False):
                for platform in eligible_platforms(user, sorted(gained)):
                    self.store.join(str(user["id"]), gained[platform])
        subs.update(gained)
        for user_id, user in adds.items():  # the team first, then what it delegates
            self.store.join(user_id, team_id)
            for platform in eligible_platforms(user, new.platforms):
                self.store.join(user_id, subs[platform])

    def delete(self, team_id: str, who: Principal, if_match: str | None = None) -> None:
        """DELETE /Groups/{id} (RFC 7644 §3.6): members lose what the team delegated at once."""
        group = self.load(team_id, who)
        if if_match:
            self._check_version(team_from_keycloak(group, None), if_match)
        self.store.delete(team_id)
        audit("group.delete", who=who.label(), etude=self._team_of(group).etude,
              target=team_id, changed=["*"], name=group["name"])

    # -- helpers --------------------------------------------------------------------------------
    def _client(self, platform: str) -> str:
        return self.store.client_uuid(self.mappings.platforms[platform].client_id)

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

    @staticmethod
    def _check_version(current: dict[str, Any], if_match: str | None) -> None:
        """RFC 7644 §3.14: a stale If-Match is 412."""
        check_if_match(current["meta"]["version"], if_match)
