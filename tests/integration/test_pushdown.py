"""An equality lookup costs the same number of Keycloak calls whatever the realm size.

Counts `Gateway.calls` (never time) for the same lookup before and after the étude grows by a
few hundred users imported straight into Keycloak, shaped as the connector writes them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from connector.keycloak.gateway import Gateway
from connector.keycloak.translate import user_to_keycloak
from tests.integration.conftest import E, granted_user, unique

CHUNK = 500


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
        reps.append(user_to_keycloak(scim, status="granted", issues=[], ends_on=None))
    return reps


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
def target(app: Any, tokens: dict[str, str]) -> dict[str, Any]:
    from tests.integration.conftest import Scim

    end = f"{random.randint(2031, 2099)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    body = granted_user(unique("pd"), contractType="CDD", contractEndDate=end)
    created = Scim(app, tokens["E1"]).post("/Users", json=body)
    assert created.status_code == 201, created.json
    return {**created.json, "end": end}


def lookups(target: dict[str, Any]) -> dict[str, str]:
    return {
        "userName eq": f'userName eq "{target["userName"]}"',
        "externalId eq": f'externalId eq "{target["externalId"]}"',
        "emails.value eq": f'emails.value eq "{target["emails"][0]["value"]}"',
        "étude attribute eq": f'{E}:contractEndDate eq "{target["end"]}"',
    }


def test_equality_lookups_cost_constant_keycloak_calls(e1, kc, admin_gw, target):
    prefix = unique("bulkpop")
    sizes = {}
    counts: dict[int, dict[str, int]] = {}
    imported = 0
    for extra in (20, 300):
        import_users(admin_gw, extra_users(prefix, imported, extra - imported))
        imported = extra
        sizes[extra] = int(kc.get(kc.path("/users/count"), q="etude:E1"))
        counts[extra] = {}
        for label, expression in lookups(target).items():
            n, response = calls_for(kc, e1, f"/Users?filter={expression}")
            assert [u["id"] for u in response.json["Resources"]] == [target["id"]], label
            counts[extra][label] = n
        # Many matches, one page: still the same calls (count, then one page of the store).
        n, response = calls_for(kc, e1, f'/Users?filter={E}:profile eq "comptable"&count=5')
        assert response.json["totalResults"] >= extra and len(response.json["Resources"]) == 5
        counts[extra]["étude attribute eq, many matches"] = n
    print("keycloak calls per lookup:", sizes, counts)
    assert sizes[300] - sizes[20] >= 280
    assert counts[20] == counts[300]
    assert all(n <= 3 for n in counts[300].values()), counts[300]


def test_lookup_through_root_search_is_constant_too(e1, kc, target):
    url = "/.search"
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'userName eq "{target["userName"]}"'}
    assert e1.post(url, json=body).status_code == 200
    before = kc.calls
    r = e1.post(url, json=body)
    assert [u["id"] for u in r.json["Resources"]] == [target["id"]]
    assert kc.calls - before <= 4  # Users (count + page), Groups when served (count + page)
