"""What a titulaire does here: declare a departure (R8) and attest the list (R10, R11)."""

from __future__ import annotations

from datetime import date

from flask import redirect, request, session, url_for
from werkzeug.wrappers import Response

from connector.audit import audit
from connector.keycloak.etudes import ATTEST_ATTR
from connector.portal.accounts import TooLarge
from connector.portal.pages import etude_view, principal
from connector.portal.web import blueprint, log, page, portal, problem, visitor
from connector.portal.words import long_date, plural
from connector.scim.errors import NotFound, ScimError
from connector.scim.schema_defs import ETUDE_USER, PATCH_OP
from connector.service.context import RequestContext

READ_ONLY = ("Votre profil (superviseur) permet de consulter « Mon étude », pas d'y faire des "
             "déclarations : seuls les huissiers de l'étude le peuvent.")


def parse_last_day(raw: str, today: date) -> tuple[date | None, str | None]:
    """Read the departure form's last day: a date, today or later (R8); else a French error."""
    raw = raw.strip()
    if not raw:
        return None, "Indiquez le dernier jour de la personne à l'étude."
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None, "Le dernier jour doit être une date (jj/mm/aaaa)."
    if day < today:
        return None, (f"Le dernier jour ne peut pas être passé : indiquez aujourd'hui "
                      f"({long_date(today)}) ou une date à venir.")
    return day, None


def departure_patch(day: date) -> dict[str, object]:
    """The SCIM PatchOp an HR system would send to declare the departure (RFC 7644 §3.5.2.3)."""
    return {"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": f"{ETUDE_USER}:departureDate",
                            "value": day.isoformat()}]}


def _form(status: int = 200, chosen: str = "", last_day: str = "",
          error: str | None = None) -> Response:
    try:
        current = etude_view().current()
        too_many = False
    except TooLarge:
        current, too_many = [], True
    return page("portal/depart.html", status, nav="acces", current=current, too_many=too_many,
                chosen=chosen, last_day=last_day or portal().today().isoformat(),
                today=portal().today(), error=error)


@blueprint.get("/depart")
def departure_form() -> Response:
    """« Déclarer un départ »: pick an account and give his last day."""
    if not visitor().can_write:
        return problem(403, READ_ONLY, title="Lecture seule")
    return _form(chosen=request.args.get("compte", ""))


@blueprint.post("/depart")
def declare_departure() -> Response:
    """Apply the departure exactly as a SCIM PATCH of departureDate would (R8, R10)."""
    if not visitor().can_write:
        return problem(403, READ_ONLY, title="Lecture seule")
    user_id = request.form.get("compte", "").strip()
    raw = request.form.get("dernier_jour", "")
    view = etude_view()
    account = view.account(user_id) if user_id else None
    if account is None:
        return _form(400, user_id, raw, "Choisissez un compte de l'étude dans la liste.")
    day, error = parse_last_day(raw, portal().today())
    if day is None:
        return _form(400, user_id, raw, error)
    try:
        portal().users.patch(user_id, departure_patch(day), RequestContext(principal(),
                                                                           french=True))
    except NotFound:
        return _form(400, user_id, raw, "Choisissez un compte de l'étude dans la liste.")
    except ScimError as exc:
        if exc.status >= 500:
            raise
        return _form(400, user_id, raw, exc.detail_fr)
    session["notice"] = (f"Départ de {account.display} ({account.user_name}) enregistré : "
                         f"dernier jour le {long_date(day)}. L'accès prend fin à l'issue de "
                         "ce jour.")
    return redirect(url_for("portal.accounts"), 303)


@blueprint.post("/attestation")
def attest() -> Response:
    """« Attester la liste »: record who reviewed the étude's accounts, when, how many."""
    v = visitor()
    if not v.can_write:
        return problem(403, READ_ONLY, title="Lecture seule")
    accounts = etude_view().count()
    seen = request.form.get("comptes", "")
    if seen != str(accounts):
        return problem(409, f"La liste a changé depuis son affichage ({seen or '?'} comptes "
                       f"affichés, {accounts} aujourd'hui) ; relisez-la avant de l'attester.",
                       title="La liste a changé")
    p = portal()
    made = p.directory.attest(v.etude, v.user_name, v.display, accounts, p.locks())
    audit("etude.attest", who=principal().label(), etude=v.etude, target=v.etude,
          changed=[ATTEST_ATTR], accounts=accounts)
    log.info("portal: étude %s attested by %s", v.etude, v.user_name)
    session["notice"] = (f"Liste attestée le {long_date(made.at.date())} : "
                         f"{plural(accounts, 'compte')}.")
    return redirect(url_for("portal.accounts"), 303)
