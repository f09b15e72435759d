"""The nightly expiry job, the upcoming-expiry report and reconciliation (R5, R8, R9, R10).

Cost follows the expiring users, not the realm: every user write stores `accessEndsOn`, the
first day access is no longer allowed, and Keycloak has no range query on attributes, so the
job asks Keycloak for the members of the day-index group `/access-ends-on/<day>` for each day
since the last completed one (a membership lookup, indexed in Keycloak's database, where an
attribute query `q=accessEndsOn:<day>` would scan every user's attributes).

Why no scan for users whose index day lies *before* the marker (an admin moved a CDD end date
into the past, say): every SCIM write recomputes the access status on the day of the write and
revokes at once when the end has passed (service/users.py `_write`). A user can therefore only
be granted while his index day is after today; the marker never passes today (see `expire`), so
every granted user's day is still ahead of it. What is left, hand edits in the admin console
that bypass the connector, is what `reconcile` is for.
"""

from __future__ import annotations

import getpass
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connector.audit import audit
from connector.domain.dates import today_in_paris
from connector.keycloak.gateway import KeycloakUnavailable, collect
from connector.keycloak.jobstate import JobState, LockHeld, LockInfo, default_owner
from connector.keycloak.layout import index_group, is_index_group
from connector.keycloak.translate import A_STATUS, A_USERNAME
from connector.keycloak.user_query import UserQuery
from connector.scim.errors import Unavailable
from connector.service.users import Convergence, UserService

log = logging.getLogger("connector.lifecycle")

# A first run ever (no marker) looks back this far: longer than any CDD notice an étude
# would push late, short enough to stay a few hundred cheap queries.
LOOKBACK_DAYS = 400
PAGE = 200
HEARTBEAT_SECONDS = 60
# Users of one day revoked at once: each under his own lock, so a night of many expiring CDDs
# waits for Keycloak a quarter as long; small, since the HR systems' requests share Keycloak.
AT_ONCE = 4
# Exit codes read by cron and Kubernetes.
EXIT_OK, EXIT_FAILED, EXIT_LOCKED = 0, 1, 75  # 75 = EX_TEMPFAIL: another run holds the lock
EXPIRE_WHO = "job:expire"


def days_to_scan(last_completed: date | None, as_of: date,
                 lookback: int = LOOKBACK_DAYS) -> list[date]:
    """Return the index days to query: after the marker (or the look-back) up to as_of."""
    start = (last_completed + timedelta(days=1) if last_completed
             else as_of - timedelta(days=lookback))
    return [start + timedelta(days=i) for i in range((as_of - start).days + 1)]


