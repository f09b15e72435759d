"""R10: one structured audit line per change (who, what, when, outcome), never a secret."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

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
    }
    line.update({k: v for k, v in extra.items() if k not in SECRET_NAMES})
    log.info(json.dumps(line, ensure_ascii=False, sort_keys=True))
    return line


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
