"""Bulk protocol as pure functions (RFC 7644 §3.7): parsing, limits, ordering, bulkId resolution."""

from __future__ import annotations

import pytest

from connector.scim import bulk
from connector.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge


def request(*ops: dict, **extra: object) -> dict:
    return {"schemas": [bulk.BULK_REQUEST], "Operations": list(ops), **extra}


def post(bulk_id: str, data: dict | None = None, path: str = "/Users") -> dict:
    return {"method": "POST", "path": path, "bulkId": bulk_id, "data": data or {"userName": "x"}}


def test_parse_reads_operations_case_insensitively() -> None:
    parsed = bulk.parse_bulk_request(
        {"schemas": [bulk.BULK_REQUEST], "failonerrors": 2,
         "operations": [{"Method": "patch", "PATH": "/Users/1", "data": {}, "version": 'W/"a"'}]},
        10)
    assert parsed.fail_on_errors == 2
    assert parsed.operations[0] == bulk.BulkOperation(0, "PATCH", "/Users/1", None, {}, 'W/"a"')


@pytest.mark.parametrize("body", [
    [], {"Operations": []}, {"schemas": [bulk.BULK_REQUEST]},
    {"schemas": [bulk.BULK_REQUEST], "Operations": [{"method": "GET", "path": "/Users"}]},
    {"schemas": [bulk.BULK_REQUEST], "Operations": [{"method": "POST", "path": "/Users",
                                                      "data": {}}]},  # no bulkId
    {"schemas": [bulk.BULK_REQUEST], "Operations": [{"method": "PUT", "path": "Users/1",
                                                      "data": {}}]},
    {"schemas": [bulk.BULK_REQUEST], "Operations": [post("a"), post("a")]},
    {"schemas": [bulk.BULK_REQUEST], "Operations": [{"method": "PUT", "path": "/Users/1"}]},
])
def test_malformed_requests_are_invalid_syntax(body: object) -> None:
    with pytest.raises(InvalidSyntax):
        bulk.parse_bulk_request(body, 10)


@pytest.mark.parametrize("value", [0, -1, "2", True])
def test_fail_on_errors_is_a_positive_integer(value: object) -> None:
    with pytest.raises(InvalidValue):
        bulk.parse_bulk_request(request(post("a"), failOnErrors=value), 10)


def test_more_operations_than_max_operations_is_413() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        bulk.parse_bulk_request(request(*[post(f"b{i}") for i in range(3)]), 2)
    assert caught.value.status == 413
    assert "maxOperations" in caught.value.to_body()["detail"]


def test_payload_size_limit() -> None:
    bulk.check_payload_size(None, 10)
    bulk.check_payload_size(10, 10)
    with pytest.raises(PayloadTooLarge) as caught:
        bulk.check_payload_size(11, 10)
    body = caught.value.to_body()
    assert body["status"] == "413" and "maxPayloadSize" in body["detail"]


def test_references_are_found_in_path_and_nested_data() -> None:
    op = bulk.BulkOperation(0, "PATCH", "/Groups/bulkId:g1", None, {
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}]})
    assert bulk.operation_references(op) == {"g1", "u1", "u2"}
    assert bulk.references({"a": ["x", 1, None, {"b": "plain"}]}) == set()


def test_resolve_replaces_every_reference() -> None:
    data = {"members": [{"value": "bulkId:u1"}], "manager": {"value": "bulkId:u2"}, "n": 3}
    resolved = bulk.resolve(data, {"u1": "id-1", "u2": "id-2"})
    assert resolved == {"members": [{"value": "id-1"}], "manager": {"value": "id-2"}, "n": 3}
    assert bulk.resolve("/Users/bulkId:u1", {"u1": "id-1"}) == "/Users/id-1"


def test_resolving_a_failed_reference_is_409() -> None:
    with pytest.raises(bulk.BulkConflict) as caught:
        bulk.resolve({"value": "bulkId:gone"}, {})
    assert caught.value.status == 409 and caught.value.scim_type == "invalidValue"


def ops(*raw: dict) -> tuple[bulk.BulkOperation, ...]:
    return bulk.parse_bulk_request(request(*raw), 100).operations


def test_order_runs_referenced_operations_first_and_keeps_request_order_otherwise() -> None:
    parsed = ops(post("g", {"displayName": "t", "members": [{"value": "bulkId:u"}]}, "/Groups"),
                 post("x"), post("u"))
    runnable, errors = bulk.order(parsed)
    assert errors == {}
    assert [op.bulk_id for op in runnable] == ["x", "u", "g"]


def test_circular_references_are_409_and_others_still_run() -> None:
    parsed = ops(post("a", {"members": [{"value": "bulkId:b"}]}, "/Groups"),
                 post("b", {"members": [{"value": "bulkId:a"}]}, "/Groups"),
                 post("self", {"manager": {"value": "bulkId:self"}}),
                 post("c", {"members": [{"value": "bulkId:a"}]}, "/Groups"),
                 post("ok"))
    runnable, errors = bulk.order(parsed)
    assert [op.bulk_id for op in runnable] == ["ok"]
    assert sorted(errors) == [0, 1, 2, 3]
    assert all(e.status == 409 and "ircular" in e.detail for e in errors.values())


def test_unknown_reference_is_409_at_its_rank() -> None:
    parsed = ops(post("a"), post("b", {"manager": {"value": "bulkId:nowhere"}}), post("c"))
    scheduled = bulk.schedule(parsed)
    assert [(op.bulk_id, err is not None) for op, err in scheduled] == [
        ("a", False), ("b", True), ("c", False)]
    error = scheduled[1][1]
    assert error is not None and "nowhere" in error.detail and error.status == 409


def test_split_path() -> None:
    assert bulk.split_path("/Users") == ("/Users", None)
    assert bulk.split_path("/Groups/abc") == ("/Groups", "abc")
    with pytest.raises(InvalidValue):
        bulk.split_path("/Users/a/b")


def test_operation_result_shape() -> None:
    op = bulk.BulkOperation(0, "POST", "/Users", "q", {})
    assert bulk.operation_result(op, 201, location="http://x/Users/1", version='W/"v"') == {
        "method": "POST", "bulkId": "q", "location": "http://x/Users/1", "version": 'W/"v"',
        "status": "201"}
    failed = bulk.operation_result(op, 409, error={"status": "409"})
    assert failed["status"] == "409" and failed["response"] == {"status": "409"}
    assert bulk.bulk_response([failed])["schemas"] == [bulk.BULK_RESPONSE]
