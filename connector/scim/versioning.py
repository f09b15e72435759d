"""Resource versions (RFC 7644 §3.14): If-Match and If-None-Match against meta.version."""

from __future__ import annotations

from connector.scim.errors import PreconditionFailed


def _tags(header: str) -> set[str]:
    return {t.strip() for t in header.split(",") if t.strip()}


def _matches(version: str, header: str) -> bool:
    tags = _tags(header)
    return "*" in tags or version in tags or version.removeprefix("W/") in tags


def check_if_match(version: str, if_match: str | None) -> None:
    """Raise 412 when If-Match names none of the current version (weak or strong form)."""
    if if_match and not _matches(version, if_match):
        raise PreconditionFailed("The resource changed since you read it (If-Match).",
                                 detail_fr="La ressource a changé depuis votre lecture "
                                 "(If-Match).")


def not_modified(version: str, if_none_match: str | None) -> bool:
    """Tell whether If-None-Match names the current version (answer 304)."""
    return bool(if_none_match) and _matches(version, str(if_none_match))
