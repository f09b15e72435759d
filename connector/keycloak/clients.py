"""The platform clients (`mars`, `v3`) and their roles, looked up once per process."""

from __future__ import annotations

import threading
from typing import Any

from connector.keycloak.gateway import Gateway


class Clients:
    """Resolve client ids to Keycloak uuids and role names to role representations (cached)."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self._uuids: dict[str, str] = {}
        self._roles: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def uuid(self, client_id: str) -> str:
        """Return a client's uuid (cached: bootstrap-made clients keep their ids)."""
        with self._lock:
            if client_id in self._uuids:
                return self._uuids[client_id]
        found = self.gw.get(self.gw.path("/clients"), clientId=client_id)
        if not found:
            raise LookupError(f"client {client_id} missing: run `connector bootstrap`")
        with self._lock:
            self._uuids[client_id] = str(found[0]["id"])
        return str(found[0]["id"])

    def uuids(self, client_ids: list[str]) -> dict[str, str]:
        """Return clientId -> uuid for the clients that exist."""
        out: dict[str, str] = {}
        for client_id in sorted(client_ids):
            try:
                out[client_id] = self.uuid(client_id)
            except LookupError:
                continue
        return out

    def role_reps(self, client_uuid: str, names: set[str]) -> list[dict[str, Any]]:
        """Return the representations (id, name) of a client's roles, by name."""
        with self._lock:
            roles = self._roles.get(client_uuid)
        if roles is None or not names <= set(roles):
            listed = self.gw.get(self.gw.path("/clients/{c}/roles", c=client_uuid),
                                 first=0, max=1000)
            roles = {r["name"]: r for r in listed}
            with self._lock:
                self._roles[client_uuid] = roles
        missing = names - set(roles)
        if missing:
            raise LookupError(f"client roles missing: {', '.join(sorted(missing))}; run "
                              "`connector bootstrap`")
        return [{"id": roles[n]["id"], "name": roles[n]["name"]} for n in sorted(names)]
