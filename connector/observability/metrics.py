"""The service's Prometheus metrics, and the pure functions that name their labels.

Labels are bounded sets: resource types, methods, statuses, étude codes, Keycloak operations
(paths with their ids cut out). Never a token, a user, an id or a query value. The latency
histograms leave the étude out: hundreds of études times a dozen buckets would be tens of
thousands of series, and the per-étude counters already say who is slow or failing.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "connector_http_requests", "SCIM and probe requests answered.",
    ["resource", "method", "status", "etude"])
REQUEST_SECONDS = Histogram(
    "connector_http_request_duration_seconds", "Time to answer a request.",
    ["resource", "method"], buckets=LATENCY_BUCKETS)
IN_FLIGHT = Gauge(
    "connector_http_requests_in_flight", "Requests being served now.",
    multiprocess_mode="livesum")
KEYCLOAK_CALLS = Counter(
    "connector_keycloak_requests", "Keycloak Admin API calls, by operation and outcome.",
    ["operation", "outcome"])
KEYCLOAK_SECONDS = Histogram(
    "connector_keycloak_request_duration_seconds", "Time of one Keycloak Admin API call.",
    ["operation"], buckets=LATENCY_BUCKETS)
TOKEN_CHECKS = Counter(
    "connector_token_checks", "Bearer token checks: from the cache or from Keycloak, and result.",
    ["cache", "result"])
RATE_LIMITED = Counter(
    "connector_rate_limited_requests", "Requests refused by admission control.",
    ["reason", "etude"])

# Path segments kept as they are in an operation name: Keycloak's own words.
_WORD = re.compile(r"^[a-z][a-z-]{0,39}$")
_SCIM_RESOURCES = {"Users", "Groups", "Bulk", "ServiceProviderConfig", "Schemas",
                   "ResourceTypes", ".search"}


def operation_of(method: str, path: str) -> str:
    """Name a Keycloak call by its method and path template: `GET users/{}/groups`."""
    tail = path.split("?", 1)[0].strip("/")
    parts = tail.split("/")
    if parts[:2] == ["admin", "realms"]:
        parts = parts[3:]
    out: list[str] = []
    for part in parts:
        if out and out[-1] == "group-by-path":
            out.append("{path}")
            break
        out.append(part if _WORD.match(part) else "{}")
    return f"{method} {'/'.join(out) or '{realm}'}"


METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def method_of(method: str) -> str:
    """Name an HTTP method for a label; any other verb a client makes up is `OTHER`."""
    return method if method in METHODS else "OTHER"


def resource_of(rule: str | None) -> str:
    """Name the resource type of a route template (`/scim/v2/Users/<user_id>` → Users)."""
    if rule is None:
        return "unmatched"
    parts = [p for p in rule.split("/") if p]
    if parts[:2] == ["scim", "v2"]:
        parts = parts[2:]
        if not parts:
            return "unmatched"
        head = parts[0]
        return "search" if head == ".search" else head if head in _SCIM_RESOURCES else "other"
    return parts[0] if parts else "root"


def observe_keycloak(method: str, path: str, outcome: str, seconds: float) -> None:
    """Count one Keycloak call and its latency (the gateway's observer)."""
    operation = operation_of(method, path)
    KEYCLOAK_CALLS.labels(operation, outcome).inc()
    KEYCLOAK_SECONDS.labels(operation).observe(seconds)


def observe_token_check(cache: str, result: str) -> None:
    """Count one token check: cache `hit`, `miss` or `none`; result `accepted`, `refused`…"""
    TOKEN_CHECKS.labels(cache, result).inc()
