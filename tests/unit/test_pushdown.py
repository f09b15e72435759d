"""Filters split into what Keycloak answers and what the connector checks (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from connector.keycloak.user_query import (
    LINK_PROVIDER,
    Compiled,
    UserQuery,
    compile_branch,
    etude_key,
    external_link,
    modified_attributes,
    modified_buckets,
    quote_q,
)
from connector.scim.filter import matches, parse_filter
from connector.scim.pushdown import Term, plan_users
from connector.scim.schema_defs import ETUDE_USER

TODAY = date(2026, 11, 27)


def plan(text: str):
    return plan_users(parse_filter(text, "User"))


def compiled(text: str, scope: str | None = "E1"):
    p = plan(text)
    return [c for b in p.branches for c in compile_branch(b, scope, TODAY) or []]


# -- the split ---------------------------------------------------------------------------------
def test_equalities_are_terms_and_nothing_is_left():
    p = plan(f'userName eq "Bob" and {ETUDE_USER}:profile eq "comptable" and active eq true')
    assert p.branches == ((Term("userName", "eq", "Bob"), Term("attr:profile", "eq", "comptable"),
                           Term("attr:scimActive", "eq", "true")),)
    assert p.residual is None and p.excluded == ()


def test_email_terms_are_lowercased_and_entras_form_keeps_the_type_check():
    assert plan('emails.value eq "A@B.FR"').branches == ((Term("emails", "eq", "a@b.fr"),),)
    node = parse_filter('emails[type eq "work"].value eq "A.Martin@Etude.fr"', "User")
    p = plan_users(node)
    assert p.branches == ((Term("emails", "eq", "a.martin@etude.fr"),),)
    assert p.residual is not None  # the entry's type is checked on the candidates
    assert matches(node, {"emails": [{"value": "a.martin@etude.fr", "type": "work"}]})
    assert not matches(node, {"emails": [{"value": "a.martin@etude.fr", "type": "home"}]})


def test_substring_operators_are_terms_for_keycloaks_own_search():
    p = plan('userName sw "bo" and name.familyName co "ur" and displayName co "Paul D"')
    assert p.branches == ((Term("userName", "sw", "bo"), Term("familyName", "co", "ur"),
                           Term("attr:displayName", "co", "Paul D")),)


def test_an_or_of_terms_is_a_union_of_branches():
    p = plan(f'{ETUDE_USER}:profile eq "x" and (userName eq "a" or userName eq "b")')
    assert p.branches == ((Term("attr:profile", "eq", "x"), Term("userName", "eq", "a")),
                          (Term("attr:profile", "eq", "x"), Term("userName", "eq", "b")))
    assert p.residual is None


def test_a_not_of_terms_is_an_exclusion():
    p = plan('not (userName eq "a") and active eq true')
    assert p.branches == ((Term("attr:scimActive", "eq", "true"),),)
    assert p.excluded == (Term("userName", "eq", "a"),) and p.residual is None


def test_what_no_term_carries_is_the_residual():
    p = plan('title co "x" and userName ew "z" and (title eq "a" or nickName eq "b")')
    assert p.branches == ((),) and p.residual is not None
    assert plan('userName eq "a" or title eq "b"').branches == ((),)
    assert plan("not (title pr)").excluded == ()


def test_last_modified_is_a_term_the_store_expands():
    p = plan('meta.lastModified gt "2026-11-20T10:00:00Z"')
    assert p.branches == ((Term("modified", "gt", "2026-11-20T10:00:00Z"),),)


# -- Keycloak queries ---------------------------------------------------------------------------
def test_the_etude_is_asked_in_a_form_no_other_case_matches():
    assert etude_key("E1") == "4531" and etude_key("e1") == "6531"


def test_an_attribute_equality_is_one_exact_query_with_the_etude():
    [c] = compiled(f'{ETUDE_USER}:profile eq "comptable"')
    assert c.exact and c.query.params() == {"q": "scimEtude:4531 profile:comptable"}


def test_selective_lookups_are_asked_without_the_etude_and_checked_after():
    [c] = compiled('userName eq "Bob"')
    assert c.query.params() == {"username": "Bob", "exact": "true"} and not c.exact
    [c] = compiled('userName eq "Bob"', scope=None)
    assert c.exact
    [c] = compiled('externalId eq "Ext-1"', scope=None)
    assert c.query.params() == {"q": "externalId:Ext-1"} and not c.exact  # caseExact in SCIM


def test_an_etudes_externalid_is_asked_by_its_link_and_checked_after():
    [c] = compiled('externalId eq "Ext-1"')
    assert c.query.params() == {"idpAlias": LINK_PROVIDER, "idpUserId": "4531/Ext-1"}
    assert not c.exact  # the attribute stays the truth
    [c] = compiled('externalId eq "Ext-1" and userName sw "a"')
    assert c.query.params() == {"username": "a", "exact": "false", "idpAlias": LINK_PROVIDER,
                                "idpUserId": "4531/Ext-1"}
    assert external_link("E1", "x" * 250) == "4531/" + "x" * 250
    assert external_link("E1", "x" * 251) is None  # past Keycloak's column: asked by attribute
    [c] = compiled(f'externalId eq "{"x" * 251}"')
    assert c.query.params() == {"q": f"externalId:{'x' * 251}"}
    assert external_link(None, "Ext-1") is None and external_link("E1", None) is None


def test_an_email_is_asked_in_keycloaks_column_and_in_the_index_of_the_others():
    primary, others = compiled('emails.value eq "a@b.fr"', scope=None)
    assert primary.query.params() == {"email": "a@b.fr", "exact": "true"}
    assert others.query.params() == {"q": "emailIndex:a@b.fr"}
    assert primary.exact and others.exact


def test_substrings_ask_a_like_query_that_is_exact_only_for_co_without_wildcards():
    [c] = compiled('userName co "bob"', scope=None)
    assert c.query.params() == {"username": "bob", "exact": "false"} and c.exact
    [c] = compiled('userName sw "bob"', scope=None)
    assert not c.exact
    [c] = compiled('userName co "b_b"', scope=None)
    assert not c.exact  # `_` is a wildcard of Keycloak's LIKE
    [c] = compiled('userName co "bob"')  # the étude term becomes a substring match: it narrows
    assert c.query.params()["q"] == "scimEtude:4531" and not c.exact


def test_two_terms_on_one_field_keep_one_and_are_checked_after():
    [c] = compiled(f'{ETUDE_USER}:profile eq "a" and {ETUDE_USER}:profile eq "b"', scope=None)
    assert c.query.params() == {"q": "profile:a"} and not c.exact


def test_q_values_are_quoted_when_they_need_it():
    assert quote_q("plain") == "plain"
    assert quote_q('Bob "The": Builder') == '"Bob \\"The\\": Builder"'
    assert UserQuery(attributes=(("displayName", "Paul Durand"),)).params() == {
        "q": 'displayName:"Paul Durand"'}


def test_a_union_asks_every_branch():
    queries = [c.query.params() for c in compiled('userName eq "a" or userName eq "b"')]
    assert queries == [{"username": "a", "exact": "true"}, {"username": "b", "exact": "true"}]


def test_modified_since_is_covered_by_years_months_and_days():
    buckets = modified_buckets(datetime(2024, 12, 30, 8, tzinfo=UTC), TODAY)
    assert buckets == [("scimModifiedDay", "2024-12-30"), ("scimModifiedDay", "2024-12-31"),
                       ("scimModifiedYear", "2025"), ("scimModifiedYear", "2026")]
    assert modified_buckets(datetime(2026, 11, 26, 23, tzinfo=UTC), TODAY) == [
        ("scimModifiedDay", "2026-11-26"), ("scimModifiedDay", "2026-11-27")]
    assert modified_buckets(datetime(2026, 9, 20, tzinfo=UTC), TODAY) == [
        ("scimModifiedMonth", "2026-09"), ("scimModifiedMonth", "2026-10"),
        ("scimModifiedMonth", "2026-11")]  # whole months: a few more candidates, checked again
    assert modified_buckets(datetime(2026, 10, 28, tzinfo=UTC), TODAY) == [
        *[("scimModifiedDay", f"2026-10-{d}") for d in (28, 29, 30, 31)],
        ("scimModifiedMonth", "2026-11")]
    assert len(modified_buckets(datetime(1990, 1, 2, tzinfo=UTC), TODAY) or []) == 38
    assert modified_buckets(datetime(1900, 1, 2, tzinfo=UTC), TODAY) is None
    assert modified_attributes(datetime(2026, 1, 1, 0, 30, tzinfo=UTC)) == {
        "scimModifiedDay": "2026-01-01", "scimModifiedMonth": "2026-01",
        "scimModifiedYear": "2026"}
    assert modified_attributes(datetime(2026, 1, 1, 0, 30, tzinfo=UTC), "E1") == {
        "scimModifiedDay": "2026-01-01", "scimModifiedMonth": "2026-01",
        "scimModifiedYear": "2026", "scimEtudeDay": "4531/2026-01-01",
        "scimEtudeMonth": "4531/2026-01", "scimEtudeYear": "4531/2026"}


def test_modified_since_asks_one_query_per_bucket_and_checks_the_instant():
    queries = compiled('meta.lastModified gt "2026-11-26T23:00:00+01:00"')
    # One attribute term per bucket, carrying the étude: no second term beside it (H2).
    assert [c.query.params()["q"] for c in queries] == [
        "scimEtudeDay:4531/2026-11-26", "scimEtudeDay:4531/2026-11-27"]
    assert not any(c.exact for c in queries)
    # Across études (an administrator's token), the bare period.
    assert [c.query.params()["q"] for c in compile_branch(
        (Term("modified", "gt", "2026-11-27T08:00:00Z"),), None, TODAY) or []] == [
        "scimModifiedDay:2026-11-27"]
    # Beside another attribute term, still no étude term: the dated one carries it.
    both = compile_branch((Term("modified", "gt", "2026-11-27T08:00:00Z"),
                           Term("attr:profile", "eq", "comptable")), "E1", TODAY) or []
    assert [c.query.params()["q"] for c in both] == [
        "scimEtudeDay:4531/2026-11-27 profile:comptable"]
    # Too far back for the index: the étude is read and each user checked.
    assert compile_branch((Term("modified", "gt", "1900-01-01T00:00:00Z"),), "E1", TODAY) == [
        Compiled(UserQuery(attributes=(("scimEtude", "4531"),)), False)]
