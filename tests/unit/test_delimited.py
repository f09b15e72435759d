"""Multi-valued strings Entra ID sends as one string (it cannot send a list)."""

from __future__ import annotations

import pytest

from connector.scim.delimited import split_values
from connector.scim.errors import InvalidValue
from connector.scim.payload import parse_resource
from connector.scim.schema_defs import ETUDE_GROUP, ETUDE_USER, GROUP


@pytest.mark.parametrize(("sent", "read"), [
    ("mars", ["mars"]),
    ("mars,v3", ["mars", "v3"]),
    (" mars , v3 ,", ["mars", "v3"]),
    (["mars,v3"], ["mars", "v3"]),
    (["mars", "v3"], ["mars", "v3"]),
    ("", []),
    ([], []),
])
def test_one_string_is_read_as_its_comma_separated_values(sent, read):
    out = parse_resource({"userName": "a", ETUDE_USER: {"platforms": sent}}, "User")
    assert out[ETUDE_USER]["platforms"] == read


def test_team_delegation_takes_one_string_too():
    out = parse_resource({"displayName": "T", ETUDE_GROUP: {"platforms": "v3",
                          "delegatedPermissions": "collect_payments,send_reminders"}}, "Group")
    assert out["schemas"] == [GROUP, ETUDE_GROUP]
    assert out[ETUDE_GROUP] == {"platforms": ["v3"],
                                "delegatedPermissions": ["collect_payments", "send_reminders"]}


def test_other_shapes_are_still_refused():
    for bad in (3, {"value": "mars"}, [{"value": "mars"}], [True]):
        with pytest.raises(InvalidValue):
            parse_resource({"userName": "a", ETUDE_USER: {"platforms": bad}}, "User")


def test_complex_and_single_values_are_untouched():
    assert split_values(None) is None
    assert split_values({"a": 1}) == {"a": 1}
    out = parse_resource({"userName": "a", "title": "Clerc, principal"}, "User")
    assert out["title"] == "Clerc, principal"
