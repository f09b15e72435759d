"""Write locks as a test sees them in Keycloak: plant one a dead writer left, clear them all."""

from __future__ import annotations

from datetime import datetime

from connector.keycloak.gateway import Gateway
from connector.keycloak.layout import LOCK_PROVIDER, LOCKS_ROOT
from connector.keycloak.locks import STAMP


def plant_user_lock(gw: Gateway, user_id: str, ends: datetime,
                    owner: str = "a-replica-that-died:0") -> None:
    """Leave the user's lock link as a writer whose lease ends at `ends` would."""
    gw.request("POST", gw.path("/users/{u}/federated-identity/{p}", u=user_id, p=LOCK_PROVIDER),
               body={"userId": owner, "userName": ends.strftime(STAMP)}, ok=(204,))


def user_lock(gw: Gateway, user_id: str) -> dict[str, str] | None:
    """The user's lock link, or None when nobody holds his lock."""
    links = gw.get(gw.path("/users/{u}/federated-identity", u=user_id))
    return next((f for f in links if f["identityProvider"] == LOCK_PROVIDER), None)


def drop_locks(gw: Gateway) -> None:
    """A cut writer's locks stay until their lease ends: clear them rather than wait."""
    for user in gw.get(gw.path("/users"), idpAlias=LOCK_PROVIDER, first=0, max=1000,
                       briefRepresentation="true"):
        gw.request("DELETE", gw.path("/users/{u}/federated-identity/{p}", u=user["id"],
                                     p=LOCK_PROVIDER), ok=(204, 404))
    root = gw.group_by_path(LOCKS_ROOT)
    if root is None:
        return
    for lock in gw.get(gw.path("/groups/{g}/children", g=root["id"]), first=0, max=1000):
        gw.request("DELETE", gw.path("/groups/{g}", g=lock["id"]), ok=(204, 404))


def lock_group(gw: Gateway, key: str) -> dict[str, object] | None:
    """The lock group of `key`, from the database (group-by-path may be cached: locks.py)."""
    root = gw.group_by_path(LOCKS_ROOT)
    if root is None:
        return None
    found = gw.get(gw.path("/groups/{g}/children", g=root["id"]), search=key, exact="true",
                   first=0, max=10, briefRepresentation="false")
    return next((g for g in found if g["name"] == key), None)
