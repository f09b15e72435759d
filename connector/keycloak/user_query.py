"""Turn pushed filter terms into Keycloak /users queries, and say how exactly each answers.

Pure. Keycloak's /users (and /users/count, which takes the same parameters) ANDs its
parameters: `username`, `email`, `firstName`, `lastName` (built-in, indexed columns for the first
two) and `q=key:value` attribute terms. One flag, `exact`, applies to all of them: exact (case
insensitive) matches, or substring (`LIKE %v%`) matches, where `_` and `%` are wildcards. A query
is *exact* when Keycloak's match is the SCIM match of every term, so that Keycloak may page and
count it alone; otherwise it only narrows, and the connector checks every candidate again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.scim.pushdown import Term

# Attributes the translation writes for queries Keycloak cannot otherwise answer.
A_EMAIL_INDEX = "emailIndex"  # the addresses other than the primary (Keycloak's e-mail column)
# The étude as Keycloak's case-insensitive match cannot confuse it: the code in hexadecimal
# (E1 is 4531, e1 is 6531), so that a count by étude is exact inside Keycloak.
A_ETUDE_KEY = "scimEtude"
A_MODIFIED_DAY, A_MODIFIED_MONTH, A_MODIFIED_YEAR = ("scimModifiedDay", "scimModifiedMonth",
                                                     "scimModifiedYear")
# The same day, month and year behind the étude's key ("4531/2026-11-27"): an étude's
# incremental read is then one attribute term, not the étude's term beside the period's. H2
# walks the realm's attribute rows for each term (at 50,000 users: 2.5 s for one, 9.6 s for
# two); PostgreSQL probes its expression index once.
ETUDE_DATED = {A_MODIFIED_DAY: "scimEtudeDay", A_MODIFIED_MONTH: "scimEtudeMonth",
               A_MODIFIED_YEAR: "scimEtudeYear"}
SCOPED = {f"attr:{key}" for key in ETUDE_DATED.values()}
CASE_EXACT = {"externalId"}  # SCIM caseExact: Keycloak's matches ignore case
MAX_ALTERNATIVES = 40  # a union of more Keycloak queries is left to the candidates' check
DAYS_PER_MONTH, MONTHS_PER_YEAR = 5, 4  # beyond, the month (year) is asked whole
COLUMNS = {"userName": "username", "givenName": "first_name", "familyName": "last_name"}
# Equalities that leave a handful of users whatever the realm: asked without the étude term
# (a second attribute term only slows Keycloak's query down); the étude is checked on the few.
SELECTIVE = {"username", "email", f"attr:{A_EMAIL_INDEX}", "attr:externalId", "link"}
# A user's externalId, behind his étude's key, is also the id of his link to this identity
# provider (disabled, made by bootstrap: nobody signs in through it). Keycloak's
# `idpAlias`/`idpUserId` search joins its links table on an indexed column: 12 ms at 50,000
# users on H2, where `q=externalId:` walks the attribute rows (0.9-2.3 s). The id is
# case-sensitive, as externalId is (RFC 7643 §3.1), and bounded by Keycloak's column.
LINK_PROVIDER = "scim-external-id"
LINK_MAX = 255


@dataclass(frozen=True)
class UserQuery:
    """A Keycloak /users search: built-in fields and `q` attribute terms (AND)."""

    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    like: bool = False
    link: str | None = None  # the id of a link to LINK_PROVIDER (/users only, not its count)

    def params(self) -> dict[str, Any]:
        """Render the parameters shared by /users and /users/count."""
        params: dict[str, Any] = {"username": self.username, "email": self.email,
                                  "firstName": self.first_name, "lastName": self.last_name}
        params = {k: v for k, v in params.items() if v is not None}
        if self.like:
            params["exact"] = "false"
        elif params:  # `q` terms are exact unless told otherwise; built-in fields are not
            params["exact"] = "true"
        if self.attributes:
            params["q"] = " ".join(f"{k}:{quote_q(v)}" for k, v in self.attributes)
        if self.link is not None:
            params.update(idpAlias=LINK_PROVIDER, idpUserId=self.link)
        return params

    def with_attribute(self, key: str, value: str) -> UserQuery:
        """Return the query narrowed by one more attribute term."""
        return replace(self, attributes=(*self.attributes, (key, value)))


@dataclass(frozen=True)
class Compiled:
    """One Keycloak query and whether its answer is exactly the SCIM one."""

    query: UserQuery
    exact: bool


def quote_q(value: str) -> str:
    """Quote a `q` value when it holds a space, a colon or a quote (Keycloak's query syntax)."""
    if value and not any(c in value for c in ' :"\\\t\n'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def etude_key(code: str) -> str:
    """The value of the case-safe étude attribute for an étude code."""
    return code.encode().hex()


def external_link(etude: str | None, external_id: str | None) -> str | None:
    """The id of a user's link to LINK_PROVIDER: his étude's key, then his externalId; None
    without either, or when too long for Keycloak's column."""
    if not etude or not external_id:
        return None
    link = f"{etude_key(etude)}/{external_id}"
    return link if len(link) <= LINK_MAX else None


def scope_query(code: str) -> UserQuery:
    """Every user of an étude, exactly (no case variant of the code)."""
    return UserQuery(attributes=((A_ETUDE_KEY, etude_key(code)),))


def _wild(value: str) -> bool:
    return "%" in value or "_" in value


def modified_buckets(since: datetime, today: date) -> list[tuple[str, str]] | None:
    """Cover the days from `since` to today with year, month and day index terms.

    A month is asked whole once more than DAYS_PER_MONTH of its days are wanted, a year once
    more than MONTHS_PER_YEAR of its months are: a few more candidates, checked again, for far
    fewer queries. None when more than MAX_ALTERNATIVES terms would still be needed (the
    connector then reads the candidates instead).
    """
    day = since.astimezone(UTC).date()
    out: list[tuple[str, str]] = []
    while day <= today:
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        months_left = 13 - day.month if day.year < today.year else today.month - day.month + 1
        if day.day == 1 and months_left > MONTHS_PER_YEAR:
            out.append((A_MODIFIED_YEAR, str(day.year)))
            day = date(day.year + 1, 1, 1)
        elif (min(next_month - timedelta(days=1), today) - day).days + 1 > DAYS_PER_MONTH:
            out.append((A_MODIFIED_MONTH, day.strftime("%Y-%m")))
            day = next_month
        else:
            out.append((A_MODIFIED_DAY, day.isoformat()))
            day += timedelta(days=1)
        if len(out) > MAX_ALTERNATIVES:
            return None
    return out


def modified_attributes(moment: datetime, etude: str | None = None) -> dict[str, str]:
    """Return the index terms of a modification instant (UTC day, month and year), and the
    same behind the étude's key when the user has an étude."""
    day = moment.astimezone(UTC).date()
    out = {A_MODIFIED_DAY: day.isoformat(), A_MODIFIED_MONTH: day.strftime("%Y-%m"),
           A_MODIFIED_YEAR: str(day.year)}
    if etude:
        out.update({ETUDE_DATED[k]: etude_dated(etude, v) for k, v in list(out.items())})
    return out


def etude_dated(etude: str, period: str) -> str:
    """The value of an étude's day, month or year term (its key, then the period)."""
    return f"{etude_key(etude)}/{period}"


def _since(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _choices(term: Term, today: date,
             scope: str | None = None) -> list[list[tuple[str, str, bool]]] | None:
    """The ways one term can be asked: alternatives (a union) of (param, value, exact) parts;
    within an étude, a modification term carries the étude itself."""
    if term.field in COLUMNS:
        exact = term.op == "eq" or (term.op == "co" and not _wild(term.value))
        return [[(COLUMNS[term.field] + (":like" if term.op != "eq" else ""), term.value,
                  exact)]]
    if term.field == "emails":  # the primary in Keycloak's column, the others in the index
        return [[("email", term.value, True)], [(f"attr:{A_EMAIL_INDEX}", term.value, True)]]
    if term.field == "modified":
        since = _since(term.value)
        buckets = modified_buckets(since, today) if since else None
        if buckets is None:
            return None
        if scope:
            return [[(f"attr:{ETUDE_DATED[k]}", etude_dated(scope, v), False)]
                    for k, v in buckets]
        return [[(f"attr:{k}", v, False)] for k, v in buckets]
    name = term.field.removeprefix("attr:")
    link = external_link(scope, term.value) if name == "externalId" else None
    if term.op == "eq" and link is not None:
        # The attribute stays the truth (a link may lag behind a write cut short): checked again.
        return [[("link", link, False)]]
    if term.op == "eq":
        return [[(f"attr:{name}", term.value, name not in CASE_EXACT)]]
    return [[(f"attr:{name}:like", term.value, term.op == "co" and not _wild(term.value))]]


def _build(parts: list[tuple[str, str, bool]]) -> Compiled:
    """Put one alternative's parts in one query; what cannot be put there makes it inexact."""
    like = any(p.endswith(":like") for p, _, _ in parts)
    values: dict[str, str] = {}
    attributes: dict[str, str] = {}
    exact = True
    for param, value, part_exact in parts:
        is_like = param.endswith(":like")
        name = param.removesuffix(":like")
        # In a LIKE query every term is a substring match: an equality only narrows.
        exact = exact and part_exact and (is_like or not like)
        if name.startswith("attr:"):
            key = name.removeprefix("attr:")
            if key in attributes:  # one value per key in Keycloak's query
                exact = False
                continue
            attributes[key] = value
        elif name in values:
            exact = False
        else:
            values[name] = value
    query = UserQuery(values.get("username"), values.get("email"), values.get("first_name"),
                      values.get("last_name"), tuple(attributes.items()), like,
                      values.get("link"))
    return Compiled(query, exact)


def compile_branch(terms: tuple[Term, ...], scope: str | None, today: date,
                   lookup: bool = True) -> list[Compiled] | None:
    """Return the queries whose union holds a branch's matches, None when none can narrow.

    `scope` is the caller's étude: every query that is not a selective lookup carries it as an
    attribute term (whose case variants the connector refuses again on every record);
    `lookup=False` keeps it on selective ones too, for a count that must be the étude's.
    """
    choices: list[list[list[tuple[str, str, bool]]]] = []
    exact = True
    for term in terms:
        options = _choices(term, today, scope)
        if options is None:
            exact = False  # left to the candidates' check
            continue
        choices.append(options)
    combos = list(itertools.islice(itertools.product(*choices), MAX_ALTERNATIVES + 1))
    if len(combos) > MAX_ALTERNATIVES:
        return None
    out = []
    for combo in combos:
        parts = [p for option in combo for p in option]
        selective = lookup and any(param in SELECTIVE for param, _, _ in parts)
        carried = any(param in SCOPED for param, _, _ in parts)  # the étude is in a term
        scope_part = ([(f"attr:{A_ETUDE_KEY}", etude_key(scope), True)]
                      if scope and not selective and not carried else [])
        compiled = _build([*scope_part, *parts])
        out.append(replace(compiled, exact=compiled.exact and exact
                           and not (scope and selective)))
    return out
