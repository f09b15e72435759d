"""Size and content limits (scim/limits.py), and Keycloak's user-profile rules checked first."""

from __future__ import annotations

import json

import pytest

from connector.keycloak.profile_checks import email_problems, person_name_problems, user_problems
from connector.scim.errors import InvalidFilter, InvalidSyntax, InvalidValue
from connector.scim.filter import parse_filter, parse_path
from connector.scim.limits import MAX_JSON_DEPTH, check_json
from connector.scim.values import WrongType, scalar


def test_json_nesting_beyond_the_limit_is_invalid_syntax():
    check_json(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH))
    with pytest.raises(InvalidSyntax):
        check_json(json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)))


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy", "z" * 5000])
def test_unstorable_or_huge_strings_are_invalid_values_naming_the_key(text):
    with pytest.raises(InvalidValue, match="'title'"):
        check_json({"userName": "a", "title": text})
    with pytest.raises(InvalidValue):
        check_json({text: 1})


@pytest.mark.parametrize("text", [
    "(" * 17 + 'a eq "b"' + ")" * 17, "not (" * 17 + 'a eq "b"' + ")" * 17,
    " or ".join(['a eq "b"'] * 101), "a eq " + "1" * 31, 'a eq "' + "x" * 5000 + '"',
    'a eq "\x00"'])
def test_filters_over_the_limits_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        parse_filter(text)


def test_value_path_nesting_counts_too():
    with pytest.raises(InvalidFilter):
        parse_path("emails[" + "(" * 20 + 'type eq "work"' + ")" * 20 + "]")


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("boolean", "False", False), ("boolean", " true ", True), ("boolean", True, True),
    ("string", "x", "x"), ("integer", 3, 3), ("decimal", 1.5, 1.5), ("reference", None, None)])
def test_scalars_are_typed_once_for_payloads_and_patch(kind, value, expected):
    assert scalar(kind, value) == expected


@pytest.mark.parametrize(("kind", "value"), [("boolean", "maybe"), ("boolean", 1),
                                             ("string", 5), ("integer", True),
                                             ("integer", "3"), ("string", ["x"])])
def test_wrong_scalars_say_what_was_expected(kind, value):
    with pytest.raises(WrongType):
        scalar(kind, value)


@pytest.mark.parametrize("name", ["Bob$", "Doe<script>", "a{b}", "x=y", "semi;colon", "a\tb",
                                  "x" * 256])
def test_person_names_keycloak_refuses(name):
    assert list(person_name_problems("name.givenName", name))


@pytest.mark.parametrize("name", ["O'Neil", "Anne-Marie", "Jean Paul", "Lætitia", "De La Tour"])
def test_person_names_keycloak_takes(name):
    assert list(person_name_problems("name.givenName", name)) == []


@pytest.mark.parametrize("address", ["not-an-email", "a..b@x.fr", "@x.fr", "a@", "a@-x.fr",
                                     "a b@x.fr", "x" * 65 + "@x.fr"])
def test_emails_keycloak_refuses(address):
    assert list(email_problems("emails.value", address))


@pytest.mark.parametrize("address", ["a@b.c", "x@localhost", "é@x.fr", "a+tag@x.co",
                                     "first.last@sub.example.fr"])
def test_emails_keycloak_takes(address):
    assert list(email_problems("emails.value", address)) == []


def test_usernames_keycloak_refuses_are_named():
    problems = user_problems("o'brien x", "Anne", "Martin", [{"value": "a@b.fr"}])
    assert problems and problems[0][0] == "userName"
    assert "space" in problems[0][1] and "espace" in problems[0][2]
    assert user_problems("ab", None, None, [])[0][0] == "userName"
    assert user_problems("jdupont@etude.fr", "Jean", "Dupont", [{"value": "j@e.fr"}]) == []
