"""The portal's blueprint: who is signed in, CSRF on every form, French error pages."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Response as Page
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from connector.keycloak.gateway import KeycloakHTTPError, KeycloakUnavailable, UnsafePath
from connector.keycloak.locks import LeaseExpired, LockBusy
from connector.portal import words
from connector.portal.admission import Refusal, Visitor, admit
from connector.portal.guard import CSRF_FIELD, new_token, same_origin, same_token
from connector.portal.oidc import SignInError
from connector.portal.setup import Portal
from connector.scim.errors import ScimError, Unavailable

log = logging.getLogger("connector.portal")
blueprint = Blueprint("portal", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/static")
# Pages anyone may open: signing in and out, the stylesheet, the not-found page.
PUBLIC = {"portal.signin", "portal.callback", "portal.goodbye", "portal.signout",
          "portal.static", "portal.not_found"}
ERROR_TITLES = {400: "Demande incorrecte", 403: "Accès refusé", 404: "Page introuvable",
                405: "Action impossible", 409: "Conflit", 500: "Erreur interne",
                502: "Keycloak a refusé l'opération", 503: "Service indisponible"}


def portal() -> Portal:
    found: Portal = current_app.extensions["portal"]
    return found


def visitor() -> Visitor:
    found: Visitor = g.visitor
    return found


def csrf_token() -> str:
    """Return this session's CSRF token, made on first use."""
    if not session.get("csrf"):
        session["csrf"] = new_token()
    return str(session["csrf"])


def page(template: str, status: int = 200, **context: Any) -> Response:
    """Render a portal page (French, no script)."""
    return Page(render_template(template, **context), status=status,
                content_type="text/html; charset=utf-8")


def problem(status: int, message: str, *, title: str | None = None,
            retry: bool = False) -> Response:
    """Render a French error page with its status."""
    return page("portal/erreur.html", status, title=title or ERROR_TITLES.get(status, "Erreur"),
                message=message, retry=retry)


def refusal_page(refusal: Refusal) -> Response:
    return page("portal/refus.html", 403, refusal=refusal)


@blueprint.context_processor
def helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD, "w": words,
            "visitor": g.get("visitor"), "platform_label": _platform_label}


def _platform_label(key: str) -> str:
    platform = current_app.extensions["mappings"].platforms.get(key)
    return platform.label if platform else key


@blueprint.before_request
def guard() -> Response | None:
    """Refuse a form without this session's CSRF token; know who is signed in, every time."""
    portal().warn_once()
    if request.method == "POST":
        origin_ok = same_origin(request.headers.get("Origin"), portal().settings.portal_url)
        if not origin_ok or not same_token(session.get("csrf"), request.form.get(CSRF_FIELD)):
            log.warning("portal: form refused on %s (%s)", request.path,
                        "foreign origin" if not origin_ok else "missing or wrong CSRF token")
            return page("portal/formulaire_refuse.html", 403)
    if request.endpoint in PUBLIC:
        return None
    return _sign_in_check()


def admission(user_id: str) -> Visitor | Refusal:
    """Read a user's stored record now and decide whether he may enter, and as what."""
    p = portal()
    rep = p.users.store.get(user_id)
    code = ((rep or {}).get("attributes") or {}).get("etude", [None])[0]
    registered = bool(code) and p.directory.group_id(str(code)) is not None
    return admit(rep, registered, p.today())


def _sign_in_check() -> Response | None:
    """Re-read the visitor's record and Keycloak session on every request (R8, R9)."""
    user_id = session.get("uid")
    if not user_id:
        if request.method == "GET":
            return redirect(url_for("portal.signin"))
        return problem(403, "Votre session a pris fin ; reconnectez-vous.")
    p = portal()
    decision = admission(str(user_id))
    if isinstance(decision, Refusal):
        log.info("portal: %s no longer admitted (%s)", user_id, decision.code)
        session.pop("uid", None)
        return refusal_page(decision)
    if not p.session_alive(decision.user_id, session.get("sid")):
        session.clear()
        return redirect(url_for("portal.signin"))
    g.visitor = decision
    return None


@blueprint.after_request
def headers(resp: Response) -> Response:
    """No caching of personal data, no framing, no script, forms only to here and Keycloak."""
    keycloak = urlsplit(portal().settings.keycloak_url)
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self' {keycloak.scheme}://{keycloak.netloc}; "
        "frame-ancestors 'none'; base-uri 'none'")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "portal.static":
        resp.headers["Cache-Control"] = "no-store"
    return resp


@blueprint.route("/<path:rest>", methods=["GET", "POST"])
def not_found(rest: str) -> Response:
    return problem(404, "Cette page n'existe pas. Revenez à la liste des accès de l'étude.")


@blueprint.errorhandler(Exception)
def failure(exc: Exception) -> Response:
    """Answer every failure in a portal page with a French page, never a JSON body."""
    if isinstance(exc, HTTPException):
        return problem(exc.code or 500, _http_message(exc.code or 500))
    if isinstance(exc, SignInError):
        log.warning("portal: sign-in failed: %s", exc.reason)
        return problem(502, exc.detail_fr, title="Connexion impossible", retry=True)
    if isinstance(exc, UnsafePath):
        return problem(404, _http_message(404))
    if isinstance(exc, Unavailable | KeycloakUnavailable | LockBusy | LeaseExpired):
        log.warning("portal: %s", exc)
        return problem(503, "Keycloak ne répond pas, ou une autre modification de l'étude est "
                       "en cours ; réessayez dans un instant.", retry=True)
    if isinstance(exc, ScimError):
        return problem(exc.status, exc.detail_fr)
    if isinstance(exc, KeycloakHTTPError):
        log.error("portal: keycloak refused: %s", exc)
        return problem(502, "Keycloak a refusé l'opération ; l'administrateur trouvera le "
                       "détail dans le journal du connecteur.")
    log.exception("portal: unexpected error on %s %s", request.method, request.path)
    return problem(500, "Une erreur inattendue s'est produite ; l'administrateur trouvera le "
                   "détail dans le journal du connecteur.")


def _http_message(status: int) -> str:
    if status == 405:
        return "Cette action ne se fait pas ainsi ; passez par les boutons de la page."
    if status == 404:
        return "Cette page n'existe pas."
    return "La demande n'a pas pu être traitée."
