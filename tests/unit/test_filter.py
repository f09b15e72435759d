"""Unit tests of connector.scim.filter: RFC 7644 §3.4.2.2 filters and the library's defects."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.sql import Transpiler

from connector.scim.errors import InvalidFilter
from connector.scim.filter import (
    And,
    AttrPath,
    Compare,
    Not,
    Or,
    Present,
    ValuePath,
    attribute_values,
    element_matches,
    matches,
    parse_filter,
    parse_path,
    resolve,
    split_conjuncts,
    validate,
)
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, USER

ENT_EMPLOYEE = f"{ENTERPRISE}:employeeNumber"
ETUDE_PROFILE = f"{ETUDE_USER}:profile"


def bare_parse(text: str) -> Any:
    """Parse with the bare library, as a client of it would."""
    return SCIMParser().parse(SCIMLexer().tokenize(text))


def cmp(attr: str, op: str, value: object, sub: str | None = None,
        urn: str | None = None) -> Compare:
    return Compare(AttrPath(urn, attr, sub), op, value)


@pytest.fixture
def user() -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE, ETUDE_USER],
        "id": "2819c223",
        "externalId": "AbC-1",
        "userName": "BJensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Barbara Jensen",
        "active": True,
        "title": "",
        "Emails": [  # key case differs on purpose: keys resolve case-insensitively
            {"value": "bjensen@etude.fr", "type": "work", "primary": True},
            {"value": "babs@home.example", "type": "home"},
        ],
        "meta": {"lastModified": "2024-05-13T04:42:34Z"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1"}},
        ETUDE_USER.upper(): {"profile": "comptable", "platforms": ["mars", "v3"],
                             "titulaire": False, "kbisDate": "2024-03-01"},
    }


# --------------------------------------------------------------------------- library defects


class TestLibraryDefects:
    """Each known defect of scim2-filter-parser 0.7.0, next to the proof that we fix it."""

    def test_bare_library_gives_and_or_the_same_precedence(self) -> None:
        tree = bare_parse("a eq 1 or b eq 2 and c eq 3")
        assert tree.expr.op == "and"  # parsed as (a or b) and c: wrong per §3.4.2.2

    def test_and_binds_tighter_than_or(self) -> None:
        assert parse_filter("a eq 1 or b eq 2 and c eq 3") == Or(
            cmp("a", "eq", 1), And(cmp("b", "eq", 2), cmp("c", "eq", 3)))

    def test_and_binds_tighter_than_or_on_the_left_too(self) -> None:
        assert parse_filter("a eq 1 and b eq 2 or c eq 3") == Or(
            And(cmp("a", "eq", 1), cmp("b", "eq", 2)), cmp("c", "eq", 3))

    @pytest.mark.parametrize("text", ["a eq 12", "a eq -1", "a eq 1.5"])
    def test_bare_library_fails_on_numbers_beyond_one_digit(self, text: str) -> None:
        with pytest.raises((SCIMParserError, ValueError)):
            bare_parse(text)

    @pytest.mark.parametrize(("text", "value"), [
        ("a eq 12", 12), ("a eq 701984", 701984), ("a eq -1", -1), ("a eq 1.5", 1.5),
        ("a eq -0.25", -0.25), ("a eq 1e3", 1000.0), ("a eq 0", 0),
    ])
    def test_numbers_parse(self, text: str, value: object) -> None:
        node = parse_filter(text)
        assert isinstance(node, Compare) and node.value == value
        assert type(node.value) is type(value)

    def test_bare_library_fails_on_escaped_quotes(self) -> None:
        with pytest.raises((SCIMParserError, ValueError)):
            bare_parse(r'a eq "x\"y"')

    @pytest.mark.parametrize(("text", "value"), [
        (r'a eq "x\"y"', 'x"y'), (r'a eq "back\\slash"', "back\\slash"),
        (r'a eq "\u00e9tude"', "étude"), ('a eq ""', ""), (r'a eq "\"" and b pr', '"'),
    ])
    def test_escaped_strings_parse(self, text: str, value: str) -> None:
        node = parse_filter(text)
        first = node.left if isinstance(node, And) else node
        assert isinstance(first, Compare) and first.value == value

    def test_bare_transpiler_silently_drops_unknown_attributes(self) -> None:
        attr_map = {("userName", None, None): "username"}
        sql, params = Transpiler(attr_map).transpile(bare_parse('userName eq "x" and typo eq "y"'))
        assert "typo" not in sql and "y" not in params.values()  # the condition vanished
        sql, _ = Transpiler(attr_map).transpile(bare_parse('typo eq "y"'))
        assert sql is None  # a match-all

    def test_unknown_attribute_raises_naming_it(self, user: dict[str, Any]) -> None:
        node = parse_filter('userName eq "BJensen" and typo eq "y"')
        with pytest.raises(InvalidFilter, match="typo"):
            matches(node, user)
        with pytest.raises(InvalidFilter, match="typo"):
            parse_filter('userName eq "x" and typo eq "y"', "User")

    def test_bare_lexer_splits_names_starting_with_a_literal(self) -> None:
        types = [t.type for t in SCIMLexer().tokenize("nullable pr")]
        assert types[:2] == ["NULL", "ATTRNAME"]
        assert parse_filter("nullable pr") == Present(AttrPath(None, "nullable", None))
        assert parse_filter("trueish eq false") == cmp("trueish", "eq", False)


# --------------------------------------------------------------------------- parsing


class TestParse:
    @pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
    def test_every_compare_operator(self, op: str) -> None:
        assert parse_filter(f'title {op} "x"') == cmp("title", op, "x")

    def test_present(self) -> None:
        assert parse_filter("title pr") == Present(AttrPath(None, "title", None))

    def test_operators_and_names_are_case_insensitive(self) -> None:
        assert parse_filter('userName EQ "x"') == cmp("username", "eq", "x")
        assert parse_filter('USERNAME Eq "x" AND title PR') == And(
            cmp("username", "eq", "x"), Present(AttrPath(None, "title", None)))
        assert parse_filter('a eq 1 Or b eq 2') == Or(cmp("a", "eq", 1), cmp("b", "eq", 2))

    def test_literals(self) -> None:
        assert parse_filter("active eq true") == cmp("active", "eq", True)
        assert parse_filter("active eq false") == cmp("active", "eq", False)
        assert parse_filter("title eq null") == cmp("title", "eq", None)
        assert parse_filter("active eq True") == cmp("active", "eq", True)

    def test_parentheses_override_precedence(self) -> None:
        assert parse_filter("(a eq 1 or b eq 2) and c eq 3") == And(
            Or(cmp("a", "eq", 1), cmp("b", "eq", 2)), cmp("c", "eq", 3))

    def test_not(self) -> None:
        assert parse_filter("not (a eq 1)") == Not(cmp("a", "eq", 1))
        assert parse_filter("not (a eq 1) and b eq 2") == And(
            Not(cmp("a", "eq", 1)), cmp("b", "eq", 2))
        assert parse_filter("not (a eq 1 or b eq 2)") == Not(
            Or(cmp("a", "eq", 1), cmp("b", "eq", 2)))

    def test_sub_attribute(self) -> None:
        node = parse_filter('name.givenName sw "Bar"')
        assert node == cmp("name", "sw", "Bar", sub="givenname")
        assert isinstance(node, Compare) and node.path.dotted == "name.givenname"

    def test_urn_qualified_names(self) -> None:
        node = parse_filter(f'{ENT_EMPLOYEE} eq "701984"')
        assert node == cmp("employeenumber", "eq", "701984", urn=ENTERPRISE)
        assert isinstance(node, Compare)
        assert node.path.full == f"{ENTERPRISE}:employeenumber"
        assert parse_filter(f'{ETUDE_PROFILE} eq "comptable"') == cmp(
            "profile", "eq", "comptable", urn=ETUDE_USER)
        assert parse_filter(f'{USER}:name.givenName pr') == Present(
            AttrPath(USER, "name", "givenname"))

    def test_value_path_with_and_inside(self) -> None:
        assert parse_filter('emails[type eq "work" and value co "@etude"]') == ValuePath(
            AttrPath(None, "emails", None),
            And(cmp("type", "eq", "work"), cmp("value", "co", "@etude")))

    def test_value_path_with_or_and_not_inside_and_logic_around(self) -> None:
        node = parse_filter('userType eq "E" and emails[type eq "work" or not (value pr)]')
        assert node == And(cmp("usertype", "eq", "E"), ValuePath(
            AttrPath(None, "emails", None),
            Or(cmp("type", "eq", "work"), Not(Present(AttrPath(None, "value", None))))))

    @pytest.mark.parametrize("text", [
        "", "   ", "userName", "userName eq", 'userName eq "x', 'userName regex "x"',
        'userName eq "x" and', '(userName eq "x"', 'userName eq "x")', "eq eq 1",
        'emails[type eq "work"', 'emails[type eq "w"].value', "a eq 1b",
        'userName eq "x" & title pr', 'emails[x[y eq 1]]', "a eq bogus", "() ",
        'userName eq "x" title pr', "not", 'a eq \"bad \\q escape\"',
    ])
    def test_garbage_raises_invalid_filter(self, text: str) -> None:
        with pytest.raises(InvalidFilter) as info:
            parse_filter(text)
        assert info.value.detail and info.value.detail_fr
        assert info.value.to_body()["scimType"] == "invalidFilter"

    def test_error_says_where_in_both_languages(self) -> None:
        with pytest.raises(InvalidFilter) as info:
            parse_filter('userName zz "x"')
        assert "position 9" in info.value.detail and "'zz'" in info.value.detail
        assert "position 9" in info.value.detail_fr and "« zz »" in info.value.detail_fr


class TestParsePath:
    def test_attribute_and_sub(self) -> None:
        assert parse_path("active") == AttrPath(None, "active", None)
        assert parse_path("name.givenName") == AttrPath(None, "name", "givenname")
        assert parse_path(ENT_EMPLOYEE) == AttrPath(ENTERPRISE, "employeenumber", None)
        assert parse_path(f"{ENTERPRISE}:manager.value") == AttrPath(
            ENTERPRISE, "manager", "value")

    def test_value_path_with_sub(self) -> None:
        assert parse_path('emails[type eq "work"].value') == ValuePath(
            AttrPath(None, "emails", None), cmp("type", "eq", "work"), "value")
        assert parse_path('members[value eq "x"]') == ValuePath(
            AttrPath(None, "members", None), cmp("value", "eq", "x"), None)

    @pytest.mark.parametrize("text", ["", "emails[", 'emails[type eq "w"]value', "a b",
                                      'name.givenName[type eq "w"]', "emails.value.x"])
    def test_bad_paths(self, text: str) -> None:
        with pytest.raises(InvalidFilter):
            parse_path(text)

    def test_validates_with_resource_type(self) -> None:
        with pytest.raises(InvalidFilter, match="emails.nope"):
            parse_path('emails[nope eq "x"]', "User")
        with pytest.raises(InvalidFilter, match="emails.nope"):
            parse_path('emails[type eq "work"].nope', "User")


# --------------------------------------------------------------------------- evaluation


def check(text: str, resource: dict[str, Any], resource_type: str = "User") -> bool:
    return matches(parse_filter(text, resource_type), resource, resource_type)


class TestMatches:
    @pytest.mark.parametrize(("text", "expected"), [
        ('userName eq "bjensen"', True),  # caseExact false: case-insensitive
        ('userName eq "BJENSEN"', True),
        ('userName ne "bjensen"', False),
        ('userName co "jens"', True),
        ('userName sw "bj"', True),
        ('userName ew "SEN"', True),
        ('userName ew "bj"', False),
        ('userName gt "a"', True),
        ('userName lt "a"', False),
        ('userName ge "bjensen"', True),
        ('userName le "bjensen"', True),
        ('userName gt "bjensen"', False),
        ('externalId eq "AbC-1"', True),  # caseExact true
        ('externalId eq "abc-1"', False),
        ('externalId sw "abc"', False),
        ('id eq "2819C223"', False),
    ])
    def test_string_operators_and_case_exact(self, user: dict[str, Any], text: str,
                                             expected: bool) -> None:
        assert check(text, user) is expected

    @pytest.mark.parametrize(("text", "expected"), [
        ('meta.lastModified gt "2024-01-01T00:00:00Z"', True),
        ('meta.lastModified lt "2024-01-01T00:00:00Z"', False),
        ('kbisDate ge "2024-03-01"', True),
        ('kbisDate lt "2024-03-01"', False),
    ])
    def test_date_time_compare_as_iso_strings(self, user: dict[str, Any], text: str,
                                              expected: bool) -> None:
        assert check(text, user) is expected

    @pytest.mark.parametrize(("text", "expected"), [
        ("active eq true", True), ("active eq false", False), ("active ne false", True),
        ('active eq "true"', False),  # a boolean compared with a string: just false
        ("titulaire eq false", True), ("userName eq 1", False), ('userName eq true', False),
    ])
    def test_booleans_and_mismatched_types(self, user: dict[str, Any], text: str,
                                           expected: bool) -> None:
        assert check(text, user) is expected

    @pytest.mark.parametrize(("text", "expected"), [
        ("title pr", False),  # ""
        ("nickName pr", False),  # missing
        ("name pr", True),
        ("emails pr", True),
        ("phoneNumbers pr", False),
        ("title eq null", True),
        ("userName eq null", False),
        ("userName ne null", True),
        ('nickName ne "x"', True),  # ne on a missing attribute is true
        ('nickName eq "x"', False),
    ])
    def test_presence_null_and_missing(self, user: dict[str, Any], text: str,
                                       expected: bool) -> None:
        assert check(text, user) is expected

    def test_pr_is_false_for_empty_containers(self) -> None:
        assert not check("emails pr", {"emails": []})
        assert not check("name pr", {"name": {}})
        assert not check("name pr", {"name": {"givenName": None}})
        assert check("active pr", {"active": False})

    @pytest.mark.parametrize(("text", "expected"), [
        ('emails.value eq "babs@home.example"', True),  # any value of a multi-valued
        ('emails.value eq "nobody@x"', False),
        ('emails co "etude.fr"', True),  # complex multi-valued compares its value
        ('emails.type eq "home"', True),
        ('emails[type eq "work" and value co "@etude"]', True),
        ('emails[type eq "home" and value co "@etude"]', False),  # same value for both
        ('emails[type eq "home" or value co "@nowhere"]', True),
        ('emails[not (type eq "work")]', True),
        ('emails[primary eq true and type eq "work"]', True),
        ('platforms eq "v3"', True),
        ('platforms[value eq "mars"]', True),
        ('platforms[value eq "other"]', False),
    ])
    def test_multi_valued_and_value_paths(self, user: dict[str, Any], text: str,
                                          expected: bool) -> None:
        assert check(text, user) is expected

    @pytest.mark.parametrize(("text", "expected"), [
        (f'{ENT_EMPLOYEE} eq "701984"', True),
        (f'{ENTERPRISE.upper()}:EMPLOYEENUMBER eq "701984"', True),
        ('employeeNumber eq "701984"', True),  # defined by one extension only
        (f'{ETUDE_PROFILE} eq "COMPTABLE"', True),
        ('profile eq "accueil"', False),
        (f'{ENTERPRISE}:manager.value eq "m-1"', True),
        (f'{USER}:userName eq "bjensen"', True),
        (f'schemas eq "{ENTERPRISE}"', True),
    ])
    def test_urn_paths_and_extensions(self, user: dict[str, Any], text: str,
                                      expected: bool) -> None:
        assert check(text, user) is expected

    def test_logic(self, user: dict[str, Any]) -> None:
        assert check('userName eq "x" or active eq true and title pr', user) is False
        assert check('(userName eq "x" or active eq true) and not (title pr)', user) is True
        assert check('userName eq "x" or active eq true and not (title pr)', user) is True

    def test_unknown_attribute_even_behind_a_short_circuit(self, user: dict[str, Any]) -> None:
        node = parse_filter('userName eq "bjensen" or typo eq "x"')
        with pytest.raises(InvalidFilter, match="'typo'"):
            matches(node, user)

    @pytest.mark.parametrize(("text", "name"), [
        ('emails[typo eq "x"]', "emails.typo"),
        ('name.nope eq "x"', "name.nope"),
        (f'{ENTERPRISE}:profile eq "x"', f"{ENTERPRISE}:profile"),
        ('urn:example:other:2.0:User:title eq "x"', "urn:example:other:2.0:User:title"),
        ('members pr', "members"),  # a Group attribute on Users
    ])
    def test_unknown_attributes_raise(self, user: dict[str, Any], text: str, name: str) -> None:
        with pytest.raises(InvalidFilter) as info:
            matches(parse_filter(text), user)
        assert name in info.value.detail and name in info.value.detail_fr

    @pytest.mark.parametrize("text", ["active gt true", 'name eq "x"', "title co null"])
    def test_comparisons_the_type_forbids(self, text: str) -> None:
        with pytest.raises(InvalidFilter):
            validate(parse_filter(text), "User")

    def test_group_resource_type(self) -> None:
        group = {"displayName": "Équipe A", "members": [{"value": "u1"}, {"value": "u2"}]}
        assert check('members[value eq "u2"]', group, "Group")
        assert check('members.value eq "u1" and displayName sw "équipe"', group, "Group")
        assert not check('members.value eq "u3"', group, "Group")
        with pytest.raises(InvalidFilter, match="(?i)username"):
            check('userName eq "x"', group, "Group")


def test_logic_short_circuits_consistently(user: dict[str, Any]) -> None:
    assert check('userName eq "bjensen" or title pr', user)
    assert not check('userName eq "other" and title pr', user)


# --------------------------------------------------------------------------- helpers


class TestSplitConjuncts:
    @staticmethod
    def eq_only(term: Compare) -> bool:
        return term.op == "eq"

    def test_all_pushed(self) -> None:
        node = parse_filter('userName eq "a" and externalId eq "b"')
        assert split_conjuncts(node, self.eq_only) == (
            [cmp("username", "eq", "a"), cmp("externalid", "eq", "b")], None)

    def test_residual_keeps_the_rest(self) -> None:
        node = parse_filter('userName eq "a" and title co "x" and (a eq 1 or b eq 2) '
                            'and active eq true')
        pushed, residual = split_conjuncts(node, self.eq_only)
        assert pushed == [cmp("username", "eq", "a"), cmp("active", "eq", True)]
        assert residual == And(cmp("title", "co", "x"),
                               Or(cmp("a", "eq", 1), cmp("b", "eq", 2)))

    def test_or_at_the_top_is_not_split(self) -> None:
        node = parse_filter('userName eq "a" or externalId eq "b"')
        assert split_conjuncts(node, self.eq_only) == ([], node)

    def test_nothing_pushable(self) -> None:
        node = parse_filter('emails[type eq "work"] and title pr')
        assert split_conjuncts(node, self.eq_only) == ([], node)

    def test_residual_with_matches_equals_whole(self, user: dict[str, Any]) -> None:
        node = parse_filter('userName eq "bjensen" and emails.type eq "home" and title ne "x"')
        pushed, residual = split_conjuncts(node, lambda t: t.path.dotted == "username")
        assert pushed == [cmp("username", "eq", "bjensen")]
        assert residual is not None and matches(residual, user)


class TestAttributeValues:
    def test_simple_and_sub(self, user: dict[str, Any]) -> None:
        assert attribute_values(user, AttrPath(None, "username")) == ["BJensen"]
        assert attribute_values(user, AttrPath(None, "name", "givenname")) == ["Barbara"]
        assert attribute_values(user, AttrPath(None, "nickname")) == []

    def test_multi_valued_primary_first(self, user: dict[str, Any]) -> None:
        user["Emails"].reverse()
        assert attribute_values(user, AttrPath(None, "emails", "value")) == [
            "bjensen@etude.fr", "babs@home.example"]
        assert attribute_values(user, AttrPath(None, "emails")) == [
            "bjensen@etude.fr", "babs@home.example"]

    def test_extension(self, user: dict[str, Any]) -> None:
        assert attribute_values(user, AttrPath(None, "platforms")) == ["mars", "v3"]
        assert attribute_values(user, AttrPath(ENTERPRISE, "employeenumber")) == ["701984"]

    def test_unknown(self, user: dict[str, Any]) -> None:
        with pytest.raises(InvalidFilter, match="typo"):
            attribute_values(user, AttrPath(None, "typo"))


class TestResolve:
    def test_core_extension_and_unknown(self) -> None:
        found = resolve(AttrPath(None, "profile"))
        assert found is not None and found.schema == ETUDE_USER and found.extension
        found = resolve(AttrPath(None, "emails", "value"))
        assert found is not None and found.attr["name"] == "emails" and found.sub is not None
        assert resolve(AttrPath(USER, "profile")) is None  # the core URN is not lenient
        assert resolve(AttrPath(None, "typo")) is None
        assert resolve(AttrPath(None, "emails", "typo")) is None

    def test_element_matches(self) -> None:
        node = parse_filter('type eq "WORK"')
        assert element_matches(node, {"type": "work"}, AttrPath(None, "emails"))
        assert not element_matches(node, {"type": "home"}, AttrPath(None, "emails"))
