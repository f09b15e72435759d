"""Generated bad input thrown at a live replica over HTTP, on a fixed seed and budget.

Payloads, PATCH operations, filters, paths, headers and Bulk requests, made by hypothesis from
the SCIM vocabulary, the étude extension and a stock of hostile values. The suite fails on any
5xx (Keycloak stays up here, so not even 503), on any answer that shows another étude's data
the request did not name itself, and, at the end, on any user whose Keycloak access differs
from what his record implies. It prints how many requests it sent and their statuses.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.access import access_problems
from tests.integration.conftest import PATCH, E, Scim, granted_user, unique
from tests.integration.servers import replicas

G = "urn:ietf:params:scim:schemas:core:2.0:Group"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
EXAMPLES = 350  # per generator; seven generators: about 2,500 requests with the set-up
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
STATUSES: Counter[int] = Counter()
TOUCHED: set[str] = set()

HOSTILE = ["", " ", "\x00", "\ud800", "\udfff", "x" * 5000, "..", "%2e%2e", ".", "/", "E2",
           "e1", "E1", "admin", "huissier", "HUISSIER", "mars", "v3", "9999-12-31",
           "2026-01-06", "0000-00-00", "2026-02-30", "True", "False", "null", "CDD", "CDI",
           "Bob$", "Doe<script>", "not-an-email", "a@b.c", "\u202e", "Œuvré", "{}", "[]",
           '"', "\\", "%00", "1e400", "Infinity", "-1"]
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                 st.sampled_from(HOSTILE))
VALUES = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["value", "type", "primary", "display",
                                                         "x", "$ref", "givenName"]) | st.text(
                                                             max_size=8), inner, max_size=4),
                      max_leaves=12)
USER_KEYS = ["userName", "name", "emails", "active", "password", "externalId", "title",
             "phoneNumbers", "displayName", "schemas", "groups", "id", "meta", "locale", E,
             f"{E}:profile", "bogus"]
EXT_KEYS = ["etude", "profile", "platforms", "titulaire", "kbisDate", "employerAttestationDate",
            "contractType", "contractEndDate", "departureDate", "confidentialityAcceptedDate",
            "accessStatus", "accessIssues", "passwordEmail", "unknown"]
PATHS = ["userName", "name.givenName", "name.familyName", "emails", 'emails[type eq "work"]',
         'emails[type eq "work"].value', "emails[value pr]", "phoneNumbers", "active", "title",
         "groups", "id", "meta.version", "externalId", f"{E}:profile", f"{E}:platforms",
         f"{E}:etude", f"{E}:departureDate", f"{E}:contractEndDate", f"{E}:contractType",
         f"{E}:accessStatus", f"{E}:confidentialityAcceptedDate", E, "members",
         'members[value eq "x"]', "displayName", f"{EG}:delegatedPermissions", "", "bogus[",
         "emails[", "name..x", "urn:x:y"]
ATTRS = ["userName", "emails.value", 'emails[type eq "work"].value', "etude", "profile",
         f"{E}:etude", "name.givenName", "meta.lastModified", "groups", "active", "title",
         "externalId", "id", "members.value", "displayName", "bogus", "emails"]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx", ""]


@pytest.fixture(scope="module")
def world(settings: Any, tokens: dict[str, str], app: Any) -> Any:
    """One replica over HTTP, a few E1 users to aim at, and E2's data that must never show."""
    e1, e2 = Scim(app, tokens["E1"]), Scim(app, tokens["E2"])
    others = [e2.post("/Users", json=granted_user(unique("secret"))).json for _ in range(2)]
    team = e2.post("/Groups", json={"schemas": [G], "displayName": unique("hidden")}).json
    markers = {o["id"] for o in others} | {o["userName"] for o in others} | {
        m["value"] for o in others for m in o["emails"]} | {team["id"], team["displayName"]}
    mine = [e1.post("/Users", json=granted_user()).json["id"] for _ in range(3)]
    TOUCHED.update(mine)
    mine_team = e1.post("/Groups", json={"schemas": [G, EG], "displayName": unique("fz"),
                                         "members": [{"value": u} for u in mine],
                                         EG: {"platforms": ["mars"]}}).json["id"]
    with replicas(settings, 1) as roots:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens['E1']}"
        yield {"root": roots[0], "session": session, "markers": markers, "users": mine,
               "team": mine_team, "e2": others[0]["id"]}


def send(world: Any, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None, raw: str | None = None) -> requests.Response:
    """Send one request; fail on a 5xx or on another étude's data the request did not name."""
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    hdrs = {"Content-Type": "application/scim+json", **(headers or {})}
    resp = world["session"].request(method, world["root"] + path, data=data,
                                    headers=hdrs, timeout=60)
    STATUSES[resp.status_code] += 1
    asked = f"{path} {data or ''}".lower()
    assert resp.status_code < 500, (method, path, (data or "")[:300], resp.text[:500])
    leaked = [m for m in world["markers"] if m.lower() in resp.text.lower()
              and m.lower() not in asked]
    assert leaked == [], (method, path, leaked)
    if resp.status_code >= 400:
        assert resp.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    elif resp.status_code in (200, 201) and method in ("POST", "PUT", "PATCH") \
            and path.startswith("/Users"):
        TOUCHED.add(str(resp.json().get("id")))
    return resp


@FUZZ
@given(drop=st.lists(st.sampled_from(USER_KEYS), max_size=3),
       put=st.dictionaries(st.sampled_from(USER_KEYS), VALUES, max_size=3),
       ext=st.dictionaries(st.sampled_from(EXT_KEYS), VALUES, max_size=4))
