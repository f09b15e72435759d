"""The connector in-process (Flask test client) behind the Http interface: it counts the
Keycloak calls each operation makes, which a served process cannot report."""

from __future__ import annotations

from typing import Any

from connector.keycloak.gateway import Gateway
from connector.settings import Settings
from connector.web.app import create_app


class Response:
    """The little of requests.Response the benchmark reads."""

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self._body = status_code, body
        self.content = b"x" if body is not None else b""

    def json(self) -> Any:
        return self._body


class InProcess:
    """`send`/`json` like bench.sides.Http, on an app built in this process."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/scim+json"}
        self.send("GET", "/Users", params={"count": 0})  # the token check, cached from now on

    @property
    def gateway(self) -> Gateway:
        gw: Gateway = self.app.extensions["gateway"]
        return gw

    def send(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 204),
             **kwargs: Any) -> Response:
        resp = self.client.open(f"/scim/v2{path}", method=method, headers=self.headers,
                                query_string=kwargs.get("params"), json=kwargs.get("json"))
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.get_data()[:300]!r}")
        return Response(resp.status_code, resp.get_json(silent=True))

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.send(method, path, **kwargs).json()

    def calls(self, step: Any, run: int) -> int:
        """Keycloak calls of one step, its lock releases (made after the answer) included."""
        locks = self.app.extensions["services"].locks
        locks.settle()
        before = self.gateway.calls
        step(run)
        locks.settle()
        return self.gateway.calls - before
