"""Plan a user write as ordered Keycloak steps that never grant more than a record implies.

Pure: from what Keycloak holds now (read under the user's write lock) and what the new record
implies, return the steps in the one order that is safe at every point:

- the representation (record, names, e-mail) is written before any access is granted, so that
  whatever Keycloak may still refuse is refused before a group is joined;
- access going away: disabled first, sessions ended, then groups left;
- access changing: old groups left first, record written, new groups joined, enabled last;
- the externalId link (keycloak/user_query.py), which grants nothing, last of all;
- a refusal part-way undoes the steps already applied (`undo`), so a 4xx changes nothing;
- an outage part-way leaves a prefix of the steps: by the order above, less access, never more.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One Keycloak call of a user write."""

    kind: str  # put | logout | leave | join | password | link
    group: str = ""  # path, for join and leave
    group_id: str = ""
    enabled: bool = False  # for put: the enabled flag written
    restore: bool = False  # for put: write the representation read before the write
    unlink: str = ""  # for link: the link id removed ("" for none)
    link: str = ""  # for link: the link id made ("" for none)

    def describe(self) -> str:
        """Say what the step did, for a 503 detail and the audit line."""
        if self.kind == "put":
            if self.restore:
                return "record restored"
            return "record written (enabled)" if self.enabled else "record written (disabled)"
        if self.kind in ("join", "leave"):
            return f"{'joined' if self.kind == 'join' else 'left'} {self.group}"
        if self.kind == "link":
            return "externalId link " + ("updated" if self.link else "removed")
        return {"logout": "sessions ended", "password": "password set"}[self.kind]


@dataclass(frozen=True)
class Current:
    """What Keycloak holds now: the enabled flag and the managed groups (path -> id)."""

    enabled: bool
    groups: dict[str, str]
    link: str | None = None


@dataclass(frozen=True)
class Target:
    """What the new record implies: enabled, and the managed groups it must be in."""

    enabled: bool
    groups: dict[str, str]
    password: bool = False
    link: str | None = None


def plan_user_write(current: Current, target: Target) -> list[Step]:
    """Order the calls from `current` to `target` so that no prefix over-grants (R8, R9)."""
    leave = [Step("leave", p, current.groups[p]) for p in sorted(set(current.groups)
                                                                 - set(target.groups))]
    join = [Step("join", p, target.groups[p]) for p in sorted(set(target.groups)
                                                              - set(current.groups))]
    password = [Step("password")] if target.password else []
    link = ([Step("link", unlink=current.link or "", link=target.link or "")]
            if current.link != target.link else [])
    if not target.enabled:
        logout = [Step("logout")] if current.enabled else []
        return [Step("put", enabled=False), *logout, *leave, *join, *password, *link]
    enable = [] if current.enabled else [Step("put", enabled=True)]
    return [*leave, Step("put", enabled=current.enabled), *password, *join, *enable, *link]


def undo(applied: list[Step]) -> list[Step]:
    """Return the steps that take a refused write back to where it started, newest first."""
    out: list[Step] = []
    restored = False
    for step in reversed(applied):
        if step.kind == "join":
            out.append(Step("leave", step.group, step.group_id))
        elif step.kind == "leave":
            out.append(Step("join", step.group, step.group_id))
        elif step.kind == "link":
            out.append(Step("link", unlink=step.link, link=step.unlink))
        elif step.kind == "put" and not restored:
            out.append(Step("put", restore=True))
            restored = True
    return out
