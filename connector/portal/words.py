"""The French words « Mon étude » shows for the connector's codes (pure functions)."""

from __future__ import annotations

from datetime import date, datetime

from connector.domain.dates import PARIS

# R8/R9: what accessStatus means to a titulaire.
STATUS_WORDS = {"granted": "accordé", "pending": "en attente", "expired": "expiré",
                "revoked": "révoqué"}
STATUS_ORDER = ("granted", "pending", "expired", "revoked")
# Annex « Détail des profils », in the form's own words.
PROFILE_WORDS = {"accueil": "Accueil", "gestionnaire_amiable": "Gestionnaire amiable",
                 "gestionnaire_judiciaire": "Gestionnaire judiciaire",
                 "back_office": "Administratif (back-office)", "comptable": "Comptable",
                 "superviseur": "Superviseur (responsable)", "huissier": "Huissier de justice"}
# mappings/permissions.yaml, as the annex says them.
PERMISSION_WORDS = {
    "consult_files_amiable": "Consulter les dossiers en phase amiable",
    "consult_files_judiciaire": "Consulter les dossiers en phase judiciaire",
    "update_contact_details": "Mettre à jour les coordonnées",
    "read_documents": "Accéder aux documents des dossiers",
    "read_accounting_documents": "Accéder aux documents comptables",
    "attach_documents": "Joindre des documents au dossier",
    "collect_payments": "Effectuer les encaissements",
    "record_payments": "Saisir les versements et les chèques",
    "contact_debtor": "Prendre contact avec le débiteur",
    "send_reminders": "Effectuer les relances",
    "communicate_clients": "Communiquer avec les clients",
    "management_control": "Contrôle de gestion",
    "validate_remittances": "Valider les reversements",
    "assign_files": "Réceptionner et affecter les dossiers",
    "launch_reminder_campaigns": "Lancer les campagnes de relances",
    "follow_performance": "Suivre les performances de l'étude",
    "mobile_app": "Utiliser l'application mobile",
    "delegate": "Déléguer aux équipes",
}
ENDING_WORDS = {"contractEndDate": "fin du contrat (CDD)", "departureDate": "départ déclaré"}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def status_word(status: str | None) -> str:
    """Say an access status in French (R8, R9); an unknown code is shown as it is."""
    return STATUS_WORDS.get(status or "pending", status or "")


def profile_word(profile: str | None) -> str:
    """Say a profile as the annex names it."""
    return PROFILE_WORDS.get(profile or "", profile or "—")


def permission_word(permission: str) -> str:
    """Say a delegated permission as the annex describes it (R12)."""
    return PERMISSION_WORDS.get(permission, permission)


def short_date(day: date | str | None) -> str:
    """Write a day as 31/12/2026 (the form's own format); '—' when there is none."""
    if day is None or day == "":
        return "—"
    if isinstance(day, str):
        try:
            return short_date(date.fromisoformat(day[:10]))
        except ValueError:
            return day
    return day.strftime("%d/%m/%Y")


def long_date(day: date) -> str:
    """Write a day as « 1er avril 2026 »."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def paris_time(moment: datetime | str | None) -> str:
    """Write an instant in Paris time as 31/12/2026 à 14:05; '—' when there is none."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        try:
            return paris_time(datetime.fromisoformat(moment.replace("Z", "+00:00")))
        except ValueError:
            return moment
    local = moment.astimezone(PARIS)
    return f"{local.strftime('%d/%m/%Y')} à {local.strftime('%H:%M')}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """Write « 1 compte », « 3 comptes » (0 is singular in French)."""
    return f"{count} {one if count <= 1 else (many or one + 's')}"
