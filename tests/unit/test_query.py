"""List requests: push-down planning and projection (RFC 7644 §3.4.2)."""

from __future__ import annotations

import pytest

from connector.scim.errors import BadRequest, InvalidFilter, InvalidValue
from connector.scim.filter import matches, parse_filter
from connector.scim.query import parse_list_request, plan_users, project
from connector.scim.schema_defs import ETUDE_USER


def plan(text: str):
    return plan_users(parse_filter(text, "User"))


def test_equalities_the_store_answers_exactly_are_pushed_whole():
    p = plan(f'userName eq "Bob" and {ETUDE_USER}:profile eq "comptable" and active eq true')
    assert p.terms == [("userName", "Bob"), ("attr:profile", "comptable"),
                       ("attr:scimActive", "true")]
    assert p.residual is None and p.exact


def test_email_is_pushed_lowercased_to_the_index():
    assert plan('emails.value eq "A@B.FR"').terms == [("attr:emailIndex", "a@b.fr")]
    assert plan('emails eq "A@B.FR"').terms == [("attr:emailIndex", "a@b.fr")]


def test_case_exact_external_id_narrows_but_is_rechecked():
    p = plan('externalId eq "AbC"')
    assert p.terms == [("attr:externalId", "AbC")] and p.residual is not None


def test_or_and_non_equality_are_evaluated_in_the_connector():
    assert plan('userName eq "a" or userName eq "b"').terms == []
    p = plan('profile eq "comptable" and title co "x"')
    assert p.terms == [("attr:profile", "comptable")] and not p.exact


def test_values_that_cannot_travel_in_q_are_not_pushed():
    assert plan('externalId eq "a b"').terms == []
    assert plan('externalId eq "a:b"').terms == []
    assert plan('userName eq "non-existent user"').terms == [("userName", "non-existent user")]


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


def test_entra_work_email_matching_is_parsed_and_pushed_down_by_the_address():
    """Entra ID matching on the work e-mail: `emails[type eq "work"].value eq "<address>"`."""
    node = parse_filter('emails[type eq "work"].value eq "A.Martin@Etude.fr"', "User")
    plan = plan_users(node)
    assert plan.terms == [("attr:emailIndex", "a.martin@etude.fr")]
    assert plan.residual == node  # the entry's type is still checked on the candidates

    assert matches(node, {"emails": [{"value": "a.martin@etude.fr", "type": "work"}]})
    assert not matches(node, {"emails": [{"value": "a.martin@etude.fr", "type": "home"}]})


def test_a_name_without_attribute_selects_nothing():
    for name in (".", ".j", "..x"):
        assert project(RESOURCE, (name,), (), "User") == {"schemas": ["s"], "id": "1"}
    whole = project(RESOURCE, (ETUDE_USER,), (), "User")
    assert whole[ETUDE_USER] == RESOURCE[ETUDE_USER]