def test_fuzz_user_payloads(world, drop, put, ext):
    body = granted_user()
    body[E].update(ext)
    for key in drop:
        body.pop(key, None)
    body.update(put)
    send(world, "POST", "/Users", body)
    send(world, "PUT", f"/Users/{world['users'][0]}", body)


@FUZZ
@given(ops=st.lists(st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "REPLACE", "bogus"]),
     "path": st.sampled_from(PATHS) | st.text(max_size=20), "value": VALUES}),
    min_size=1, max_size=4), target=st.integers(0, 2), with_team=st.booleans())
def test_fuzz_patch_operations(world, ops, target, with_team):
    path = f"/Groups/{world['team']}" if with_team else f"/Users/{world['users'][target]}"
    send(world, "PATCH", path, {"schemas": [PATCH], "Operations": ops})


TERM = st.builds(lambda a, o, v: f"{a} {o} {v}".strip(), st.sampled_from(ATTRS),
                 st.sampled_from(OPS), st.sampled_from(
                     ['"x"', '"E2"', "true", "null", "12", "-1.5e3", "9" * 40, '"a\\"b"',
                      '"2026-01-01T00:00:00Z"', "", "(", ")", "[", '"\\u0000"', "and"]))
FILTER = st.recursive(TERM, lambda inner: st.one_of(
    st.builds(lambda a, b: f"{a} and {b}", inner, inner),
    st.builds(lambda a, b: f"{a} or {b}", inner, inner),
    st.builds(lambda a: f"not ({a})", inner),
    st.builds(lambda a: f"({a})", inner),
    st.builds(lambda a, b: f"emails[{a}]{b}", inner, st.sampled_from(["", ".value", " pr"]))),
    max_leaves=6) | st.text(max_size=40)


@FUZZ
@given(flt=FILTER, sort=st.sampled_from([None, "userName", "bogus", "meta.created"]),
       start=st.sampled_from(["1", "0", "-5", "2147483648", "1e3", "x", "9" * 30]),
       count=st.sampled_from(["0", "1", "10", "-1", "100000", "1.5"]))
def test_fuzz_filters(world, flt, sort, start, count):
    params = {"filter": flt, "startIndex": start, "count": count}
    if sort:
        params["sortBy"] = sort
    resp = world["session"].get(world["root"] + "/Users", params=params, timeout=60)
    STATUSES[resp.status_code] += 1
    assert resp.status_code < 500, (flt, resp.text[:300])
    assert not [m for m in world["markers"] if m.lower() in resp.text.lower()
                and m.lower() not in flt.lower()]
    send(world, "POST", "/.search", {"schemas": [
        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": flt, "count": 5})


@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]),
       resource=st.sampled_from(["Users", "Groups", "Bulk", ".search", "Schemas",
                                 "ResourceTypes", "ServiceProviderConfig", "Me", "users"]),
       ident=st.sampled_from(["", "..", "%2E%2E", ".", "x" * 3000, "e2", "%00", "%ZZ",
                              "00000000-0000-0000-0000-000000000000", "\u00e9", "a/b"])
       | st.text(max_size=30), body=VALUES)
def test_fuzz_paths(world, method, resource, ident, body):
    if ident == "e2":
        ident = world["e2"]
    path = f"/{resource}/{requests.utils.quote(ident, safe='%/')}" if ident else f"/{resource}"
    resp = send(world, method, path, body)
    if ident == world["e2"]:
        assert resp.status_code in (400, 404, 405, 415), resp.text[:300]


@FUZZ
@given(ctype=st.sampled_from(["application/scim+json", "application/json", "text/plain",
                              "application/json; charset=latin-1", "multipart/form-data",
                              "application/scim+json;;", "", "x/y; a=b"]),
       if_match=st.sampled_from(["", "*", 'W/"x"', "garbage", '"', "W/" * 100]),
       lang=st.sampled_from(["fr", "fr-FR,en;q=0.5", "en", "xx", "*", "fr;q=garbage", "é"]),
       raw=st.sampled_from(["{", "[]", "null", '{"schemas": 1}', "\x00", "{}" * 1000,
                            "[" * 3000 + "]" * 3000, json.dumps(granted_user())]))
def test_fuzz_headers_and_bodies(world, ctype, if_match, lang, raw):
    headers = {"Content-Type": ctype, "Accept-Language": lang}
    if if_match:
        headers["If-Match"] = if_match
    send(world, "POST", "/Users", headers=headers, raw=raw)
    send(world, "PATCH", f"/Users/{world['users'][1]}", headers=headers, raw=raw)


@FUZZ
@given(operations=st.lists(st.fixed_dictionaries(
    {"method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "x"]),
     "path": st.sampled_from(["/Users", "/Groups", "/Users/..", "/Users/bulkId:a",
                              "/Groups/bulkId:b", "/Bulk", "/Users/%2e%2e", ""]),
     "bulkId": st.sampled_from(["a", "b", "", "a"]), "data": VALUES}), max_size=5),
    fail=st.sampled_from([None, 0, 1, -1, "x", 10**12]))
def test_fuzz_bulk(world, operations, fail):
    body: dict[str, Any] = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                            "Operations": operations}
    if fail is not None:
        body["failOnErrors"] = fail
    send(world, "POST", "/Bulk", body)


def test_fuzz_leaves_every_user_exactly_as_his_record_implies(world, kc):
    """Runs after the generators (file order): nobody has access his record does not imply."""
    problems = [p for uid in sorted(TOUCHED) if kc.find(kc.path("/users/{u}", u=uid))
                for p in access_problems(kc, uid)]
    total = sum(STATUSES.values())
    print(f"\nfuzz: {total} requests, statuses {dict(sorted(STATUSES.items()))}, "
          f"{len(TOUCHED)} users checked against their records")
    assert total > 2000 and problems == []
