"""Run a planned user write (keycloak/user_plan.py): each step in order, undone on refusal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from connector.keycloak.gateway import KeycloakHTTPError, KeycloakUnavailable
from connector.keycloak.locks import LeaseExpired
from connector.keycloak.user_plan import Step, undo
from connector.keycloak.users import UserStore

log = logging.getLogger("connector.write")


class WriteRefused(Exception):
    """Keycloak refused a step; the steps applied before it were undone."""

    def __init__(self, error: KeycloakHTTPError, step: Step, undone: bool) -> None:
        super().__init__(f"{step.describe()}: {error}")
        self.error, self.step, self.undone = error, step, undone


class WriteInterrupted(Exception):
    """Keycloak went away (or the lease ran out) part-way: `applied` says how far it got."""

    def __init__(self, applied: list[str]) -> None:
        super().__init__("applied: " + (", ".join(applied) or "nothing"))
        self.applied = applied


class UserGone(Exception):
    """The user was deleted while being written (Keycloak answered 404 for him)."""


def run_steps(store: UserStore, user_id: str, steps: list[Step], new_rep: dict[str, Any],
              old_rep: dict[str, Any], password: str | None,
              check: Callable[[], None] = lambda: None) -> list[str]:
    """Apply the steps; return what was done (a 404 join means the group is gone: skipped)."""
    applied: list[Step] = []
    for step in steps:
        try:
            check()
            if _run(store, user_id, step, new_rep, old_rep, password):
                applied.append(step)
        except (KeycloakUnavailable, LeaseExpired) as exc:
            raise WriteInterrupted([s.describe() for s in applied]) from exc
        except KeycloakHTTPError as exc:
            if exc.status == 404 and step.kind in ("put", "logout", "password", "link"):
                raise UserGone(user_id) from exc
            undone = _undo(store, user_id, applied, new_rep, old_rep)
            raise WriteRefused(exc, step, undone) from exc
    return [s.describe() for s in applied]


def _run(store: UserStore, user_id: str, step: Step, new_rep: dict[str, Any],
         old_rep: dict[str, Any], password: str | None) -> bool:
    """Send one step; False when there was nothing to do (a group that no longer exists)."""
    if step.kind == "put":
        rep = old_rep if step.restore else {**new_rep, "enabled": step.enabled}
        store.update(user_id, rep)
    elif step.kind == "logout":
        store.logout(user_id)
    elif step.kind == "password":
        assert password is not None
        store.reset_password(user_id, password)
    elif step.kind == "leave":
        store.leave(user_id, step.group_id)
    elif step.kind == "link":
        store.relink(user_id, step.unlink or None, step.link or None)
    else:
        try:
            store.join(user_id, step.group_id)
        except KeycloakHTTPError as exc:
            if exc.status != 404 or store.get(user_id) is None:
                raise
            return False  # the group went away (a team lost a platform): nothing to grant
    return True


def _undo(store: UserStore, user_id: str, applied: list[Step], new_rep: dict[str, Any],
          old_rep: dict[str, Any]) -> bool:
    """Take back what a refused write applied; False if Keycloak refused or vanished again."""
    for step in undo(applied):
        try:
            _run(store, user_id, step, new_rep, old_rep, None)
        except (KeycloakHTTPError, KeycloakUnavailable) as exc:
            log.error("undo of a refused write to user %s stopped at %s: %s", user_id,
                      step.describe(), exc)
            with contextlib.suppress(Exception):
                store.update(user_id, {**old_rep, "enabled": False})
            return False
    return True
