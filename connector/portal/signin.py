"""Sign in through Keycloak's own login page and out of both sessions (OpenID Connect)."""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from connector.audit import audit
from connector.keycloak.etudes import Principal
from connector.portal.admission import PORTAL_TOKEN, Refusal
from connector.portal.guard import new_token
from connector.portal.oidc import pkce_pair
from connector.portal.web import (
    admission,
    blueprint,
    log,
    page,
    portal,
    problem,
    refusal_page,
)


@blueprint.get("/connexion")
def signin() -> Response:
    """Send the browser to Keycloak with a fresh state, nonce and PKCE challenge."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _, challenge = pkce_pair(str(current_app.secret_key), state)
    session.clear()
    session["flow"] = {"state": state, "nonce": nonce}
    p = portal()
    return redirect(p.oidc.authorization_url(p.redirect_uri, state, nonce, challenge))


@blueprint.get("/connexion/retour")
def callback() -> Response:
    """Take Keycloak's answer: check state, trade the code, verify the ID token, admit."""
    flow = session.pop("flow", None)
    if request.args.get("error"):
        log.info("portal: keycloak answered %s", request.args.get("error"))
        return problem(400, "La connexion a été interrompue ou refusée par Keycloak.",
                       title="Connexion interrompue", retry=True)
    state = request.args.get("state", "")
    if (not isinstance(flow, dict) or not request.args.get("code")
            or not hmac.compare_digest(str(flow.get("state", "")).encode(), state.encode())):
        return problem(400, "Ce lien de connexion n'est pas valide ou a déjà servi ; "
                       "recommencez la connexion.", title="Connexion expirée", retry=True)
    p = portal()
    issuer = request.args.get("iss")
    if issuer is not None and issuer != p.oidc.metadata()["issuer"]:
        # RFC 9207: the answer comes from another issuer than ours (mix-up attack).
        return problem(400, "La réponse de connexion ne vient pas du Keycloak attendu ; "
                       "recommencez la connexion.", title="Connexion refusée", retry=True)
    verifier, _ = pkce_pair(str(current_app.secret_key), state)
    tokens = p.oidc.exchange(request.args["code"], verifier, p.redirect_uri)
    claims = p.oidc.verify(str(tokens.get("id_token", "")), str(flow["nonce"]))
    decision = admission(str(claims["sub"]))
    session.clear()
    session.permanent = True
    # Kept even when refused: signing out of Keycloak needs it (id_token_hint).
    session["id_token"] = tokens["id_token"]
    session["csrf"] = new_token()
    if isinstance(decision, Refusal):
        log.info("portal: sign-in of %s refused (%s)", claims["sub"], decision.code)
        return refusal_page(decision)
    session["uid"] = decision.user_id
    session["sid"] = claims.get("sid")
    who = Principal(PORTAL_TOKEN, decision.etude, actor=decision.user_name)
    audit("portal.signin", who=who.label(), etude=decision.etude, target=decision.user_id,
          profile=decision.profile)
    return redirect(url_for("portal.accounts"))


@blueprint.post("/deconnexion")
def signout() -> Response:
    """End the portal session, then Keycloak's (RP-initiated logout, with id_token_hint)."""
    id_token = session.get("id_token")
    session.clear()
    p = portal()
    return redirect(p.oidc.end_session_url(id_token, p.goodbye_uri), 303)


@blueprint.get("/au-revoir")
def goodbye() -> Response:
    """Say the titulaire is signed out, and offer to sign in again."""
    session.clear()
    return page("portal/au_revoir.html")
