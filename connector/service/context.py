"""What every service call knows of its request: who asks, the SCIM root, the language."""

from __future__ import annotations

from dataclasses import dataclass

from connector.keycloak.etudes import Principal


@dataclass(frozen=True)
class RequestContext:
    """The caller (an étude or an administrator), `meta.location`'s root, French or English."""

    who: Principal
    base_url: str = ""
    french: bool = False