def operator() -> str:
    """Name the person running a CLI command in audit lines (R10)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers without a passwd entry
        return "unknown"


def _attr(rep: dict[str, Any], key: str) -> str | None:
    values = (rep.get("attributes") or {}).get(key) or []
    return str(values[0]) if values else None


@dataclass
class Report:
    """What a run saw and did, user by user; renders as text or JSON."""

    command: str
    as_of: date
    dry_run: bool
    users: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(1 for u in self.users if u.get("error"))

    def counts(self) -> dict[str, dict[str, int]]:
        """Count outcomes per étude."""
        per: dict[str, Counter[str]] = {}
        for user in self.users:
            per.setdefault(str(user.get("etude")), Counter())[user["outcome"]] += 1
        return {etude: dict(sorted(c.items())) for etude, c in sorted(per.items())}

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "asOf": self.as_of.isoformat(),
                "dryRun": self.dry_run, **self.extra, "perEtude": self.counts(),
                "failed": self.failed, "users": self.users}

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK


class Lifecycle:
    """Run expiry, upcoming and reconcile over one realm through the user service."""

    def __init__(self, users: UserService, state: JobState,
                 clock: Callable[[], date] = today_in_paris) -> None:
        self.users, self.state, self.clock = users, state, clock
        self.store = users.store

    # -- the day index -----------------------------------------------------------------------
    def ending_on(self, day: date, *extra: tuple[str, str]) -> list[dict[str, Any]]:
        """Return every user whose access ends on a day, read page by page (never the realm).

        The whole day is read before anything is written: a repair may rewrite the index
        attribute, which would shift the pages under an offset.
        """
        path = index_group(day.isoformat())
        group = self.store.group(path) if path else None
        if group is None:  # nobody's access ends that day
            return []
        out = collect(lambda first, size: self.store.members(str(group["id"]), first, size),
                      PAGE)
        return [u for u in out if all(_attr(u, k) == v for k, v in extra)]

    # -- expire ------------------------------------------------------------------------------
    def expire(self, as_of: date | None = None, dry_run: bool = False,
               owner: str | None = None) -> Report:
        """R8/R9: revoke every access ended by as_of; safe to repeat, to miss and to kill.

        Raises LockHeld when another live run holds the lock (never for a dry run).
        """
        as_of = as_of or self.clock()
        owner = owner or default_owner()
        report = Report("expire", as_of, dry_run)
        taken_over: LockInfo | None = None
        if not dry_run:
            taken_over = self.state.acquire(owner)
        try:
            self._expire_days(report, as_of, dry_run, owner)
            if not dry_run:
                self._sweep_locks(report)
        finally:
            if not dry_run:
                try:
                    self.state.release(owner)
                except Exception as exc:  # keep the first error; a stale lock expires (TTL)
                    log.warning("expire: could not release the lock: %s", exc)
        if taken_over is not None:
            report.extra["tookOverStaleLock"] = {
                "owner": taken_over.owner,
                "since": taken_over.started.isoformat() if taken_over.started else None}
        return report

    def _sweep_locks(self, report: Report) -> None:
        """Delete the day's released lock groups (locks.py), one burst a night."""
        try:
            report.extra["releasedLocksSwept"] = self.users.locks.sweep()
        except Exception as exc:  # they wait for the next night; nobody holds them
            log.warning("expire: could not sweep released locks: %s", exc)

    def _expire_days(self, report: Report, as_of: date, dry_run: bool, owner: str) -> None:
        marker = self.state.last_completed()
        days = days_to_scan(marker, as_of)
        # The marker never passes today: a day not lived yet cannot be done, since users may
        # still be written with that index day (an `--as-of` in the future revokes early but
        # the next run scans those days again).
        cap = self.clock()
        report.extra.update({"markerBefore": marker.isoformat() if marker else None,
                             "firstDay": days[0].isoformat() if days else None,
                             "lastDay": days[-1].isoformat() if days else None,
                             "days": len(days)})
        done_through, written, broken = marker, marker, False
        beat = datetime.now()
        for day in days:
            found = self.ending_on(day)
            day_failed = False
            pool = ThreadPoolExecutor(min(AT_ONCE, max(1, len(found))))
            try:
                for entry in pool.map(lambda rep, d=day: self._expire_one(
                        rep, d, as_of, dry_run), found):
                    report.users.append(entry)
                    day_failed |= bool(entry.get("error"))
            finally:  # Keycloak gone: the users not started yet wait for the next run
                pool.shutdown(cancel_futures=True)
            broken |= day_failed
            if dry_run or broken:
                continue
            candidate = min(day, cap)
            if done_through is None or candidate > done_through:
                done_through = candidate
                if found:  # empty days are cheap to scan again: no write for them
                    self.state.heartbeat(owner)  # raises if a peer took the lock over
                    self.state.set_last_completed(done_through)
                    written = done_through
            if (datetime.now() - beat).total_seconds() > HEARTBEAT_SECONDS:
                self.state.heartbeat(owner)
                beat = datetime.now()
        if not dry_run and done_through is not None and done_through != written:
            self.state.set_last_completed(done_through)
        after = marker if dry_run else done_through
        report.extra["markerAfter"] = after.isoformat() if after else None

    def _expire_one(self, rep: dict[str, Any], day: date, as_of: date,
                    dry_run: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": rep.get("id"), "userName": _attr(rep, A_USERNAME)
                                 or rep.get("username"), "etude": _attr(rep, "etude"),
                                 "accessEndsOn": day.isoformat()}
        try:
            diff = self.users.converge(str(rep["id"]), EXPIRE_WHO, as_of, dry_run=dry_run,
                                       action="user.expire")
        except (KeycloakUnavailable, Unavailable):  # not one user's fault: stop, resume later
            raise
        except Exception as exc:  # one broken user must not stop the others' revocation
            log.error("expire: user %s failed: %s", rep.get("id"), exc)
            return {**entry, "outcome": "failed", "error": str(exc)}
        if diff is None:
            return {**entry, "outcome": "gone"}
        entry.update({"status": list(diff.status), "enabled": list(diff.enabled),
                      "leave": diff.leave, "join": diff.join})
        if not diff.changed:
            entry["outcome"] = "unchanged"
        elif diff.status[1] in ("expired", "revoked"):
            entry["outcome"] = "would expire" if dry_run else "expired"
        else:
            entry["outcome"] = "would repair" if dry_run else "repaired"
        return entry

    # -- upcoming ----------------------------------------------------------------------------
    def upcoming(self, days: int, as_of: date | None = None) -> Report:
        """List the granted accesses that end within `days` days after as_of; change nothing."""
        as_of = as_of or self.clock()
        report = Report("upcoming", as_of, True, extra={"withinDays": days})
        for i in range(1, days + 1):
            day = as_of + timedelta(days=i)
            for rep in self.ending_on(day, (A_STATUS, "granted")):
                last = day - timedelta(days=1)
                reason = [k for k in ("contractEndDate", "departureDate")
                          if _attr(rep, k) == last.isoformat()]
                report.users.append({
                    "id": rep.get("id"), "userName": _attr(rep, A_USERNAME) or rep["username"],
                    "etude": _attr(rep, "etude"), "profile": _attr(rep, "profile"),
                    "lastDay": last.isoformat(), "accessEndsOn": day.isoformat(),
                    "because": reason, "outcome": "ending"})
        return report

    # -- reconcile ---------------------------------------------------------------------------
    def _all(self, query: UserQuery) -> Iterator[dict[str, Any]]:
        first = 0
        while True:
            page = self.store.search(query, first, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            first += PAGE

    def reconcile(self, etude: str | None = None, apply: bool = False,
                  who: str | None = None) -> Report:
        """Compare each managed user's Keycloak state with his record; repair with apply."""
        today = self.clock()
        who = who or f"cli:reconcile:{operator()}"
        report = Report("reconcile", today, not apply,
                        extra={"etude": etude, "examined": 0, "skipped": 0})
        clients = self.store.clients.uuids(
            [p.client_id for p in self.users.mappings.platforms.values()])
        query = UserQuery(attributes=(("etude", etude),)) if etude else UserQuery()
        for rep in self._all(query):
            if _attr(rep, A_USERNAME) is None:  # not written by the connector: not ours
                report.extra["skipped"] += 1
                continue
            report.extra["examined"] += 1
            entry = self._reconcile_one(rep, today, apply, who, clients)
            if entry is not None:
                report.users.append(entry)
        return report

    def _reconcile_one(self, rep: dict[str, Any], today: date, apply: bool, who: str,
                       clients: dict[str, str]) -> dict[str, Any] | None:
        user_id = str(rep["id"])
        entry: dict[str, Any] = {"id": user_id, "userName": _attr(rep, A_USERNAME),
                                 "etude": _attr(rep, "etude")}
        try:
            roles = self.store.direct_client_roles(user_id, clients)
            if roles and apply:  # removing a grant is safe in any order: do it first
                for client_id, reps in roles.items():
                    self.store.remove_client_roles(user_id, clients[client_id], reps)
                audit("user.reconcile", who=who, etude=entry["etude"], target=user_id,
                      changed=["roles"], removed_roles=_role_names(roles))
            diff = self.users.converge(user_id, who, today, dry_run=not apply,
                                       action="user.reconcile")
        except (KeycloakUnavailable, Unavailable):
            raise
        except Exception as exc:  # report and go on: one user must not hide the others
            log.error("reconcile: user %s failed: %s", user_id, exc)
            return {**entry, "outcome": "failed", "error": str(exc)}
        if diff is None:
            return None
        differences = _differences(diff, roles)
        if not differences:
            return None
        return {**entry, "differences": differences,
                "outcome": "repaired" if apply else "differs"}


def _role_names(roles: dict[str, list[Any]]) -> list[str]:
    return sorted(f"{c}:{r['name']}" for c, reps in roles.items() for r in reps)


def _differences(diff: Convergence, roles: dict[str, list[Any]]) -> list[str]:
    """Say, one line each, how Keycloak differs from what the record implies."""
    out: list[str] = []
    if diff.enabled[0] != diff.enabled[1]:
        out.append(f"enabled is {str(diff.enabled[0]).lower()}, "
                   f"should be {str(diff.enabled[1]).lower()}")
    if diff.status[0] != diff.status[1]:
        out.append(f"accessStatus is {diff.status[0]}, should be {diff.status[1]}")
    if diff.ends[0] != diff.ends[1]:
        out.append(f"accessEndsOn is {diff.ends[0]}, should be {diff.ends[1]}")
    if diff.email[0] != diff.email[1]:
        out.append(f"e-mail is {diff.email[0] or 'empty'}, should be the record's primary "
                   f"{diff.email[1] or '(none)'}")
    index_have = [p for p in diff.leave if is_index_group(p)]
    index_want = [p for p in diff.join if is_index_group(p)]
    if index_have or index_want:
        out.append(f"expiry index groups {', '.join(index_have) or 'none'}, should be "
                   f"{', '.join(index_want) or 'none'}")
    out += [f"member of {path}, should not be" for path in diff.leave if not is_index_group(path)]
    out += [f"not member of {path}, should be" for path in diff.join
            if not is_index_group(path)]
    out += [f"direct client role {name}, should come from groups only"
            for name in _role_names(roles)]
    if diff.index:
        out.append(f"query attributes {', '.join(diff.index)} out of date")
    return out


__all__ = ["EXIT_FAILED", "EXIT_LOCKED", "EXIT_OK", "LOOKBACK_DAYS", "Lifecycle", "LockHeld",
           "Report", "days_to_scan"]


def render_text(report: Report) -> list[str]:
    """Render a report for a terminal or a cron mail: users, then counts per étude."""
    lines: list[str] = []
    x = report.extra
    if report.command == "expire":
        lines.append(f"expire: as of {report.as_of}"
                     + (f", index days {x['firstDay']}..{x['lastDay']} ({x['days']})"
                        if x.get("days") else ", no index day to scan")
                     + f"; marker {x.get('markerBefore')} -> {x.get('markerAfter')}"
                     + (" (dry run: nothing changed)" if report.dry_run else ""))
        if x.get("tookOverStaleLock"):
            stale = x["tookOverStaleLock"]
            lines.append(f"  took over a stale lock of {stale['owner']} (since {stale['since']})")
    elif report.command == "upcoming":
        lines.append(f"upcoming: accesses ending within {x['withinDays']} day(s) after "
                     f"{report.as_of} (nothing changed)")
    else:
        scope = f"étude {x['etude']}" if x.get("etude") else "all études"
        lines.append(f"reconcile: {scope}, {x['examined']} user(s) examined, "
                     f"{x['skipped']} not managed by the connector skipped"
                     + ("" if not report.dry_run else " (report only: nothing changed)"))
    for user in sorted(report.users, key=lambda u: (str(u.get("etude")),
                                                    str(u.get("lastDay", "")),
                                                    str(u.get("userName")))):
        head = f"  {user.get('etude')}\t{user.get('userName')}\t{user['outcome']}"
        if report.command == "upcoming":
            head += f"\tlast day {user['lastDay']} ({', '.join(user['because']) or 'index'})"
        elif user.get("status"):
            head += f"\t{user['status'][0]} -> {user['status'][1]}"
        if user.get("error"):
            head += f"\terror: {user['error']}"
        lines.append(head)
        lines += [f"      {d}" for d in user.get("differences", [])]
    for etude, counts in report.counts().items():
        lines.append(f"  étude {etude}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    total = len(report.users)
    if report.command == "reconcile":
        lines.append(f"reconcile: {total - report.failed} difference(s)"
                     + (" repaired" if not report.dry_run else "") + f", {report.failed} failed.")
    elif report.command == "upcoming":
        lines.append(f"upcoming: {total} access(es) ending.")
    else:
        acted = sum(1 for u in report.users if u["outcome"] in ("expired", "would expire"))
        lines.append(f"expire: {acted} user(s) {'would be ' if report.dry_run else ''}expired, "
                     f"{report.failed} failed.")
    return lines
