"""The Flask application: one setup_* call per concern."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError
from connector.keycloak.users import UserStore
from connector.mappings import get_mappings
from connector.scim.errors import ScimError, Unauthorized, Unavailable
from connector.service.users import UserService
from connector.settings import Settings
from connector.web.http import error_response, scim_response

log = logging.getLogger("connector")
PREFIX = "/scim/v2"


def create_app(settings: Settings | None = None, gateway: Gateway | None = None) -> Flask:
    """Build the SCIM application (settings from CONNECTOR_* unless given)."""
    settings = settings or Settings.from_env()
    app = Flask("connector")
    app.config["SETTINGS"] = settings
    setup_logging(settings)
    setup_services(app, settings, gateway)
    setup_errors(app)
    setup_auth(app)
    setup_routes(app)
    return app


def setup_logging(settings: Settings) -> None:
    """Send the connector's and the audit logs to stderr as one line per event (R10)."""
    root = logging.getLogger("connector")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


def setup_services(app: Flask, settings: Settings, gateway: Gateway | None) -> None:
    """Validate mappings/ (fail fast) and wire the Keycloak adapter to the services."""
    mappings = get_mappings(settings.mappings_dir or None)
    gw = gateway or Gateway(settings)
    directory = EtudeDirectory(gw, settings.token_cache_seconds)
    app.extensions["gateway"] = gw
    app.extensions["directory"] = directory
    app.extensions["mappings"] = mappings
    app.extensions["users"] = UserService(UserStore(gw), directory, mappings)
    setup_teams(app, gw, directory, mappings)


def setup_teams(app: Flask, gw: Gateway, directory: EtudeDirectory, mappings: Any) -> None:
    """Serve the étude teams and let user writes keep their delegation in step (R12)."""
    from connector.keycloak.teams import TeamStore
    from connector.scim.schema_defs import set_permission_catalogue
    from connector.service.groups import TeamService

    set_permission_catalogue(list(mappings.permissions))
    users = app.extensions["users"]
    teams = TeamService(TeamStore(gw), directory, mappings)
    app.extensions["groups"] = teams
    users.delegation = teams


def setup_errors(app: Flask) -> None:
    """Render every failure as an RFC 7644 §3.12 JSON body, never an HTML page."""

    @app.errorhandler(ScimError)
    def scim_error(exc: ScimError) -> Any:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        error = ScimError(exc.description or exc.name)
        error.status = exc.code or 500  # type: ignore[misc]
        resp = error_response(error)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(KeycloakHTTPError)
    def keycloak_error(exc: KeycloakHTTPError) -> Any:
        log.error("keycloak refused: %s", exc)
        error = ScimError("Keycloak refused the operation; see the connector's log.",
                          detail_fr="Keycloak a refusé l'opération ; voir le journal du "
                          "connecteur.")
        error.status = 502  # type: ignore[misc]
        return error_response(error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.path)
        error = ScimError("Internal error; see the connector's log.",
                          detail_fr="Erreur interne ; voir le journal du connecteur.")
        error.status = 500  # type: ignore[misc]
        return error_response(error)


def setup_auth(app: Flask) -> None:
    """Require a bearer token on every SCIM call and know whose it is (R11, tenancy)."""

    @app.before_request
    def authenticate() -> None:
        if not request.path.startswith(PREFIX):
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
    """Register the SCIM endpoints and the health probe."""
    from connector.web import bulk_views, discovery_views, search_views, user_views

    app.register_blueprint(user_views.blueprint, url_prefix=PREFIX)
    from connector.web import group_views

    app.register_blueprint(group_views.blueprint, url_prefix=PREFIX)
    app.register_blueprint(discovery_views.blueprint, url_prefix=PREFIX)
    app.register_blueprint(bulk_views.blueprint, url_prefix=PREFIX)
    app.register_blueprint(search_views.blueprint, url_prefix=PREFIX)

    @app.get("/health")
    def health() -> Any:
        try:
            gw = app.extensions["gateway"]
            gw.get(gw.path("/users/count"))
        except Unavailable as exc:
            return error_response(exc)
        return scim_response({"status": "UP"})
