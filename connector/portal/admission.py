"""Who may open « Mon étude », read from the user's stored record (pure functions).

Only a user the connector granted (R2, R4–R9, R11), whose record names an étude, with the
profile huissier (who may act) or superviseur (who may only read), enters, and only his étude.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.portal.listing import account_from_keycloak
from connector.portal.words import profile_word, status_word

PORTAL_TOKEN = "portal"  # how audit lines name the portal in place of a token id
WRITERS = ("huissier",)
READERS = ("huissier", "superviseur")


@dataclass(frozen=True)
class Visitor:
    """A signed-in titulaire (or superviseur) and what he may do."""

    user_id: str
    user_name: str
    display: str
    etude: str
    profile: str
    can_write: bool


@dataclass(frozen=True)
class Refusal:
    """Why someone may not enter, in French, with a code for the log."""

    code: str
    title: str
    reasons: tuple[str, ...] = ()


def _attr(rep: dict[str, Any], key: str) -> str | None:
    values = (rep.get("attributes") or {}).get(key) or []
    return str(values[0]) if values else None


def admit(rep: dict[str, Any] | None, etude_registered: bool, today: date) -> Visitor | Refusal:
    """Decide from a Keycloak user representation whether he may enter, and as what."""
    if rep is None or not _attr(rep, "etude"):
        return Refusal("no_etude", "Votre compte n'est rattaché à aucune étude.",
                       ("« Mon étude » est réservé aux huissiers et superviseurs des études "
                        "inscrites auprès d'iQera.",))
    account = account_from_keycloak(rep)
    etude = str(account.etude)
    if not etude_registered:
        return Refusal("etude_unregistered", f"L'étude {etude} n'est pas inscrite.",
                       ("L'étude doit avoir signé la demande d'accès (Bon pour acceptation) "
                        "avant que ses comptes n'aient accès (R11).",))
    ends = _attr(rep, "accessEndsOn")
    # The stored status, the enabled flag and the end day must all agree: a nightly job that
    # has not run yet, or a hand edit in the console, never lets an ended access in.
    ended = ends is not None and ends <= today.isoformat()
    if account.status != "granted" or not rep.get("enabled") or ended:
        status = "expired" if ended and account.status == "granted" else account.status
        return Refusal("not_granted",
                       f"Votre accès n'est pas accordé (statut : {status_word(status)}).",
                       account.issues or ("Le compte est désactivé dans Keycloak.",))
    if account.profile not in READERS:
        return Refusal("profile",
                       f"Votre profil ({profile_word(account.profile)}) ne donne pas accès à "
                       "« Mon étude ».",
                       ("Cette page est réservée aux huissiers de l'étude et, en lecture "
                        "seule, à ses superviseurs. Adressez-vous au titulaire de votre "
                        "étude.",))
    return Visitor(account.id, account.user_name, account.display, etude,
                   str(account.profile), account.profile in WRITERS)
