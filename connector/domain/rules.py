"""The access-request rules (R2, R4–R9, R11) over plain values: hard errors and access status."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from connector.domain.dates import add_months
from connector.domain.errors import RuleViolation
from connector.domain.record import EtudeRecord

CONTRACT_TYPES = ("CDI", "CDD")
ACCESS_STATUSES = ("granted", "pending", "expired", "revoked")
KBIS_MAX_AGE_MONTHS = 3


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


def _listing(values: Collection[str]) -> str:
    ordered = values if isinstance(values, list | tuple) else sorted(values)
    return ", ".join(ordered)


def normalise_contract_type(value: str | None) -> str | None:
    """Normalise a contract type for R5: trim and upper-case; None when blank."""
    if value is None:
        return None
    value = value.strip().upper()
    return value or None


# --- hard errors, checked when the étude submits ------------------------------------------


def _check_profile(new: EtudeRecord, profiles: Collection[str]) -> None:
    """Refuse a profile outside the annex's list per R6."""
    if not _blank(new.profile) and new.profile not in profiles:
        allowed = _listing(profiles)
        raise RuleViolation(
            "R6", "profile",
            f"profile must be one of: {allowed}.",
            f"profile doit être l'une des valeurs suivantes : {allowed}.",
        )


def _check_platforms(new: EtudeRecord, platforms: Collection[str]) -> None:
    """Refuse a platform other than Mars or V3 per R6."""
    for platform in new.platforms:
        if platform not in platforms:
            allowed = _listing(platforms)
            raise RuleViolation(
                "R6", "platforms",
                f"platforms must contain only: {allowed}.",
                f"platforms ne doit contenir que : {allowed}.",
            )


def _newly_claimed(new: EtudeRecord, old: EtudeRecord | None, attr: str, titulaire: bool) -> bool:
    """Tell whether a proof date is new: no old record, a changed date, or a changed status."""
    return (old is None or getattr(old, attr) != getattr(new, attr)
            or old.titulaire is not titulaire)


def _check_proof(new: EtudeRecord, old: EtudeRecord | None, today: date) -> None:
    """Refuse a K-bis outside the last 3 months or a future employer attestation per R4."""
    if (new.titulaire is True and new.kbis_date is not None
            and _newly_claimed(new, old, "kbis_date", True)):
        oldest = add_months(today, -KBIS_MAX_AGE_MONTHS)
        if not oldest <= new.kbis_date <= today:
            raise RuleViolation(
                "R4", "kbisDate",
                f"kbisDate must be between {oldest.isoformat()} and {today.isoformat()}: "
                "a titulaire proves his status with a K-bis extract less than 3 months old.",
                f"kbisDate doit être comprise entre le {_fr(oldest)} et le {_fr(today)} : "
                "un titulaire justifie de sa qualité par un extrait K-bis de moins de 3 mois.",
            )
    if (new.titulaire is False and new.employer_attestation_date is not None
            and _newly_claimed(new, old, "employer_attestation_date", False)
            and new.employer_attestation_date > today):
        raise RuleViolation(
            "R4", "employerAttestationDate",
            f"employerAttestationDate must not be in the future (today is {today.isoformat()}).",
            f"employerAttestationDate ne doit pas être dans le futur (nous sommes le "
            f"{_fr(today)}).",
        )


def _check_contract(new: EtudeRecord) -> None:
    """Refuse a contract type other than CDI or CDD, and an end date on a CDI, per R5."""
    contract = normalise_contract_type(new.contract_type)
    if contract is not None and contract not in CONTRACT_TYPES:
        raise RuleViolation(
            "R5", "contractType",
            "contractType must be CDI or CDD.",
            "contractType doit être CDI ou CDD.",
        )
    if contract == "CDI" and new.contract_end_date is not None:
        raise RuleViolation(
            "R5", "contractEndDate",
            "contractEndDate applies only to a fixed-term contract (CDD), not to a CDI.",
            "contractEndDate ne s'applique qu'à un contrat à durée déterminée (CDD), pas à un CDI.",
        )


def _check_confidentiality(new: EtudeRecord, old: EtudeRecord | None, today: date) -> None:
    """Refuse a confidentiality clause accepted on a future day per R7."""
    accepted = new.confidentiality_accepted_date
    if (accepted is not None and accepted > today
            and (old is None or old.confidentiality_accepted_date != accepted)):
        raise RuleViolation(
            "R7", "confidentialityAcceptedDate",
            f"confidentialityAcceptedDate must not be in the future (today is "
            f"{today.isoformat()}).",
            f"confidentialityAcceptedDate ne doit pas être dans le futur (nous sommes le "
            f"{_fr(today)}).",
        )


def validate_submission(new: EtudeRecord, old: EtudeRecord | None, today: date,
                        profiles: Collection[str], platforms: Collection[str]) -> None:
    """Raise RuleViolation for the first hard error of R4–R7 in a submitted record."""
    _check_profile(new, profiles)
    _check_platforms(new, platforms)
    _check_proof(new, old, today)
    _check_contract(new)
    _check_confidentiality(new, old, today)


# --- access status, recomputed at any time -------------------------------------------------


@dataclass(frozen=True)
class AccessIssue:
    """Name one unmet access condition with a stable code and EN/FR details."""

    code: str
    detail_en: str
    detail_fr: str
    rule: str = ""

    def detail(self, french: bool) -> str:
        """Return the detail in French or English."""
        return self.detail_fr if french else self.detail_en


