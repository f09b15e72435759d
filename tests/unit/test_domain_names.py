"""R1: names without accents, as on the civil-status record."""

from __future__ import annotations

import pickle

import pytest

from connector.domain.errors import RuleViolation
from connector.domain.names import display_name, strip_accents


@pytest.mark.parametrize(("raw", "expected"), [
    ("Élodie", "Elodie"),
    ("François", "Francois"),
    ("Lætitia", "Laetitia"),
    ("cœur", "coeur"),
    ("Strauß", "Strauss"),
    ("Øystein", "Oystein"),
    ("D'Arc", "D'Arc"),
    ("L\u2019Hôte", "L'Hote"),
    ("Jean-Pierre", "Jean-Pierre"),
    ("Marie\u2011Hélène", "Marie-Helene"),
    ("  Jean   Pierre  ", "Jean Pierre"),
    ("Ana\u00a0Lúcia", "Ana Lucia"),
    ("Noe\u0308l", "Noel"),  # combining diaeresis
    ("MÜLLER", "MULLER"),
    ("Jean😀", "Jean"),
    ("Plain", "Plain"),
])
def test_strip_accents_transliterates(raw: str, expected: str) -> None:
    assert strip_accents(raw, "givenName") == expected


@pytest.mark.parametrize("raw", ["a\x00b", "Jean\nPierre", "Jean\tPierre", "Je\u200ban",
                                 "\ufeffJean", "Jo\u00adel", "Jean\u2028Pierre", "\x1b[31mX"])
def test_control_and_invisible_characters_are_refused(raw: str) -> None:
    with pytest.raises(RuleViolation) as err:
        strip_accents(raw, "familyName")
    assert err.value.rule == "R1"
    assert err.value.field == "familyName"
    assert err.value.kind == "invalidValue"
    assert "familyName" in err.value.detail_en
    assert "caractères de contrôle" in err.value.detail_fr


@pytest.mark.parametrize("raw", ["😀", "😀😀", "", "   ", "\u3000", "'-'", "123"])
def test_names_without_letters_are_refused(raw: str) -> None:
    with pytest.raises(RuleViolation) as err:
        strip_accents(raw, "givenName")
    assert err.value.rule == "R1"
    assert err.value.field == "givenName"
    assert "état civil" in err.value.detail_fr


def test_non_string_is_refused() -> None:
    with pytest.raises(RuleViolation) as err:
        strip_accents(42, "givenName")  # type: ignore[arg-type]
    assert err.value.rule == "R1"


def test_result_is_ascii() -> None:
    assert strip_accents("Ŝťřåñğê Ñàmë", "familyName").isascii()


@pytest.mark.parametrize(("given", "family", "expected"), [
    ("Hélène", "Lefèvre", "Helene Lefevre"),
    ("Hélène", None, "Helene"),
    (None, "Lefèvre", "Lefevre"),
    ("", "Lefèvre", "Lefevre"),
    ("  ", "  ", None),
    (None, None, None),
])
def test_display_name(given: str | None, family: str | None, expected: str | None) -> None:
    assert display_name(given, family) == expected


def test_display_name_refuses_a_bad_part() -> None:
    with pytest.raises(RuleViolation) as err:
        display_name("😀", "Martin")
    assert err.value.field == "givenName"


def test_rule_violation_fields_and_language() -> None:
    err = RuleViolation("R1", "givenName", "english", "français")
    assert (err.rule, err.field, err.detail_en, err.detail_fr) == (
        "R1", "givenName", "english", "français")
    assert err.kind == "invalidValue"
    assert err.detail(french=True) == "français"
    assert err.detail() == "english"
    assert "R1" in str(err) and "givenName" in str(err)
    assert RuleViolation("R2", "emails", "a", "b", kind="uniqueness").kind == "uniqueness"


def test_rule_violation_pickles() -> None:
    err = pickle.loads(pickle.dumps(RuleViolation("R3", "password", "en", "fr", "uniqueness")))
    assert (err.rule, err.field, err.detail_fr, err.kind) == ("R3", "password", "fr", "uniqueness")


@pytest.mark.parametrize(("raw", "stored"), [
    ("Œuvré", "Oeuvre"), ("ŒUVRÉ", "OEUVRE"), ("Lætitia", "Laetitia"), ("Æsa", "Aesa"),
    ("ÆSA", "AESA"), ("Strauß", "Strauss"), ("STRAUSS", "STRAUSS"), ("STRAUß", "STRAUSS"),
    ("Jean-Œdipe", "Jean-Oedipe"), ("LÆTITIA DUPONT", "LAETITIA DUPONT"),
])
def test_ligatures_follow_the_case_of_their_word(raw: str, stored: str) -> None:
    assert strip_accents(raw, "name.familyName") == stored


@pytest.mark.parametrize("raw", ["Bob$", "Doe<script>", "a{b}"])
def test_ascii_symbols_are_kept_for_the_profile_check_to_refuse(raw: str) -> None:
    assert strip_accents(raw, "name.givenName") == raw
