"""A benchmark realm: bootstrapped like `connector bootstrap`, its études registered, its users
imported through Keycloak's partial import shaped as the connector writes them.

Two layouts, as production could have them: études of 500 staff (a realm of 50,000 holds 100
of them) and one étude holding everybody. The measured étude is B000 in both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import sys
import time
from dataclasses import dataclass

from bench.populate import populate
from connector.keycloak.bootstrap import bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, connect
from connector.mappings import get_mappings
from connector.settings import Settings

MEASURED = "B000"


@dataclass(frozen=True)
class Layout:
    """How users are spread over études: `per_etude` each, or all in one (None)."""

    name: str
    per_etude: int | None

    def etude(self, i: int) -> str:
        """The étude of user i."""
        return MEASURED if self.per_etude is None else f"B{i // self.per_etude:03d}"

    def etude_size(self, size: int) -> int:
        """How many users the measured étude holds in a realm of `size`."""
        return size if self.per_etude is None else min(size, self.per_etude)


ETUDES = Layout("études of 500", 500)
ONE = Layout("one étude", None)
LAYOUTS = {"etudes": ETUDES, "one": ONE}


@dataclass
class BenchRealm:
    """A throw-away realm and the administrator gateway that fills it."""

    settings: Settings
    admin: Gateway
    layout: Layout
    filled: int = 0

    @classmethod
    def create(cls, keycloak_url: str, layout: Layout, smtp_port: int = 0) -> BenchRealm:
        """Create and bootstrap a realm with a service-account secret (the server uses it)."""
        mail: dict[str, object] = ({"smtp_host": "127.0.0.1", "smtp_port": smtp_port}
                                   if smtp_port else {})
        settings = Settings.from_env(None, realm=f"bench-{secrets.token_hex(4)}",
                                     keycloak_url=keycloak_url, **mail,
                                     client_secret=secrets.token_urlsafe(24),
                                     token_cache_seconds=3600, log_level="WARNING",
                                     keycloak_timeout=30)  # under the write lock's lease
        slow = dataclasses.replace(settings, keycloak_timeout=900)  # partial imports
        admin = Gateway(slow, connect(slow, as_admin=True))
        print(f"realm {settings.realm} on {keycloak_url} ({layout.name})", file=sys.stderr)
        bootstrap(admin, settings, get_mappings())
        return cls(settings, admin, layout)

    def grow(self, size: int) -> float:
        """Import users filled..size-1 (registering their études); return the seconds taken."""
        started = time.perf_counter()
        directory = EtudeDirectory(self.admin)
        chunk = self.layout.per_etude or 1000
        for start in range(self.filled, size, chunk):
            count = min(chunk, size - start)
            code = self.layout.etude(start)
            directory.add(code, f"Etude {code}")
            populate(self.admin, count, code, expiring_every=0, first=start, quiet=True)
            print(f"  imported {start + count}/{size}", end="\r", file=sys.stderr)
        print(file=sys.stderr)
        self.filled = size
        return time.perf_counter() - started

    def token(self, etude: str | None = MEASURED) -> str:
        """A bearer token of an étude (or admin)."""
        return EtudeDirectory(self.admin).create_token(etude)[1]

    def drop(self) -> None:
        """Delete the realm (users first when Keycloak refuses to drop it whole)."""
        try:
            self.admin.request("DELETE", self.admin.path(""))
        except KeycloakHTTPError:
            with contextlib.suppress(KeycloakHTTPError):
                for user in self.admin.get(self.admin.path("/users"), max=10):
                    self.admin.request("DELETE", self.admin.path("/users/{u}", u=user["id"]))
                self.admin.request("DELETE", self.admin.path(""))
