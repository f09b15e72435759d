"""Serve /metrics on its own internal listener, adding up every worker process's figures.

The SCIM port is public (behind the load balancer); metrics are not for the internet, and
asking who calls is fragile behind proxies. So /metrics never answers on the SCIM port: it has
its own listener (CONNECTOR_METRICS_HOST:CONNECTOR_METRICS_PORT, loopback by default), which
the deployment exposes to Prometheus only (a pod port that no Ingress routes).

With several worker processes (gunicorn), prometheus-client's multiprocess mode keeps each
worker's figures in files under PROMETHEUS_MULTIPROC_DIR and the listener (in gunicorn's
master) adds them up. That mode is chosen when prometheus-client is first imported, so the
directory must be set before the application is: `prepare_multiprocess()` first.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from connector.settings import Settings

log = logging.getLogger("connector.metrics")
ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"


def prepare_multiprocess(settings: Settings) -> str:
    """Set (and empty) the multiprocess directory; call before importing the application."""
    if "prometheus_client" in sys.modules and ENV not in os.environ:
        raise RuntimeError("prometheus-client was imported before its multiprocess directory "
                           "was set: call prepare_multiprocess() before importing the app")
    directory = settings.metrics_dir or os.environ.get(ENV) or tempfile.mkdtemp(
        prefix="connector-metrics-")
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):  # figures of an earlier run would add up
        stale.unlink()
    os.environ[ENV] = directory
    return directory


def registry() -> Any:
    """Return what to expose: the files of every worker in multiprocess mode, else this one."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if ENV not in os.environ:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering GET /metrics in the Prometheus text format, 404 elsewhere."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found; metrics are at /metrics\n"]
    try:
        body = generate_latest(registry())
    except Exception:  # wsgiref would print a text traceback to stderr
        log.exception("metrics: cannot collect")
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"cannot collect metrics; see the log\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                              ("Content-Length", str(len(body)))])
    return [body]


class _Quiet(WSGIRequestHandler):
    """wsgiref writes a text line per request to stderr: every stderr line must be JSON."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - wsgiref's name
        return


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("metrics: a scrape failed")  # socketserver would print text to stderr


def start_metrics_server(settings: Settings) -> WSGIServer | None:
    """Serve /metrics on CONNECTOR_METRICS_HOST:PORT in a daemon thread (port 0: not at all)."""
    if not settings.metrics_port:
        return None
    try:
        server = make_server(settings.metrics_host, settings.metrics_port, metrics_app,
                             server_class=_Threaded, handler_class=_Quiet)
    except OSError as exc:  # SCIM matters more than its metrics; Prometheus sees `up == 0`
        log.error("metrics: cannot listen on %s:%s: %s", settings.metrics_host,
                  settings.metrics_port, exc)
        return None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics at http://%s:%s%s", settings.metrics_host, settings.metrics_port, PATH)
    return server


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """Return gunicorn settings for JSON logs and metrics across workers.

    Call it before the application is imported (it prepares the multiprocess directory), and
    merge the result into gunicorn's configuration. The master serves /metrics; a worker that
    exits is marked dead so that its in-flight gauge stops counting.
    """
    from connector.observability.logs import logconfig_dict

    prepare_multiprocess(settings)

    def when_ready(_: Any) -> None:
        start_metrics_server(settings)

    def child_exit(_: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    return {"logconfig_dict": logconfig_dict(settings.log_level), "accesslog": None,
            "when_ready": when_ready, "child_exit": child_exit}
