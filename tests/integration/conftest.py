"""A throw-away realm on the real local Keycloak for the whole session, bootstrapped from
mappings/, with two études, their tokens, an admin token and a real SMTP server."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.mappings import get_mappings
from connector.settings import Settings
from connector.web.app import create_app

E = "urn:iqera:params:scim:schemas:extension:etude:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Mailbox:
    """Collect what the SMTP server receives (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]  # type: ignore[attr-defined]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)  # type: ignore[attr-defined]
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def settings(mailbox: Mailbox) -> Settings:
    realm = f"test-{secrets.token_hex(4)}"
    # Admission control is tested with apps of its own (test_admission.py): the shared app
    # must not throttle the quick bursts of the other tests.
    return Settings.from_env(realm=realm, smtp_host="127.0.0.1",
                             smtp_port=mailbox.port,  # type: ignore[attr-defined]
                             ratelimit_per_second=100_000, ratelimit_burst=100_000,
                             etude_max_concurrent=1_000, auth_failures_per_minute=100_000)


@pytest.fixture(scope="session")
def admin_gw(settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(settings, connect(settings, as_admin=True))
    bootstrap(gw, settings, get_mappings())
    yield gw
    with contextlib.suppress(KeycloakHTTPError):
        gw.request("DELETE", gw.path(""))


@pytest.fixture(scope="session")
def tokens(admin_gw: Gateway) -> dict[str, str]:
    directory = EtudeDirectory(admin_gw)
    directory.add("E1", "Etude Une")
    directory.add("E2", "Etude Deux")
    return {"E1": directory.create_token("E1")[1], "E2": directory.create_token("E2")[1],
            "admin": directory.create_token(None)[1]}


@pytest.fixture(scope="session")
def app(settings: Settings, admin_gw: Gateway, tokens: dict[str, str]) -> Any:
    application = create_app(settings)
    application.testing = True
    return application


@pytest.fixture(autouse=True)
def settled_locks(request: pytest.FixtureRequest) -> Any:
    """A test's writes release their locks after answering: they land before the next test
    starts, so no test counts another's calls or meets its locks."""
    yield
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions["services"].locks.settle()


class Scim:
    """A SCIM client bound to one token (Flask test client, real Keycloak behind)."""

    def __init__(self, app: Any, token: str, lang: str = "en") -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/scim+json", "Accept-Language": lang}

    def __getattr__(self, method: str) -> Any:
        call = getattr(self.client, method)

        def send(path: str, **kwargs: Any) -> Any:
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return call(f"/scim/v2{path}", headers=headers, **kwargs)

        return send


@pytest.fixture
def e1(app: Any, tokens: dict[str, str]) -> Scim:
    return Scim(app, tokens["E1"])


@pytest.fixture
def e2(app: Any, tokens: dict[str, str]) -> Scim:
    return Scim(app, tokens["E2"])


@pytest.fixture
def admin(app: Any, tokens: dict[str, str]) -> Scim:
    return Scim(app, tokens["admin"])


@pytest.fixture
def kc(app: Any) -> Gateway:
    """The app's own gateway: read Keycloak's state to check what SCIM claims."""
    return app.extensions["gateway"]  # type: ignore[no-any-return]


PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"


def load(name: str, **values: str) -> Any:
    """Read a stored payload (tests/payloads/), filling its {{placeholders}}."""
    text = (PAYLOADS / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {name}"
    return json.loads(text)


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def granted_user(user_name: str | None = None, **ext: Any) -> dict[str, Any]:
    """A complete collaborator record: every condition of access holds."""
    name = user_name or unique()
    extension = {"profile": "comptable", "platforms": ["mars"], "titulaire": False,
                 "employerAttestationDate": "2026-01-05", "contractType": "CDI",
                 "confidentialityAcceptedDate": "2026-01-06", **ext}
    return {"schemas": [CORE, E], "userName": name, "externalId": f"ext-{name}",
            "name": {"givenName": "Anne", "familyName": "Martin"},
            "emails": [{"value": f"{name}@etude.example", "type": "work", "primary": True}],
            "password": "Secret12", E: extension}


def kc_user(kc: Gateway, user_id: str) -> dict[str, Any]:
    return dict(kc.get(kc.path("/users/{u}", u=user_id)))


def kc_groups(kc: Gateway, user_id: str, index: bool = False) -> set[str]:
    """The user's groups in Keycloak; the R9 day-index groups only when asked for."""
    paths = {g["path"] for g in kc.get(kc.path("/users/{u}/groups", u=user_id), max=100)}
    return paths if index else {p for p in paths if not p.startswith("/access-ends-on/")}


@pytest.fixture(scope="session")
def login_client(admin_gw: Gateway) -> str:
    """A test-only client with direct grants, to open real sessions for users."""
    admin_gw.request("POST", admin_gw.path("/clients"), body={
        "clientId": "test-login", "publicClient": True, "directAccessGrantsEnabled": True,
        "standardFlowEnabled": False})
    return "test-login"


def login(settings: Settings, client_id: str, username: str, password: str) -> int:
    """Sign a user in with the password grant; return the HTTP status."""
    import requests

    url = f"{settings.keycloak_url}/realms/{settings.realm}/protocol/openid-connect/token"
    resp = requests.post(url, data={"grant_type": "password", "client_id": client_id,
                                    "username": username, "password": password}, timeout=10)
    return resp.status_code
