"""The write plan of a user (keycloak/user_plan.py): no prefix of the steps over-grants."""

from __future__ import annotations

import itertools

import pytest

from connector.keycloak.user_plan import Current, Step, Target, plan_user_write, undo

M_COMPTABLE, M_HUISSIER, V3_COMPTABLE = "/mars/comptable", "/mars/huissier", "/v3/comptable"
TEAM_MARS, INDEX, ETUDE = "/etudes/E1/t/mars", "/access-ends-on/2027-01-01", "/etudes/E1"
ACCESS = {M_COMPTABLE, M_HUISSIER, V3_COMPTABLE, TEAM_MARS}


def groups(*paths: str) -> dict[str, str]:
    return {p: f"id-{p}" for p in paths}


def replay(current: Current, steps: list[Step], record_after_put: str) -> list[tuple[bool, str,
                                                                                    set[str]]]:
    """Every intermediate state: (enabled, record in force, groups)."""
    enabled, record, held = current.enabled, "old", set(current.groups)
    states = [(enabled, record, set(held))]
    for step in steps:
        if step.kind == "put":
            enabled, record = step.enabled, record_after_put
        elif step.kind == "join":
            held.add(step.group)
        elif step.kind == "leave":
            held.discard(step.group)
        states.append((enabled, record, set(held)))
    return states


CASES = [
    ("pending to granted", Current(False, groups(ETUDE)),
     Target(True, groups(ETUDE, M_COMPTABLE, V3_COMPTABLE))),
    ("profile change", Current(True, groups(ETUDE, M_COMPTABLE, TEAM_MARS)),
     Target(True, groups(ETUDE, M_HUISSIER, TEAM_MARS))),
    ("departure", Current(True, groups(ETUDE, M_COMPTABLE, TEAM_MARS, INDEX)),
     Target(False, groups(ETUDE, INDEX))),
    ("contract end set", Current(True, groups(ETUDE, M_COMPTABLE)),
     Target(True, groups(ETUDE, M_COMPTABLE, INDEX))),
    ("stays pending", Current(False, groups(ETUDE)), Target(False, groups(ETUDE), True)),
]


@pytest.mark.parametrize(("name", "current", "target"), CASES, ids=[c[0] for c in CASES])
def test_no_prefix_grants_more_than_the_record_in_force(name, current, target):
    steps = plan_user_write(current, target)
    old_access = set(current.groups) & ACCESS if current.enabled else set()
    new_access = set(target.groups) & ACCESS if target.enabled else set()
    for enabled, record, held in replay(current, steps, "new"):
        allowed = old_access if record == "old" else new_access
        if enabled:
            assert held & ACCESS <= allowed, (name, held, record)
            assert record == "old" and current.enabled or record == "new" and target.enabled
    final = replay(current, steps, "new")[-1]
    assert final == (target.enabled, "new", set(target.groups))


def test_the_record_is_written_before_any_group_is_joined():
    for _, current, target in CASES:
        kinds = [s.kind for s in plan_user_write(current, target)]
        if "join" in kinds:
            assert kinds.index("put") < kinds.index("join")


def test_departure_disables_then_ends_sessions_then_leaves():
    steps = plan_user_write(CASES[2][1], CASES[2][2])
    assert [s.kind for s in steps[:2]] == ["put", "logout"] and not steps[0].enabled
    assert {s.group for s in steps if s.kind == "leave"} == {M_COMPTABLE, TEAM_MARS}


def test_enable_comes_last_and_only_when_it_changes():
    pending = plan_user_write(CASES[0][1], CASES[0][2])
    assert pending[-1] == Step("put", enabled=True)
    assert sum(1 for s in pending if s.kind == "put") == 2
    changing = plan_user_write(CASES[1][1], CASES[1][2])
    assert sum(1 for s in changing if s.kind == "put") == 1


@pytest.mark.parametrize(("name", "current", "target"), CASES, ids=[c[0] for c in CASES])
def test_undo_of_any_prefix_returns_to_the_start(name, current, target):
    steps = plan_user_write(current, target)
    for cut in range(len(steps) + 1):
        applied = steps[:cut]
        back = undo(applied)
        held = set(current.groups)
        restored = None
        for step in itertools.chain(applied, back):
            if step.kind == "join":
                held.add(step.group)
            elif step.kind == "leave":
                held.discard(step.group)
            elif step.kind == "put":
                restored = step.restore
        assert held == set(current.groups), (name, cut)
        if any(s.kind == "put" for s in applied):
            assert restored is True


def test_the_externalid_link_changes_last_and_its_undo_puts_it_back():
    for _, current, target in CASES:
        linked = Current(current.enabled, current.groups, "4531/old")
        steps = plan_user_write(linked, Target(target.enabled, target.groups, link="4531/new"))
        assert steps[-1] == Step("link", unlink="4531/old", link="4531/new")
        assert undo(steps)[0] == Step("link", unlink="4531/new", link="4531/old")
        same = Target(target.enabled, target.groups, link="4531/old")
        assert all(s.kind != "link" for s in plan_user_write(linked, same))
    assert Step("link", unlink="a").describe() == "externalId link removed"
