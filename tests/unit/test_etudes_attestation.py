"""Attestations kept on the étude's group, and the Principal that names the titulaire (R10)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from connector.keycloak.etudes import (
    ATTEST_ATTR,
    Attestation,
    Principal,
    attestation_due,
    attestations_of,
    attested_before,
    parse_attestation,
)


def test_an_attestation_round_trips_through_its_attribute_value():
    made = Attestation(datetime(2026, 11, 27, 9, 30, tzinfo=UTC), "jmartin", "Jean Martin", 35)
    assert parse_attestation(made.to_value()) == made


def test_hand_edited_values_are_ignored():
    for value in ("", "oui", "{}", '{"at": "hier", "by": "x", "accounts": 1}',
                  '{"at": "2026-11-27T09:30:00Z", "by": "x", "accounts": "beaucoup"}'):
        assert parse_attestation(value) is None


def group(code: str, *days: str) -> dict:
    values = [Attestation(datetime.fromisoformat(f"{d}T10:00:00+00:00"), "t", "T", 3).to_value()
              for d in days]
    return {"name": code, "attributes": {ATTEST_ATTR: values, "connectorTokens": ["x:y:z"]}}


def test_history_is_newest_first_whatever_the_stored_order():
    history = attestations_of(group("E1", "2025-01-10", "2026-06-01", "2025-12-24"))
    assert [a.at.date().isoformat() for a in history] == ["2026-06-01", "2025-12-24",
                                                          "2025-01-10"]


def test_etudes_to_chase_never_attested_or_last_before_the_day():
    groups = [group("OLD", "2026-01-05", "2025-06-01"), group("NEW", "2026-01-05", "2026-10-01"),
              group("NEVER"), {"name": "BARE"}]
    chased = attested_before(groups, date(2026, 6, 1))
    assert [g["name"] for g in chased] == ["OLD", "NEVER", "BARE"]
    assert [g["name"] for g in attested_before(groups, date(2026, 1, 5))] == ["NEVER", "BARE"]


def test_a_principal_names_the_person_behind_the_call():
    assert Principal("a1b2", "E1").label() == "etude:E1:a1b2"
    assert Principal("a1b2", None).label() == "admin:a1b2"
    titulaire = Principal("portal", "E1", actor="jmartin")
    assert titulaire.label() == "etude:E1:portal:jmartin"
    assert not titulaire.is_admin


def test_an_attestation_is_due_when_missing_or_older_than_the_period():
    today = date(2026, 11, 27)
    made = Attestation(datetime(2026, 5, 31, 22, 0, tzinfo=UTC), "t", "T", 3)  # 180 days ago
    assert attestation_due(None, today, 180)
    assert not attestation_due(made, today, 180)
    assert attestation_due(made, today, 179)
    assert not attestation_due(made, date(2026, 5, 31), 0)
