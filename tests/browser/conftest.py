"""« Mon étude » in a real browser: Debian's chromium driven by Playwright, Keycloak's own login
page, and the connector served over real HTTP, on a throw-away realm with two études."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from connector.domain.dates import today_in_paris
from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory, Principal
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.mappings import get_mappings
from connector.service.context import RequestContext
from connector.settings import Settings
from connector.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--lang=fr-FR"]
E = "urn:iqera:params:scim:schemas:extension:etude:2.0:User"
G = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PASSWORD = "Secret12"
FILLERS = 26  # one more than a page (25): the list must page
OUT = Path(__file__).resolve().parents[1] / "output" / "portal"
ADMIN = Principal("test", None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Settings:
    port = _free_port()
    return Settings.from_env(realm=f"portal-{secrets.token_hex(4)}",
                             portal_url=f"http://127.0.0.1:{port}/etude/",
                             portal_session_secret=secrets.token_urlsafe(48))


@pytest.fixture(scope="session")
def admin_gw(settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(settings, connect(settings, as_admin=True))
    bootstrap(gw, settings, get_mappings())
    yield gw
    with contextlib.suppress(KeycloakHTTPError):
        gw.request("DELETE", gw.path(""))


@pytest.fixture(scope="session")
def app(settings: Settings, admin_gw: Gateway) -> Any:
    return create_app(settings)


def person(user_name: str, given: str, family: str, profile: str, *, titulaire: bool = False,
           **ext: Any) -> dict[str, Any]:
    """A complete record (granted unless ext takes something away), with a password."""
    today = today_in_paris()
    active = ext.pop("active", True)
    proof = ({"kbisDate": (today - timedelta(days=10)).isoformat()} if titulaire
             else {"employerAttestationDate": (today - timedelta(days=30)).isoformat()})
    extension = {"profile": profile, "platforms": ["mars", "v3"], "titulaire": titulaire,
                 "contractType": None if titulaire else "CDI",
                 "confidentialityAcceptedDate": (today - timedelta(days=20)).isoformat(),
                 **proof, **ext}
    return {"schemas": [CORE, E], "userName": user_name, "active": active,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"value": f"{user_name}@etude.example", "primary": True}],
            "password": PASSWORD, E: {k: v for k, v in extension.items() if v is not None}}


@dataclass
class World:
    """Who exists in the throw-away realm, by étude and user name."""

    settings: Settings
    gw: Gateway
    ids: dict[str, str] = field(default_factory=dict)
    etudes: dict[str, set[str]] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)
    today: date = field(default_factory=today_in_paris)

    @property
    def base(self) -> str:
        return self.settings.portal_url

    def user(self, user_name: str) -> dict[str, Any]:
        return dict(self.gw.get(self.gw.path("/users/{u}", u=self.ids[user_name])))

    def groups(self, user_name: str) -> set[str]:
        return {g["path"] for g in self.gw.get(
            self.gw.path("/users/{u}/groups", u=self.ids[user_name]), max=100)}

    def etude_group(self, code: str) -> dict[str, Any]:
        return dict(self.gw.group_by_path(f"etudes/{code}") or {})


def _people(today: date) -> dict[str, list[dict[str, Any]]]:
    end = (today + timedelta(days=20)).isoformat()
    p1 = [
        person("jmartin", "Jean", "Martin", "huissier", titulaire=True),
        person("acomptable", "Alice", "Comptable", "comptable"),
        person("bcdd", "Bruno", "Durand", "gestionnaire_amiable", contractType="CDD",
               contractEndDate=end),
        person("cattente", "Chloe", "Attente", "gestionnaire_judiciaire",
               confidentialityAcceptedDate=None),
        person("dhuissier", "Denis", "Huissier", "huissier", titulaire=True, kbisDate=None),
        person("hmain", "Henri", "Main", "huissier", titulaire=True, kbisDate=None),
        person("edepart", "Emma", "Depart", "back_office"),
        person("fsuperviseur", "Fanny", "Superviseur", "superviseur"),
        person("grevoque", "Gilles", "Revoque", "accueil", active=False),
    ]
    p1 += [person(f"z{i:02d}rempli", "Paul", f"Rempli{i:02d}", "accueil") for i in range(FILLERS)]
    p2 = [person("kautre", "Karim", "Autre", "huissier", titulaire=True),
          person("lautre", "Lea", "Autre", "comptable")]
    return {"P1": p1, "P2": p2}


@pytest.fixture(scope="session")
def world(settings: Settings, admin_gw: Gateway, app: Any) -> World:
    directory = EtudeDirectory(admin_gw)
    directory.add("P1", "Etude Martin")
    directory.add("P2", "Etude Autre")
    out = World(settings, admin_gw)
    out.token_ids["P1"] = directory.create_token("P1")[0]
    users = app.extensions["users"]
    for code, people in _people(out.today).items():
        out.etudes[code] = set()
        for body in people:
            body[E]["etude"] = code
            created = users.create(body, RequestContext(ADMIN))
            out.ids[body["userName"]] = created["id"]
            out.etudes[code].add(body["userName"])
    # A pending huissier whom an administrator enabled by hand in the console (drift):
    # Keycloak lets him sign in, the portal must still go by his record.
    rep = out.user("hmain")
    rep["enabled"] = True
    admin_gw.request("PUT", admin_gw.path("/users/{u}", u=out.ids["hmain"]), body=rep)
    app.extensions["teams"].create({
        "schemas": [GROUP, G], "displayName": "Recouvrement",
        "members": [{"value": out.ids["acomptable"]}, {"value": out.ids["bcdd"]}],
        G: {"delegatedPermissions": ["collect_payments", "send_reminders"],
            "platforms": ["mars"]}}, RequestContext(Principal("test", "P1")))
    app.extensions["teams"].create({
        "schemas": [GROUP, G], "displayName": "Equipe secrete P2",
        G: {"delegatedPermissions": ["contact_debtor"], "platforms": ["v3"]}},
        RequestContext(Principal("test", "P2")))
    return out


@pytest.fixture(scope="session")
def server(settings: Settings, app: Any, world: World) -> Iterator[str]:
    """Serve the connector over real HTTP on the portal URL's port."""
    port = int(settings.portal_url.split(":")[2].split("/")[0])
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield settings.portal_url
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver: Any) -> Iterator[Any]:
    """A fresh Chromium profile per test (its own --user-data-dir): no cookie is shared."""
    profile = tempfile.mkdtemp(prefix="portal-chromium-")
    context = playwright_driver.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=ARGS, locale="fr-FR",
        viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30000)  # Keycloak on 2 shared cores
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def shot(page: Any, name: str, full: bool = True) -> Path:
    """Save a screenshot under tests/output/portal/ (git-ignored)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def sign_in(page: Any, base: str, user_name: str, password: str = PASSWORD) -> None:
    """Open the portal and sign in on Keycloak's own login page."""
    page.goto(base)
    page.wait_for_selector("#username")
    page.fill("#username", user_name)
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_load_state("load")
