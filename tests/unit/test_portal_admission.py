"""« Mon étude »: who may enter, read from his stored record, never from the token."""

from __future__ import annotations

import json
from datetime import date

from connector.portal.admission import Refusal, Visitor, admit

TODAY = date(2026, 11, 27)


def rep(profile: str = "huissier", status: str = "granted", enabled: bool = True,
        **attrs: object) -> dict:
    base = {"etude": ["E1"], "scimUserName": ["jmartin"], "profile": [profile],
            "accessStatus": [status]}
    base.update({k: v if isinstance(v, list) else [v] for k, v in attrs.items()})
    return {"id": "u-1", "username": "jmartin", "enabled": enabled, "firstName": "Jean",
            "lastName": "Martin", "attributes": base}


def test_a_granted_huissier_enters_his_etude_and_may_act():
    assert admit(rep(), True, TODAY) == Visitor("u-1", "jmartin", "Jean Martin", "E1",
                                                "huissier", True)


def test_a_granted_superviseur_enters_read_only():
    visitor = admit(rep("superviseur"), True, TODAY)
    assert isinstance(visitor, Visitor) and not visitor.can_write


def test_other_profiles_are_refused_with_their_profile_named():
    for profile in ("comptable", "accueil", "gestionnaire_amiable", "back_office"):
        refusal = admit(rep(profile), True, TODAY)
        assert isinstance(refusal, Refusal) and refusal.code == "profile"
    assert "(Comptable)" in admit(rep("comptable"), True, TODAY).title  # type: ignore[union-attr]


def test_a_pending_huissier_is_refused_with_the_reasons_he_waits_for():
    issues = json.dumps([["kbis_missing", "A titulaire needs a K-bis.",
                          "Un titulaire doit fournir la date d'un extrait K-bis."]])
    refusal = admit(rep(status="pending", enabled=True, accessIssues=issues), True, TODAY)
    assert isinstance(refusal, Refusal) and refusal.code == "not_granted"
    assert refusal.title == "Votre accès n'est pas accordé (statut : en attente)."
    assert refusal.reasons == ("Un titulaire doit fournir la date d'un extrait K-bis.",)


def test_a_disabled_or_ended_account_is_refused_even_if_the_status_says_granted():
    assert isinstance(admit(rep(enabled=False), True, TODAY), Refusal)
    # The nightly job has not run yet: his last day was yesterday.
    ended = admit(rep(accessEndsOn=TODAY.isoformat()), True, TODAY)
    assert isinstance(ended, Refusal) and "expiré" in ended.title
    assert isinstance(admit(rep(accessEndsOn="2026-11-28"), True, TODAY), Visitor)


def test_no_etude_or_an_unregistered_one_is_refused():
    nobody = rep()
    del nobody["attributes"]["etude"]
    assert admit(nobody, True, TODAY).code == "no_etude"  # type: ignore[union-attr]
    assert admit(None, True, TODAY).code == "no_etude"  # type: ignore[union-attr]
    assert admit(rep(), False, TODAY).code == "etude_unregistered"  # type: ignore[union-attr]
