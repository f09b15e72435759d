"""Where things live in the realm's group tree: one place for every path the connector uses.

- `/<platform root>/<profile>`: a profile's client roles on a platform (R6);
- `/etudes/<code>`: an étude (R11), and `/etudes/<code>/<team>` its teams (SCIM Groups);
- `/etudes/<code>/<team>/<platform>`: the client roles a team delegates on a platform (R12);
- `/access-ends-on/<YYYY-MM-DD>`: the users whose access ends that day (R9 day index);
- `/connector-jobs` and `/connector-locks`: the connector's own bookkeeping (grant nothing);
- links to the identity provider `connector-write-lock`: users' write locks (no sign-in).
"""

from __future__ import annotations

from collections.abc import Iterable

ETUDES_ROOT = "etudes"
INDEX_ROOT = "access-ends-on"
JOBS_ROOT = "connector-jobs"
LOCKS_ROOT = "connector-locks"
LOCK_PROVIDER = "connector-write-lock"


def split(path: str) -> list[str]:
    """Return the names along a group path."""
    return [p for p in path.strip("/").split("/") if p]


def etude_group(code: str) -> str:
    """Return the path of an étude's group (R11)."""
    return f"/{ETUDES_ROOT}/{code}"


def is_etude_group(path: str) -> bool:
    """Tell whether a path is /etudes/<code>."""
    parts = split(path)
    return len(parts) == 2 and parts[0] == ETUDES_ROOT


def team_group(code: str, name: str) -> str:
    """Return the path of a team of an étude (R12)."""
    return f"/{ETUDES_ROOT}/{code}/{name}"


def team_parts(path: str) -> tuple[str, str] | None:
    """Split /etudes/<code>/<team> into (code, team); None for any other group."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == ETUDES_ROOT and all(parts):
        return parts[1], parts[2]
    return None


def delegation_parts(path: str, platforms: Iterable[str]) -> tuple[str, str, str] | None:
    """Split /etudes/<code>/<team>/<platform> into its parts; None for any other group."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == ETUDES_ROOT and all(parts) and parts[3] in platforms:
        return parts[1], parts[2], parts[3]
    return None


def profile_group(root: str, profile: str) -> str:
    """Return the path of a profile's group on a platform (R6)."""
    return f"/{root}/{profile}"


def is_profile_group(path: str, roots: Iterable[str]) -> bool:
    """Tell whether a path is /<platform root>/<profile>."""
    parts = split(path)
    return len(parts) == 2 and parts[0] in set(roots)


def index_group(day: str | None) -> str | None:
    """Return the R9 day-index group of the first day access is no longer allowed."""
    return f"/{INDEX_ROOT}/{day}" if day else None


def is_index_group(path: str) -> bool:
    """Tell whether a path is a day-index group."""
    parts = split(path)
    return len(parts) == 2 and parts[0] == INDEX_ROOT
