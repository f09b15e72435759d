"""A lookup, a list page and a count cost the same Keycloak calls whatever the realm size.

Counts `Gateway.calls` (never time) for the same requests before and after the realm grows by
2,000 users imported straight into Keycloak: a few hundred staff of the same étude, shaped as
the connector writes them (étude group, attributes), and other users of the realm the connector
does not manage. The answers are checked too, so a constant count cannot hide a wrong one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from connector.keycloak.gateway import Gateway, connect
from connector.keycloak.translate import user_to_keycloak
from tests.integration.conftest import E, granted_user, unique

CHUNK = 500
EARLIER = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)  # the imported staff were last written then


def extra_users(prefix: str, first: int, count: int, etude: str = "E1") -> list[dict[str, Any]]:
    """Keycloak representations of plain étude staff, as user_to_keycloak writes them."""
    reps = []
    for i in range(first, first + count):
        name = f"{prefix}-{i:05d}"
        scim = {"userName": name, "externalId": f"ext-{name}",
                "name": {"givenName": "Paul", "familyName": "Durand"},
                "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}],
                E: {"etude": etude, "profile": "comptable", "platforms": ["mars"],
                    "titulaire": False, "contractType": "CDI",
                    "employerAttestationDate": "2026-01-05",
                    "confidentialityAcceptedDate": "2026-01-06"}}
        rep = user_to_keycloak(scim, status="granted", issues=[], ends_on=None, now=EARLIER)
        rep["groups"] = [f"/etudes/{etude}", "/mars/comptable"]
        reps.append(rep)
    return reps


def others(prefix: str, count: int) -> list[dict[str, Any]]:
    """Users of the realm the connector does not manage (made in the console, say)."""
    return [{"username": f"{prefix}-{i:05d}", "enabled": True, "firstName": "Jean",
             "lastName": "Autre", "email": f"{prefix}-{i:05d}@ailleurs.example",
             "attributes": {"etude": ["ZZ"], "profile": ["comptable"]}} for i in range(count)]


def import_users(gw: Gateway, reps: list[dict[str, Any]]) -> None:
    """Fill the realm fast through Keycloak's partial import."""
    for start in range(0, len(reps), CHUNK):
        gw.request("POST", gw.path("/partialImport"),
                   body={"ifResourceExists": "SKIP", "users": reps[start:start + CHUNK]})


def calls_for(kc: Gateway, client: Any, url: str) -> tuple[int, Any]:
    """Count the Keycloak calls of one lookup (after a warm-up that caches the token check).

    The token check's cache expires CONNECTOR_TOKEN_CACHE_SECONDS after it was filled, not
    after the warm-up, so one of two lookups in a row may pay its refresh: keep the lower count.
    """
    assert client.get(url).status_code == 200
    counts = []
    for _ in range(2):
        before = kc.calls
        response = client.get(url)
        counts.append(kc.calls - before)
    return min(counts), response


@pytest.fixture(scope="module")
def importer(settings: Any) -> Gateway:
    """An admin gateway that waits for partial imports (slower than any SCIM request)."""
    slow = replace(settings, keycloak_timeout=600)
    return Gateway(slow, connect(slow, as_admin=True))


@pytest.fixture(scope="module")
def target(app: Any, tokens: dict[str, str]) -> dict[str, Any]:
    from tests.integration.conftest import Scim

    end = f"{random.randint(2031, 2099)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    body = granted_user(unique("pd"), contractType="CDD", contractEndDate=end)
    body["emails"].append({"value": f"{body['userName']}@maison.example", "type": "home"})
    created = Scim(app, tokens["E1"]).post("/Users", json=body)
    assert created.status_code == 201, created.json
    return {**created.json, "end": end}


