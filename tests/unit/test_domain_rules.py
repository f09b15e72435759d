"""R2, R4–R9, R11: hard errors at submission and the access status at any later day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from connector.domain.errors import RuleViolation
from connector.domain.record import EtudeRecord
from connector.domain.rules import (
    ACCESS_STATUSES,
    AccessIssue,
    access_ends_on,
    access_status,
    normalise_contract_type,
    validate_submission,
)

TODAY = date(2026, 5, 31)
PROFILES = ("accueil", "gestionnaire_amiable", "gestionnaire_judiciaire", "back_office",
            "comptable", "superviseur", "huissier")
PLATFORMS = ("mars", "v3")

COLLABORATOR = EtudeRecord(
    etude="E001", profile="gestionnaire_amiable", platforms=("mars",), titulaire=False,
    kbis_date=None, employer_attestation_date=date(2026, 5, 1), contract_type="CDI",
    contract_end_date=None, departure_date=None, confidentiality_accepted_date=date(2026, 5, 2),
    active=True, primary_email="a@example.fr",
)
TITULAIRE = replace(COLLABORATOR, profile="huissier", platforms=("mars", "v3"), titulaire=True,
                    kbis_date=date(2026, 4, 1), employer_attestation_date=None,
                    contract_type=None)
CDD = replace(COLLABORATOR, contract_type="CDD", contract_end_date=date(2026, 12, 31))


def validate(new: EtudeRecord, old: EtudeRecord | None = None, today: date = TODAY) -> None:
    validate_submission(new, old, today, PROFILES, PLATFORMS)


def violation(new: EtudeRecord, old: EtudeRecord | None = None,
              today: date = TODAY) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        validate(new, old, today)
    assert err.value.kind == "invalidValue"
    assert err.value.detail_en and err.value.detail_fr
    return err.value


def codes(rec: EtudeRecord, today: date = TODAY, registered: bool = True) -> list[str]:
    return [issue.code for issue in access_status(rec, today, registered)[1]]


def status(rec: EtudeRecord, today: date = TODAY, registered: bool = True) -> str:
    return access_status(rec, today, registered)[0]


# --- validate_submission ------------------------------------------------------------------


@pytest.mark.parametrize("rec", [COLLABORATOR, TITULAIRE, CDD])
def test_valid_records_pass(rec: EtudeRecord) -> None:
    validate(rec)
    validate(rec, rec)


def test_incomplete_record_is_not_a_hard_error() -> None:
    empty = EtudeRecord(None, None, (), None, None, None, None, None, None, None)
    validate(empty)
    validate(replace(CDD, contract_end_date=None))  # CDD without end date: access issue
    validate(replace(TITULAIRE, kbis_date=None))    # K-bis missing: access issue
    validate(replace(COLLABORATOR, profile=""))     # blank profile: access issue


def test_r6_unknown_profile_lists_allowed_values() -> None:
    err = violation(replace(COLLABORATOR, profile="admin"))
    assert (err.rule, err.field) == ("R6", "profile")
    for name in PROFILES:
        assert name in err.detail_en and name in err.detail_fr
    assert "doit être l'une des valeurs" in err.detail_fr


def test_r6_profile_is_case_exact() -> None:
    assert violation(replace(COLLABORATOR, profile="Huissier")).field == "profile"


def test_r6_profile_listing_of_a_set_is_sorted() -> None:
    with pytest.raises(RuleViolation) as err:
        validate_submission(replace(COLLABORATOR, profile="x"), None, TODAY,
                            {"b", "a"}, PLATFORMS)
    assert "a, b" in err.value.detail_en


def test_r6_unknown_platform_lists_allowed_values() -> None:
    err = violation(replace(COLLABORATOR, platforms=("mars", "v4")))
    assert (err.rule, err.field) == ("R6", "platforms")
    assert "mars, v3" in err.detail_en and "mars, v3" in err.detail_fr


def test_r6_duplicate_platforms_are_fine() -> None:
    validate(replace(COLLABORATOR, platforms=("mars", "mars", "v3")))


@pytest.mark.parametrize("kbis", [
    date(2026, 2, 28),   # exactly 3 months before 31 May (clamped)
    date(2026, 5, 31),   # today
    date(2026, 4, 15),
])
def test_r4_kbis_within_three_months_is_accepted(kbis: date) -> None:
    validate(replace(TITULAIRE, kbis_date=kbis))


@pytest.mark.parametrize("kbis", [
    date(2026, 2, 27),   # one day older than 3 months
    date(2026, 6, 1),    # tomorrow
    date(2020, 1, 1),
])
def test_r4_kbis_too_old_or_future_is_refused(kbis: date) -> None:
    err = violation(replace(TITULAIRE, kbis_date=kbis))
    assert (err.rule, err.field) == ("R4", "kbisDate")
    assert "2026-02-28" in err.detail_en and "2026-05-31" in err.detail_en
    assert "28/02/2026" in err.detail_fr and "K-bis de moins de 3 mois" in err.detail_fr


def test_r4_kbis_boundary_mid_month() -> None:
    today = date(2026, 4, 15)
    rec = replace(TITULAIRE, confidentiality_accepted_date=date(2026, 1, 1))
    validate(replace(rec, kbis_date=date(2026, 1, 15)), today=today)
    assert violation(replace(rec, kbis_date=date(2026, 1, 14)), today=today).rule == "R4"


def test_r4_unchanged_kbis_is_not_rechecked() -> None:
    old = replace(TITULAIRE, kbis_date=date(2025, 1, 1))
    validate(replace(old, profile="superviseur"), old)


def test_r4_changed_kbis_is_checked() -> None:
    old = replace(TITULAIRE, kbis_date=date(2026, 4, 1))
    assert violation(replace(old, kbis_date=date(2025, 1, 1)), old).field == "kbisDate"


def test_r4_becoming_titulaire_checks_the_kbis() -> None:
    old = replace(TITULAIRE, titulaire=False, kbis_date=date(2025, 1, 1))
    assert violation(replace(old, titulaire=True), old).field == "kbisDate"


def test_r4_kbis_ignored_for_collaborator() -> None:
    validate(replace(COLLABORATOR, kbis_date=date(2020, 1, 1)))


def test_r4_attestation_not_in_the_future() -> None:
    validate(replace(COLLABORATOR, employer_attestation_date=TODAY))
    validate(replace(COLLABORATOR, employer_attestation_date=date(2001, 1, 1)))
    err = violation(replace(COLLABORATOR, employer_attestation_date=date(2026, 6, 1)))
    assert (err.rule, err.field) == ("R4", "employerAttestationDate")
    assert "futur" in err.detail_fr


def test_r4_unchanged_future_attestation_is_not_rechecked() -> None:
    old = replace(COLLABORATOR, employer_attestation_date=date(2026, 6, 1))
    validate(old, old, today=TODAY)


@pytest.mark.parametrize("contract", ["CDI", "CDD", "cdd", " cdi ", None, ""])
def test_r5_contract_types(contract: str | None) -> None:
    validate(replace(COLLABORATOR, contract_type=contract, contract_end_date=None))


@pytest.mark.parametrize("contract", ["interim", "CDDI", "stage"])
def test_r5_other_contract_type_is_refused(contract: str) -> None:
    err = violation(replace(COLLABORATOR, contract_type=contract))
    assert (err.rule, err.field) == ("R5", "contractType")
    assert "CDI ou CDD" in err.detail_fr


@pytest.mark.parametrize("contract", ["CDI", "cdi"])
def test_r5_end_date_on_cdi_is_refused(contract: str) -> None:
    err = violation(replace(COLLABORATOR, contract_type=contract,
                            contract_end_date=date(2026, 12, 31)))
    assert (err.rule, err.field) == ("R5", "contractEndDate")


def test_r7_confidentiality_not_in_the_future() -> None:
    err = violation(replace(COLLABORATOR, confidentiality_accepted_date=date(2026, 6, 1)))
    assert (err.rule, err.field) == ("R7", "confidentialityAcceptedDate")
    validate(replace(COLLABORATOR, confidentiality_accepted_date=TODAY))


@pytest.mark.parametrize(("value", "expected"), [
    ("cdd", "CDD"), (" Cdi ", "CDI"), ("CDD", "CDD"), ("", None), ("  ", None), (None, None),
    ("interim", "INTERIM"),
])
def test_normalise_contract_type(value: str | None, expected: str | None) -> None:
    assert normalise_contract_type(value) == expected


# --- access_status ------------------------------------------------------------------------


@pytest.mark.parametrize("rec", [COLLABORATOR, TITULAIRE, CDD, replace(CDD, contract_type="cdd")])
def test_complete_records_are_granted(rec: EtudeRecord) -> None:
    assert access_status(rec, TODAY, True) == ("granted", [])


def test_kbis_is_not_rechecked_later() -> None:
    assert status(replace(TITULAIRE, kbis_date=date(2020, 1, 1))) == "granted"


@pytest.mark.parametrize(("change", "code", "rule"), [
    ({"etude": None}, "etude_missing", "R11"),
    ({"etude": "  "}, "etude_missing", "R11"),
    ({"primary_email": None}, "email_missing", "R2"),
    ({"primary_email": ""}, "email_missing", "R2"),
    ({"profile": None}, "profile_missing", "R6"),
    ({"platforms": ()}, "platforms_missing", "R6"),
    ({"titulaire": None}, "titulaire_missing", "R4"),
    ({"employer_attestation_date": None}, "attestation_missing", "R4"),
    ({"contract_type": None}, "contract_type_missing", "R5"),
    ({"contract_type": "interim"}, "contract_type_invalid", "R5"),
    ({"contract_type": "CDD"}, "contract_end_missing", "R5"),
    ({"confidentiality_accepted_date": None}, "confidentiality_missing", "R7"),
])
def test_each_missing_condition_makes_it_pending(change: dict[str, object], code: str,
                                                 rule: str) -> None:
    status_, issues = access_status(replace(COLLABORATOR, **change), TODAY, True)  # type: ignore[arg-type]
    assert status_ == "pending"
    assert [(i.code, i.rule) for i in issues] == [(code, rule)]


def test_titulaire_without_kbis_is_pending() -> None:
    assert codes(replace(TITULAIRE, kbis_date=None)) == ["kbis_missing"]
    assert status(replace(TITULAIRE, kbis_date=None)) == "pending"


def test_titulaire_needs_no_contract_or_attestation() -> None:
    assert codes(TITULAIRE) == []


def test_unknown_titulaire_reports_only_titulaire_missing() -> None:
    rec = replace(COLLABORATOR, titulaire=None, employer_attestation_date=None,
                  contract_type=None)
    assert codes(rec) == ["titulaire_missing"]


def test_unregistered_etude_is_pending() -> None:
    assert access_status(COLLABORATOR, TODAY, False)[0] == "pending"
    issues = access_status(COLLABORATOR, TODAY, False)[1]
    assert [i.code for i in issues] == ["etude_unregistered"]
    assert "E001" in issues[0].detail_en and "Bon pour acceptation" in issues[0].detail_fr


def test_missing_etude_is_not_also_unregistered() -> None:
    assert codes(replace(COLLABORATOR, etude=None), registered=False) == ["etude_missing"]


def test_all_issues_are_listed() -> None:
    empty = EtudeRecord(None, None, (), None, None, None, None, None, None, None)
    assert codes(empty, registered=False) == [
        "etude_missing", "email_missing", "profile_missing", "platforms_missing",
        "titulaire_missing", "confidentiality_missing"]
    collaborator = replace(empty, titulaire=False, contract_type="CDD")
    assert codes(collaborator) == [
        "etude_missing", "email_missing", "profile_missing", "platforms_missing",
        "attestation_missing", "contract_end_missing", "confidentiality_missing"]
    assert codes(replace(empty, titulaire=False)) == [
        "etude_missing", "email_missing", "profile_missing", "platforms_missing",
        "attestation_missing", "contract_type_missing", "confidentiality_missing"]


def test_inactive_is_revoked_even_when_also_expired_or_incomplete() -> None:
    assert access_status(replace(COLLABORATOR, active=False), TODAY, True)[0] == "revoked"
    rec = replace(CDD, active=False, contract_end_date=date(2026, 1, 1), primary_email=None)
    status_, issues = access_status(rec, TODAY, True)
    assert status_ == "revoked"
    assert [i.code for i in issues] == ["inactive", "contract_ended", "email_missing"]
    assert issues[0].rule == "R8"


def test_departure_today_is_granted_yesterday_expired() -> None:
    assert status(replace(COLLABORATOR, departure_date=TODAY)) == "granted"
    assert status(replace(COLLABORATOR, departure_date=date(2026, 6, 1))) == "granted"
    status_, issues = access_status(replace(COLLABORATOR, departure_date=date(2026, 5, 30)),
                                    TODAY, True)
    assert status_ == "expired"
    assert [(i.code, i.rule) for i in issues] == [("departed", "R8")]
    assert "2026-05-30" in issues[0].detail_en and "30/05/2026" in issues[0].detail_fr


def test_cdd_end_today_is_granted_yesterday_expired() -> None:
    assert status(replace(CDD, contract_end_date=TODAY)) == "granted"
    status_, issues = access_status(replace(CDD, contract_end_date=date(2026, 5, 30)),
                                    TODAY, True)
    assert status_ == "expired"
    assert [(i.code, i.rule) for i in issues] == [("contract_ended", "R5")]
    assert "30/05/2026" in issues[0].detail_fr


def test_end_date_without_contract_type_still_ends_access() -> None:
    rec = replace(CDD, contract_type=None, contract_end_date=date(2026, 5, 30))
    assert status(rec) == "expired"
    assert codes(rec) == ["contract_ended", "contract_type_missing"]


def test_expired_wins_over_pending() -> None:
    rec = replace(COLLABORATOR, departure_date=date(2026, 1, 1), profile=None)
    assert access_status(rec, TODAY, False)[0] == "expired"
    assert codes(rec, registered=False) == ["departed", "etude_unregistered", "profile_missing"]


def test_status_transitions_over_time() -> None:
    rec = replace(CDD, contract_end_date=date(2026, 6, 30), confidentiality_accepted_date=None)
    assert status(rec, date(2026, 6, 1)) == "pending"
    rec = replace(rec, confidentiality_accepted_date=date(2026, 6, 1))
    assert status(rec, date(2026, 6, 1)) == "granted"
    assert status(rec, date(2026, 6, 30)) == "granted"
    assert status(rec, date(2026, 7, 1)) == "expired"
    rec = replace(rec, contract_end_date=date(2026, 12, 31))  # CDD extended
    assert status(rec, date(2026, 7, 1)) == "granted"
    assert status(replace(rec, active=False), date(2026, 7, 1)) == "revoked"
    assert status(replace(rec, active=True), date(2026, 7, 1)) == "granted"


def test_statuses_are_the_four_known_ones() -> None:
    assert set(ACCESS_STATUSES) == {"granted", "pending", "expired", "revoked"}


def test_every_issue_has_french_and_english_details() -> None:
    empty = EtudeRecord(None, None, (), None, None, None, "CDD", date(2026, 1, 1),
                        date(2026, 1, 1), None, active=False)
    for titulaire in (None, True, False):
        for issue in access_status(replace(empty, titulaire=titulaire), TODAY, False)[1]:
            assert issue.detail_en and issue.detail_fr and issue.rule.startswith("R")
            assert issue.detail(french=True) == issue.detail_fr
            assert issue.detail(french=False) == issue.detail_en
            assert issue.detail_en != issue.detail_fr


def test_access_issue_is_a_frozen_value() -> None:
    issue = AccessIssue("x", "en", "fr")
    assert issue.rule == ""
    assert issue == AccessIssue("x", "en", "fr")
    with pytest.raises(AttributeError):
        issue.code = "y"  # type: ignore[misc]


# --- access_ends_on -----------------------------------------------------------------------


@pytest.mark.parametrize(("end", "departure", "expected"), [
    (None, None, None),
    (date(2026, 6, 30), None, date(2026, 7, 1)),
    (None, date(2026, 6, 15), date(2026, 6, 16)),
    (date(2026, 6, 30), date(2026, 6, 15), date(2026, 6, 16)),
    (date(2026, 6, 10), date(2026, 6, 15), date(2026, 6, 11)),
    (date(2026, 12, 31), None, date(2027, 1, 1)),
])
def test_access_ends_on(end: date | None, departure: date | None,
                        expected: date | None) -> None:
    rec = replace(CDD, contract_end_date=end, departure_date=departure)
    assert access_ends_on(rec) == expected


def test_access_ends_on_agrees_with_access_status() -> None:
    rec = replace(CDD, contract_end_date=date(2026, 6, 30), departure_date=date(2026, 8, 1))
    ends = access_ends_on(rec)
    assert ends == date(2026, 7, 1)
    assert status(rec, date(2026, 6, 30)) == "granted"
    assert status(rec, ends) == "expired"
