"""Incoming resources: canonical names, types, unknown attributes (RFC 7643 §2)."""

from __future__ import annotations

import pytest

from connector.scim.errors import InvalidSyntax, InvalidValue
from connector.scim.payload import parse_resource, strip_read_only
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, USER


def test_names_are_case_insensitive_and_come_back_canonical():
    out = parse_resource({"USERNAME": "a", "Name": {"GIVENNAME": "x"},
                          "emails": [{"Value": "a@b", "PRIMARY": "true"}],
                          ETUDE_USER.upper(): {"Profile": "comptable"}}, "User")
    assert out["userName"] == "a" and out["name"] == {"givenName": "x"}
    assert out["emails"] == [{"value": "a@b", "primary": True}]
    assert out[ETUDE_USER] == {"profile": "comptable"}
    assert out["schemas"] == [USER, ETUDE_USER]


def test_entra_string_booleans_are_booleans():
    assert parse_resource({"userName": "a", "active": "False"}, "User")["active"] is False


def test_schema_urn_without_attributes_is_ignored():
    out = parse_resource({"schemas": [USER, ENTERPRISE], "userName": "a"}, "User")
    assert ENTERPRISE not in out


def test_unknown_attributes_are_named():
    with pytest.raises(InvalidSyntax, match="nmae"):
        parse_resource({"userName": "a", "nmae": {}}, "User")
    with pytest.raises(InvalidSyntax, match="emails.valeur"):
        parse_resource({"userName": "a", "emails": [{"valeur": "x"}]}, "User")
    with pytest.raises(InvalidSyntax, match="urn:example:ext"):
        parse_resource({"userName": "a", "urn:example:ext": {"a": 1}}, "User")


def test_wrong_types_are_invalid_values():
    for bad in ({"active": "maybe"}, {"emails": "a@b"}, {"name": "A B"}, {"userName": 3},
                {"externalId": 5}):
        with pytest.raises((InvalidValue, InvalidSyntax)):
            parse_resource({"userName": "a", **bad}, "User")


def test_body_must_be_an_object():
    with pytest.raises(InvalidSyntax):
        parse_resource([1, 2], "User")
    with pytest.raises(InvalidSyntax):
        parse_resource({"schemas": "x"}, "User")


def test_server_owned_and_read_only_values_are_dropped():
    out = parse_resource({"userName": "a", "id": "x", "meta": {"version": "v"},
                          ETUDE_USER: {"accessStatus": "granted", "profile": "comptable"}},
                         "User")
    assert "id" not in out and "meta" not in out
    assert strip_read_only(out, "User")[ETUDE_USER] == {"profile": "comptable"}
