"""« Mon étude »: the departure form's day, and the SCIM PatchOp it becomes (R8)."""

from __future__ import annotations

from datetime import date

from connector.portal.actions import departure_patch, parse_last_day
from connector.scim.patch import apply_patch
from connector.scim.schema_defs import ETUDE_USER, USER

TODAY = date(2026, 11, 27)


def test_the_last_day_is_today_or_later():
    assert parse_last_day("2026-11-27", TODAY) == (TODAY, None)
    assert parse_last_day(" 2027-01-31 ", TODAY) == (date(2027, 1, 31), None)
    day, error = parse_last_day("2026-11-26", TODAY)
    assert day is None and error and "27 novembre 2026" in error
    assert parse_last_day("", TODAY)[1] == "Indiquez le dernier jour de la personne à l'étude."
    assert parse_last_day("31/12/2026", TODAY)[1] == "Le dernier jour doit être une date " \
        "(jj/mm/aaaa)."


def test_the_departure_is_the_patch_an_hr_system_would_send():
    user = {"schemas": [USER, ETUDE_USER], "id": "u-1", "userName": "edepart",
            ETUDE_USER: {"etude": "E1", "profile": "back_office", "contractType": "CDI"}}
    patched = apply_patch(user, departure_patch(date(2026, 12, 4)), "User")
    assert patched[ETUDE_USER] == {"etude": "E1", "profile": "back_office",
                                   "contractType": "CDI", "departureDate": "2026-12-04"}
    assert {k: v for k, v in patched.items() if k != ETUDE_USER} == \
        {k: v for k, v in user.items() if k != ETUDE_USER}
