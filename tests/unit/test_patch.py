"""Unit tests of connector.scim.patch: RFC 7644 §3.5.2 with Entra ID and Okta bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connector.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from connector.scim.patch import apply_patch
from connector.scim.schema_defs import ENTERPRISE, ETUDE_USER, GROUP, PATCH_OP, USER

EMPLOYEE_NUMBER = f"{ENTERPRISE}:employeeNumber"


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def user() -> dict[str, Any]:
    return {
        "schemas": [USER],
        "id": "2819c223",
        "userName": "bjensen@etude.fr",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "title": "Clerc",
        "active": True,
        "emails": [{"value": "bjensen@etude.fr", "type": "work", "primary": True},
                   {"value": "babs@home.example", "type": "home"}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
    }


@pytest.fixture
def group() -> dict[str, Any]:
    return {"schemas": [GROUP], "id": "g1", "displayName": "Équipe A",
            "members": [{"value": "u1", "display": "One"}, {"value": "u2"}]}


def patched(resource: dict[str, Any], *ops: dict[str, Any], rt: str = "User") -> dict[str, Any]:
    before = copy.deepcopy(resource)
    result = apply_patch(resource, body(*ops), rt)
    assert resource == before, "the input must never be modified"
    return result


# --------------------------------------------------------------------------- envelope


class TestEnvelope:
    @pytest.mark.parametrize("bad", [
        [], "x", {"Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [USER], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": PATCH_OP, "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [PATCH_OP]}, {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
        {"schemas": [PATCH_OP], "Operations": ["add"]},
    ])
    def test_bad_envelopes(self, user: dict[str, Any], bad: Any) -> None:
        with pytest.raises(InvalidSyntax):
            apply_patch(user, bad)

    def test_keys_in_any_case(self, user: dict[str, Any]) -> None:
        result = apply_patch(user, {"Schemas": [PATCH_OP.upper()], "operations": [
            {"OP": "Replace", "Path": "title", "Value": "Notaire"}]})
        assert result["title"] == "Notaire"

    @pytest.mark.parametrize("op", ["add", "Add", "ADD", "replace", "Replace", "REPLACE"])
    def test_op_in_any_case(self, user: dict[str, Any], op: str) -> None:
        assert patched(user, {"op": op, "path": "title", "value": "Notaire"})["title"] \
            == "Notaire"

    @pytest.mark.parametrize("op", ["move", "copy", "", None, "test"])
    def test_unknown_op(self, user: dict[str, Any], op: Any) -> None:
        with pytest.raises(InvalidSyntax) as info:
            apply_patch(user, body({"op": op, "path": "title", "value": "x"}))
        assert info.value.to_body()["scimType"] == "invalidSyntax"

    def test_add_without_value(self, user: dict[str, Any]) -> None:
        with pytest.raises(InvalidSyntax, match="needs a value"):
            apply_patch(user, body({"op": "add", "path": "title"}))

    def test_pathless_value_must_be_an_object(self, user: dict[str, Any]) -> None:
        with pytest.raises(InvalidSyntax):
            apply_patch(user, body({"op": "replace", "value": "x"}))


# --------------------------------------------------------------------------- Microsoft Entra ID


class TestEntraId:
    def test_disable_with_string_boolean(self, user: dict[str, Any]) -> None:
        result = apply_patch(user, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
        assert result["active"] is False

    @pytest.mark.parametrize(("text", "expected"), [("True", True), ("true", True),
                                                    ("FALSE", False), ("false", False)])
    def test_string_booleans_everywhere(self, user: dict[str, Any], text: str,
                                        expected: bool) -> None:
        result = patched(user, {"op": "Replace", "value": {"active": text}},
                         {"op": "Add", "path": f"{ETUDE_USER}:titulaire", "value": text},
                         {"op": "Add", "path": "emails", "value": [
                             {"value": "new@etude.fr", "type": "other", "primary": text}]})
        assert result["active"] is expected
        assert result[ETUDE_USER]["titulaire"] is expected
        assert result["emails"][-1]["primary"] is expected

    def test_replace_work_email(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "Replace", "path": 'emails[type eq "work"].value',
                                "value": "barbara@etude.fr"})
        assert result["emails"][0] == {"value": "barbara@etude.fr", "type": "work",
                                       "primary": True}
        assert len(result["emails"]) == 2

    def test_add_with_filtered_path_creates_the_entry(self, user: dict[str, Any]) -> None:
        # Body seen from Entra ID: "Add" where a replace was meant, on a missing entry.
        result = patched(user, {"op": "Replace", "path": "title", "value": "tester"},
                         {"op": "Add", "path": 'emails[type eq "other"].value',
                          "value": "joe@joe.com"})
        assert result["title"] == "tester"
        assert result["emails"][-1] == {"type": "other", "value": "joe@joe.com"}

    def test_replace_with_filtered_path_creates_the_entry(self) -> None:
        result = patched({"userName": "x"},
                         {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value',
                          "value": "+33 6 00 00 00 00"})
        assert result["phoneNumbers"] == [{"type": "mobile", "value": "+33 6 00 00 00 00"}]

    def test_filtered_primary_moves_the_primary_flag(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "Replace", "path": 'emails[type eq "home"].primary',
                                "value": "True"})
        assert [e.get("primary") for e in result["emails"]] == [False, True]

    def test_pathless_add_with_urn_qualified_keys(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "Add", "value": {
            EMPLOYEE_NUMBER: "701984", "name.familyName": "Jensen-Smith",
            f"{ETUDE_USER}:profile": "comptable", "nickName": "Babs"}})
        assert result[ENTERPRISE] == {"employeeNumber": "701984"}
        assert result[ETUDE_USER] == {"profile": "comptable"}
        assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen-Smith"}
        assert result["nickName"] == "Babs"
        assert result["schemas"] == [USER, ENTERPRISE, ETUDE_USER]

    def test_manager_as_a_bare_id(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "Add", "path": f"{ENTERPRISE}:manager",
                                "value": "26118915-6090-4610-87a4-49d0ca1a5b0a"})
        assert result[ENTERPRISE]["manager"] == {"value": "26118915-6090-4610-87a4-49d0ca1a5b0a"}

    def test_add_members(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "Add", "path": "members",
                                 "value": [{"$ref": None, "value": "u3"}]}, rt="Group")
        assert result["members"][-1] == {"value": "u3"}
        assert len(result["members"]) == 3

    def test_remove_members_with_a_value_list(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "Remove", "path": "members",
                                 "value": [{"$ref": None, "value": "u1"}]}, rt="Group")
        assert result["members"] == [{"value": "u2"}]

    def test_remove_last_members_unassigns(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "Remove", "path": "members",
                                 "value": [{"value": "u1"}, {"value": "u2"}]}, rt="Group")
        assert "members" not in result

    def test_remove_unknown_member_is_a_no_op(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "Remove", "path": "members",
                                 "value": [{"value": "nobody"}]}, rt="Group")
        assert result == group


# --------------------------------------------------------------------------- Okta


class TestOkta:
    def test_deactivate_without_path(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "replace", "value": {"active": False}})
        assert result["active"] is False

    def test_several_operations(self, user: dict[str, Any]) -> None:
        result = patched(user,
                         {"op": "replace", "value": {"name": {"givenName": "Babs"},
                                                     "title": "Notaire"}},
                         {"op": "replace", "path": "active", "value": True},
                         {"op": "add", "path": f"{ETUDE_USER}:platforms", "value": ["mars"]})
        assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}  # merged
        assert result["title"] == "Notaire"
        assert result[ETUDE_USER]["platforms"] == ["mars"]

    def test_group_push(self, group: dict[str, Any]) -> None:
        result = patched(group,
                         {"op": "replace", "value": {"id": "g1", "displayName": "Équipe B"}},
                         {"op": "remove", "path": 'members[value eq "u2"]'},
                         {"op": "add", "path": "members",
                          "value": [{"value": "u9", "display": "Nine"}]}, rt="Group")
        assert result["displayName"] == "Équipe B"
        assert result["members"] == [{"value": "u1", "display": "One"}, {"value": "u9"}]


# --------------------------------------------------------------------------- RFC 7644 §3.5.2


class TestRfcExamples:
    def test_add_member_dedupes(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "add", "path": "members",
                                 "value": [{"value": "u2"}, {"value": "u3"}]}, rt="Group")
        assert [m["value"] for m in result["members"]] == ["u1", "u2", "u3"]

    def test_pathless_add_appends_emails_and_sets_nickname(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}})
        assert result["emails"][-1] == {"value": "babs@jensen.org", "type": "home"}
        assert len(result["emails"]) == 3
        assert result["nickName"] == "Babs"  # canonical name

    def test_add_identical_email_is_not_duplicated(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "add", "path": "emails",
                                "value": {"value": "BJensen@etude.fr", "type": "work"}})
        assert len(result["emails"]) == 2

    def test_add_primary_email_unsets_the_other(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "add", "path": "emails",
                                "value": [{"value": "n@etude.fr", "type": "other",
                                           "primary": True}]})
        assert [e.get("primary") for e in result["emails"]] == [False, None, True]

    def test_remove_all_members(self, group: dict[str, Any]) -> None:
        assert "members" not in patched(group, {"op": "remove", "path": "members"}, rt="Group")

    def test_remove_one_member(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "remove", "path": 'members[value eq "u1"]'}, rt="Group")
        assert result["members"] == [{"value": "u2"}]

    def test_remove_with_complex_filter(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "remove",
                                "path": 'emails[type eq "work" and value ew "etude.fr"]'})
        assert result["emails"] == [{"value": "babs@home.example", "type": "home"}]

    def test_remove_filtered_without_match_is_a_no_op(self, user: dict[str, Any]) -> None:
        assert patched(user, {"op": "remove", "path": 'emails[type eq "fax"]'}) == user

    def test_remove_sub_attribute_of_matches(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "remove", "path": 'emails[type eq "work"].primary'})
        assert result["emails"][0] == {"value": "bjensen@etude.fr", "type": "work"}

    def test_remove_sub_attribute(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "remove", "path": "name.givenName"})
        assert result["name"] == {"familyName": "Jensen"}

    def test_remove_missing_attribute_is_a_no_op(self, user: dict[str, Any]) -> None:
        assert patched(user, {"op": "remove", "path": "nickName"}) == user

    def test_replace_members(self, group: dict[str, Any]) -> None:
        result = patched(group, {"op": "replace", "path": "members",
                                 "value": [{"display": "Five", "value": "u5"}]}, rt="Group")
        assert result["members"] == [{"value": "u5"}]  # readOnly display is ignored

    def test_replace_filtered_entry(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "replace", "path": 'emails[type eq "home"]',
                                "value": {"value": "b@new.example", "type": "home"}})
        assert result["emails"][1] == {"value": "b@new.example", "type": "home"}

    def test_replace_sub_attribute(self, user: dict[str, Any]) -> None:
        assert patched(user, {"op": "replace", "path": "name.familyName",
                              "value": "Smith"})["name"]["familyName"] == "Smith"

    def test_pathless_replace(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "replace", "value": {
            "emails": [{"value": "only@etude.fr", "type": "work", "primary": True}],
            "nickName": "Babs", "schemas": ["ignored"]}})
        assert result["emails"] == [{"value": "only@etude.fr", "type": "work", "primary": True}]
        assert result["nickName"] == "Babs"
        assert result["schemas"] == [USER]

    def test_replace_with_null_unassigns(self, user: dict[str, Any]) -> None:
        assert "title" not in patched(user, {"op": "replace", "path": "title", "value": None})

    def test_urn_key_holding_an_extension_object(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "add", "value": {
            ENTERPRISE: {"employeeNumber": "1", "department": "Recouvrement"}}})
        assert result[ENTERPRISE] == {"employeeNumber": "1", "department": "Recouvrement"}
        assert ENTERPRISE in result["schemas"]

    def test_remove_last_extension_attribute_drops_the_extension(self,
                                                                  user: dict[str, Any]) -> None:
        user = patched(user, {"op": "add", "path": EMPLOYEE_NUMBER, "value": "1"})
        result = patched(user, {"op": "remove", "path": EMPLOYEE_NUMBER})
        assert ENTERPRISE not in result and result["schemas"] == [USER]

    def test_unqualified_extension_attribute_and_canonical_keys(self) -> None:
        result = patched({"userName": "x", "Name": {"givenname": "a"}},
                         {"op": "replace", "path": "PROFILE", "value": "accueil"},
                         {"op": "replace", "path": "name.GIVENNAME", "value": "Babs"})
        assert result[ETUDE_USER] == {"profile": "accueil"}
        assert result["name"] == {"givenName": "Babs"}
        assert result["schemas"] == [USER, ETUDE_USER]

    def test_extension_path_replaced_whole(self, user: dict[str, Any]) -> None:
        result = patched(user, {"op": "replace", "path": ETUDE_USER,
                                "value": {"profile": "huissier", "titulaire": "true"}})
        assert result[ETUDE_USER] == {"profile": "huissier", "titulaire": True}

    def test_readonly_value_echoed_unchanged_is_tolerated(self, user: dict[str, Any]) -> None:
        assert patched(user, {"op": "replace", "value": {"id": "2819c223"}}) == user


# --------------------------------------------------------------------------- errors


class TestErrors:
    def test_atomic_when_a_later_operation_fails(self, user: dict[str, Any]) -> None:
        before = copy.deepcopy(user)
        with pytest.raises(InvalidPath, match="Operation 2") as info:
            apply_patch(user, body({"op": "replace", "path": "title", "value": "Changed"},
                                   {"op": "replace", "path": "typo", "value": "x"}))
        assert user == before
        assert info.value.detail_fr.startswith("Opération 2")

    def test_remove_without_path(self, user: dict[str, Any]) -> None:
        with pytest.raises(NoTarget) as info:
            apply_patch(user, body({"op": "remove"}))
        assert info.value.to_body()["scimType"] == "noTarget"

    def test_unmatched_filter_that_cannot_describe_an_entry(self, user: dict[str, Any]) -> None:
        with pytest.raises(NoTarget):
            apply_patch(user, body({"op": "add", "value": "x",
                                    "path": 'emails[type eq "fax" or type eq "pager"].value'}))

    @pytest.mark.parametrize("path", ["typo", "name.typo", 'emails[typo eq "x"].value',
                                      'emails[type eq "work"].typo', "emails[", "a b",
                                      'title[value eq "x"]', f"{ENTERPRISE}:profile"])
    def test_invalid_paths_name_the_path(self, user: dict[str, Any], path: str) -> None:
        with pytest.raises(InvalidPath) as info:
            apply_patch(user, body({"op": "replace", "path": path, "value": "x"}))
        assert path in info.value.detail and path in info.value.detail_fr
        assert info.value.to_body()["scimType"] == "invalidPath"

    @pytest.mark.parametrize(("value", "name"), [
        ({"typo": "x"}, "typo"), ({"name.typo": "x"}, "name.typo"),
        ({f"{ENTERPRISE}:typo": "x"}, f"{ENTERPRISE}:typo"),
        ({ENTERPRISE: {"typo": "x"}}, "typo"), ({"name": {"typo": "x"}}, "name.typo"),
        ({"emails": [{"value": "a@b", "kind": "work"}]}, "emails.kind"),
    ])
    def test_unknown_keys_in_values_are_named(self, user: dict[str, Any], value: dict[str, Any],
                                              name: str) -> None:
        with pytest.raises(InvalidValue) as info:
            apply_patch(user, body({"op": "add", "value": value}))
        assert name in info.value.detail

    @pytest.mark.parametrize(("path", "value"), [
        ("active", "yes"), ("active", 1), ("title", {"a": 1}), ("name", "x"),
        ("emails", [["nested"]]), (f"{ETUDE_USER}:platforms", [{"value": "mars"}]),
    ])
    def test_wrong_value_types(self, user: dict[str, Any], path: str, value: Any) -> None:
        with pytest.raises(InvalidValue):
            apply_patch(user, body({"op": "replace", "path": path, "value": value}))

    @pytest.mark.parametrize(("op", "path"), [
        ("replace", "id"), ("add", "meta"), ("replace", "meta.created"), ("add", "groups"),
        ("remove", "groups"), ("replace", f"{ETUDE_USER}:accessStatus"),
        ("remove", "accessIssues"), ("replace", "schemas"),
    ])
    def test_read_only_attributes(self, user: dict[str, Any], op: str, path: str) -> None:
        with pytest.raises(Mutability) as info:
            apply_patch(user, body({"op": op, "path": path, "value": "x"}))
        assert path in info.value.detail
        assert info.value.to_body()["scimType"] == "mutability"

    def test_read_only_key_in_a_pathless_value(self, user: dict[str, Any]) -> None:
        with pytest.raises(Mutability, match="'id'"):
            apply_patch(user, body({"op": "replace", "value": {"id": "other"}}))

    def test_immutable_member_value(self, group: dict[str, Any]) -> None:
        with pytest.raises(Mutability, match="immutable"):
            apply_patch(group, body({"op": "replace", "path": 'members[value eq "u1"].value',
                                     "value": "u7"}), "Group")

    def test_every_error_is_a_scim_error_with_french(self, user: dict[str, Any]) -> None:
        for ops in ([{"op": "remove"}], [{"op": "replace", "path": "id", "value": "x"}],
                    [{"op": "replace", "path": "typo", "value": 1}],
                    [{"op": "add", "value": {"typo": 1}}], [{"op": "zap", "path": "title"}]):
            with pytest.raises(ScimError) as info:
                apply_patch(user, body(*ops))
            assert info.value.status == 400
            assert info.value.detail_fr != info.value.detail
