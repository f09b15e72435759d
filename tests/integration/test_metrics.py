"""/metrics counts exactly what was sent; the jobs publish their figures; reconcile's exit code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from connector.cli import cli
from connector.keycloak.jobstate import JobState
from connector.observability.exposition import metrics_app
from tests.integration.conftest import CORE, E, granted_user, kc_user, unique

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape() -> Samples:
    """GET /metrics from the metrics listener's WSGI app and index every sample."""
    resp = Client(metrics_app).get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """Sum the change of every sample of a name whose labels include the given ones."""
    want = set(labels.items())

    def total(samples: Samples) -> float:
        return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))
    return total(after) - total(before)


def test_counters_move_by_exactly_what_was_sent(app, e1, kc) -> None:
    calls_before = kc.calls
    before = scrape()
    for _ in range(3):
        assert e1.get('/Users?filter=userName eq "nobody-at-all"').status_code == 200
    for _ in range(2):
        assert e1.get("/Users/00000000-0000-4000-8000-000000000000").status_code == 404
    assert e1.post("/Users", json={"schemas": [CORE]}).status_code == 400
    assert app.test_client().get("/scim/v2/Users").status_code == 401
    assert e1.get("/ServiceProviderConfig").status_code == 200
    after = scrape()

    requests = "connector_http_requests_total"
    assert delta(before, after, requests, resource="Users", method="GET", status="200",
                 etude="E1") == 3
    assert delta(before, after, requests, resource="Users", method="GET", status="404",
                 etude="E1") == 2
    assert delta(before, after, requests, resource="Users", method="POST", status="400",
                 etude="E1") == 1
    assert delta(before, after, requests, resource="Users", method="GET", status="401",
                 etude="") == 1
    assert delta(before, after, requests, resource="ServiceProviderConfig", etude="E1") == 1
    assert delta(before, after, requests) == 8
    assert delta(before, after, "connector_http_request_duration_seconds_count",
                 resource="Users", method="GET") == 6
    assert after[("connector_http_requests_in_flight", frozenset())] == 0
    # Every Keycloak call the gateway made is counted, by operation and outcome.
    made = kc.calls - calls_before
    assert made > 0
    assert delta(before, after, "connector_keycloak_requests_total") == made
    assert delta(before, after, "connector_keycloak_request_duration_seconds_count") == made
    assert delta(before, after, "connector_keycloak_requests_total",
                 operation="GET users/{}", outcome="404") == 2
    # Seven requests carried E1's token: each one checked, from the cache or not.
    assert delta(before, after, "connector_token_checks_total", result="accepted") == 7
    labels = {dict(ls).get("etude") for (n, ls) in after if n == requests}
    assert not any(label and label.startswith("cnx.") for label in labels)


def test_metrics_are_not_served_on_the_scim_port(e1) -> None:
    assert e1.client.get("/metrics").status_code == 404
    assert Client(metrics_app).get("/other").status_code == 404


@pytest.fixture
def marker(kc) -> Iterator[JobState]:
    """Park the expiry marker and lock, and put them back (test_expire does the same)."""
    state = JobState(kc)
    before = state.last_completed()
    yield state
    state.set_last_completed(before)
    info = state.lock_info()
    if info:
        state.release(info.owner)


