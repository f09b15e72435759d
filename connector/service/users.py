"""SCIM Users on Keycloak: apply the étude rules, then write under the user's lock, in order.

Every write to an existing user runs the same way (`_locked_write`): take the user's write lock
(keycloak/locks.py), read him fresh, apply the request to that latest state (PATCH operations,
If-Match), validate everything Keycloak could refuse, plan the Keycloak steps from what he has
to what his new record implies (keycloak/user_plan.py) and run them (keycloak/user_writer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connector.audit import audited, changed_attributes
from connector.domain.dates import today_in_paris
from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.fanout import together
from connector.keycloak.gateway import KeycloakHTTPError
from connector.keycloak.locks import Locks
from connector.keycloak.translate import (
    last_written,
    link_change,
    primary_email,
    stale_index,
    user_from_keycloak,
    user_to_keycloak,
)
from connector.keycloak.user_plan import Current, Target, plan_user_write
from connector.keycloak.user_writer import UserGone, WriteInterrupted, WriteRefused, run_steps
from connector.keycloak.users import UserStore
from connector.mappings import Mappings
from connector.scim import patch as scim_patch
from connector.scim.errors import InvalidValue, NotFound, ScimError, Unavailable, Uniqueness
from connector.scim.ids import check_id
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.query import ListRequest
from connector.scim.schema_defs import ETUDE_USER
from connector.scim.versioning import check_if_match
from connector.service.context import RequestContext
from connector.service.delegation import Delegation
from connector.service.user_access import Decision, UserAccess
from connector.service.user_checks import UserChecks
from connector.service.user_record import departure_declared_by, departure_kept, writable
from connector.service.user_search import UserSearch


@dataclass(frozen=True)
class Convergence:
    """How a user's Keycloak state differed from his record, and what was (or would be) done."""

    user_id: str
    user_name: str | None
    etude: str | None
    status: tuple[str | None, str]
    enabled: tuple[bool, bool]
    ends: tuple[str | None, str | None]
    email: tuple[str | None, str | None]
    leave: list[str]
    join: list[str]
    index: list[str] = field(default_factory=list)  # query attributes out of date

    @property
    def changed(self) -> bool:
        """Tell whether anything differed."""
        return (self.access or bool(self.index))

    @property
    def access(self) -> bool:
        """Tell whether anything of the user's access differed (not only query attributes)."""
        return (self.status[0] != self.status[1] or self.enabled[0] != self.enabled[1]
                or self.ends[0] != self.ends[1] or self.email[0] != self.email[1]
                or bool(self.leave) or bool(self.join))


JOB_CONTEXT = RequestContext(Principal("job", None))


def not_found(user_id: str) -> NotFound:
    """Build the 404 of a user the caller may not see, or that does not exist."""
    return NotFound(f"User {user_id[:64]} not found.",
                    detail_fr=f"Utilisateur {user_id[:64]} introuvable.")