def lookups(t: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Filter -> how many users it finds: the target alone, whatever the realm holds."""
    name, today = t["userName"], datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    return {
        "userName eq": (f'userName eq "{name}"', 1),
        "externalId eq": (f'externalId eq "{t["externalId"]}"', 1),
        "emails.value eq (primary)": (f'emails.value eq "{t["emails"][0]["value"]}"', 1),
        "emails.value eq (other)": (f'emails.value eq "{t["emails"][1]["value"]}"', 1),
        "Entra work e-mail": (f'emails[type eq "work"].value eq "{t["emails"][0]["value"]}"', 1),
        "étude attribute eq": (f'{E}:contractEndDate eq "{t["end"]}"', 1),
        "userName sw": (f'userName sw "{name[:-1]}"', 1),
        "userName eq or userName eq": (f'userName eq "{name}" or userName eq "nobody-{name}"', 1),
        "lastModified since today": (f'meta.lastModified ge "{today}" and userName eq "{name}"',
                                     1),
    }


def pages() -> dict[str, str]:
    """List requests whose answer grows with the étude while their cost must not."""
    return {
        "page": "/Users?count=5",
        "count only": "/Users?count=0",
        "deep page": "/Users?startIndex=140&count=5",
        "sorted descending": "/Users?sortBy=userName&sortOrder=descending&count=5",
        "projected page": "/Users?count=5&attributes=userName",
        "étude attribute, many matches": f"/Users?filter={E}:profile eq \"comptable\"&count=5",
        "not": "/Users?filter=not (userName eq \"nobody\")&count=5",
    }


def test_lookups_pages_and_counts_cost_constant_keycloak_calls(e1, kc, importer, target):
    prefix = unique("pd")
    realm: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    imported = 0
    for step, (staff, strangers) in {"small": (150, 0), "large": (300, 1700)}.items():
        import_users(importer, extra_users(prefix, imported, staff - imported))
        import_users(importer, others(f"{prefix}-x{step}", strangers))
        imported = staff
        realm[step] = int(kc.get(kc.path("/users/count")))
        counts[step] = {}
        for label, (expression, found) in lookups(target).items():
            n, response = calls_for(kc, e1, f"/Users?filter={quote(expression)}")
            assert [u["id"] for u in response.json["Resources"]] == [target["id"]] * found, label
            counts[step][label] = n
        for label, url in pages().items():
            n, response = calls_for(kc, e1, url)
            body = response.json
            if label != "count only":
                assert len(body["Resources"]) == 5, (label, body)
            assert body["totalResults"] >= staff, (label, body["totalResults"])
            counts[step][label] = n
    print("realm sizes", realm, "keycloak calls per request:", counts)
    assert realm["large"] - realm["small"] >= 1850
    assert counts["small"] == counts["large"]
    assert all(n <= 3 for n in counts["large"].values()), counts["large"]


def test_descending_pages_are_keycloaks_order_reversed(e1):
    total = e1.get("/Users?count=0").json["totalResults"]
    assert total > 10
    tail = e1.get(f"/Users?sortBy=userName&startIndex={total - 4}&count=5").json["Resources"]
    head = e1.get("/Users?sortBy=userName&sortOrder=descending&count=5").json["Resources"]
    assert [u["id"] for u in head] == [u["id"] for u in reversed(tail)]


def test_a_not_is_counted_by_difference(e1, target):
    everyone = e1.get("/Users?count=0").json["totalResults"]
    expression = 'not (userName eq "{}")'.format(target["userName"])
    r = e1.get(f"/Users?filter={quote(expression)}&count=3")
    assert r.json["totalResults"] == everyone - 1
    assert target["id"] not in [u["id"] for u in r.json["Resources"]]


def test_lookup_through_root_search_is_constant_too(e1, kc, target):
    url = "/.search"
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'userName eq "{target["userName"]}"'}
    assert e1.post(url, json=body).status_code == 200
    before = kc.calls
    r = e1.post(url, json=body)
    assert [u["id"] for u in r.json["Resources"]] == [target["id"]]
    assert kc.calls - before <= 4  # Users (count + page), Groups when served (count + page)


def test_a_not_of_another_etudes_user_leaves_out_nobody(e1, e2):
    """The user a `not (userName eq …)` names is counted out only when he is the caller's."""
    stranger = e2.post("/Users", json=granted_user(unique("pd-e2")))
    assert stranger.status_code == 201, stranger.json
    everyone = e1.get("/Users?count=0").json["totalResults"]
    expression = 'not (userName eq "{}")'.format(stranger.json["userName"].upper())
    r = e1.get(f"/Users?filter={quote(expression)}&count=3")
    assert r.json["totalResults"] == everyone


@contextmanager
def paths_asked(kc: Gateway) -> Iterator[list[str]]:
    """Record the path of every Keycloak call the gateway makes meanwhile."""
    seen: list[str] = []
    kept = kc.observer

    def observe(method: str, path: str, outcome: str, seconds: float) -> None:
        seen.append(path)
        if kept is not None:
            kept(method, path, outcome, seconds)

    kc.observer = observe
    try:
        yield seen
    finally:
        kc.observer = kept


def test_an_etudes_count_reads_its_group_not_the_realms_attribute_rows(e1, kc):
    """`count=0` counts the étude group's members (indexed on H2 too), not `q=scimEtude:`."""
    with paths_asked(kc) as seen:
        total = e1.get("/Users?count=0").json["totalResults"]
    group = kc.group_by_path("/etudes/E1")
    # (the étude's group may be looked up again: the test app caches nothing between requests)
    assert seen[-1] == kc.path("/groups/{g}/members", g=group["id"]), seen
    assert not any(p.endswith("/users/count") for p in seen), seen
    members = kc.get(kc.path("/groups/{g}/members", g=group["id"]), first=0, max=5000,
                     briefRepresentation="true")
    assert total == len(members) > 0


def test_with_the_attribute_scope_an_etude_is_listed_and_counted_by_its_term(settings, e1,
                                                                             tokens):
    """CONNECTOR_ETUDE_SCOPE=attribute (PostgreSQL with its expression index): the étude's
    list and count ask `q=scimEtude:`, never its group's members; the answers are the same."""
    from dataclasses import replace as changed

    from connector.web.app import create_app
    from tests.integration.conftest import Scim

    app = create_app(changed(settings, etude_scope="attribute"))
    app.testing = True
    by_term = Scim(app, tokens["E1"])
    kc = app.extensions["gateway"]
    with paths_asked(kc) as seen:
        counted = by_term.get("/Users?count=0").json["totalResults"]
        page = by_term.get("/Users?startIndex=3&count=4").json
    assert not any("/members" in p for p in seen), seen
    assert seen.count(kc.path("/users/count")) == 2 and seen.count(kc.path("/users")) == 1, seen
    assert counted == page["totalResults"] == e1.get("/Users?count=0").json["totalResults"]
    by_members = e1.get("/Users?startIndex=3&count=4").json["Resources"]
    assert [u["id"] for u in page["Resources"]] == [u["id"] for u in by_members]
