"""Resource ids from requests (RFC 7643 §3.1): Keycloak ids are UUIDs, anything else is 404."""

from __future__ import annotations

import re
from collections.abc import Callable

from connector.scim.errors import ScimError

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_id(value: object) -> bool:
    """Tell whether a value has the shape of a Keycloak id (a lower-case UUID)."""
    return isinstance(value, str) and UUID.match(value) is not None


def check_id(value: object, error: Callable[[str], ScimError]) -> str:
    """Return the id, or raise the caller's error (404 for a path, 400 for a body value)."""
    if not is_id(value):
        raise error(str(value))
    return str(value)
