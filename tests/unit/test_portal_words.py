"""« Mon étude »: the French words for the connector's codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from connector.domain.rules import ACCESS_STATUSES
from connector.mappings import get_mappings
from connector.portal import words


def test_every_access_status_has_its_french_word():
    assert [words.status_word(s) for s in ACCESS_STATUSES] == [
        "accordé", "en attente", "expiré", "révoqué"]
    assert set(words.STATUS_ORDER) == set(ACCESS_STATUSES)


def test_a_missing_status_reads_as_pending_and_an_unknown_one_as_itself():
    assert words.status_word(None) == "en attente"
    assert words.status_word("frozen") == "frozen"


def test_every_profile_and_permission_of_the_mappings_has_french_words():
    mappings = get_mappings()
    assert set(words.PROFILE_WORDS) == set(mappings.profiles)
    assert set(words.PERMISSION_WORDS) == set(mappings.permissions)
    assert words.profile_word("huissier") == "Huissier de justice"
    assert words.permission_word("collect_payments") == "Effectuer les encaissements"
    assert words.permission_word("unknown_right") == "unknown_right"


def test_dates_are_written_as_on_the_form():
    assert words.short_date(date(2026, 4, 1)) == "01/04/2026"
    assert words.short_date("2026-12-31") == "31/12/2026"
    assert words.short_date(None) == "—"
    assert words.short_date("n'importe quoi") == "n'importe quoi"
    assert words.long_date(date(2026, 4, 1)) == "1er avril 2026"
    assert words.long_date(date(2026, 8, 15)) == "15 août 2026"


def test_instants_are_shown_in_paris_time():
    # 31 March 23:30 UTC is already 1 April in Paris (summer time, UTC+2).
    assert words.paris_time("2026-03-31T23:30:00Z") == "01/04/2026 à 01:30"
    assert words.paris_time(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == "15/01/2026 à 13:00"
    assert words.paris_time(None) == "—"


def test_plural_follows_french_usage():
    assert words.plural(0, "compte") == "0 compte"
    assert words.plural(1, "compte") == "1 compte"
    assert words.plural(2, "compte") == "2 comptes"
    assert words.plural(3, "accès prend", "accès prennent") == "3 accès prennent"
