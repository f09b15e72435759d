"""Links never come from a client's headers: trusted proxies only, Host checked against the
configured base URL."""

from __future__ import annotations

import dataclasses
from typing import Any

from connector.web.app import create_app

BASE = "https://scim.example.fr/scim/v2"


def _client(settings: Any, **overrides: Any) -> Any:
    app = create_app(dataclasses.replace(settings, **overrides))
    app.testing = True
    return app.test_client()


def _location(client: Any, token: str, **headers: str) -> str:
    r = client.get("/scim/v2/ServiceProviderConfig",
                   headers={"Authorization": f"Bearer {token}", **headers})
    assert r.status_code == 200, r.json
    return str(r.json["meta"]["location"])


def test_forwarded_headers_are_ignored_without_trusted_proxies(settings, tokens) -> None:
    client = _client(settings, base_url="", trusted_proxies=0)
    location = _location(client, tokens["E1"], **{"X-Forwarded-Host": "evil.example",
                                                   "X-Forwarded-Proto": "https"})
    assert location.startswith("http://localhost/scim/v2")
    r = client.get("/scim/v2/Users?count=1", headers={
        "Authorization": f"Bearer {tokens['E1']}", "X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 200


def test_forwarded_headers_are_believed_from_the_trusted_proxy(settings, tokens) -> None:
    client = _client(settings, base_url="", trusted_proxies=1)
    location = _location(client, tokens["E1"], **{"X-Forwarded-Host": "scim.proxy.example",
                                                   "X-Forwarded-Proto": "https"})
    assert location.startswith("https://scim.proxy.example/scim/v2")
    # Only the nearest hop counts: what the client put before it is not believed.
    location = _location(client, tokens["E1"], **{
        "X-Forwarded-Host": "evil.example, scim.proxy.example",
        "X-Forwarded-Proto": "http, https"})
    assert location.startswith("https://scim.proxy.example/")


def test_with_a_base_url_links_use_it_and_other_hosts_are_refused(settings, tokens) -> None:
    client = _client(settings, base_url=BASE)
    assert _location(client, tokens["E1"], Host="scim.example.fr").startswith(BASE)
    r = client.get("/scim/v2/ServiceProviderConfig",
                   headers={"Authorization": f"Bearer {tokens['E1']}", "Host": "evil.example",
                            "Accept-Language": "fr"})
    assert r.status_code == 400 and r.json["status"] == "400"
    assert "evil.example" not in r.get_data(as_text=True)
    # A path that werkzeug would redirect (merged slashes) is refused, not sent elsewhere.
    r = client.get("/scim/v2//Users", headers={"Authorization": f"Bearer {tokens['E1']}",
                                               "Host": "evil.example"})
    assert r.status_code == 400 and "evil.example" not in r.headers.get("Location", "")
    # Probes answer whatever the Host: Kubernetes sends the pod's address.
    assert client.get("/health", headers={"Host": "10.1.2.3:8080"}).status_code != 400
