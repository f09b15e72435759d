"""List requests: parameters and projection (RFC 7644 §3.4.2)."""

from __future__ import annotations

import pytest

from connector.scim.errors import BadRequest, InvalidFilter, InvalidValue
from connector.scim.query import parse_list_request, project
from connector.scim.schema_defs import ETUDE_USER


def test_list_parameters_are_validated():
    req = parse_list_request({"startIndex": "0", "count": "5000", "sortOrder": "DESCENDING",
                              "sortBy": "userName"}, "User", 200)
    assert (req.start_index, req.count, req.descending) == (1, 200, True)
    with pytest.raises(InvalidValue):
        parse_list_request({"count": "ten"}, "User", 200)
    with pytest.raises(InvalidValue):
        parse_list_request({"sortBy": "nope"}, "User", 200)
    with pytest.raises(InvalidFilter):
        parse_list_request({"filter": "userName eq"}, "User", 200)
    with pytest.raises(BadRequest):
        parse_list_request({"attributes": "userName", "excludedAttributes": "name"}, "User", 9)


RESOURCE = {"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A",
            "familyName": "B"}, "emails": [{"value": "x", "type": "work"}],
            ETUDE_USER: {"profile": "comptable", "platforms": ["mars"]}, "meta": {"version": "v"}}


def test_attributes_keep_only_what_is_asked_plus_id_and_schemas():
    out = project(RESOURCE, ("name.givenName", f"{ETUDE_USER}:profile", "emails.value"), (),
                  "User")
    assert out == {"schemas": ["s"], "id": "1", "name": {"givenName": "A"},
                   "emails": [{"value": "x"}], ETUDE_USER: {"profile": "comptable"}}


def test_excluded_attributes_remove_but_never_id():
    out = project(RESOURCE, (), ("emails", "name.familyName", "id", "USERNAME"), "User")
    assert "emails" not in out and out["name"] == {"givenName": "A"}
    assert out["id"] == "1" and "userName" not in out


def test_a_name_without_attribute_selects_nothing():
    for name in (".", ".j", "..x"):
        assert project(RESOURCE, (name,), (), "User") == {"schemas": ["s"], "id": "1"}
    whole = project(RESOURCE, (ETUDE_USER,), (), "User")
    assert whole[ETUDE_USER] == RESOURCE[ETUDE_USER]
