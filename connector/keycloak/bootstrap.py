"""Bring a realm into the shape mappings/ declares: plan first, then apply (idempotent)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.layout import ETUDES_ROOT, INDEX_ROOT, JOBS_ROOT, LOCK_PROVIDER, LOCKS_ROOT
from connector.keycloak.portal_client import plan_portal_client
from connector.keycloak.user_query import LINK_PROVIDER
from connector.mappings import Mappings
from connector.settings import Settings

# What the connector's service account may do, and nothing more (least privilege).
SERVICE_ACCOUNT_ROLES = ("manage-users", "view-users", "query-users", "query-groups",
                         "view-clients", "query-clients")
# Attributes whose claims the platforms read in their tokens.
TOKEN_CLAIMS = ("etude", "profile")


@dataclass
class Action:
    """One change of the plan: a verb, what it touches, and how to do it."""

    verb: str
    target: str
    run: Callable[[], Any] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.verb:7} {self.target}"


def realm_settings(settings: Settings, mappings: Mappings) -> dict[str, Any]:
    """Return the realm attributes bootstrap owns (R2 shared e-mail, R3 policy, R10 events)."""
    desired: dict[str, Any] = {
        "enabled": True,
        "passwordPolicy": mappings.password.keycloak_policy(),
        # R2: one address may serve several Mars accounts; the connector enforces uniqueness
        # where a platform wants it. Keycloak requires e-mail login off for duplicates.
        "duplicateEmailsAllowed": True,
        "loginWithEmailAllowed": False,
        "registrationAllowed": False,
        # RFC 7643 §4.1.1: userName is readWrite; Entra ID renames it when a UPN changes, and
        # Keycloak's user profile refuses a new username (even to admins) unless this is on.
        "editUsernameAllowed": True,
        "internationalizationEnabled": True,
        "supportedLocales": ["fr", "en"],
        "defaultLocale": "fr",
        # R10: Keycloak keeps its own trail of admin changes beside the connector's audit log.
        "adminEventsEnabled": True,
        "adminEventsDetailsEnabled": True,
    }
    if settings.smtp_host:
        desired["smtpServer"] = {"host": settings.smtp_host, "port": str(settings.smtp_port),
                                 "from": settings.smtp_from}
    return desired


def _same(current: Any, desired: Any) -> bool:
    if isinstance(desired, list) and isinstance(current, list):
        return sorted(map(str, current)) == sorted(map(str, desired))
    if isinstance(desired, dict) and isinstance(current, dict):
        return all(_same(current.get(k), v) for k, v in desired.items())
    return bool(current == desired)


def _differs(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in desired.items() if not _same(current.get(k), v))


class Planner:
    """Read the realm once and list the actions that make it match mappings/."""

    def __init__(self, gw: Gateway, settings: Settings, mappings: Mappings) -> None:
        self.gw, self.settings, self.mappings = gw, settings, mappings
        self.actions: list[Action] = []
        self.fresh = False  # the realm does not exist yet: plan everything as creations

    def read(self, path: str, **params: Any) -> Any:
        """GET unless the realm is still to be created (then nothing exists)."""
        return None if self.fresh else self.gw.get(path, **params)

    def add(self, verb: str, target: str, run: Callable[[], Any]) -> None:
        self.actions.append(Action(verb, target, run))

    def plan(self) -> list[Action]:
        """Compute every action; none is executed."""
        self.fresh = self._realm() is None
        self._user_profile()
        clients = {key: self._client(p.client_id, p.label, p.url)
                   for key, p in self.mappings.platforms.items()}
        for key, platform in self.mappings.platforms.items():
            self._groups(platform.group_root, key, clients[key])
        self._group_path(f"/{ETUDES_ROOT}", None)
        # R9 day index: /access-ends-on/<day> holds the users whose access ends that day (a
        # membership lookup is indexed, where `q=attr:value` scans attributes); jobs and locks
        # keep the connector's own state. None of these grants anything.
        for root in (INDEX_ROOT, JOBS_ROOT, LOCKS_ROOT):
            self._group_path(f"/{root}", None)
        self._link_provider(LINK_PROVIDER, "SCIM externalId (index, no sign-in)")
        self._link_provider(LOCK_PROVIDER, "Connector write locks (no sign-in)")
        self._service_account()
        plan_portal_client(self)
        return self.actions

    # -- realm -------------------------------------------------------------------------------
    def _realm(self) -> dict[str, Any] | None:
        desired = realm_settings(self.settings, self.mappings)
        try:
            current = self.gw.get(self.gw.path(""))
        except KeycloakHTTPError as exc:
            if exc.status != 404:
                raise
            body = {"realm": self.gw.realm, **desired}
            self.add("create", f"realm {self.gw.realm}",
                     lambda: self.gw.request("POST", "admin/realms", body=body))
            return None
        changed = _differs(current, desired)
        if changed:
            patch = {k: desired[k] for k in changed}
            self.add("change", f"realm {self.gw.realm}: {', '.join(changed)}",
                     lambda: self.gw.request("PUT", self.gw.path(""), body=patch))
        return current

    def _user_profile(self) -> None:
        path = self.gw.path("/users/profile")
        current = self.read(path) or {}
        # Admins see and edit the étude attributes; users never do (account console).
        if current.get("unmanagedAttributePolicy") != "ADMIN_EDIT":
            def change() -> None:
                profile = self.gw.get(path)
                profile["unmanagedAttributePolicy"] = "ADMIN_EDIT"
                self.gw.request("PUT", path, body=profile)

            self.add("change", "user profile: unmanagedAttributePolicy=ADMIN_EDIT", change)

    def _link_provider(self, alias: str, label: str) -> None:
        """An identity provider that only holds links: externalId's index (user_query.py) or
        users' write locks (locks.py); disabled and hidden, so that nobody ever signs in."""
        path = self.gw.path("/identity-provider/instances/{a}", a=alias)
        try:
            current = self.read(path)
        except KeycloakHTTPError as exc:
            if exc.status != 404:
                raise
            current = None
        desired = {"enabled": False, "hideOnLogin": True, "linkOnly": True}
        if current is None:
            body = {"alias": alias, "displayName": label,
                    "providerId": "oidc", **desired,
                    "config": {"authorizationUrl": "https://sign-in.invalid/auth",
                               "tokenUrl": "https://sign-in.invalid/token",
                               "clientId": "none", "clientAuthMethod": "client_secret_post",
                               "clientSecret": secrets.token_urlsafe(24), "syncMode": "IMPORT"}}
            self.add("create", f"identity provider {alias} ({label})",
                     lambda: self.gw.request("POST", self.gw.path("/identity-provider/instances"),
                                             body=body))
            return
        changed = _differs(current, desired)
        if changed:
            def change() -> None:
                fresh = self.gw.get(path)
                self.gw.request("PUT", path, body={**fresh, **desired})

            self.add("change", f"identity provider {alias}: {', '.join(changed)}",
                     change)

    # -- clients and roles ---------------------------------------------------------------------
    def _client(self, client_id: str, label: str, url: str) -> str | None:
        found = self.read(self.gw.path("/clients"), clientId=client_id)
        if not found:
            rep = {"clientId": client_id, "name": label, "rootUrl": url, "baseUrl": url,
                   "redirectUris": [url.rstrip("/") + "/*"], "webOrigins": ["+"],
                   "publicClient": False, "standardFlowEnabled": True,
                   "directAccessGrantsEnabled": False, "protocol": "openid-connect",
                   "protocolMappers": [_attribute_mapper(n) for n in TOKEN_CLAIMS]
                   + [_groups_mapper()]}

            def create() -> None:
                self.gw.request("POST", self.gw.path("/clients"), body=rep)
                new = self.gw.get(self.gw.path("/clients"), clientId=client_id)[0]["id"]
                for perm, desc in self.mappings.permissions.items():
                    self.gw.request("POST", self.gw.path("/clients/{c}/roles", c=new),
                                    body={"name": perm, "description": desc})

            self.add("create", f"client {client_id} with {len(self.mappings.permissions)} "
                     "client roles", create)
            return None
        uuid = str(found[0]["id"])
        roles = {r["name"]: r for r in self.gw.get(
            self.gw.path("/clients/{c}/roles", c=uuid), first=0, max=1000)}
        for perm, desc in self.mappings.permissions.items():
            if perm not in roles:
                self.add("create", f"client role {client_id}:{perm}",
                         partial(self.gw.request, "POST",
                                 self.gw.path("/clients/{c}/roles", c=uuid),
                                 body={"name": perm, "description": desc}))
        for name in sorted(set(roles) - set(self.mappings.permissions)):
            self.add("remove", f"client role {client_id}:{name} (not in permissions.yaml)",
                     partial(self.gw.request, "DELETE",
                             self.gw.path("/clients/{c}/roles/{r}", c=uuid, r=name)))
        return uuid

    # -- groups --------------------------------------------------------------------------------
    def _group_path(self, path: str, parent_id: str | None) -> str | None:
        try:
            found = self.read(self.gw.group_path_url(path))
            if found:
                return str(found["id"])
        except KeycloakHTTPError as exc:
            if exc.status != 404:
                raise
        name = path.rsplit("/", 1)[-1]

        def create() -> None:
            if parent_id is None and path.count("/") > 1:
                parent = self.gw.get(self.gw.group_path_url(path.rsplit("/", 1)[0]))["id"]
                self.gw.request("POST", self.gw.path("/groups/{g}/children", g=parent),
                                body={"name": name})
            elif parent_id is None:
                self.gw.request("POST", self.gw.path("/groups"), body={"name": name})
            else:
                self.gw.request("POST", self.gw.path("/groups/{g}/children", g=parent_id),
                                body={"name": name})

        self.add("create", f"group {path}", create)
        return None

    def _groups(self, root: str, platform: str, client_uuid: str | None) -> None:
        root_id = self._group_path(f"/{root}", None)
        for key, profile in self.mappings.profiles.items():
            path = f"/{root}/{key}"
            gid = self._group_path(path, root_id)
            wanted = set(profile.permissions)
            if gid is None or client_uuid is None:
                self.add("map", f"group {path} -> {platform} roles {', '.join(sorted(wanted))}",
                         partial(self._map_later, path,
                                 self.mappings.platforms[platform].client_id, wanted))
                continue
            url = self.gw.path("/groups/{g}/role-mappings/clients/{c}", g=gid, c=client_uuid)
            have = {r["name"]: r for r in self.gw.get(url)}
            missing, extra = wanted - set(have), set(have) - wanted
            if missing:
                self.add("map", f"group {path} -> {platform} roles {', '.join(sorted(missing))}",
                         partial(self._map_roles, url, client_uuid, missing))
            if extra:
                self.add("unmap", f"group {path} -x {platform} roles {', '.join(sorted(extra))}",
                         partial(self.gw.request, "DELETE", url,
                                 body=[have[n] for n in extra]))

    def _map_roles(self, url: str, client_uuid: str, names: set[str]) -> None:
        self.gw.request("POST", url, body=self._role_reps(client_uuid, names))

    def _role_reps(self, client_uuid: str, names: set[str]) -> list[dict[str, Any]]:
        roles = self.gw.get(self.gw.path("/clients/{c}/roles", c=client_uuid), first=0, max=1000)
        return [r for r in roles if r["name"] in names]

    def _map_later(self, path: str, client_id: str, names: set[str]) -> None:
        gid = self.gw.get(self.gw.group_path_url(path))["id"]
        uuid = self.gw.get(self.gw.path("/clients"), clientId=client_id)[0]["id"]
        self.gw.request("POST", self.gw.path("/groups/{g}/role-mappings/clients/{c}",
                                             g=gid, c=uuid),
                        body=self._role_reps(uuid, names))

    # -- the connector's own service account ------------------------------------------------------
    def _service_account(self) -> None:
        cid = self.settings.client_id
        found = self.read(self.gw.path("/clients"), clientId=cid)
        if not found:
            rep: dict[str, Any] = {
                "clientId": cid, "name": "SCIM connector", "publicClient": False,
                "serviceAccountsEnabled": True, "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False, "protocol": "openid-connect"}
            if self.settings.client_secret:
                rep["secret"] = self.settings.client_secret

            def create() -> None:
                self.gw.request("POST", self.gw.path("/clients"), body=rep)
                self._grant_service_roles(set(SERVICE_ACCOUNT_ROLES))

            self.add("create", f"client {cid} (service account: "
                     f"{', '.join(SERVICE_ACCOUNT_ROLES)})", create)
            return
        uuid = found[0]["id"]
        user = self.gw.get(self.gw.path("/clients/{c}/service-account-user", c=uuid))
        rm = self.gw.get(self.gw.path("/clients"), clientId="realm-management")[0]["id"]
        have = {r["name"] for r in self.gw.get(self.gw.path(
            "/users/{u}/role-mappings/clients/{c}", u=user["id"], c=rm))}
        missing = set(SERVICE_ACCOUNT_ROLES) - have
        if missing:
            self.add("map", f"service account {cid} -> {', '.join(sorted(missing))}",
                     lambda: self._grant_service_roles(missing))

    def _grant_service_roles(self, names: set[str]) -> None:
        cid = self.settings.client_id
        uuid = self.gw.get(self.gw.path("/clients"), clientId=cid)[0]["id"]
        user = self.gw.get(self.gw.path("/clients/{c}/service-account-user", c=uuid))
        rm = self.gw.get(self.gw.path("/clients"), clientId="realm-management")[0]["id"]
        self.gw.request("POST", self.gw.path("/users/{u}/role-mappings/clients/{c}",
                                             u=user["id"], c=rm),
                        body=self._role_reps(rm, names))


def _attribute_mapper(name: str) -> dict[str, Any]:
    return {"name": name, "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": {"user.attribute": name, "claim.name": name, "jsonType.label": "String",
                       "id.token.claim": "true", "access.token.claim": "true",
                       "userinfo.token.claim": "true"}}


def _groups_mapper() -> dict[str, Any]:
    return {"name": "groups", "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {"claim.name": "groups", "full.path": "true", "id.token.claim": "true",
                       "access.token.claim": "true", "userinfo.token.claim": "true"}}


def bootstrap(gw: Gateway, settings: Settings, mappings: Mappings,
              dry_run: bool = False) -> list[Action]:
    """Plan and (unless dry_run) apply until the realm matches mappings/; return what was done."""
    actions = Planner(gw, settings, mappings).plan()
    if not dry_run:
        for action in actions:
            action.run()
    return actions
