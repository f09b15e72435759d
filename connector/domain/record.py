"""The étude-side facts about one user that the rules read (plain values, no SCIM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class EtudeRecord:
    """Hold one user's access-request data (R2, R4–R8, R11) as plain values."""

    etude: str | None
    profile: str | None
    platforms: tuple[str, ...]
    titulaire: bool | None
    kbis_date: date | None
    employer_attestation_date: date | None
    contract_type: str | None
    contract_end_date: date | None
    departure_date: date | None
    confidentiality_accepted_date: date | None
    active: bool = True
    primary_email: str | None = None
