"""R10: one structured audit line per change (who, what, when, outcome), never a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from connector.observability.logs import current_request_id

log = logging.getLogger("connector.audit")

# Attribute names only ever appear; values of these never do.
SECRET_NAMES = {"password"}


def audit(action: str, *, who: str, etude: str | None, target: str | None,
          changed: list[str] | None = None, outcome: str = "ok", **extra: Any) -> dict[str, Any]:
    """Emit and return one JSON audit line (R10)."""
    line: dict[str, Any] = {
        "event": "audit", "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": action, "who": who, "etude": etude, "target": target,
        "changed": sorted(set(changed or [])), "outcome": outcome,
        "request_id": current_request_id(),
    }
    line.update({k: v for k, v in extra.items() if k not in SECRET_NAMES})
    log.info(json.dumps(line, ensure_ascii=False, sort_keys=True), extra={"fields": line})
    return line


@contextmanager
def audited(action: str, *, who: str, etude: str | None,
            target: str | None) -> Iterator[dict[str, Any]]:
    """Emit one audit line for a write whatever its outcome; the write fills in the line (R10).

    A refused write says `refused:<status>`, an interrupted one `failed:<status>` with what was
    `applied` before Keycloak went away; the fields the block set are kept either way.
    """
    line: dict[str, Any] = {"etude": etude, "target": target}
    try:
        yield line
    except Exception as exc:
        status = getattr(exc, "status", None)
        kind = getattr(exc, "scim_type", None)
        outcome = (f"refused:{status}" if isinstance(status, int) and status < 500
                   else f"failed:{status or type(exc).__name__}")
        extra = {k: v for k, v in line.items() if k not in ("etude", "target", "changed")}
        audit(action, who=who, etude=line["etude"], target=line["target"],
              changed=line.get("changed"), outcome=outcome + (f":{kind}" if kind else ""),
              **extra)
        raise
    extra = {k: v for k, v in line.items() if k not in ("etude", "target", "changed")}
    audit(action, who=who, etude=line["etude"], target=line["target"],
          changed=line.get("changed"), **extra)


def changed_attributes(before: dict[str, Any] | None, after: dict[str, Any],
                       prefix: str = "") -> list[str]:
    """List the attribute names whose values differ (names only, R10)."""
    before = before or {}
    names: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in ("meta", "schemas"):
            continue
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict) and key.startswith("urn:"):
            names += changed_attributes(old, new, prefix=f"{key}:")
        elif old != new:
            names.append(f"{prefix}{key}")
    return names
