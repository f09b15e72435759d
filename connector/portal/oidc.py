"""Sign titulaires in through Keycloak: OpenID Connect authorization code flow with PKCE.

The ID token comes straight from Keycloak's token endpoint over the back channel, in exchange
for the code, the PKCE verifier (RFC 7636) and the client secret; it is still checked whole:
signature against the realm's published keys, issuer, audience, authorized party, expiry and
the nonce bound to this browser's session (OpenID Connect Core §3.1.3.7). Who may enter is then
decided from the user's stored record, never from the token's claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException, JWKeyNotFound

from connector.settings import Settings

ALGORITHMS = ["RS256", "PS256", "ES256"]
LEEWAY = 60  # seconds of clock skew tolerated on exp and iat
METADATA_SECONDS = 3600


class SignInError(Exception):
    """The sign-in cannot go on; `detail_fr` says why to the person, `reason` to the log."""

    def __init__(self, reason: str, detail_fr: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail_fr = detail_fr


def pkce_pair(key: str, state: str) -> tuple[str, str]:
    """Return the (code_verifier, S256 code_challenge) of one sign-in (RFC 7636 §4.1–4.2).

    The verifier is derived from the sign-in's random state with the server's session key, so
    that it never travels in the browser's cookie: a code caught on its way back is useless
    without the server, as PKCE intends, even to someone who can read the cookie.
    """
    digest = hmac.new(key.encode(), f"pkce:{state}".encode(), hashlib.sha256).digest()
    verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge_of(verifier)


def challenge_of(verifier: str) -> str:
    """Return the S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
                 now: float) -> list[str]:
    """List what is wrong with an ID token's claims (OpenID Connect Core §3.1.3.7); [] is ok."""
    problems = []
    if claims.get("iss") != issuer:
        problems.append("issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        problems.append("audience")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        problems.append("authorized party")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - LEEWAY:
        problems.append("expired")
    if isinstance(claims.get("iat"), int | float) and claims["iat"] > now + LEEWAY:
        problems.append("issued in the future")
    if not nonce or not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
            claims["nonce"].encode(), nonce.encode()):
        problems.append("nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        problems.append("subject")
    return problems


class UnknownKey(SignInError):
    """The token names a signing key the realm did not publish (yet, or any more)."""


def verify_id_token(id_token: str, keys: jwk.JWKSet, *, issuer: str, client_id: str,
                    nonce: str, now: float) -> dict[str, Any]:
    """Verify an ID token's signature with the realm's keys, then its claims (OIDC §3.1.3.7)."""
    try:
        token = jwt.JWT(jwt=id_token, key=keys, algs=ALGORITHMS, check_claims=False,
                        expected_type="JWS")
    except JWKeyNotFound as exc:
        raise UnknownKey(f"id token signature: {type(exc).__name__}", _BAD_TOKEN) from exc
    except (JWException, ValueError) as exc:
        raise SignInError(f"id token signature: {type(exc).__name__}", _BAD_TOKEN) from exc
    claims = json.loads(token.claims)
    problems = check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now)
    if problems:
        raise SignInError(f"id token: {', '.join(problems)}", _BAD_TOKEN)
    return dict(claims)


class OidcClient:
    """Keycloak's OpenID endpoints for the portal client, read from the realm's discovery."""

    def __init__(self, settings: Settings, secret: Callable[[], str],
                 http: requests.Session | None = None) -> None:
        self.settings = settings
        self.client_id = settings.portal_client_id
        self._secret = secret
        self.http = http or requests.Session()
        self.timeout = settings.keycloak_timeout
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: jwk.JWKSet | None = None

    @property
    def discovery_url(self) -> str:
        return (f"{self.settings.keycloak_url.rstrip('/')}/realms/{self.settings.realm}"
                "/.well-known/openid-configuration")

    def metadata(self) -> dict[str, Any]:
        """Return the realm's OpenID provider metadata, fetched once an hour."""
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < METADATA_SECONDS:
                return self._metadata[1]
        data = self._get_json(self.discovery_url)
        with self._lock:
            self._metadata = (time.monotonic(), data)
        return data

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            resp = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _unreachable(str(exc)) from exc
        if resp.status_code != 200:
            raise _unreachable(f"GET {url}: {resp.status_code}")
        return dict(resp.json())

    def authorization_url(self, redirect_uri: str, state: str, nonce: str,
                          challenge: str) -> str:
        """Return where to send the browser to sign in (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": redirect_uri, "scope": "openid", "state": state,
                  "nonce": nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256", "ui_locales": "fr"}
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(params)}"

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Trade the code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": self.client_id,
                "client_secret": self._secret()}
        try:
            resp = self.http.post(self.metadata()["token_endpoint"], data=data,
                                  timeout=self.timeout)
        except requests.RequestException as exc:
            raise _unreachable(str(exc)) from exc
        if resp.status_code != 200:
            error = _error_code(resp)
            raise SignInError(f"token endpoint: {resp.status_code} {error}",
                              "Keycloak a refusé la connexion (le lien de connexion a peut-être "
                              "expiré) ; recommencez.")
        return dict(resp.json())

    def _key_set(self, refresh: bool = False) -> jwk.JWKSet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        keys = jwk.JWKSet.from_json(json.dumps(self._get_json(self.metadata()["jwks_uri"])))
        with self._lock:
            self._keys = keys
        return keys

    def verify(self, id_token: str, nonce: str, now: float | None = None) -> dict[str, Any]:
        """Check an ID token against the realm's keys and this sign-in; return its claims."""
        issuer = str(self.metadata()["issuer"])
        moment = time.time() if now is None else now
        try:
            return verify_id_token(id_token, self._key_set(), issuer=issuer,
                                   client_id=self.client_id, nonce=nonce, now=moment)
        except UnknownKey:  # keys rotate: ask Keycloak once more before refusing
            return verify_id_token(id_token, self._key_set(refresh=True), issuer=issuer,
                                   client_id=self.client_id, nonce=nonce, now=moment)

    def end_session_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str:
        """Return Keycloak's end-session URL (OpenID Connect RP-Initiated Logout §2)."""
        params = {"post_logout_redirect_uri": post_logout_redirect_uri,
                  "client_id": self.client_id}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{self.metadata()['end_session_endpoint']}?{urlencode(params)}"


_BAD_TOKEN = ("La réponse de Keycloak n'a pas pu être vérifiée ; la connexion est refusée. "
              "Recommencez ; si cela se reproduit, prévenez l'administrateur.")


def _error_code(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("error", ""))
    except ValueError:
        return ""


def _unreachable(reason: str) -> SignInError:
    return SignInError(f"keycloak unreachable: {reason}",
                       "Keycloak est injoignable pour le moment ; réessayez dans quelques "
                       "minutes.")