def _prom(path: Any) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def test_expire_writes_its_figures_for_the_textfile_collector(settings, marker, tmp_path
                                                              ) -> None:
    far = date(2098, 6, 1)
    marker.set_last_completed(far - timedelta(days=2))
    env = {"CONNECTOR_REALM": settings.realm, "CONNECTOR_DEV_MODE": "1",
           "CONNECTOR_METRICS_TEXTFILE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["expire", "--as-of", far.isoformat(), "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)  # the --json report is what it always was
    assert report["command"] == "expire" and report["failed"] == 0
    figures = _prom(tmp_path / "connector_expire.prom")
    job = frozenset({("job", "expire")})
    assert figures[("connector_job_last_exit_code", job)] == 0
    assert figures[("connector_expire_days_scanned", job)] == 2
    success = figures[("connector_job_last_success_timestamp_seconds", job)]
    assert success == figures[("connector_job_last_run_timestamp_seconds", job)]

    # A run that cannot take the lock keeps the last success time; its exit code is 75.
    marker.acquire("someone-else")
    result = CliRunner().invoke(cli, ["expire", "--as-of", far.isoformat()], env=env)
    assert result.exit_code == 75
    figures = _prom(tmp_path / "connector_expire.prom")
    assert figures[("connector_job_last_exit_code", job)] == 75
    assert figures[("connector_job_last_success_timestamp_seconds", job)] == success


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append(("POST", self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def _drift(admin, kc, etude: str) -> str:
    """A pending user of a fresh étude, enabled by hand: what reconcile must find."""
    from connector.keycloak.etudes import EtudeDirectory

    EtudeDirectory(kc).add(etude, "Etude de test")
    body = granted_user(unique("rec"), etude=etude)
    del body[E]["confidentialityAcceptedDate"]
    r = admin.post("/Users", json=body)
    assert r.status_code == 201, r.json
    rep = kc_user(kc, r.json["id"])
    kc.request("PUT", kc.path("/users/{u}", u=rep["id"]), body={**rep, "enabled": True})
    return str(r.json["id"])


def test_reconcile_exits_3_on_differences_and_pushes_its_figures(settings, admin, kc) -> None:
    etude = unique("R").upper()
    _drift(admin, kc, etude)
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"CONNECTOR_REALM": settings.realm, "CONNECTOR_DEV_MODE": "1",
           "CONNECTOR_METRICS_PUSHGATEWAY": f"127.0.0.1:{server.server_port}"}
    try:
        found = CliRunner().invoke(cli, ["reconcile", "--etude", etude], env=env)
        assert found.exit_code == 3, found.output
        assert "enabled is true, should be false" in found.output
        repaired = CliRunner().invoke(cli, ["reconcile", "--etude", etude, "--apply"], env=env)
        assert repaired.exit_code == 0, repaired.output
        clean = CliRunner().invoke(cli, ["reconcile", "--etude", etude], env=env)
        assert clean.exit_code == 0 and "0 difference(s)" in clean.output
        assert _Gateway.received == []  # one étude's run is not the realm's figure
    finally:
        server.shutdown()


def test_a_full_reconcile_publishes_its_differences(settings, tmp_path) -> None:
    env = {"CONNECTOR_REALM": settings.realm, "CONNECTOR_DEV_MODE": "1",
           "CONNECTOR_METRICS_TEXTFILE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["reconcile", "--json"], env=env)
    report = json.loads(result.output)
    figures = _prom(tmp_path / "connector_reconcile.prom")
    job = frozenset({("job", "reconcile")})
    differences = figures[("connector_reconcile_differences", job)]
    assert differences == sum(1 for u in report["users"] if u["outcome"] == "differs")
    assert figures[("connector_reconcile_users_examined", job)] == report["examined"]
    assert result.exit_code == (1 if report["failed"] else 3 if differences else 0)
    assert figures[("connector_job_last_exit_code", job)] == result.exit_code


def test_jobs_push_to_a_push_gateway_when_one_is_set(settings, marker) -> None:
    _Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    far = date(2098, 7, 1)
    marker.set_last_completed(far - timedelta(days=1))
    env = {"CONNECTOR_REALM": settings.realm, "CONNECTOR_DEV_MODE": "1",
           "CONNECTOR_METRICS_PUSHGATEWAY": f"http://127.0.0.1:{server.server_port}"}
    try:
        result = CliRunner().invoke(cli, ["expire", "--as-of", far.isoformat()], env=env)
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    [(method, path, body)] = _Gateway.received
    assert (method, path) == ("POST", "/metrics/job/connector_expire")
    assert b'connector_job_last_exit_code{job="expire"} 0.0' in body
