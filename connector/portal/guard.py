"""The portal's session cookie and CSRF tokens (pure functions; Flask wiring is in setup)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from connector.settings import Settings

COOKIE = "etude_session"
CSRF_FIELD = "csrf"
# A titulaire's working day; Keycloak's own session is checked on every request as well.
LIFETIME = timedelta(hours=10)


class SettingError(ValueError):
    """A CONNECTOR_PORTAL_* setting has a value the portal cannot use."""


def cookie_secure(settings: Settings) -> bool:
    """Tell whether the cookie is Secure: `auto` follows the portal URL's scheme."""
    value = settings.portal_cookie_secure.strip().lower()
    if value in ("", "auto"):
        return urlsplit(settings.portal_url).scheme == "https"
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise SettingError(f"CONNECTOR_PORTAL_COOKIE_SECURE must be auto, true or false, "
                       f"not {settings.portal_cookie_secure!r}")


def cookie_path(settings: Settings) -> str:
    """Scope the cookie to the portal's path, so that nothing else on the host receives it."""
    return urlsplit(settings.portal_url).path.rstrip("/") or "/"


def session_config(settings: Settings) -> dict[str, Any]:
    """Return Flask's session settings: HttpOnly, SameSite=Lax, Secure as configured."""
    return {"SESSION_COOKIE_NAME": COOKIE, "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax", "SESSION_COOKIE_SECURE": cookie_secure(settings),
            "SESSION_COOKIE_PATH": cookie_path(settings),
            "PERMANENT_SESSION_LIFETIME": LIFETIME}


def session_secret(settings: Settings) -> tuple[str, bool]:
    """Return the key that signs sessions and whether it was generated for this process only."""
    if settings.portal_session_secret:
        if len(settings.portal_session_secret) < 32:
            raise SettingError("CONNECTOR_PORTAL_SESSION_SECRET must be at least 32 characters")
        return settings.portal_session_secret, False
    return secrets.token_urlsafe(48), True


def new_token() -> str:
    """Return a fresh CSRF token (256 bits), kept in the session and in every form."""
    return secrets.token_urlsafe(32)


def same_token(expected: object, given: object) -> bool:
    """Tell whether a form's CSRF token is the session's (constant time; absent is never)."""
    if not isinstance(expected, str) or not isinstance(given, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def same_origin(origin: str | None, portal_url: str) -> bool:
    """Tell whether a request's Origin (when the browser sends one) is the portal's own."""
    if not origin:
        return True  # older browsers and privacy settings omit it: the token decides alone
    mine, theirs = urlsplit(portal_url), urlsplit(origin)
    return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)
