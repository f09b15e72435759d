"""Pure parts of operating the service: labels, request ids, JSON lines, job figures, limits."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from connector.keycloak.tokens import (
    TokenRecord,
    lock_key,
    parse_record,
    records,
    token_lines,
)
from connector.observability import jobs
from connector.observability.logs import REQUEST_ID, JsonFormatter
from connector.observability.metrics import method_of, operation_of, resource_of
from connector.ratelimit import KnownTokens, Slots, rate_item, share_of_threads
from connector.web.admission import caller_key, is_read
from connector.web.proxies import trusted_hosts
from connector.web.request_log import request_id_from, route_of

UUID = "0b1f8c1e-4f7e-4c55-9a0e-1d2c3b4a5f60"


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET", f"admin/realms/etudes/users/{UUID}/groups", "GET users/{}/groups"),
    ("GET", "admin/realms/etudes/users/count", "GET users/count"),
    ("GET", "admin/realms/test-1a2b/group-by-path/etudes/SECA", "GET group-by-path/{path}"),
    ("GET", "admin/realms/etudes/group-by-path/etudes/seca", "GET group-by-path/{path}"),
    ("POST", f"admin/realms/etudes/groups/{UUID}/children", "POST groups/{}/children"),
    ("PUT", f"admin/realms/etudes/users/{UUID}", "PUT users/{}"),
    ("DELETE", "admin/realms/etudes", "DELETE {realm}"),
    ("GET", "admin/realms/etudes/users?q=etude:SECA", "GET users"),
])
def test_keycloak_operations_never_carry_ids_or_names(method: str, path: str, name: str) -> None:
    assert operation_of(method, path) == name


@pytest.mark.parametrize(("rule", "resource"), [
    ("/scim/v2/Users/<user_id>", "Users"), ("/scim/v2/Users", "Users"),
    ("/scim/v2/Groups/.search", "Groups"), ("/scim/v2/.search", "search"),
    ("/scim/v2/Bulk", "Bulk"), ("/scim/v2/Schemas/<path:urn>", "Schemas"),
    ("/health", "health"), ("/livez", "livez"), (None, "unmatched"),
])
def test_resource_of_a_route_template(rule: str | None, resource: str) -> None:
    assert resource_of(rule) == resource


def test_made_up_methods_share_one_label() -> None:
    assert method_of("PATCH") == "PATCH"
    assert method_of("X" * 50) == "OTHER"


def test_a_sane_request_id_is_kept_anything_else_replaced() -> None:
    assert request_id_from("entra-3f9a1c2b-77aa") == "entra-3f9a1c2b-77aa"
    for bad in (None, "", "short", "x" * 129, "abc\ndef-ghij", 'a"b{c}d:e', "é" * 10):
        made = request_id_from(bad)
        assert made != bad and len(made) == 32 and made.isalnum()
    assert request_id_from(None) != request_id_from(None)


def test_access_lines_name_the_route_template() -> None:
    assert route_of("/scim/v2/Users/<user_id>") == "/scim/v2/Users/<user_id>"
    assert route_of(None) == "<unmatched>"


def _render(record_args: dict, **extra: object) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.json.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    args = record_args.pop("args", ())
    logger.log(record_args.pop("level"), record_args.pop("msg"), *args, **record_args,
               extra=extra or None)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    return json.loads(text)


def test_a_forged_line_stays_inside_one_json_string() -> None:
    forged = 'x\n{"event": "audit", "action": "user.delete"}\u2028\u0085'
    line = _render({"level": logging.ERROR, "msg": "unexpected error on GET %s",
                    "args": (f"/scim/v2/Users/{forged}",)})
    assert forged in line["message"]
    assert line["level"] == "ERROR" and line["logger"].startswith("test.json")
    assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"])


def test_every_line_has_the_request_id_and_errors_their_stack() -> None:
    token = REQUEST_ID.set("req-0123456789")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            line = _render({"level": logging.ERROR, "msg": "failed", "exc_info": True})
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req-0123456789"
    assert "Traceback" in line["exception"] and "ValueError: boom" in line["exception"]


def test_audit_lines_keep_their_fields_at_the_top() -> None:
    fields = {"event": "audit", "action": "user.create", "who": "etude:E1:ab", "etude": "E1",
              "target": UUID, "changed": ["userName"], "outcome": "ok", "request_id": "r-12345678"}
    line = _render({"level": logging.INFO, "msg": json.dumps(fields)}, fields=fields)
    assert {k: line[k] for k in fields} == fields
    assert line["message"] == "audit user.create"


def _report(users: list[dict], **extra: object) -> SimpleNamespace:
    return SimpleNamespace(users=users, extra=extra,
                           failed=sum(1 for u in users if u.get("error")))


def test_reconcile_exit_codes() -> None:
    assert jobs.reconcile_exit_code(_report([]), applied=False) == 0
    assert jobs.reconcile_exit_code(_report([{"outcome": "differs"}]), applied=False) == 3
    assert jobs.reconcile_exit_code(_report([{"outcome": "repaired"}]), applied=True) == 0
    assert jobs.reconcile_exit_code(_report([{"outcome": "failed", "error": "x"}]),
                                    applied=False) == 1


def test_job_figures() -> None:
    rec = jobs.figures("reconcile", _report([{"outcome": "differs"}] * 2, examined=9), 3)
    assert rec["connector_reconcile_differences"] == 2
    assert rec["connector_reconcile_users_examined"] == 9
    assert jobs.SUCCESS in rec  # differences found is a completed run
    exp = jobs.figures("expire", _report([{"outcome": "expired"}], days=2), 1)
    assert exp["connector_expire_users_expired"] == 1 and jobs.SUCCESS not in exp
    text = f'{jobs.SUCCESS}{{job="expire"}} 1.7e+09\n'
    assert jobs.previous_success(text, "expire") == 1.7e9
    assert jobs.previous_success(text, "reconcile") is None


def test_token_records_round_trip_and_read_the_earlier_form() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    record = TokenRecord("ab12cd34", "f" * 64, now, now + timedelta(days=365), True)
    assert parse_record(record.value()) == record
    never = TokenRecord("ab12cd34", "f" * 64, now, None, False)
    assert parse_record(never.value()) == never
    legacy = parse_record(f"ab12cd34:{'e' * 64}:2026-01-02T03:04:05Z")
    assert legacy == TokenRecord("ab12cd34", "e" * 64,
                                 datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), None, False)
    assert record.expired(now + timedelta(days=365)) and not record.expired(now)
    assert records({"attributes": {"connectorTokens": ["junk", record.value()]}}) == [record]
    assert lock_key("admin") == "etude:*" and lock_key("SECA") == "etude:SECA"


def test_token_list_lines() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    lines = token_lines([{"id": "ab", "created": now, "expires": None, "readOnly": True,
                          "lastUsed": None}])
    assert lines == ["id\tcreated\texpires\taccess\tlast used",
                     "ab\t2026-05-01T12:00:00Z\tnever\tread-only\tnever"]


def test_reads_are_gets_and_searches() -> None:
    assert is_read("GET", "/scim/v2/Users") and is_read("POST", "/scim/v2/.search")
    assert is_read("POST", "/scim/v2/Users/.search")
    for method, path in [("POST", "/scim/v2/Users"), ("PATCH", "/scim/v2/Users/x"),
                         ("DELETE", "/scim/v2/Groups/x"), ("POST", "/scim/v2/Bulk")]:
        assert not is_read(method, path)


def test_limits_are_keyed_by_etude_or_admin_token() -> None:
    assert caller_key(SimpleNamespace(etude="E1", token_id="a")) == "etude:E1"
    assert caller_key(SimpleNamespace(etude=None, token_id="a")) == "admin:a"


def test_rate_item_allows_a_burst_within_a_window() -> None:
    item = rate_item(50, 100)
    assert (item.amount, item.get_expiry()) == (100, 2)
    assert rate_item(50, 120).get_expiry() == 3


def test_slots_cap_one_caller_not_the_others() -> None:
    slots = Slots(2)
    assert slots.acquire("etude:A") and slots.acquire("etude:A")
    assert not slots.acquire("etude:A")
    assert slots.acquire("etude:B")
    slots.release("etude:A")
    assert slots.acquire("etude:A")
    assert share_of_threads(8, 0) == 4 and share_of_threads(1, 0) == 1
    assert share_of_threads(8, 3) == 3


def test_known_tokens_are_bounded() -> None:
    known = KnownTokens(size=2)
    for digest in ("a", "b", "c"):
        known.add(digest)
    assert "a" not in known and "b" in known and "c" in known


def test_trusted_hosts_come_from_the_base_url() -> None:
    assert trusted_hosts("https://scim.example.fr/scim/v2") == ["scim.example.fr"]
    assert trusted_hosts("") is None
