"""One JSON object per log line on stderr, with the request id and étude of the request.

Request data (paths, header values, messages) is only ever a JSON string value, so a newline or
a quote sent by a client is escaped and cannot start a line of its own. Non-ASCII characters
are escaped too: some log shippers also split on U+2028 and U+0085.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
ETUDE: ContextVar[str | None] = ContextVar("etude", default=None)

# Fields every line has, in this order; an extra field never replaces them.
HEAD = ("time", "level", "logger", "message", "request_id", "etude", "pid")


def current_request_id() -> str | None:
    """Return the id of the request being served, if any (R10: audit lines carry it)."""
    return REQUEST_ID.get()


class JsonFormatter(_JsonFormatter):
    """Render a record as one JSON object: time (ISO 8601 UTC), level, logger, message, ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_ensure_ascii", True)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        fields = getattr(record, "fields", None)
        message = record.getMessage()
        if isinstance(fields, dict):  # a structured event (audit): its fields, not its dump
            message = " ".join(str(fields[k]) for k in ("event", "action") if fields.get(k))
        log_data.update({
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": message,
            "request_id": REQUEST_ID.get(), "etude": ETUDE.get(), "pid": record.process,
        })
        extra: dict[str, Any] = {}
        super().add_fields(extra, record, message_dict)
        if isinstance(fields, dict):
            extra.pop("fields", None)
            extra.update(fields)
        for key in ("message", "time", "level", "logger", "pid"):
            extra.pop(key, None)
        if "exc_info" in extra:
            log_data["exception"] = extra.pop("exc_info")
        if "stack_info" in extra:
            log_data["stack"] = extra.pop("stack_info")
        # An audit line's own étude (the target's) is kept; request_id only fills a gap.
        if extra.get("request_id") is None:
            extra.pop("request_id", None)
        log_data.update(extra)


def json_handler(stream: Any = None) -> logging.Handler:
    """Return a stderr handler that writes one JSON object per line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    return handler


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's lines (the connector's, the server's, libraries') to stderr as JSON.

    Idempotent: the root logger gets one JSON handler (none more when gunicorn's logging
    configuration gave it one), added before waitress's set-up (its logging.basicConfig then
    adds nothing).
    """
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(json_handler())
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    connector = logging.getLogger("connector")
    connector.propagate = True
    connector.setLevel(level.upper())
    logging.captureWarnings(True)


def logconfig_dict(level: str = "INFO") -> dict[str, Any]:
    """Return a logging dictConfig that makes a WSGI server's own lines JSON too (gunicorn)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json",
               "stream": "ext://sys.stderr"}
    server = {"level": level.upper(), "handlers": ["stderr"], "propagate": False}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        # gunicorn's access line carries the raw request line, query values included: off;
        # the connector writes its own (connector.access, route templates only).
        "loggers": {"gunicorn.error": server,
                    "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
                    "connector": {"level": level.upper(), "propagate": True}},
    }
