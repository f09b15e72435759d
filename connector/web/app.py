"""The Flask application: one setup_* call per concern."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, KeycloakUnavailable, UnsafePath
from connector.keycloak.locks import LeaseExpired, LockBusy
from connector.observability.logs import configure_logging
from connector.portal.setup import setup_portal
from connector.scim.errors import (
    NotFound,
    ScimError,
    Unauthorized,
    Unavailable,
    keycloak_unavailable,
)
from connector.settings import Settings
from connector.web import SCIM_PREFIX, openapi_views
from connector.web.admission import setup_admission, setup_quotas
from connector.web.http import error_response
from connector.web.limits import setup_limits
from connector.web.metrics import setup_metrics
from connector.web.proxies import setup_proxies
from connector.web.request_log import setup_request_log
from connector.wiring import build_services

log = logging.getLogger("connector")


def create_app(settings: Settings | None = None, gateway: Gateway | None = None) -> Flask:
    """Build the SCIM application (settings from CONNECTOR_* unless given)."""
    settings = settings or Settings.from_env()
    app = Flask("connector")
    app.config["SETTINGS"] = settings
    setup_logging(settings)
    setup_services(app, settings, gateway)
    setup_proxies(app, settings)
    setup_request_log(app)
    setup_metrics(app)
    setup_limits(app, settings)
    setup_errors(app)
    setup_admission(app, settings)
    setup_auth(app)
    setup_quotas(app, settings)
    setup_routes(app)
    setup_portal(app, settings)
    return app


def setup_logging(settings: Settings) -> None:
    """Send every log line to stderr as one JSON object, audit lines included (R10)."""
    configure_logging(settings.log_level)


def setup_services(app: Flask, settings: Settings, gateway: Gateway | None) -> None:
    """Validate mappings/ (fail fast) and wire Keycloak's stores to the services."""
    services = build_services(settings, gateway, release_later=True)
    app.extensions.update({"services": services, "gateway": services.gateway,
                           "directory": services.directory, "mappings": services.mappings,
                           "users": services.users, "teams": services.teams,
                           "bulk": services.bulk})


def _status(status: int, detail: str, detail_fr: str, **headers: str) -> Any:
    error = ScimError(detail, detail_fr=detail_fr, headers=headers)
    error.status = status  # type: ignore[misc]
    return error_response(error)


def setup_errors(app: Flask) -> None:
    """Render every failure as an RFC 7644 §3.12 JSON body, never an HTML page."""

    @app.errorhandler(ScimError)
    def scim_error(exc: ScimError) -> Any:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        resp = _status(exc.code or 500, exc.description or exc.name,
                       exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(KeycloakUnavailable)
    def keycloak_gone(exc: KeycloakUnavailable) -> Any:
        log.warning("keycloak unavailable: %s", exc)
        return error_response(keycloak_unavailable())

    @app.errorhandler(UnsafePath)
    def unsafe_path(exc: UnsafePath) -> Any:
        return error_response(NotFound("No such resource.", detail_fr="Ressource introuvable."))

    @app.errorhandler(LockBusy)
    def busy(exc: LockBusy) -> Any:
        return error_response(Unavailable(
            "Another request is writing this resource; retry in a moment.",
            detail_fr="Une autre requête modifie cette ressource ; réessayez dans un instant.",
            retry_after=2))

    @app.errorhandler(LeaseExpired)
    def too_long(exc: LeaseExpired) -> Any:
        log.error("a write outlived its lock's lease and stopped: %s", exc)
        return error_response(Unavailable(
            "The write took too long and stopped part-way, with no more access than before; "
            "retry it.", detail_fr="L'écriture a pris trop de temps et s'est arrêtée en cours "
            "de route, sans plus d'accès qu'avant ; renvoyez-la."))

    @app.errorhandler(KeycloakHTTPError)
    def keycloak_error(exc: KeycloakHTTPError) -> Any:
        log.error("keycloak refused: %s", exc)
        return _status(502, "Keycloak refused the operation; see the connector's log.",
                       "Keycloak a refusé l'opération ; voir le journal du connecteur.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _status(500, "Internal error; see the connector's log.",
                       "Erreur interne ; voir le journal du connecteur.")


def setup_auth(app: Flask) -> None:
    """Require a bearer token on every SCIM call and know whose it is (R11, tenancy)."""

    @app.before_request
    def authenticate() -> None:
        path = request.path
        if not path.startswith(SCIM_PREFIX) or path == SCIM_PREFIX + openapi_views.PATH:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("A bearer token is required (Authorization: Bearer <token>).",
                               detail_fr="Un jeton est requis (Authorization: Bearer <jeton>).")
        directory: EtudeDirectory = app.extensions["directory"]
        principal = directory.authenticate(token.strip())
        if principal is None:
            raise Unauthorized("The bearer token is not valid, or was revoked.",
                               detail_fr="Le jeton n'est pas valide, ou a été révoqué.")
        g.principal = principal


def setup_routes(app: Flask) -> None:
    """Register the SCIM endpoints and the probes (/livez, /readyz, /health)."""
    from connector.web import bulk_views, discovery_views, search_views, team_views, user_views
    from connector.web.probe_views import setup_probes

    for module in (user_views, team_views, discovery_views, bulk_views, search_views,
                   openapi_views):
        app.register_blueprint(module.blueprint, url_prefix=SCIM_PREFIX)
    setup_probes(app, app.extensions["gateway"], app.config["SETTINGS"].ready_cache_seconds)
