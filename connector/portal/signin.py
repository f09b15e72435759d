"""Sign in through Keycloak's own login page and out of both sessions (OpenID Connect)."""

from __future__ import annotations

import hmac
import secrets

from flask import redirect, request, session, url_for
from werkzeug.wrappers import Response

from connector.audit import audit
from connector.portal.admission import Refusal, admit
from connector.portal.guard import new_token
from connector.portal.oidc import pkce_pair
from connector.portal.web import blueprint, log, page, portal, problem, refusal_page


@blueprint.get("/connexion")
def signin() -> Response:
    """Send the browser to Keycloak with a fresh state, nonce and PKCE challenge."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session.clear()
    session["flow"] = {"state": state, "nonce": nonce, "verifier": verifier}
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
    tokens = p.oidc.exchange(request.args["code"], str(flow["verifier"]), p.redirect_uri)
    claims = p.oidc.verify(str(tokens.get("id_token", "")), str(flow["nonce"]))
    rep = p.users.store.get(str(claims["sub"]))
    code = ((rep or {}).get("attributes") or {}).get("etude", [None])[0]
    registered = bool(code) and p.directory.group_id(str(code)) is not None
    decision = admit(rep, registered, p.today())
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
    audit("portal.signin", who=f"etude:{decision.etude}:portal:{decision.user_name}",
          etude=decision.etude, target=decision.user_id, profile=decision.profile)
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
