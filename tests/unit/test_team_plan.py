"""The pure parts of teams — PATCH member deltas, filters, projection, translation."""

from __future__ import annotations

import pytest

from connector.keycloak.teams import (
    eligible_platforms,
    team_attributes,
    team_from_keycloak,
    team_parts,
)
from connector.scim.errors import InvalidValue
from connector.scim.filter import parse_filter
from connector.service.team_checks import TeamChecks
from connector.service.team_plan import (
    member_ids,
    mentions_members,
    narrowing,
    needs_members,
    plan_patch,
)

P = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EG = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"


def body(*ops: dict) -> dict:
    return {"schemas": [P], "Operations": list(ops)}


def test_entra_add_and_remove_with_value_lists_are_deltas():
    plan = plan_patch(body({"op": "Add", "path": "members", "value": [{"value": "a"},
                                                                      {"value": "b"}]},
                           {"op": "Remove", "path": "members", "value": [{"value": "a"}]}))
    assert not plan.needs_all and plan.add == ["b"] and plan.remove == ["a"] and not plan.rest


def test_okta_remove_by_filter_and_or_of_values_are_deltas():
    plan = plan_patch(body({"op": "remove", "path": 'members[value eq "x"]'},
                           {"op": "remove", "path": 'members[value eq "y" or value eq "z"]'}))
    assert not plan.needs_all and sorted(plan.remove) == ["x", "y", "z"]


def test_okta_pathless_rename_goes_to_the_engine():
    op = {"op": "replace", "value": {"id": "t", "displayName": "New"}}
    plan = plan_patch(body(op))
    assert plan.rest == [op] and not plan.last and not plan.needs_all


def test_pathless_add_with_members_splits_members_from_the_rest():
    plan = plan_patch(body({"op": "add", "value": {"members": [{"value": "m"}],
                                                   "externalId": "e"}}))
    assert plan.add == ["m"] and plan.rest == [{"op": "add", "value": {"externalId": "e"}}]


def test_last_operation_on_a_member_wins():
    plan = plan_patch(body({"op": "add", "path": "members", "value": [{"value": "a"}]},
                           {"op": "remove", "path": 'members[value eq "a"]'},
                           {"op": "add", "path": "members", "value": [{"value": "a"}]}))
    assert plan.add == ["a"] and plan.remove == []


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "members", "value": [{"value": "a"}]},
    {"op": "remove", "path": "members"},
    {"op": "replace", "value": {"members": [{"value": "a"}]}},
    {"op": "remove", "path": 'members[display eq "x"]'},
    {"op": "replace", "path": 'members[value eq "x"].display', "value": "y"},
])
def test_whole_list_operations_need_every_member(op):
    assert plan_patch(body(op)).needs_all


def test_member_ids_refuse_nested_groups_and_missing_values():
    assert member_ids([{"value": "a", "type": "User"}, {"value": "a"}, {"Value": "b"}]) == [
        "a", "b"]
    with pytest.raises(InvalidValue):
        member_ids([{"value": "g", "type": "Group"}])
    with pytest.raises(InvalidValue):
        member_ids([{"display": "no value"}])
    with pytest.raises(InvalidValue):
        member_ids("a")


def test_needs_members_follows_attributes_and_excluded_attributes():
    assert needs_members((), ())
    assert not needs_members((), ("members",))
    assert not needs_members((), ("urn:ietf:params:scim:schemas:core:2.0:Group:members",))
    assert not needs_members(("displayName",), ())
    assert needs_members(("members.value",), ())
    assert needs_members((), ("displayName",))


def test_filters_narrow_candidates_and_know_when_they_read_members():
    node = parse_filter(f'displayName eq "A" and {EG}:etude eq "E1" and externalId eq "x"',
                        "Group")
    assert narrowing(node) == {"name": "A", "etude": "E1", "externalId": "x"}
    assert not mentions_members(node)
    assert mentions_members(parse_filter('members.value eq "u"', "Group"))
    assert mentions_members(parse_filter('displayName eq "A" or members[value eq "u"]',
                                         "Group"))
    assert narrowing(parse_filter('displayName eq "A" or externalId eq "x"', "Group")) == {}


def test_team_paths_and_translation():
    assert team_parts("/etudes/E1/Recouvrement") == ("E1", "Recouvrement")
    assert team_parts("/etudes/E1") is None and team_parts("/etudes/E1/T/mars") is None
    assert team_parts("/mars/comptable") is None
    attrs = team_attributes("x", ["send_reminders", "send_reminders"], ["mars"], "c", "m")
    group = {"id": "t", "name": "Recouvrement", "path": "/etudes/E1/Recouvrement",
             "attributes": attrs}
    out = team_from_keycloak(group, [{"id": "u", "username": "anne", "firstName": "Anne",
                                      "lastName": "Martin"}], "https://x/scim/v2")
    assert out["members"] == [{"value": "u", "type": "User",
                               "$ref": "https://x/scim/v2/Users/u"}]
    assert out[EG] == {"etude": "E1", "delegatedPermissions": ["send_reminders"],
                       "platforms": ["mars"]}
    assert out["externalId"] == "x" and out["meta"]["location"].endswith("/Groups/t")
    # The version ignores members (their changes move lastModified instead).
    assert team_from_keycloak(group, None)["meta"]["version"] == out["meta"]["version"]
    moved = {**group, "attributes": {**attrs, "scimLastModified": ["m2"]}}
    assert team_from_keycloak(moved, None)["meta"]["version"] != out["meta"]["version"]


def test_only_granted_enabled_members_get_a_platform_delegation():
    granted = {"enabled": True, "attributes": {"accessStatus": ["granted"],
                                               "platforms": ["mars", "v3"]}}
    assert eligible_platforms(granted, ["mars"]) == ["mars"]
    assert eligible_platforms({**granted, "enabled": False}, ["mars"]) == []
    pending = {"enabled": True, "attributes": {"accessStatus": ["pending"],
                                               "platforms": ["mars"]}}
    assert eligible_platforms(pending, ["mars"]) == []


def test_members_found_names_every_user_missing_or_of_another_etude():
    """A team takes only its étude's users: absent and foreign ones are named in one 400."""
    mine = {"attributes": {"etude": ["E1"]}}
    TeamChecks.members_found(["a"], [mine], "E1")  # nothing to say
    with pytest.raises(InvalidValue) as refused:
        TeamChecks.members_found(["a", "b", "c"],
                                 [mine, None, {"attributes": {"etude": ["E2"]}}], "E1")
    assert "b, c" in refused.value.detail and "a," not in refused.value.detail
