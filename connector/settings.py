"""Settings from CONNECTOR_* environment variables; defaults reach the local dev Keycloak."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """Every CONNECTOR_* variable, documented in the README with its default."""

    keycloak_url: str = "http://127.0.0.1:8081"
    realm: str = "etudes"
    # Bootstrap (and, when no client secret is set, the dev server) signs in as this admin.
    admin_realm: str = "master"
    admin_user: str = "admin"
    admin_password: str = "admin"
    # The service-account client created by bootstrap; used by `serve` when a secret is set.
    client_id: str = "scim-connector"
    client_secret: str = ""
    keycloak_timeout: int = 10
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""
    mappings_dir: str = ""
    log_level: str = "INFO"
    max_page_size: int = 200
    max_body_bytes: int = 1048576
    bulk_max_operations: int = 1000
    bulk_max_payload: int = 1048576
    token_cache_seconds: int = 10
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "no-reply@etudes.local"
    # `serve` runs gunicorn: processes, threads each, seconds before a stuck worker is
    # restarted, and seconds a stopping worker has to finish the requests in flight.
    workers: int = 2
    threads: int = 8
    worker_timeout: int = 60
    graceful_timeout: int = 30
    # /readyz trusts one answer of Keycloak for this long (one Keycloak call per interval).
    ready_cache_seconds: int = 5
    # Dev mode lets every command sign in as the bootstrap administrator (admin/admin).
    dev_mode: bool = False
    # Writes hold a lock per user or team in Keycloak: its lease (longer than any request may
    # last) and how long a writer waits for a busy resource before answering 503.
    lock_lease_seconds: int = 60
    lock_wait_seconds: int = 15
    # A user's lock is a `link` to the lock provider; `both` also takes the lock group that
    # versions before 0.x took, for a rolling upgrade beside them (keycloak/locks.py).
    user_locks: str = "link"
    expire_lock_ttl: int = 7200
    max_candidates: int = 10000
    # Where an étude's list and count come from: its group's `members` (indexed on H2, the dev
    # database), or its `attribute` term `q=scimEtude:` (indexed where the deployment made the
    # expression index on PostgreSQL; PostgreSQL reads the realm's users for `members`).
    etude_scope: str = "members"
    # « Mon étude », the titulaire's page under /etude/ (connector/portal/).
    portal_url: str = "http://127.0.0.1:8080/etude/"
    portal_client_id: str = "etude-portal"
    # Empty: the connector reads the secret Keycloak generated, through the Admin API.
    portal_client_secret: str = ""
    # Signs the session cookie; replicas must share it. Empty: one per process (dev only).
    portal_session_secret: str = ""
    # auto: Secure when portal_url is https; true/false force it.
    portal_cookie_secure: str = "auto"
    portal_attestation_days: int = 180
    # Operations: proxies, admission control, metrics (README: Settings, On call).
    trusted_proxies: int = 0
    ratelimit_per_second: int = 50
    ratelimit_burst: int = 100
    ratelimit_storage: str = ""
    etude_max_concurrent: int = 0
    auth_failures_per_minute: int = 60
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    metrics_dir: str = ""
    metrics_textfile_dir: str = ""
    metrics_pushgateway: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read CONNECTOR_<NAME> for every field, then apply explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"CONNECTOR_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.type, raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _parse(kind: object, raw: str) -> object:
    """Turn one variable into its field's type; booleans read 1/true/yes/on."""
    if kind in ("int", int):
        return int(raw)
    if kind in ("bool", bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


def admin_refusal(settings: Settings) -> str | None:
    """Say why a command may not run on the bootstrap administrator, or None when it may."""
    if settings.client_secret or settings.dev_mode:
        return None
    return ("no CONNECTOR_CLIENT_SECRET: outside dev mode the connector does not run on the "
            "bootstrap administrator. Set CONNECTOR_CLIENT_SECRET to the secret of the client "
            f"{settings.client_id} (created by `connector bootstrap`), or CONNECTOR_DEV_MODE=1 "
            "on a developer's machine.")


ETUDE_SCOPES = ("members", "attribute")


def scope_problem(settings: Settings) -> str | None:
    """Say why CONNECTOR_ETUDE_SCOPE is not one the connector knows, or None."""
    if settings.etude_scope in ETUDE_SCOPES:
        return None
    return (f"CONNECTOR_ETUDE_SCOPE is {settings.etude_scope!r}: say 'members' (the étude "
            "group's members, for H2) or 'attribute' (q=scimEtude, for PostgreSQL with the "
            "expression index).")


USER_LOCKS = ("link", "both")


def user_locks_problem(settings: Settings) -> str | None:
    """Say why CONNECTOR_USER_LOCKS is not one the connector knows, or None."""
    if settings.user_locks in USER_LOCKS:
        return None
    return (f"CONNECTOR_USER_LOCKS is {settings.user_locks!r}: say 'link' (a user's write lock "
            "is his link to the lock provider) or 'both' (the link and the lock group, while "
            "replicas of a version that locked users by group still serve).")


def lease_problem(settings: Settings) -> str | None:
    """Say why no write could succeed: one Keycloak call may outlast a write lock's lease."""
    if settings.keycloak_timeout < settings.lock_lease_seconds:
        return None
    return (f"CONNECTOR_KEYCLOAK_TIMEOUT ({settings.keycloak_timeout} s) must be below "
            f"CONNECTOR_LOCK_LEASE_SECONDS ({settings.lock_lease_seconds} s): a write stops "
            "before a Keycloak call that could end after its lock's lease, so every write "
            "would answer 503.")
