"""SCIM Users on Keycloak: apply the étude rules, then write in an order that never over-grants."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from connector.audit import audit, changed_attributes
from connector.domain.dates import parse_day, today_in_paris
from connector.domain.errors import RuleViolation
from connector.domain.names import display_name, strip_accents
from connector.domain.password import check_password
from connector.domain.record import EtudeRecord
from connector.domain.rules import (
    AccessIssue,
    access_ends_on,
    access_status,
    normalise_contract_type,
    validate_submission,
)
from connector.keycloak.bootstrap import INDEX_ROOT
from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.gateway import KeycloakHTTPError, collect
from connector.keycloak.translate import primary_email, user_from_keycloak, user_to_keycloak
from connector.keycloak.users import UserQuery, UserStore
from connector.mappings import Mappings
from connector.scim import filter as scim_filter
from connector.scim import patch as scim_patch
from connector.scim.errors import (
    InvalidValue,
    NotFound,
    ScimError,
    TooMany,
    Unavailable,
    Uniqueness,
)
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.query import ListRequest, Plan, plan_users, sort_resources
from connector.scim.schema_defs import ETUDE_USER
from connector.scim.versioning import check_if_match

# Push-down terms that leave a handful of users at most, whatever the realm size.
SELECTIVE = {"userName", "attr:emailIndex", "attr:externalId"}
DATE_FIELDS = ("kbisDate", "employerAttestationDate", "contractEndDate", "departureDate",
               "confidentialityAcceptedDate")
PAGE = 500


def rule_error(exc: RuleViolation) -> ScimError:
    """Turn a broken étude rule into its SCIM error (400 invalidValue or 409 uniqueness)."""
    cls = Uniqueness if exc.kind == "uniqueness" else InvalidValue
    return cls(exc.detail_en, detail_fr=exc.detail_fr)


def record_of(scim: dict[str, Any]) -> EtudeRecord:
    """Read the étude facts of a normalised SCIM user (R2, R4–R8, R11)."""
    ext = scim.get(ETUDE_USER) or {}

    def day(key: str) -> date | None:
        return parse_day(ext.get(key), key)

    return EtudeRecord(
        etude=ext.get("etude"), profile=ext.get("profile"),
        platforms=tuple(ext.get("platforms") or ()), titulaire=ext.get("titulaire"),
        kbis_date=day("kbisDate"), employer_attestation_date=day("employerAttestationDate"),
        contract_type=ext.get("contractType"), contract_end_date=day("contractEndDate"),
        departure_date=day("departureDate"),
        confidentiality_accepted_date=day("confidentialityAcceptedDate"),
        active=scim.get("active", True) is not False, primary_email=primary_email(scim))


def normalise(scim: dict[str, Any]) -> dict[str, Any]:
    """Apply R1 to names and reduce étude dates to Paris days; keep everything else."""
    out = copy.deepcopy(scim)
    name = out.get("name") or {}
    for key in ("givenName", "familyName", "middleName", "formatted"):
        if name.get(key):
            name[key] = strip_accents(name[key], f"name.{key}")
    if name:
        out["name"] = name
    if out.get("displayName"):
        out["displayName"] = strip_accents(out["displayName"], "displayName")
    else:
        derived = display_name(name.get("givenName"), name.get("familyName"))
        if derived:
            out["displayName"] = derived
    ext = out.get(ETUDE_USER)
    if isinstance(ext, dict):
        for key in DATE_FIELDS:
            parsed = parse_day(ext.get(key), key)
            ext[key] = parsed.isoformat() if parsed else None
        if ext.get("contractType") is not None:
            ext["contractType"] = normalise_contract_type(ext["contractType"])
        if ext.get("platforms") is not None:
            ext["platforms"] = sorted({str(p).lower() for p in ext["platforms"]})
        if ext.get("profile"):
            ext["profile"] = str(ext["profile"]).strip().lower()
    for email in out.get("emails") or []:
        if isinstance(email.get("value"), str):
            email["value"] = email["value"].strip()
    return out


class Delegation(Protocol):
    """R12 hook: the teams side (service/groups) tells which groups a user's teams grant."""

    def groups_for(self, groups: list[dict[str, Any]], scim: dict[str, Any],
                   status: str) -> set[str]:
        """Return the delegation group paths due to a user (none unless granted)."""

    def teams_of(self, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the user's teams (id, name) among his Keycloak groups (RFC 7643 §4.1.2)."""


class UserService:
    """Create, read, replace, patch, delete and list the users one caller may see."""

    def __init__(self, store: UserStore, directory: EtudeDirectory, mappings: Mappings,
                 today: Callable[[], date] = today_in_paris, max_candidates: int = 10000) -> None:
        self.store, self.directory, self.mappings = store, directory, mappings
        self.today = today
        self.max_candidates = max_candidates
        self.delegation: Delegation | None = None  # set by setup_services when teams exist

    # -- reading -----------------------------------------------------------------------------
    def _load(self, user_id: str, who: Principal) -> dict[str, Any]:
        rep = self.store.get(user_id)
        etude = ((rep or {}).get("attributes") or {}).get("etude", [None])[0]
        if rep is None or (not who.is_admin and etude != who.etude):
            raise NotFound(f"User {user_id} not found.",
                           detail_fr=f"Utilisateur {user_id} introuvable.")
        return rep

    def render(self, rep: dict[str, Any], base_url: str, french: bool,
               with_teams: bool = False) -> dict[str, Any]:
        """Render a Keycloak user as SCIM; his teams (`groups`) cost one more call."""
        teams = None
        if with_teams and self.delegation is not None:
            teams = self.delegation.teams_of(self.store.groups_of(str(rep["id"])))
        return user_from_keycloak(rep, teams=teams, base_url=base_url, french=french)

    def get(self, user_id: str, who: Principal, base_url: str = "",
            french: bool = False) -> dict[str, Any]:
        """Return one user the caller may see (others are 404), with his teams."""
        return self.render(self._load(user_id, who), base_url, french, with_teams=True)

    def _scope(self, query: UserQuery, who: Principal) -> UserQuery:
        return query if who.is_admin else query.with_attribute("etude", str(who.etude))

    @staticmethod
    def _query(plan: Plan) -> UserQuery:
        query = UserQuery()
        for field, value in plan.terms:
            if field == "userName":
                query = UserQuery(value, query.email, query.first_name, query.last_name,
                                  query.attributes)
            elif field == "firstName":
                query = UserQuery(query.username, query.email, value, query.last_name,
                                  query.attributes)
            elif field == "lastName":
                query = UserQuery(query.username, query.email, query.first_name, value,
                                  query.attributes)
            else:
                query = query.with_attribute(field.removeprefix("attr:"), value)
        return query

    def search(self, req: ListRequest, who: Principal, base_url: str = "",
             french: bool = False) -> tuple[int, list[dict[str, Any]]]:
        """Answer a query: store paging when the filter is pushed down whole, else in memory."""
        plan = plan_users(req.filter)
        query = self._scope(self._query(plan), who)
        if plan.residual is None and not req.sort_by:
            if req.count == 0:
                return self.store.count(query), []
            reps = self.store.search(query, req.start_index - 1, req.count)
            # A first page that is not full is the whole answer: no count needed (the usual
            # `userName eq` lookup of Entra ID and Okta costs one call).
            if req.start_index == 1 and len(reps) < req.count:
                total = len(reps)
            else:
                total = self.store.count(query)
            return total, [self.render(r, base_url, french) for r in reps]
        if not who.is_admin and SELECTIVE & {f for f, _ in plan.terms}:
            # A selective term narrows enough on its own; a second attribute term (the étude
            # scope) only slows Keycloak's query down. The scope is then applied here.
            candidates = [r for r in self._all(self._query(plan))
                          if ((r.get("attributes") or {}).get("etude") or [None])[0] == who.etude]
        else:
            candidates = self._all(query)
        resources = [self.render(r, base_url, french) for r in candidates]
        if plan.residual is not None:
            resources = [r for r in resources if scim_filter.matches(plan.residual, r, "User")]
        resources = sort_resources(resources, req.sort_by, req.descending, "User")
        start = req.start_index - 1
        return len(resources), resources[start:start + req.count]

    def _all(self, query: UserQuery) -> list[dict[str, Any]]:
        """Read every candidate; a short first page needs no count (selective filters)."""
        out: list[dict[str, Any]] = list(self.store.search(query, 0, PAGE))
        if len(out) < PAGE:
            return out
        if self.store.count(query) > self.max_candidates:
            raise TooMany(f"The filter leaves more than {self.max_candidates} users to examine; "
                          "add an equality on userName, externalId, emails or an étude "
                          "attribute.",
                          detail_fr=f"Le filtre laisse plus de {self.max_candidates} utilisateurs "
                          "à examiner ; ajoutez une égalité sur userName, externalId, emails ou "
                          "un attribut de l'étude.")
        return out + collect(lambda first, size: self.store.search(query, first, size), PAGE,
                             first=PAGE)

    # -- writing -----------------------------------------------------------------------------
    def _prepare(self, payload: dict[str, Any], who: Principal,
                 old: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
        """Validate and normalise a full resource; return it and the pushed password (R3)."""
        scim = strip_read_only(payload, "User")
        password = scim.pop("password", None)
        if password is not None:
            policy = self.mappings.password
            try:
                password = check_password(password, policy.min_length, policy.max_length)
            except RuleViolation as exc:
                raise rule_error(exc) from None
        if not isinstance(scim.get("userName"), str) or not scim["userName"].strip():
            raise InvalidValue("userName is required.",
                               detail_fr="userName est obligatoire.")
        ext = scim.setdefault(ETUDE_USER, {})
        if ETUDE_USER not in scim["schemas"]:
            scim["schemas"].append(ETUDE_USER)
        if not who.is_admin:
            if ext.get("etude") not in (None, who.etude):
                raise InvalidValue(f"This token acts for étude {who.etude}: a user of another "
                                   "étude cannot be written with it.",
                                   detail_fr=f"Ce jeton agit pour l'étude {who.etude} : il ne "
                                   "peut pas écrire un utilisateur d'une autre étude.")
            ext["etude"] = who.etude
        elif not ext.get("etude"):
            raise InvalidValue("With an admin token the étude code is required "
                               f"({ETUDE_USER}:etude).",
                               detail_fr="Avec un jeton d'administration, le code de l'étude est "
                               f"obligatoire ({ETUDE_USER}:etude).")
        if old is not None:
            old_etude = (old.get(ETUDE_USER) or {}).get("etude")
            if old_etude and ext.get("etude") != old_etude:
                raise InvalidValue("A user cannot move to another étude.",
                                   detail_fr="Un utilisateur ne peut pas changer d'étude.")
        try:
            scim = normalise(scim)
            new = record_of(scim)
            validate_submission(new, record_of(old) if old else None, self.today(),
                                list(self.mappings.profiles), list(self.mappings.platforms))
        except RuleViolation as exc:
            raise rule_error(exc) from None
        return scim, password

    def _check_email_unique(self, scim: dict[str, Any], user_id: str | None) -> None:
        """R2: on a platform that forbids shared addresses, one account per address."""
        email = primary_email(scim)
        platforms = (scim.get(ETUDE_USER) or {}).get("platforms") or []
        strict = [p for p in platforms if not self.mappings.platforms[p].shared_email]
        if not email or not strict:
            return
        for platform in strict:
            query = UserQuery(email=email).with_attribute("platforms", platform)
            others = [u for u in self.store.search(query, 0, 5) if u["id"] != user_id]
            if others:
                label = self.mappings.platforms[platform].label
                raise Uniqueness(f"The e-mail address is already used by another {label} "
                                 f"account; {label} needs one address per account (R2).",
                                 detail_fr=f"L'adresse e-mail est déjà utilisée par un autre "
                                 f"compte {label} ; {label} exige une adresse par compte (R2).")

    def _decide(self, scim: dict[str, Any], today: date | None = None
                ) -> tuple[str, list[AccessIssue], str | None, bool]:
        record = record_of(scim)
        registered = bool(record.etude) and self.directory.group_id(str(record.etude)) is not None
        status, issues = access_status(record, today or self.today(), registered)
        ends = access_ends_on(record)
        return status, issues, ends.isoformat() if ends else None, registered

    def _platform_groups(self, scim: dict[str, Any], status: str) -> set[str]:
        if status != "granted":
            return set()
        ext = scim.get(ETUDE_USER) or {}
        return {self.mappings.platform_group(p, ext["profile"]) for p in ext.get("platforms", [])}

    def _is_platform_group(self, path: str) -> bool:
        """Tell whether a group grants platform access: a profile or a delegation group."""
        roots = {f"/{p.group_root}/" for p in self.mappings.platforms.values()}
        return any(path.startswith(r) for r in roots) or self._is_delegation_group(path)

    @staticmethod
    def index_group(ends: str | None) -> str | None:
        """R9: the day-index group of the first day a user's access is no longer allowed."""
        return f"/{INDEX_ROOT}/{ends}" if ends else None

    def _sync_index(self, user_id: str, groups: list[dict[str, Any]], ends: str | None) -> None:
        """Put the user in the index group of his end day, and in no other (R9)."""
        wanted = self.index_group(ends)
        for group in groups:
            if group["path"].startswith(f"/{INDEX_ROOT}/") and group["path"] != wanted:
                self.store.leave(user_id, group["id"])
        if wanted and wanted not in {g["path"] for g in groups}:
            self.store.join(user_id, self.store.ensure_group(wanted))

    def _is_delegation_group(self, path: str) -> bool:
        """R12: /etudes/<code>/<team>/<platform> carries a team's delegated client roles."""
        parts = path.strip("/").split("/")
        return len(parts) == 4 and parts[0] == "etudes" and parts[3] in self.mappings.platforms

    def delegated_groups(self, groups: list[dict[str, Any]], scim: dict[str, Any],
                         status: str) -> set[str]:
        """R12: the delegation groups due to a user from his teams (none unless granted)."""
        if self.delegation is None or status != "granted":
            return set()
        return self.delegation.groups_for(groups, scim, status)

    def wanted_groups(self, user_id: str, scim: dict[str, Any], status: str
                      ) -> tuple[set[str], list[dict[str, Any]]]:
        """Return the access groups the record implies and the user's current groups."""
        groups = self.store.groups_of(user_id)
        wanted = self._platform_groups(scim, status) | self.delegated_groups(groups, scim, status)
        return wanted, groups

    def create(self, payload: Any, who: Principal, base_url: str = "",
               french: bool = False) -> dict[str, Any]:
        """POST /Users (RFC 7644 §3.3): one Keycloak transaction with groups and credentials."""
        scim, password = self._prepare(parse_resource(payload, "User"), who, None)
        self._check_email_unique(scim, None)
        status, issues, ends, registered = self._decide(scim)
        rep = user_to_keycloak(scim, status=status, issues=issues, ends_on=ends)
        etude = scim[ETUDE_USER]["etude"]
        index = self.index_group(ends)
        if index:
            self.store.ensure_group(index)
        rep["groups"] = sorted(self._platform_groups(scim, status)
                               | ({f"/etudes/{etude}"} if registered else set())
                               | ({index} if index else set()))
        if password:
            rep["credentials"] = [{"type": "password", "value": password, "temporary": False}]
        elif status == "granted":
            rep["requiredActions"] = ["UPDATE_PASSWORD"]
        try:
            user_id = self.store.create(rep)
        except KeycloakHTTPError as exc:
            audit("user.create", who=who.label(), etude=etude, target=scim["userName"],
                  outcome=f"refused:{exc.status}")
            if exc.status == 409:
                raise Uniqueness(f"userName '{scim['userName']}' is already taken.",
                                 detail_fr=f"Le userName « {scim['userName']} » est déjà pris."
                                 ) from None
            raise self._keycloak_error(exc) from None
        mail = self._password_mail(user_id, scim, status, password is not None, None)
        audit("user.create", who=who.label(), etude=etude, target=user_id,
              changed=changed_attributes(None, scim) + (["password"] if password else []),
              status=status, password_email=mail)
        return self.get(user_id, who, base_url, french)

    def replace(self, user_id: str, payload: Any, who: Principal, if_match: str | None = None,
                base_url: str = "", french: bool = False) -> dict[str, Any]:
        """PUT /Users/{id} (RFC 7644 §3.5.1): the whole resource, checked against the rules."""
        rep = self._load(user_id, who)
        old = self.render(rep, base_url, french)
        self._check_version(old, if_match)
        return self._write(user_id, rep, old, parse_resource(payload, "User"), who,
                           base_url, french, "user.replace")

    def patch(self, user_id: str, body: Any, who: Principal, if_match: str | None = None,
              base_url: str = "", french: bool = False) -> dict[str, Any]:
        """PATCH /Users/{id} (RFC 7644 §3.5.2): all operations or none."""
        rep = self._load(user_id, who)
        old = self.render(rep, base_url, french)
        self._check_version(old, if_match)
        patched = scim_patch.apply_patch(old, body, "User")
        if not who.is_admin and not (patched.get(ETUDE_USER) or {}).get("etude"):
            # R11: refuse loudly rather than put the token's étude back behind the client.
            raise InvalidValue(f"The étude code ({ETUDE_USER}:etude) cannot be removed: it is "
                               f"the token's ({who.etude}).",
                               detail_fr=f"Le code de l'étude ({ETUDE_USER}:etude) ne peut pas "
                               f"être supprimé : c'est celui du jeton ({who.etude}).")
        patched = strip_read_only({k: v for k, v in patched.items()
                                   if k not in ("id", "meta", "groups")}, "User")
        return self._write(user_id, rep, old, parse_resource(patched, "User"), who,
                           base_url, french, "user.patch")

    def _write(self, user_id: str, rep: dict[str, Any], old: dict[str, Any],
               resource: dict[str, Any], who: Principal, base_url: str, french: bool,
               action: str) -> dict[str, Any]:
        scim, password = self._prepare(resource, who, old)
        self._check_email_unique(scim, user_id)
        status, issues, ends, registered = self._decide(scim)
        new_rep = user_to_keycloak(scim, status=status, issues=issues, ends_on=ends, base=rep)
        before = strip_read_only({k: v for k, v in old.items()
                                  if k not in ("id", "meta", "groups")}, "User")
        changed = changed_attributes(before, scim) + (["password"] if password else [])
        try:
            wanted, groups = self.wanted_groups(user_id, scim, status)
            self._apply(user_id, new_rep, wanted, groups, was_enabled=bool(rep.get("enabled")))
            self._sync_index(user_id, groups, ends)
            if registered:
                self.store.join(user_id, str(self.directory.group_id(scim[ETUDE_USER]["etude"])))
            if password:
                self.store.reset_password(user_id, password)
        except KeycloakHTTPError as exc:
            audit(action, who=who.label(), etude=scim[ETUDE_USER]["etude"], target=user_id,
                  changed=changed, outcome=f"refused:{exc.status}")
            raise self._keycloak_error(exc) from None
        mail = self._password_mail(user_id, scim, status, password is not None, rep)
        audit(action, who=who.label(), etude=scim[ETUDE_USER]["etude"], target=user_id,
              changed=changed, status=status, password_email=mail)
        return self.get(user_id, who, base_url, french)

    def _apply(self, user_id: str, new_rep: dict[str, Any], wanted: set[str],
               groups: list[dict[str, Any]], was_enabled: bool) -> None:
        """Write so that every intermediate state grants no more than before or after."""
        current = {g["path"]: g["id"] for g in groups if self._is_platform_group(g["path"])}
        done: list[str] = []
        try:
            if not new_rep["enabled"]:
                self.store.update(user_id, new_rep)
                done.append("disabled")
                if was_enabled:
                    self.store.logout(user_id)
                    done.append("sessions ended")
                for path, gid in current.items():
                    self.store.leave(user_id, gid)
                    done.append(f"left {path}")
                return
            for path in sorted(set(current) - wanted):
                self.store.leave(user_id, current[path])
                done.append(f"left {path}")
            for path in sorted(wanted - set(current)):
                self.store.join(user_id, self.store.group_id(path))
                done.append(f"joined {path}")
            self.store.update(user_id, new_rep)
        except Unavailable as exc:
            applied = ", ".join(done) or "nothing"
            raise Unavailable(f"Keycloak became unreachable half-way; applied: {applied}. "
                              "The user has no more access than before; retry the request.",
                              detail_fr=f"Keycloak est devenu injoignable en cours de route ; "
                              f"appliqué : {applied}. L'utilisateur n'a pas plus d'accès "
                              "qu'avant ; renvoyez la requête.") from exc

    def _password_mail(self, user_id: str, scim: dict[str, Any], status: str,
                       pushed: bool, before: dict[str, Any] | None) -> str | None:
        """R3: a granted user without password gets Keycloak's set-password e-mail, once."""
        attrs = (before or {}).get("attributes") or {}
        if status != "granted" or pushed or attrs.get("passwordEmail") == ["sent"]:
            return None
        if before is not None and self.store.has_password(user_id):
            return None
        platform = self.mappings.platforms[scim[ETUDE_USER]["platforms"][0]]
        try:
            self.store.send_actions_email(user_id, ["UPDATE_PASSWORD"], platform.client_id,
                                          platform.url)
            outcome = "sent"
        except KeycloakHTTPError:
            outcome = "failed"
        fresh = self.store.get(user_id) or {}
        fresh.setdefault("attributes", {})["passwordEmail"] = [outcome]
        if outcome == "sent" and "UPDATE_PASSWORD" not in fresh.get("requiredActions", []):
            fresh["requiredActions"] = [*fresh.get("requiredActions", []), "UPDATE_PASSWORD"]
        self.store.update(user_id, fresh)
        return outcome

    def reevaluate(self, rep: dict[str, Any], today: date, who: str,
                   dry_run: bool = False, action: str = "user.reevaluate") -> dict[str, Any]:
        """R8/R9/reconcile: recompute a stored user's access on a day and repair Keycloak.

        Returns what differs: status change, enabled flag, groups to leave and to join.
        """
        user_id = str(rep["id"])
        old = self.render(rep, "", False)
        scim = strip_read_only({k: v for k, v in old.items()
                                if k not in ("id", "meta", "groups")}, "User")
        status, issues, ends, _ = self._decide(scim, today)
        wanted, groups = self.wanted_groups(user_id, scim, status)
        current = {g["path"] for g in groups if self._is_platform_group(g["path"])}
        diff: dict[str, Any] = {
            "id": user_id, "userName": old.get("userName"),
            "etude": (old.get(ETUDE_USER) or {}).get("etude"),
            "status": [(old.get(ETUDE_USER) or {}).get("accessStatus"), status],
            "enabled": [bool(rep.get("enabled")), status == "granted"],
            "leave": sorted(current - wanted), "join": sorted(wanted - current),
            # The expiry day index (R9): a hand edit of an end date in the console leaves it stale.
            "accessEndsOn": [((rep.get("attributes") or {}).get("accessEndsOn") or [None])[0],
                             ends]}
        indexed = sorted(g["path"] for g in groups if g["path"].startswith(f"/{INDEX_ROOT}/"))
        wanted_index = self.index_group(ends)
        index_ok = indexed == ([wanted_index] if wanted_index else [])
        diff["changed"] = (diff["status"][0] != diff["status"][1]
                           or diff["enabled"][0] != diff["enabled"][1]
                           or diff["accessEndsOn"][0] != diff["accessEndsOn"][1]
                           or not index_ok
                           or bool(diff["leave"]) or bool(diff["join"]))
        if not index_ok:
            diff["index"] = [indexed, wanted_index]
        if diff["changed"] and not dry_run:
            new_rep = user_to_keycloak(scim, status=status, issues=issues, ends_on=ends,
                                       base=rep)
            self._apply(user_id, new_rep, wanted, groups, was_enabled=bool(rep.get("enabled")))
            self._sync_index(user_id, groups, ends)
            audit(action, who=who, etude=diff["etude"], target=user_id,
                  changed=([*(["accessStatus"] if diff["status"][0] != status else []),
                            *(["accessEndsOn"] if diff["accessEndsOn"][0] != ends else [])]),
                  status=status, left=diff["leave"], joined=diff["join"])
        return diff

    def delete(self, user_id: str, who: Principal, if_match: str | None = None) -> None:
        """DELETE /Users/{id} (RFC 7644 §3.6): end his sessions, then remove him (R8)."""
        rep = self._load(user_id, who)
        if if_match:
            self._check_version(self.render(rep, "", False), if_match)
        etude = (rep.get("attributes") or {}).get("etude", [None])[0]
        self.store.logout(user_id)
        self.store.delete(user_id)
        audit("user.delete", who=who.label(), etude=etude, target=user_id, changed=["*"])

    @staticmethod
    def _check_version(current: dict[str, Any], if_match: str | None) -> None:
        """RFC 7644 §3.14: a stale If-Match is 412."""
        check_if_match(current["meta"]["version"], if_match)

    @staticmethod
    def _keycloak_error(exc: KeycloakHTTPError) -> ScimError:
        if exc.status == 409:
            return Uniqueness(f"Keycloak refused a duplicate: {exc.message}",
                              detail_fr=f"Keycloak refuse un doublon : {exc.message}")
        if exc.status == 400:
            return InvalidValue(f"Keycloak refused the value: {exc.message}",
                                detail_fr=f"Keycloak refuse la valeur : {exc.message}")
        raise exc
