"""The `connector` command: serve, bootstrap, études, tokens, expiry and reconciliation."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from typing import Any

import click

from connector import __version__
from connector.keycloak.bootstrap import bootstrap as run_bootstrap
from connector.keycloak.etudes import EtudeDirectory
from connector.keycloak.gateway import Gateway, KeycloakHTTPError, KeycloakUnavailable, connect
from connector.keycloak.locks import LockBusy
from connector.mappings import MappingError, get_mappings
from connector.observability.jobs import published, reconcile_exit_code
from connector.observability.logs import configure_logging
from connector.scim.errors import ScimError
from connector.settings import Settings, admin_refusal, lease_problem

log = logging.getLogger("connector.cli")


class Context:
    """What every sub-command needs, built once from the environment."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()
        problem = lease_problem(self.settings)
        if problem:
            raise click.ClickException(problem)
        try:
            self.mappings = get_mappings(self.settings.mappings_dir or None)
        except MappingError as exc:
            raise click.ClickException(str(exc)) from exc
        self._gw: Gateway | None = None

    def require_service_account(self) -> None:
        """Stop, outside dev mode, a command that would sign in as the bootstrap administrator."""
        refusal = admin_refusal(self.settings)
        if refusal:
            raise click.ClickException(refusal)

    @property
    def gw(self) -> Gateway:
        if self._gw is None:
            self.require_service_account()
            self._gw = Gateway(self.settings)
        return self._gw

    def admin_gw(self) -> Gateway:
        """A gateway signed in as the Keycloak administrator (bootstrap creates realms)."""
        return Gateway(self.settings, connect(self.settings, as_admin=True))

    def directory(self) -> EtudeDirectory:
        return EtudeDirectory(self.gw, self.settings.token_cache_seconds)


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.version_option(__version__, prog_name="connector")
def cli() -> None:
    """Provision étude staff from SCIM 2.0 into Keycloak for Mars and V3."""


@cli.command()
@click.option("--host", default=None, help="Address to listen on (CONNECTOR_HOST).")
@click.option("--port", default=None, type=int, help="Port (CONNECTOR_PORT).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve SCIM 2.0 at /scim/v2 on gunicorn; SIGTERM finishes the requests in flight."""
    from connector.web.server import serve as run_server

    ctx.require_service_account()
    s = ctx.settings
    host = host or s.host
    port = port or s.port
    click.echo(f"connector {__version__}: serving SCIM 2.0 at http://{host}:{port}/scim/v2 "
               f"(realm {s.realm} on {s.keycloak_url}; {s.workers} worker(s) x "
               f"{s.threads} threads)")
    run_server(s, host, port)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@pass_ctx
def bootstrap(ctx: Context, dry_run: bool) -> None:
    """Make the realm match mappings/: realm, clients, roles, groups, policy, service account."""
    actions = run_bootstrap(ctx.admin_gw(), ctx.settings, ctx.mappings, dry_run=dry_run)
    realm = ctx.settings.realm
    if not actions:
        click.echo(f"bootstrap: realm {realm} already matches mappings/; nothing to change.")
        return
    for action in actions:
        click.echo(f"  {action}")
    verb = "would make" if dry_run else "made"
    click.echo(f"bootstrap: {verb} {len(actions)} change(s) to realm {realm}"
               + (" (dry run: nothing changed)." if dry_run else "."))


@cli.group()
def etude() -> None:
    """Register and list études (R11)."""


@etude.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The étude's name, as on the signed form.")
@pass_ctx
def etude_add(ctx: Context, code: str, name: str) -> None:
    """Register an étude, so that its users can be granted access (R11)."""
    try:
        created, _ = ctx.directory().add(code, name)
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"étude {code}: {'registered' if created else 'already registered'} "
               f"(group /etudes/{code})")


@etude.command("list")
@click.option("--attested-before", "attested_before", default=None,
              type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only the études whose titulaire last attested their accounts before this "
              "day, or never did; with the last attestation.")
@pass_ctx
def etude_list(ctx: Context, attested_before: Any) -> None:
    """List the registered études (those to chase for an attestation, with --attested-before)."""
    from connector.keycloak.etudes import attestations_of
    from connector.keycloak.etudes import attested_before as older_than

    groups = ctx.directory().registered()
    if attested_before is not None:
        groups = older_than(groups, attested_before.date())
    for group in groups:
        attrs: dict[str, Any] = group.get("attributes") or {}
        line = f"{group['name']}\t{(attrs.get('etudeName') or [''])[0]}"
        if attested_before is not None:
            history = attestations_of(group)
            line += (f"\tlast attested {history[0].at.date().isoformat()} by {history[0].by} "
                     f"({history[0].accounts} accounts)" if history else "\tnever attested")
        click.echo(line)


@cli.group()
def token() -> None:
    """Issue and revoke bearer tokens (stored in Keycloak as hashes only)."""


@token.command("create")
@click.option("--etude", "etude_code", default=None, help="Étude code the token acts for.")
@click.option("--admin", is_flag=True, help="A token that sees every étude.")
@click.option("--expires-in", "expires_in", type=click.IntRange(0, 3650), default=365,
              show_default=True, metavar="DAYS", help="Days until it stops working; 0: never.")