class UserService:
    """Create, read, replace, patch, delete and converge the users one caller may see."""

    def __init__(self, store: UserStore, directory: EtudeDirectory, mappings: Mappings,
                 locks: Locks, delegation: Delegation,
                 today: Callable[[], date] = today_in_paris, max_candidates: int = 10000,
                 by_members: bool = True) -> None:
        self.store, self.directory, self.mappings = store, directory, mappings
        self.locks, self.delegation, self.today = locks, delegation, today
        self.searcher = UserSearch(store, directory, max_candidates, by_members)
        self.checks = UserChecks(store, mappings, locks, today)
        self.access = UserAccess(store, directory, mappings, delegation, today)

    # -- reading ---------------------------------------------------------------------------
    def load(self, user_id: str, who: Principal) -> dict[str, Any]:
        """Return the user if the caller may see him (ids of any other shape are 404)."""
        check_id(user_id, not_found)
        rep = self.store.get(user_id)
        etude = ((rep or {}).get("attributes") or {}).get("etude", [None])[0]
        if rep is None or not who.sees(etude):
            raise not_found(user_id)
        return rep

    def render(self, rep: dict[str, Any], ctx: RequestContext,
               groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Render a Keycloak user as SCIM; `groups` given, his teams are listed too."""
        teams = self.delegation.teams_of(groups) if groups is not None else None
        return user_from_keycloak(rep, teams=teams, base_url=ctx.base_url, french=ctx.french)

    def get(self, user_id: str, ctx: RequestContext, with_groups: bool = True
            ) -> dict[str, Any]:
        """Return one user the caller may see (others are 404); his teams, read at the same
        time, only when they are shown."""
        check_id(user_id, not_found)
        if not with_groups:
            return self.render(self.load(user_id, ctx.who), ctx)
        rep, groups = together(lambda: self.load(user_id, ctx.who),
                               lambda: self.store.memberships(user_id))
        return self.render(rep, ctx, groups)

    def search(self, req: ListRequest, ctx: RequestContext) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query (RFC 7644 §3.4.2) over the users the caller may see."""
        return self.searcher.search(req, ctx.who, lambda rep: self.render(rep, ctx))

    # -- writing ---------------------------------------------------------------------------
    def create(self, payload: Any, ctx: RequestContext) -> dict[str, Any]:
        """POST /Users (RFC 7644 §3.3): one Keycloak transaction with groups and credentials."""
        resource = parse_resource(payload, "User")
        who = ctx.who
        with audited("user.create", who=who.label(), etude=who.etude,
                     target=resource.get("userName")) as line:
            scim, password = self.checks.prepare(resource, who, None)
            line["etude"] = scim[ETUDE_USER]["etude"]
            with self.checks.email_lock(scim):
                self.checks.check_email_unique(scim, None)
                decision = self.access.decide(scim)
                rep = user_to_keycloak(scim, status=decision.status, issues=decision.issues,
                                       ends_on=decision.ends)
                rep["groups"] = sorted(self.access.wanted([], scim, decision))
                born = None
                if password:
                    rep["credentials"] = [{"type": "password", "value": password,
                                           "temporary": False}]
                elif decision.status == "granted":
                    rep["requiredActions"] = ["UPDATE_PASSWORD"]
                    # R3's mail follows under his lock: he is created holding it.
                    born = self.locks.birth()
                    rep["federatedIdentities"] = [*rep.get("federatedIdentities", []),
                                                  born.link]
                user_id = self._post(rep, scim["userName"])
            line.update(target=user_id, status=decision.status,
                        changed=changed_attributes(None, scim) + (["password"] if password
                                                                  else []))
            if born is not None:
                with self.locks.hold(f"user:{user_id}", born=born):
                    fresh = self.store.get(user_id)
                    if fresh is None:
                        raise not_found(user_id)
                    line["password_email"] = self._password_mail(user_id, scim, fresh)
                    rep = fresh
        # What was just written, without reading it back (meta.created is scimCreated).
        return self.render({**rep, "id": user_id}, ctx, [])

    def _post(self, rep: dict[str, Any], user_name: str) -> str:
        try:
            return self.store.create(rep)
        except KeycloakHTTPError as exc:
            if exc.status == 409:
                raise Uniqueness(f"userName '{user_name}' is already taken.",
                                 detail_fr=f"Le userName « {user_name} » est déjà pris."
                                 ) from None
            raise keycloak_refusal(exc) from None

    def replace(self, user_id: str, payload: Any, ctx: RequestContext,
                if_match: str | None = None) -> dict[str, Any]:
        """PUT /Users/{id} (RFC 7644 §3.5.1): the whole resource, checked against the rules."""
        resource = parse_resource(payload, "User")
        return self._locked_write(user_id, ctx, if_match, "user.replace",
                                  lambda old: departure_kept(resource, old))

    def patch(self, user_id: str, body: Any, ctx: RequestContext,
              if_match: str | None = None) -> dict[str, Any]:
        """PATCH /Users/{id} (RFC 7644 §3.5.2): all operations or none, on the latest state."""
        who = ctx.who

        def patched(old: dict[str, Any]) -> dict[str, Any]:
            result = scim_patch.apply_patch(old, body, "User")
            if not who.is_admin and not (result.get(ETUDE_USER) or {}).get("etude"):
                # R11: refuse loudly rather than put the token's étude back behind the client.
                raise InvalidValue(f"The étude code ({ETUDE_USER}:etude) cannot be removed: it "
                                   f"is the token's ({who.etude}).",
                                   detail_fr=f"Le code de l'étude ({ETUDE_USER}:etude) ne peut "
                                   f"pas être supprimé : c'est celui du jeton ({who.etude}).")
            return parse_resource(strip_read_only(writable(result), "User"), "User")

        return self._locked_write(user_id, ctx, if_match, "user.patch", patched)

    def _locked_write(self, user_id: str, ctx: RequestContext, if_match: str | None,
                      action: str, change: Callable[[dict[str, Any]], dict[str, Any]]
                      ) -> dict[str, Any]:
        """Read the latest state under the user's lock, change it, and write it in order."""
        check_id(user_id, not_found)
        who = ctx.who
        with self.locks.hold(f"user:{user_id}") as lease, \
                audited(action, who=who.label(), etude=who.etude, target=user_id) as line:
            rep, groups = together(lambda: self.load(user_id, who),
                                   lambda: self.store.groups_of(user_id))
            old = self.render(rep, ctx)
            line["etude"] = (old.get(ETUDE_USER) or {}).get("etude")
            check_if_match(old["meta"]["version"], if_match)
            scim, password = self.checks.prepare(change(old), who, old)
            scim[ETUDE_USER]["departureDeclaredBy"] = departure_declared_by(old, scim, who.actor)
            before = strip_read_only(writable(old), "User")
            line["changed"] = changed_attributes(before, scim) + (["password"] if password
                                                                  else [])
            with self.checks.email_lock(scim, old):
                self.checks.check_email_unique(scim, user_id, old)
                decision = self.access.decide(scim)
                new_rep = self._run(user_id, rep, groups, scim, decision, password,
                                    lease.check, line)
            line["status"] = decision.status
            if decision.status == "granted" and not password:
                was = (old.get(ETUDE_USER) or {}).get("accessStatus") == "granted"
                line["password_email"] = self._password_mail(user_id, scim, new_rep,
                                                             was_granted=was)
        return self.render(new_rep, ctx, groups)

    def _run(self, user_id: str, rep: dict[str, Any], groups: list[dict[str, Any]],
             scim: dict[str, Any], decision: Decision, password: str | None,
             check: Callable[[], None], line: dict[str, Any],
             now: datetime | None = None) -> dict[str, Any]:
        """Plan and run the Keycloak steps; return the representation now stored."""
        new_rep = user_to_keycloak(scim, status=decision.status, issues=decision.issues,
                                   ends_on=decision.ends, base=rep, now=now)
        stored, wanted = link_change(rep, scim) or (None, None)
        current = Current(bool(rep.get("enabled")), self.access.managed(groups), stored)
        target = Target(decision.status == "granted", self.access.wanted(groups, scim, decision),
                        password is not None, wanted)
        steps = plan_user_write(current, target)
        try:
            line["applied"] = run_steps(self.store, user_id, steps, new_rep, rep, password,
                                        check)
        except WriteRefused as exc:
            line["undone"] = exc.undone
            raise keycloak_refusal(exc.error) from None
        except UserGone:
            raise not_found(user_id) from None
        except WriteInterrupted as exc:
            line["applied"] = exc.applied
            raise interrupted(exc.applied) from None
        return new_rep

    def _password_mail(self, user_id: str, scim: dict[str, Any], rep: dict[str, Any],
                       was_granted: bool | None = None) -> str | None:
        """R3: a user granted access without password gets Keycloak's set-password e-mail, once.

        For an existing user (`was_granted` given) the password is looked up only when access
        is being granted now, or when the last mail failed: otherwise it was settled then.
        """
        attrs = rep.get("attributes") or {}
        before = (attrs.get("passwordEmail") or [None])[0]
        if before == "sent":
            return None
        if was_granted is not None:
            if was_granted and before != "failed":
                return None
            if self.store.has_password(user_id):
                return None
        platform = self.mappings.platforms[scim[ETUDE_USER]["platforms"][0]]
        try:
            self.store.send_actions_email(user_id, ["UPDATE_PASSWORD"], platform.client_id,
                                          platform.url)
            outcome = "sent"
        except KeycloakHTTPError:
            outcome = "failed"
        rep.setdefault("attributes", {})["passwordEmail"] = [outcome]
        if outcome == "sent" and "UPDATE_PASSWORD" not in rep.get("requiredActions", []):
            rep["requiredActions"] = [*rep.get("requiredActions", []), "UPDATE_PASSWORD"]
        self.store.update(user_id, rep)
        return outcome

    def delete(self, user_id: str, ctx: RequestContext, if_match: str | None = None) -> None:
        """DELETE /Users/{id} (RFC 7644 §3.6): remove him and his sessions (R8)."""
        check_id(user_id, not_found)
        who = ctx.who
        with self.locks.hold(f"user:{user_id}") as lease, \
                audited("user.delete", who=who.label(), etude=who.etude, target=user_id) as line:
            rep = self.load(user_id, who)
            line.update(etude=(rep.get("attributes") or {}).get("etude", [None])[0],
                        changed=["*"])
            if if_match:
                check_if_match(self.render(rep, ctx)["meta"]["version"], if_match)
            # Keycloak drops a deleted user's sessions with him: no separate logout (R8).
            self.store.delete(user_id)
            lease.user_deleted(f"user:{user_id}")  # and his lock link

    # -- converging (R8, R9, reconcile, team membership) -------------------------------------
    def converge(self, user_id: str, who: str, today: date | None = None,
                 dry_run: bool = False, action: str = "user.reevaluate") -> Convergence | None:
        """Recompute a stored user's access on a day and bring Keycloak in step (None: gone)."""
        check_id(user_id, not_found)
        with self.locks.hold(f"user:{user_id}") as lease:
            rep, groups = together(lambda: self.store.get(user_id),
                                   lambda: self.store.memberships(user_id))
            if rep is None:
                return None
            old = self.render(rep, JOB_CONTEXT)
            scim = strip_read_only(writable(old), "User")
            decision = self.access.decide(scim, today)
            managed = self.access.managed(groups)
            wanted = self.access.wanted(groups, scim, decision)
            attrs = rep.get("attributes") or {}
            found = Convergence(
                user_id, old.get("userName"), (old.get(ETUDE_USER) or {}).get("etude"),
                ((old.get(ETUDE_USER) or {}).get("accessStatus"), decision.status),
                (bool(rep.get("enabled")), decision.status == "granted"),
                ((attrs.get("accessEndsOn") or [None])[0], decision.ends),
                ((rep.get("email") or "").lower() or None,
                 (primary_email(scim) or "").lower() or None),
                sorted(set(managed) - set(wanted)), sorted(set(wanted) - set(managed)),
                stale_index(rep, scim))
            if found.changed and not dry_run:
                with audited(action, who=who, etude=found.etude, target=user_id) as line:
                    line.update(status=decision.status, left=found.leave, joined=found.join,
                                changed=[*(["accessStatus"] if found.status[0] != found.status[1]
                                           else []),
                                         *(["accessEndsOn"] if found.ends[0] != found.ends[1]
                                           else [])])
                    if found.index:
                        line["changed"] += ["index"]
                    # Query attributes alone: the record did not change, nor does lastModified.
                    self._run(user_id, rep, groups, scim, decision, None, lease.check, line,
                              now=None if found.access else last_written(rep))
            return found


def keycloak_refusal(exc: KeycloakHTTPError) -> ScimError:
    """Turn what Keycloak refused into a SCIM error that names no other étude's user."""
    if exc.status == 409:
        return Uniqueness("A value of this user is already taken by another account.",
                          detail_fr="Une valeur de cet utilisateur est déjà prise par un autre "
                          "compte.")
    if exc.status == 400:
        return InvalidValue(f"Keycloak refused the value: {exc.message[:200]}",
                            detail_fr=f"Keycloak refuse la valeur : {exc.message[:200]}")
    raise exc


def interrupted(applied: list[str]) -> Unavailable:
    """Say what was applied before Keycloak went away: by the plan's order, never more access."""
    done = ", ".join(applied) or "nothing"
    return Unavailable(f"Keycloak became unreachable half-way; applied: {done}. The user has "
                       "no more access than his record allows; retry the request.",
                       detail_fr=f"Keycloak est devenu injoignable en cours de route ; "
                       f"appliqué : {done}. L'utilisateur n'a pas plus d'accès que son "
                       "dossier ne le permet ; renvoyez la requête.")
