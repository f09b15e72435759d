"""Admission control: failed token checks per address, then per étude: rights, rate and a
share of the threads (RFC 7644 §3.12 bodies; RFC 6585 §4 for 429). Body sizes: web/limits.py.

Over its share of threads an étude gets 429, like over its rate, not 503: the service is
not down, this caller has too much in flight; Entra ID and Okta both back off on 429 with
Retry-After, and 503 stays the signal that Keycloak is unreachable (which the on-call alert
watches).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from connector.observability.logs import ETUDE
from connector.observability.metrics import RATE_LIMITED
from connector.ratelimit import KnownTokens, RateLimits, Slots, rate_limits, share_of_threads
from connector.scim.errors import Forbidden, PayloadTooLarge, ScimError
from connector.settings import Settings
from connector.web import SCIM_PREFIX
from connector.web.http import error_response
from connector.web.request_log import principal_labels


class TooManyRequests(ScimError):
    """429: this caller sent too much; retry after the given seconds (RFC 6585 §4)."""

    status = 429

    def __init__(self, detail: str, *, detail_fr: str, retry_after: int) -> None:
        super().__init__(detail, detail_fr=detail_fr,
                         headers={"Retry-After": str(retry_after)})


def is_read(method: str, path: str) -> bool:
    """Tell whether a request only reads: GET, HEAD, and searches (POST …/.search, §3.4.3)."""
    return method in ("GET", "HEAD") or (method == "POST" and path.rstrip("/").endswith(
        "/.search"))


def caller_key(principal: Any) -> str:
    """Key the limits of a caller: its étude, or the admin token itself."""
    return f"admin:{principal.token_id}" if principal.etude is None else f"etude:{principal.etude}"


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.",
                           detail_fr=f"Le corps de la requête dépasse {limit} octets.")


def setup_admission(app: Flask, settings: Settings) -> None:
    """Refuse addresses that fail token checks too often; say 413 in French too."""
    limits = rate_limits(settings.ratelimit_storage, settings.ratelimit_per_second,
                         settings.ratelimit_burst, settings.auth_failures_per_minute)
    known = KnownTokens()
    app.extensions["ratelimits"] = limits

    @app.before_request
    def admit_anonymous() -> None:
        if not request.path.startswith(SCIM_PREFIX):
            return
        token = _bearer(request.headers.get("Authorization", ""))
        if token is not None and _digest(token) in known:
            return
        wait = limits.refused_too_often(request.remote_addr or "-")
        if wait is not None:
            RATE_LIMITED.labels("unauthenticated", "").inc()
            raise TooManyRequests(
                "Too many requests with a missing or wrong token from this address; "
                f"retry in {wait} s.", retry_after=wait,
                detail_fr="Trop de requêtes sans jeton valide depuis cette adresse ; "
                f"réessayez dans {wait} s.")

    @app.after_request
    def count_refusals(response: Response) -> Response:
        if request.path.startswith(SCIM_PREFIX):
            if response.status_code == 401:
                limits.failed(request.remote_addr or "-")
            elif g.get("principal") is not None:
                token = _bearer(request.headers.get("Authorization", ""))
                if token:
                    known.add(_digest(token))
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Any:
        return error_response(_too_large(request.max_content_length or settings.max_body_bytes))


def setup_quotas(app: Flask, settings: Settings) -> None:
    """After the token check: read-only tokens read, each étude keeps to its rate and share."""
    limits: RateLimits = app.extensions["ratelimits"]
    slots = Slots(share_of_threads(settings.threads, settings.etude_max_concurrent))
    app.extensions["slots"] = slots

    @app.before_request
    def admit_caller() -> None:
        principal = g.get("principal")
        if principal is None:
            return
        etude = principal_labels(principal)
        ETUDE.set(etude)
        if principal.read_only and not is_read(request.method, request.path):
            raise Forbidden("This token is read-only: it may read and search, not write.",
                            detail_fr="Ce jeton est en lecture seule : il peut lire et "
                            "chercher, pas écrire.")
        key = caller_key(principal)
        wait = limits.admit(key)
        if wait is not None:
            RATE_LIMITED.labels("rate", etude).inc()
            raise TooManyRequests(
                f"Too many requests for this étude (at most {settings.ratelimit_per_second} "
                f"per second, bursts of {settings.ratelimit_burst}); retry in {wait} s.",
                retry_after=wait,
                detail_fr=f"Trop de requêtes pour cette étude (au plus "
                f"{settings.ratelimit_per_second} par seconde, {settings.ratelimit_burst} "
                f"d'un coup) ; réessayez dans {wait} s.")
        if not slots.acquire(key):
            RATE_LIMITED.labels("concurrency", etude).inc()
            raise TooManyRequests(
                f"This étude already has {slots.limit} requests in progress; retry in 1 s.",
                retry_after=1,
                detail_fr=f"Cette étude a déjà {slots.limit} requêtes en cours ; "
                "réessayez dans 1 s.")
        g.admission_slot = key

    @app.teardown_request
    def release(_: BaseException | None) -> None:
        key = g.pop("admission_slot", None)
        if key is not None:
            current_app.extensions["slots"].release(key)
