"""A request over the HTTP server's limits still gets an RFC 7644 error (§3.12), not HTML."""

from __future__ import annotations

from typing import Any

import requests

from connector.scim.errors import ERROR_SCHEMA
from tests.integration.servers import replicas


def refused_as_scim(resp: requests.Response, status: int) -> None:
    assert resp.status_code == status, resp.text[:200]
    assert resp.headers["Content-Type"] == "application/scim+json"
    assert len(resp.headers["X-Request-Id"]) == 32
    body = resp.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status)
    assert body["detail"]


def test_an_overlong_request_line_or_header_is_refused_in_scim(settings: Any,
                                                                tokens: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {tokens['E1']}"}
    with replicas(settings, 1) as (root,):
        long_filter = 'userName eq "' + "a" * 9000 + '"'
        resp = requests.get(f"{root}/Users", params={"filter": long_filter}, headers=auth,
                            timeout=30)
        refused_as_scim(resp, 414)
        assert "/.search" in resp.json()["detail"]

        resp = requests.get(f"{root}/Users", headers={**auth, "X-Padding": "p" * 9000},
                            timeout=30)
        refused_as_scim(resp, 431)

        # In a POST body the same filter reaches the app, which judges it by its own limits.
        resp = requests.post(f"{root}/Users/.search", headers=auth, timeout=30, json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": long_filter})
        assert resp.status_code == 400 and resp.json()["scimType"] == "invalidValue"
        assert "4096" in resp.json()["detail"]
