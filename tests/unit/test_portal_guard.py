"""« Mon étude »: CSRF tokens, the session cookie's flags, and the origin check."""

from __future__ import annotations

import pytest

from connector.portal.guard import (
    SettingError,
    cookie_path,
    cookie_secure,
    new_token,
    same_origin,
    same_token,
    session_config,
    session_secret,
)
from connector.settings import Settings


def test_a_form_token_must_be_the_sessions_own():
    token = new_token()
    assert same_token(token, token)
    assert not same_token(token, new_token())
    assert not same_token(token, None)
    assert not same_token(token, "")
    assert not same_token(None, None)  # no session token: no form passes
    assert not same_token("", "")
    assert not same_token(token, [token])


def test_tokens_are_long_and_fresh():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and min(len(t) for t in tokens) >= 43


@pytest.mark.parametrize(("url", "flag", "secure"), [
    ("https://etude.example.fr/etude/", "auto", True),
    ("http://127.0.0.1:8080/etude/", "auto", False),
    ("http://127.0.0.1:8080/etude/", "true", True),
    ("https://etude.example.fr/etude/", "false", False),
    ("https://etude.example.fr/etude/", "", True),
])
def test_the_cookie_is_secure_as_configured(url, flag, secure):
    assert cookie_secure(Settings(portal_url=url, portal_cookie_secure=flag)) is secure


def test_a_bad_secure_flag_is_refused():
    with pytest.raises(SettingError):
        cookie_secure(Settings(portal_cookie_secure="peut-etre"))


def test_session_cookie_is_httponly_lax_and_scoped_to_the_portal():
    config = session_config(Settings(portal_url="https://x.example/etude/"))
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_PATH"] == "/etude"
    assert cookie_path(Settings(portal_url="https://x.example/")) == "/"


def test_session_secret_comes_from_the_setting_or_is_made_per_process():
    key = "k" * 40
    assert session_secret(Settings(portal_session_secret=key)) == (key, False)
    made, generated = session_secret(Settings())
    assert generated and len(made) >= 43 and made != session_secret(Settings())[0]
    with pytest.raises(SettingError):
        session_secret(Settings(portal_session_secret="short"))


def test_only_the_portals_own_origin_may_post():
    portal = "https://etude.example.fr/etude/"
    assert same_origin("https://etude.example.fr", portal)
    assert same_origin(None, portal)  # no Origin header: the CSRF token decides
    assert not same_origin("https://evil.example", portal)
    assert not same_origin("http://etude.example.fr", portal)
    assert not same_origin("null", portal)
