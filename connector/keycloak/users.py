"""Read and write Keycloak users, their groups and sessions: every lookup a database query."""

from __future__ import annotations

import threading
from typing import Any

from connector.keycloak.clients import Clients
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, collect
from connector.keycloak.layout import is_index_group
from connector.keycloak.user_query import LINK_PROVIDER, UserQuery

LINK_PAGE = 100


class UserStore:
    """The Keycloak side of SCIM Users."""

    def __init__(self, gw: Gateway, clients: Clients) -> None:
        self.gw = gw
        self.clients = clients
        self._group_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def search(self, query: UserQuery, first: int, max_results: int) -> list[dict[str, Any]]:
        """Return one page of full user representations matching the query."""
        return list(self.gw.get(self.gw.path("/users"), first=first, max=max_results,
                                briefRepresentation="false", **query.params()))

    def count(self, query: UserQuery) -> int:
        """Count the users matching the query, in Keycloak's database."""
        if query.link is not None:  # /users/count ignores idpAlias: the few found, counted here
            return len(collect(lambda first, size: self.search(query, first, size), LINK_PAGE))
        return int(self.gw.get(self.gw.path("/users/count"), **query.params()))

    def get(self, user_id: str) -> dict[str, Any] | None:
        """Return a user by id (attributes included), or None."""
        return self.gw.find(self.gw.path("/users/{u}", u=user_id))

    def create(self, rep: dict[str, Any]) -> str:
        """Create a user with groups, credentials and required actions in one transaction."""
        return self.gw.created_id(self.gw.path("/users"), rep)

    def update(self, user_id: str, rep: dict[str, Any]) -> None:
        """Write the whole representation (PUT replaces attributes wholesale)."""
        body = {k: v for k, v in rep.items()
                if k not in ("groups", "credentials", "access", "userProfileMetadata",
                             "federatedIdentities")}
        self.gw.request("PUT", self.gw.path("/users/{u}", u=user_id), body=body)

    def delete(self, user_id: str) -> None:
        """Delete a user; one already gone counts as deleted."""
        # A load balancer replays a DELETE whose Keycloak node died after committing it: the
        # replay answers 404 for a user this very request removed.
        self.gw.request("DELETE", self.gw.path("/users/{u}", u=user_id), ok=(204, 404))

    def relink(self, user_id: str, old: str | None, new: str | None) -> None:
        """Replace the user's externalId link (keycloak/user_query.py): one per provider."""
        path = self.gw.path("/users/{u}/federated-identity/{p}", u=user_id, p=LINK_PROVIDER)
        if old is not None:
            self.gw.request("DELETE", path, ok=(204, 404))
        if new is None:
            return
        body = {"userId": new, "userName": new}
        if self.gw.send("POST", path, body=body, ok=(204, 409)).status_code == 409:
            # A link this write did not see (read where the realm had no provider yet).
            self.gw.request("DELETE", path, ok=(204, 404))
            self.gw.request("POST", path, body=body)

    def logout(self, user_id: str) -> None:
        """End every session of a user (R8: disabling alone keeps live sessions)."""
        self.gw.request("POST", self.gw.path("/users/{u}/logout", u=user_id))

    def reset_password(self, user_id: str, password: str) -> None:
        """Set the user's password (checked beforehand against R3; Keycloak checks again)."""
        self.gw.request("PUT", self.gw.path("/users/{u}/reset-password", u=user_id),
                        body={"type": "password", "value": password, "temporary": False})

    def has_password(self, user_id: str) -> bool:
        """Tell whether the user has a password credential."""
        creds = self.gw.get(self.gw.path("/users/{u}/credentials", u=user_id))
        return any(c.get("type") == "password" for c in creds or [])

    def send_actions_email(self, user_id: str, actions: list[str], client_id: str,
                           redirect_uri: str) -> None:
        """Ask Keycloak to mail the user a link for the required actions (R3)."""
        self.gw.request("PUT", self.gw.path("/users/{u}/execute-actions-email", u=user_id),
                        params={"client_id": client_id, "redirect_uri": redirect_uri,
                                "lifespan": 7 * 24 * 3600}, body=actions)

    def groups_of(self, user_id: str) -> list[dict[str, Any]]:
        """Return every group of a user (id, name, path), past the default page size."""
        return list(self.gw.get(self.gw.path("/users/{u}/groups", u=user_id),
                                first=0, max=1000, briefRepresentation="true"))

    def group(self, path: str) -> dict[str, Any] | None:
        """Return the group at a path, or None."""
        return self.gw.group_by_path(path)

    def memberships(self, user_id: str) -> list[dict[str, Any]]:
        """Return every group of a user; [] for a user that does not exist."""
        try:
            return self.groups_of(user_id)
        except KeycloakHTTPError as exc:
            if exc.status == 404:
                return []
            raise

    def group_id(self, path: str) -> str:
        """Resolve a group path to its id; profile groups (made by bootstrap) are cached."""
        with self._lock:
            if path in self._group_ids:
                return self._group_ids[path]
        found = self.gw.group_by_path(path)
        if found is None:
            raise KeycloakHTTPError(404, f"no group {path}", "GET", path)
        # Team subgroups come and go with their ids: only /<platform>/<profile> is cached.
        if path.strip("/").count("/") == 1 and not is_index_group(path):
            with self._lock:
                self._group_ids[path] = str(found["id"])
        return str(found["id"])

    def ensure_group(self, path: str) -> str:
        """Return the id of a group, creating it (and its parents) when absent."""
        try:
            return self.group_id(path)
        except KeycloakHTTPError as exc:
            if exc.status != 404:
                raise
        parent, name = path.rsplit("/", 1)
        target = (self.gw.path("/groups/{g}/children", g=self.ensure_group(parent)) if parent
                  else self.gw.path("/groups"))
        try:
            self.gw.request("POST", target, body={"name": name})
        except KeycloakHTTPError as exc:
            if exc.status != 409:  # created meanwhile by another writer: fine
                raise
        return self.group_id(path)

    def count_members(self, group_id: str, limit: int) -> int:
        """Count a group's members up to `limit`, from one page of brief representations
        (the membership table is indexed on every database, H2 included)."""
        return len(self.gw.get(self.gw.path("/groups/{g}/members", g=group_id), first=0,
                               max=limit, briefRepresentation="true"))

    def members(self, group_id: str, first: int, max_results: int) -> list[dict[str, Any]]:
        """Return one page of a group's members, full representations."""
        return list(self.gw.get(self.gw.path("/groups/{g}/members", g=group_id), first=first,
                                max=max_results, briefRepresentation="false"))

    def join(self, user_id: str, group_id: str) -> None:
        """Add the user to a group (idempotent)."""
        self.gw.request("PUT", self.gw.path("/users/{u}/groups/{g}", u=user_id, g=group_id))

    def leave(self, user_id: str, group_id: str) -> None:
        """Remove the user from a group (idempotent: no member, no group, no error)."""
        self.gw.request("DELETE", self.gw.path("/users/{u}/groups/{g}", u=user_id, g=group_id),
                        ok=(200, 204, 404))

    # -- client roles mapped on the user himself (only groups should grant) ------------------
    def direct_client_roles(self, user_id: str, clients: dict[str, str]) -> dict[str, list[Any]]:
        """Return the roles of the given clients (clientId -> uuid) mapped on the user."""
        mappings = self.gw.get(self.gw.path("/users/{u}/role-mappings", u=user_id)) or {}
        out: dict[str, list[Any]] = {}
        for client_id, entry in (mappings.get("clientMappings") or {}).items():
            if client_id in clients and entry.get("mappings"):
                out[client_id] = list(entry["mappings"])
        return out

    def remove_client_roles(self, user_id: str, client_uuid: str, roles: list[Any]) -> None:
        """Unmap client roles from the user himself."""
        self.gw.request("DELETE", self.gw.path("/users/{u}/role-mappings/clients/{c}",
                                               u=user_id, c=client_uuid), body=roles)