@click.option("--read-only", is_flag=True, help="It may read and search, never write.")
@pass_ctx
def token_create(ctx: Context, etude_code: str | None, admin: bool, expires_in: int,
                 read_only: bool) -> None:
    """Print a new bearer token alone on the last line (shown once, stored as a hash)."""
    if bool(etude_code) == admin:
        raise click.UsageError("give exactly one of --etude CODE or --admin")
    try:
        token_id, value = ctx.directory().create_token(None if admin else etude_code,
                                                       expires_in, read_only)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    scope = "admin" if admin else f"étude {etude_code}"
    rights = "read-only" if read_only else "read-write"
    until = f"expires in {expires_in} day(s)" if expires_in else "never expires"
    click.echo(f"token {token_id} for {scope}, {rights}, {until}; keep it secret, it is "
               "shown only once:")
    click.echo(value)


@token.command("revoke")
@click.argument("token_or_id")
@click.option("--etude", "etude_code", default=None,
              help="The étude of the token id (omit for an admin token id).")
@pass_ctx
def token_revoke(ctx: Context, token_or_id: str, etude_code: str | None) -> None:
    """End a token, given the token itself or its id."""
    if not ctx.directory().revoke_token(token_or_id, etude_code):
        raise click.ClickException("no such token")
    click.echo("token revoked")


@token.command("list")
@click.option("--etude", "etude_code", default=None)
@pass_ctx
def token_list(ctx: Context, etude_code: str | None) -> None:
    """List tokens: id, creation, expiry, rights, last use (never the tokens)."""
    from connector.keycloak.tokens import token_lines

    for line in token_lines(ctx.directory().list_tokens(etude_code)):
        click.echo(line)


# -- lifecycle: expiry, upcoming report, reconciliation ---------------------------------------
def _lifecycle(ctx: Context) -> Any:
    """Build the lifecycle jobs on the very wiring the SCIM app uses (teams, mappings).

    A job waits out a whole lease for a busy user: a lock left by a request that died (its
    replica or its Keycloak node killed) ends with its lease, and the job then takes it over.
    """
    from connector.wiring import build_services

    s = ctx.settings
    patient = replace(s, lock_wait_seconds=max(s.lock_wait_seconds,
                                               s.lock_lease_seconds + s.lock_wait_seconds))
    return build_services(patient, ctx.gw).lifecycle()


def _emit(report: Any, as_json: bool) -> None:
    import json

    from connector.service.lifecycle import render_text

    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in render_text(report):
            click.echo(line)


@cli.command()
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Revoke what has ended by this day (default: today in Europe/Paris).")
@click.option("--dry-run", is_flag=True, help="List the same users and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--upcoming", type=click.IntRange(1, 366), default=None, metavar="DAYS",
              help="Only list, per étude, the accesses ending within DAYS days.")
@pass_ctx
def expire(ctx: Context, as_of: Any, dry_run: bool, as_json: bool,
           upcoming: int | None) -> None:
    """Revoke every access ended by a day (R8, R9). Exit 0 ok, 1 a user failed, 75 locked."""
    import signal

    from connector.service.lifecycle import EXIT_LOCKED, LockHeld

    # Kubernetes stops a Job with SIGTERM: unwind normally so the lock is released.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    day = as_of.date() if as_of else None
    with published(ctx.settings, "expire", upcoming is None and not dry_run) as run:
        life = _lifecycle(ctx)
        if upcoming is not None:
            report = life.upcoming(upcoming, day)
        else:
            try:
                report = life.expire(day, dry_run=dry_run)
            except LockHeld as exc:
                log.warning("expire: %s; not running (exit %s).", exc, EXIT_LOCKED)
                click.echo(f"expire: {exc}; not running (exit {EXIT_LOCKED}).")
                sys.exit(EXIT_LOCKED)
        run.report = report
        _emit(report, as_json)
        sys.exit(report.exit_code)


@cli.command()
@click.option("--apply", is_flag=True, help="Repair every difference (default: report only).")
@click.option("--etude", "etude_code", default=None, help="Only the users of this étude.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def reconcile(ctx: Context, apply: bool, etude_code: str | None, as_json: bool) -> None:
    """Compare users' Keycloak state with their records; repair with --apply (R8-R10).

    Exit 0 consistent or repaired, 1 a user failed or Keycloak unreachable, 3 differences found.
    """
    with published(ctx.settings, "reconcile", etude_code is None) as run:
        run.report = _lifecycle(ctx).reconcile(etude_code, apply=apply)
        _emit(run.report, as_json)
        sys.exit(reconcile_exit_code(run.report, apply))


def main() -> None:
    """Run the CLI; every line on stderr is JSON, failures one clear line and exit code 1."""
    configure_logging(os.environ.get("CONNECTOR_LOG_LEVEL", "INFO"))
    try:
        code = cli.main(standalone_mode=False)
    except KeycloakUnavailable as exc:
        log.error("connector: Keycloak cannot be reached (%s); retry later.", exc)
        sys.exit(1)
    except (ScimError, KeycloakHTTPError, LockBusy) as exc:
        log.error("connector: %s", getattr(exc, "detail", exc))
        sys.exit(1)
    except click.ClickException as exc:
        log.error("connector: %s (see --help)", exc.format_message())
        sys.exit(exc.exit_code)
    except click.Abort:
        log.error("connector: aborted")
        sys.exit(1)
    except Exception:
        log.exception("connector: unexpected error")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
