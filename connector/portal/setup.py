"""Serve « Mon étude » under /etude/: one call from the application factory."""

from __future__ import annotations

import logging
import threading
from datetime import date
from typing import Any

from flask import Flask

from connector.keycloak.locks import Locks
from connector.keycloak.portal_client import CALLBACK, GOODBYE, portal_base
from connector.portal.guard import session_config, session_secret
from connector.portal.oidc import OidcClient, SignInError
from connector.service.lifecycle import Lifecycle
from connector.settings import Settings

log = logging.getLogger("connector.portal")


class Portal:
    """What the portal's views share: settings, the OpenID client, the connector's services."""

    def __init__(self, app: Flask, settings: Settings, generated_secret: bool = False) -> None:
        self.app, self.settings = app, settings
        # Said on the first page served, not at start-up: CLI commands build the app too.
        self.warn_secret = generated_secret
        self.base = portal_base(settings)
        self.oidc = OidcClient(settings, self.client_secret)
        self._secret = settings.portal_client_secret or None
        self._lock = threading.Lock()

    # -- the connector's own wiring, looked up when used --------------------------------------
    def service(self, name: str) -> Any:
        return self.app.extensions[name]

    @property
    def users(self) -> Any:
        return self.service("users")

    @property
    def directory(self) -> Any:
        return self.service("directory")

    @property
    def gw(self) -> Any:
        return self.service("gateway")

    @property
    def teams(self) -> Any:
        return self.service("teams")

    def locks(self) -> Locks:
        """The application's write locks (shared with the other writers of this process)."""
        locks: Locks = self.service("services").locks
        return locks

    def lifecycle(self) -> Lifecycle:
        """The nightly job's services (its upcoming report), on the application's wiring."""
        job: Lifecycle = self.service("services").lifecycle()
        return job

    def warn_once(self) -> None:
        """Say, once, that sessions are signed with a key of this process only (dev mode)."""
        if self.warn_secret:
            self.warn_secret = False
            log.warning("portal: CONNECTOR_PORTAL_SESSION_SECRET is not set; sessions are "
                        "signed with a key made for this process only (development only: "
                        "replicas must share one, and a restart signs everyone out)")

    def today(self) -> date:
        """The rules' day (Europe/Paris), from the user service's clock."""
        day: date = self.users.today()
        return day

    # -- sign-in ------------------------------------------------------------------------------
    @property
    def redirect_uri(self) -> str:
        return self.base + CALLBACK

    @property
    def goodbye_uri(self) -> str:
        return self.base + GOODBYE

    def client_secret(self) -> str:
        """Return the portal client's secret: the setting, else Keycloak's, read once."""
        with self._lock:
            if self._secret:
                return self._secret
        gw, cid = self.gw, self.settings.portal_client_id
        found = gw.get(gw.path("/clients"), clientId=cid)
        if not found:
            raise SignInError(f"client {cid} missing",
                              "La connexion à « Mon étude » n'est pas encore configurée "
                              "(connector bootstrap) ; prévenez l'administrateur.")
        value = (gw.get(gw.path("/clients/{c}/client-secret", c=found[0]["id"])) or {})["value"]
        with self._lock:
            self._secret = str(value)
        return self._secret

    def session_alive(self, user_id: str, sid: str | None) -> bool:
        """Tell whether the Keycloak session the visitor signed in with still exists."""
        if not sid:
            return False
        gw = self.gw
        sessions = gw.get(gw.path("/users/{u}/sessions", u=user_id), first=0, max=1000)
        return any(s.get("id") == sid for s in sessions or [])


def setup_portal(app: Flask, settings: Settings) -> None:
    """Serve « Mon étude » under /etude/ with its own sessions, sign-in and pages."""
    from connector.portal import actions, pages, signin  # noqa: F401  (routes)
    from connector.portal.web import blueprint

    secret, generated = session_secret(settings)
    app.secret_key = secret
    app.config.update(session_config(settings))
    app.extensions["portal"] = Portal(app, settings, generated)
    app.register_blueprint(blueprint, url_prefix="/etude")
