"""« Mon étude »: PKCE (RFC 7636) and ID token verification (OpenID Connect Core §3.1.3.7)."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from jwcrypto import jwk, jwt

from connector.portal.oidc import (
    SignInError,
    UnknownKey,
    challenge_of,
    check_claims,
    pkce_pair,
    verify_id_token,
)

ISSUER = "http://127.0.0.1:8081/realms/etudes"
NOW = 1_800_000_000.0


def test_s256_challenge_matches_rfc_7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_verifiers_are_the_servers_own_and_one_per_sign_in():
    verifier, challenge = pkce_pair("server key", "state-1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", verifier)  # RFC 7636 §4.1: 43 to 128 chars
    assert challenge == challenge_of(verifier)
    assert pkce_pair("server key", "state-1") == (verifier, challenge)  # the callback's own
    assert pkce_pair("server key", "state-2")[0] != verifier
    assert pkce_pair("another key", "state-1")[0] != verifier
    assert "state-1" not in verifier


def claims(**changes: object) -> dict:
    base = {"iss": ISSUER, "aud": "etude-portal", "azp": "etude-portal", "sub": "u-1",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-1", "sid": "s-1"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def problems(**changes: object) -> list[str]:
    return check_claims(claims(**changes), issuer=ISSUER, client_id="etude-portal",
                        nonce="n-1", now=NOW)


def test_good_claims_pass():
    assert problems() == []
    assert problems(aud=["etude-portal", "account"]) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"iss": "http://127.0.0.1:8081/realms/master"}, "issuer"),
    ({"aud": "mars"}, "audience"),
    ({"aud": ["mars", "etude-portal"], "azp": "mars"}, "authorized party"),
    ({"exp": NOW - 3600}, "expired"),
    ({"exp": None}, "expired"),
    ({"iat": NOW + 3600}, "issued in the future"),
    ({"nonce": "n-2"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"sub": ""}, "subject"),
])
def test_each_wrong_claim_is_named(change, problem):
    assert problems(**change) == [problem]


def test_an_empty_expected_nonce_never_matches():
    assert "nonce" in check_claims(claims(nonce=""), issuer=ISSUER, client_id="etude-portal",
                                   nonce="", now=NOW)


def signed(key: jwk.JWK, body: dict, kid: str = "k1") -> str:
    token = jwt.JWT(header={"alg": "RS256", "kid": kid}, claims=json.dumps(body))
    token.make_signed_token(key)
    return str(token.serialize())


@pytest.fixture(scope="module")
def realm_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, kid="k1")


def keyset(*keys: jwk.JWK) -> jwk.JWKSet:
    out = jwk.JWKSet()
    for key in keys:
        out.add(jwk.JWK(**key.export_public(as_dict=True)))
    return out


def verify(token: str, keys: jwk.JWKSet, nonce: str = "n-1") -> dict:
    return verify_id_token(token, keys, issuer=ISSUER, client_id="etude-portal", nonce=nonce,
                           now=time.time())


def test_a_token_signed_by_the_realm_is_accepted(realm_key):
    body = claims(exp=time.time() + 300, iat=time.time())
    assert verify(signed(realm_key, body), keyset(realm_key))["sub"] == "u-1"


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(realm_key):
    forger = jwk.JWK.generate(kty="RSA", size=2048, kid="k1")
    body = claims(exp=time.time() + 300, iat=time.time())
    with pytest.raises(SignInError) as caught:
        verify(signed(forger, body), keyset(realm_key))
    assert "signature" in caught.value.reason and "Keycloak" in caught.value.detail_fr


def test_an_unknown_key_asks_for_fresh_keys(realm_key):
    body = claims(exp=time.time() + 300, iat=time.time())
    with pytest.raises(UnknownKey):
        verify(signed(realm_key, body, kid="rotated"), keyset(realm_key))


def test_an_unsigned_token_is_refused(realm_key):
    body = claims(exp=time.time() + 300, iat=time.time())
    part = [base64.urlsafe_b64encode(json.dumps(x).encode()).rstrip(b"=").decode()
            for x in ({"alg": "none", "kid": "k1"}, body)]
    with pytest.raises(SignInError):
        verify(f"{part[0]}.{part[1]}.", keyset(realm_key))


def test_a_good_signature_with_a_replayed_nonce_is_refused(realm_key):
    body = claims(exp=time.time() + 300, iat=time.time())
    with pytest.raises(SignInError) as caught:
        verify(signed(realm_key, body), keyset(realm_key), nonce="another-sign-in")
    assert caught.value.reason == "id token: nonce"
