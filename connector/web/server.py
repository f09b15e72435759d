"""Run the SCIM app on gunicorn: gthread workers that finish the requests in flight on SIGTERM."""

from __future__ import annotations

import errno
import os
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from connector.observability.exposition import gunicorn_options
from connector.settings import Settings
from connector.web.protocol_errors import raw_response, refusal

WORKER_CLASS = "connector.web.server.DrainingWorker"


class DrainingWorker(ThreadWorker):
    """A gthread worker that, on SIGTERM, takes what waits in the accept queue, then closes.

    gthread stops accepting on SIGTERM but keeps its listening socket open until its
    requests finish: connections the kernel queued meanwhile are reset at close, after a
    load balancer may have sent them a request it must not replay (a POST). Draining the
    queue and closing the listener at once turns later attempts into refused connections,
    which a load balancer safely sends to another replica.
    """

    _accepted_last = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.alive:
            self.method_queue.defer(self._drain_and_stop)

    def _drain_and_stop(self) -> None:
        self.set_accept_enabled(False)
        for listener in self.sockets:
            while self._accept_one(listener):
                pass
            listener.close()
        super().handle_exit(0, None)

    def _accept_one(self, listener: Any) -> bool:
        try:
            self.accept(listener)
        except OSError as exc:  # a listener closed under us: nothing more to take
            if exc.errno != errno.EBADF:
                raise
            return False
        return self._accepted_last

    def accept(self, listener: Any) -> None:
        before = self.nr_conns
        super().accept(listener)
        self._accepted_last = self.nr_conns > before

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a request line or headers over the limits as SCIM, not gunicorn's HTML."""
        refused = refusal(exc)
        if refused is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("refused before the application: %s %s", refused[0],
                         type(exc).__name__)
        try:
            util.write_nonblock(client, raw_response(*refused))
        except OSError:
            self.log.debug("the client left before its refusal was sent")


class ConnectorServer(BaseApplication):
    """gunicorn with its settings from CONNECTOR_*; each worker builds its own app."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings = settings
        self.bind = f"{host}:{port}"
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options = {"bind": [self.bind], "worker_class": WORKER_CLASS, "workers": s.workers,
                   "threads": s.threads, "timeout": s.worker_timeout,
                   "graceful_timeout": s.graceful_timeout, "proc_name": "connector",
                   "loglevel": s.log_level.lower(), "errorlog": "-", "accesslog": None,
                   # Behind a TLS proxy: its X-Forwarded-* headers are trusted from loopback
                   # only; meta.location uses CONNECTOR_BASE_URL anyway.
                   "forwarded_allow_ips": "127.0.0.1,::1",
                   # No control socket in $HOME (read-only in the image, shared by replicas);
                   # heartbeats in memory, not on a root file system that may be read-only.
                   "control_socket_disable": True,
                   "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None}
        # JSON lines for gunicorn's own logs; /metrics served by the master, adding up workers.
        options.update(gunicorn_options(s))
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from connector.web.app import create_app

        return create_app(self.settings)


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return."""
    ConnectorServer(settings, host, port).run()