def _ending_issues(rec: EtudeRecord, today: date) -> list[AccessIssue]:
    """List the R8/R9 endings: revoked account, departure, ended contract."""
    issues: list[AccessIssue] = []
    if not rec.active:
        issues.append(AccessIssue(
            "inactive", "The étude has revoked the account (active is false).",
            "L'étude a révoqué le compte (active vaut false).", "R8"))
    if rec.departure_date is not None and today > rec.departure_date:
        issues.append(AccessIssue(
            "departed",
            f"The user left the étude; the last day was {rec.departure_date.isoformat()}.",
            f"L'utilisateur a quitté l'étude ; son dernier jour était le "
            f"{_fr(rec.departure_date)}.", "R8"))
    if rec.contract_end_date is not None and today > rec.contract_end_date:
        issues.append(AccessIssue(
            "contract_ended",
            f"The employment contract ended; the last day was "
            f"{rec.contract_end_date.isoformat()}.",
            f"Le contrat de travail a pris fin ; son dernier jour était le "
            f"{_fr(rec.contract_end_date)}.", "R5"))
    return issues


def _identity_issues(rec: EtudeRecord, etude_registered: bool) -> list[AccessIssue]:
    """List the missing R11 étude, R2 e-mail and R6 profile and platforms."""
    issues: list[AccessIssue] = []
    if rec.etude is None or _blank(rec.etude):
        issues.append(AccessIssue(
            "etude_missing", "No étude is given for the user.",
            "Aucune étude n'est indiquée pour l'utilisateur.", "R11"))
    elif not etude_registered:
        issues.append(AccessIssue(
            "etude_unregistered",
            f"The étude {rec.etude} has not signed the access request (Bon pour acceptation).",
            f"L'étude {rec.etude} n'a pas signé la demande d'accès (Bon pour acceptation).",
            "R11"))
    if _blank(rec.primary_email):
        issues.append(AccessIssue(
            "email_missing",
            "An e-mail address is required: the account-creation message is sent there.",
            "Une adresse e-mail est obligatoire : le message de création du compte y est envoyé.",
            "R2"))
    if _blank(rec.profile):
        issues.append(AccessIssue(
            "profile_missing", "No access profile is given.",
            "Aucun profil d'accès n'est indiqué.", "R6"))
    if not rec.platforms:
        issues.append(AccessIssue(
            "platforms_missing", "No platform is given (Mars, V3 or both).",
            "Aucune plateforme n'est indiquée (Mars, V3 ou les deux).", "R6"))
    return issues


def _proof_issues(rec: EtudeRecord) -> list[AccessIssue]:
    """List the missing R4 proof, R5 contract data and R7 confidentiality acceptance."""
    issues: list[AccessIssue] = []
    if rec.titulaire is None:
        issues.append(AccessIssue(
            "titulaire_missing",
            "It is not stated whether the user is the titulaire of the étude or a collaborator.",
            "Il n'est pas indiqué si l'utilisateur est titulaire de l'étude ou collaborateur.",
            "R4"))
    elif rec.titulaire and rec.kbis_date is None:
        issues.append(AccessIssue(
            "kbis_missing", "A titulaire needs the date of a K-bis extract.",
            "Un titulaire doit fournir la date d'un extrait K-bis.", "R4"))
    elif not rec.titulaire and rec.employer_attestation_date is None:
        issues.append(AccessIssue(
            "attestation_missing", "A collaborator needs the date of the employer attestation.",
            "Un collaborateur doit fournir la date de l'attestation employeur.", "R4"))
    contract = normalise_contract_type(rec.contract_type)
    if contract is None and rec.titulaire is False:
        issues.append(AccessIssue(
            "contract_type_missing", "A collaborator needs a contract type (CDI or CDD).",
            "Un collaborateur doit avoir un type de contrat (CDI ou CDD).", "R5"))
    elif contract is not None and contract not in CONTRACT_TYPES:
        issues.append(AccessIssue(
            "contract_type_invalid", "The contract type must be CDI or CDD.",
            "Le type de contrat doit être CDI ou CDD.", "R5"))
    if contract == "CDD" and rec.contract_end_date is None:
        issues.append(AccessIssue(
            "contract_end_missing", "A fixed-term contract (CDD) needs its planned end date.",
            "Un contrat à durée déterminée (CDD) doit indiquer sa date de fin prévue.", "R5"))
    if rec.confidentiality_accepted_date is None:
        issues.append(AccessIssue(
            "confidentiality_missing", "The user has not accepted the confidentiality clause.",
            "L'utilisateur n'a pas accepté la clause de confidentialité.", "R7"))
    return issues


def access_status(rec: EtudeRecord, today: date,
                  etude_registered: bool) -> tuple[str, list[AccessIssue]]:
    """Compute the R2/R4–R9/R11 access status and every unmet condition on a Paris day."""
    issues = (_ending_issues(rec, today) + _identity_issues(rec, etude_registered)
              + _proof_issues(rec))
    codes = {issue.code for issue in issues}
    if "inactive" in codes:
        return "revoked", issues
    if codes & {"departed", "contract_ended"}:
        return "expired", issues
    return ("pending" if issues else "granted"), issues


def access_ends_on(rec: EtudeRecord) -> date | None:
    """Return the first day R5/R8/R9 forbid access: the day after the earliest last day."""
    last_days = [d for d in (rec.contract_end_date, rec.departure_date) if d is not None]
    return min(last_days) + timedelta(days=1) if last_days else None
