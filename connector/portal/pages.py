"""The pages a titulaire reads: the étude's accesses, what ends soon, the teams."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request, session
from markupsafe import Markup
from werkzeug.wrappers import Response

from connector.keycloak.etudes import Principal, attestation_due, attestations_of
from connector.portal import chart
from connector.portal.accounts import EtudeView
from connector.portal.admission import PORTAL_TOKEN
from connector.portal.listing import PAGE_SIZE, SLUG_OF, SORTS, listing_request
from connector.portal.web import blueprint, page, portal, visitor
from connector.portal.words import STATUS_ORDER, status_word

HORIZONS = (30, 60, 90)


def principal() -> Principal:
    """The signed-in titulaire as the services know callers: his étude, and him (R10)."""
    v = visitor()
    return Principal(PORTAL_TOKEN, v.etude, actor=v.user_name)


def etude_view() -> EtudeView:
    p = portal()
    return EtudeView(p.users, p.teams, visitor().etude, p.lifecycle)


def attestation_state(group: dict[str, Any]) -> dict[str, object]:
    """The étude's last attestation, and whether it is older than the period set (or missing)."""
    p = portal()
    history = attestations_of(group)
    last = history[0] if history else None
    period = p.settings.portal_attestation_days
    return {"last": last, "due": attestation_due(last, p.today(), period), "period": period}


@blueprint.get("/")
def accounts() -> Response:
    """« Accès de l'étude »: every account, filtered by status, sorted, paged."""
    req = listing_request(request.args)
    view = etude_view()
    listing = view.page(req, PAGE_SIZE)
    # Attribute counts are the dearest reads Keycloak serves: one more only when filtered.
    total = listing.window.total if req.status is None else view.count()
    group = portal().directory.group(visitor().etude) or {}
    name = ((group.get("attributes") or {}).get("etudeName") or [""])[0]
    return page("portal/acces.html", nav="acces", req=req, listing=listing,
                total=total, sorts=SORTS, slugs=SLUG_OF, etude_name=name,
                attestation=attestation_state(group), notice=session.pop("notice", None))


@blueprint.get("/a-venir")
def upcoming() -> Response:
    """« À venir »: the accesses ending in the next 30, 60 or 90 days, and two charts."""
    try:
        days = int(request.args.get("jours", "30"))
    except ValueError:
        days = 30
    if days not in HORIZONS:
        days = 30
    view = etude_view()
    today = portal().today()
    ending = view.upcoming(days, today)
    counts = view.counts()
    status_svg = chart.bar_chart(
        "par-statut", "Comptes de l'étude par statut",
        [(status_word(s), counts[s], chart.STATUS_COLOURS[s]) for s in STATUS_ORDER])
    weekly = chart.ends_per_week(today, [date.fromisoformat(u["lastDay"]) for u in ending], days)
    weeks_svg = chart.column_chart(
        "fins-par-semaine", f"Fins d'accès par semaine, sur {days} jours", weekly)
    return page("portal/a_venir.html", nav="a-venir", days=days, horizons=HORIZONS,
                ending=ending, counts=counts, weekly=weekly, today=today,
                status_svg=Markup(status_svg), weeks_svg=Markup(weeks_svg))


@blueprint.get("/equipes")
def teams() -> Response:
    """« Équipes »: the étude's teams and what they delegate (R12), read-only."""
    return page("portal/equipes.html", nav="equipes", teams=etude_view().team_list(principal()))
