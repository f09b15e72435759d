"""R3: 4 to 10 ASCII letters and digits; the value never leaks into the message."""

from __future__ import annotations

import pytest

from connector.domain.errors import RuleViolation
from connector.domain.password import check_password

EN = "The password must be 4 to 10 characters, letters and digits only (A-Z, a-z, 0-9)."
FR = ("Le mot de passe doit comporter de 4 à 10 caractères, lettres et chiffres uniquement "
      "(A-Z, a-z, 0-9).")


@pytest.mark.parametrize("value", ["abcd", "A1b2", "0000", "abcdefghij", "Zz09Zz09Zz"])
def test_accepts_4_to_10_alphanumerics(value: str) -> None:
    assert check_password(value) == value


@pytest.mark.parametrize("value", [
    "abc",            # 3: too short
    "abcdefghijk",    # 11: too long
    "",
    "abc d",          # space
    "abc-d",          # punctuation
    "abcd\n",         # trailing newline
    "éclair1",        # accented letter
    "abc١٢",          # Arabic-Indic digits
    "ＡＢＣＤ",          # full-width letters
    "abcß",
    "abc\x00",
])
def test_refuses_anything_else(value: str) -> None:
    with pytest.raises(RuleViolation) as err:
        check_password(value)
    assert err.value.rule == "R3"
    assert err.value.field == "password"
    assert err.value.detail_en == EN
    assert err.value.detail_fr == FR


@pytest.mark.parametrize("value", [None, 1234, 12345.0, b"abcd", ["abcd"], True])
def test_refuses_non_strings(value: object) -> None:
    with pytest.raises(RuleViolation) as err:
        check_password(value)
    assert err.value.rule == "R3"


def test_message_never_contains_the_password() -> None:
    secret = "S3cr3t!x"
    with pytest.raises(RuleViolation) as err:
        check_password(secret)
    for text in (err.value.detail_en, err.value.detail_fr, str(err.value), repr(err.value)):
        assert secret not in text


def test_bounds_are_configurable_and_stated() -> None:
    assert check_password("abcdef", min_len=6, max_len=8) == "abcdef"
    with pytest.raises(RuleViolation) as err:
        check_password("abcde", min_len=6, max_len=8)
    assert "6 to 8" in err.value.detail_en
    assert "de 6 à 8" in err.value.detail_fr


def test_the_alphabet_of_mappings_is_the_one_applied() -> None:
    assert check_password("ab-cd", alphabet="a-z-") == "ab-cd"
    with pytest.raises(RuleViolation) as err:
        check_password("abcD", alphabet="a-z")
    assert err.value.detail_en.endswith("only (a-z).")
