"""« Mon étude » end to end in Chromium: Keycloak's own login page, the three pages, a departure
revoked in Keycloak, an attestation kept beside the token hashes, and both sessions ended."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

from connector.keycloak.etudes import ATTEST_ATTR, TOKEN_ATTR
from connector.keycloak.jobstate import JobState
from connector.service.context import RequestContext
from connector.service.lifecycle import Lifecycle
from tests.browser.conftest import ADMIN, E, World, shot, sign_in


def listed(page: Any) -> list[str]:
    """The user names of the accounts table, page after page (following « Page suivante »)."""
    names: list[str] = []
    while True:
        names += [c.strip() for c in page.locator(
            "table.comptes tbody td[data-label='Identifiant']").all_inner_texts()]
        following = page.locator("a[rel=next]")
        if following.count() == 0:
            return names
        following.click()
        page.wait_for_load_state("load")


def sessions(world: World, user_name: str) -> list[Any]:
    gw = world.gw
    return list(gw.get(gw.path("/users/{u}/sessions", u=world.ids[user_name])))


def test_titulaire_reviews_declares_attests_and_signs_out(server, world, browser, app, caplog):
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("#kc-login")
    assert page.url.startswith(world.settings.keycloak_url), "not Keycloak's own login page"
    shot(page, "01-connexion-keycloak")
    page.fill("#username", "jmartin")
    page.fill("#password", "Secret12")
    page.click("#kc-login")
    page.wait_for_selector("h1")
    assert page.url == server
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Accès de l'étude Etude Martin" in page.inner_text("h1")
    assert page.locator("script").count() == 0  # the page works without scripts

    # Exactly his étude's accounts, over both pages; none of the other étude's.
    shot(page, "02-acces-de-l-etude")
    names = listed(page)
    assert sorted(names) == sorted(world.etudes["P1"])
    assert not set(names) & world.etudes["P2"]
    assert "Karim" not in page.content()

    # Filtered by status: the pending accounts, each with the reasons it waits for, in French.
    page.goto(server)
    page.select_option("#statut", label="en attente")
    page.click("form.filtre button")
    page.wait_for_load_state("load")
    assert "statut=en-attente" in page.url
    assert sorted(listed(page)) == ["cattente", "dhuissier", "hmain"]
    text = page.inner_text("table.comptes")
    assert "L'utilisateur n'a pas accepté la clause de confidentialité." in text
    assert "Un titulaire doit fournir la date d'un extrait K-bis." in text
    assert "accordé" not in text

    # Sorted by profile, descending: the order follows the column, the header says so.
    page.goto(server + "?tri=profil&ordre=desc")
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Profil")
    first = page.locator("table.comptes tbody tr").first.inner_text()
    assert "Superviseur" in first

    # « À venir »: the CDD ending in 20 days, and the two charts drawn on the server.
    page.click("nav >> text=À venir")
    page.wait_for_selector("svg#par-statut")
    table = page.inner_text("table.comptes")
    assert "bcdd" in table and "fin du contrat (CDD)" in table
    assert "kautre" not in page.content()
    assert page.locator("svg#fins-par-semaine rect").count() == 5  # 30 days: 5 weeks
    shot(page, "03-a-venir")

    # « Équipes »: his étude's team and what it delegates, in the annex's words.
    page.click("nav >> text=Équipes")
    page.wait_for_selector("h1")
    body = page.inner_text("main")
    assert "Recouvrement" in body and "Effectuer les encaissements" in body
    assert "Equipe secrete P2" not in body
    shot(page, "04-equipes")

    # « Déclarer un départ »: today as last day, applied as a SCIM PATCH of departureDate.
    page.goto(server)
    caplog.set_level(logging.INFO, logger="connector.audit")
    page.click("a:has-text('Déclarer un départ de Emma Depart')")
    page.wait_for_selector("#dernier_jour")
    assert page.locator("#compte").input_value() == world.ids["edepart"]
    assert page.locator("#dernier_jour").input_value() == world.today.isoformat()
    shot(page, "05-declarer-un-depart")
    page.click("button:has-text('Déclarer le départ')")
    page.wait_for_selector("p.succes")
    assert "Départ de Emma Depart (edepart) enregistré" in page.inner_text("p.succes")
    attrs = world.user("edepart")["attributes"]
    assert attrs["departureDate"] == [world.today.isoformat()]
    assert attrs["accessEndsOn"] == [(world.today + timedelta(days=1)).isoformat()]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "connector.audit"]
    patch = [line for line in lines if line["action"] == "user.patch"
             and line["target"] == world.ids["edepart"]]
    assert patch and patch[-1]["who"] == "etude:P1:portal:jmartin"
    assert patch[-1]["changed"] == [f"{E}:departureDate", f"{E}:departureDeclaredBy"]

    # The day after his last day, the nightly job revokes him in Keycloak.
    tomorrow = world.today + timedelta(days=1)
    job = Lifecycle(app.extensions["users"], JobState(world.gw), clock=lambda: tomorrow)
    job.expire(as_of=tomorrow)
    gone = world.user("edepart")
    assert gone["enabled"] is False
    assert gone["attributes"]["accessStatus"] == ["expired"]
    assert not {p for p in world.groups("edepart") if p.startswith(("/mars/", "/v3/"))}
    page.goto(server + "?tri=statut&ordre=desc")
    row = page.locator("tr", has=page.locator("td:text-is('edepart')"))
    assert "expiré" in row.inner_text()

    # « Attester la liste »: who, when, how many, on the étude's group, token hashes kept.
    tokens_before = world.etude_group("P1")["attributes"][TOKEN_ATTR]
    page.goto(server)
    page.click("button:has-text('Attester la liste (35 comptes)')")
    page.wait_for_selector("p.succes")
    assert "Liste attestée" in page.inner_text("p.succes")
    box = page.inner_text("section.encadre")
    assert "par Jean Martin (35 comptes)" in box and "à renouveler" not in box
    stored = world.etude_group("P1")["attributes"]
    assert stored[TOKEN_ATTR] == tokens_before
    last = json.loads(stored[ATTEST_ATTR][0])
    assert (last["by"], last["accounts"]) == ("jmartin", 35)
    shot(page, "06-attestee", full=False)

    # On a phone: the same list, one card per account.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server)
    shot(page, "07-telephone", full=False)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sign out: the portal's session and Keycloak's both end.
    assert sessions(world, "jmartin")
    page.click("button:has-text('Se déconnecter')")
    page.wait_for_selector("h1:has-text('Vous êtes déconnecté')")
    assert page.url == server + "au-revoir"
    assert sessions(world, "jmartin") == []
    page.goto(server)
    page.wait_for_selector("#kc-login")
    assert page.url.startswith(world.settings.keycloak_url)


def test_a_comptable_is_refused_with_the_reason(server, world, browser):
    page = browser.new_page()
    sign_in(page, server, "acomptable")
    page.wait_for_selector("h1:has-text('Accès refusé')")
    text = page.inner_text("main")
    assert "Votre profil (Comptable) ne donne pas accès à « Mon étude »." in text
    assert page.locator("table").count() == 0
    shot(page, "08-refus-comptable")
    response = page.goto(server)
    assert response.status == 403 and "Accès refusé" in page.inner_text("h1")


def test_a_pending_huissier_is_refused(server, world, browser):
    # As the connector leaves him (disabled): Keycloak's own page refuses him.
    page = browser.new_page()
    sign_in(page, server, "dhuissier")
    assert page.url.startswith(world.settings.keycloak_url)
    assert "Compte désactivé" in page.inner_text("body")
    # Enabled by hand in the console (drift): the portal goes by his record and says why.
    other = browser.new_page()
    browser.clear_cookies()
    sign_in(other, server, "hmain")
    other.wait_for_selector("h1:has-text('Accès refusé')")
    text = other.inner_text("main")
    assert "Votre accès n'est pas accordé (statut : en attente)." in text
    assert "Un titulaire doit fournir la date d'un extrait K-bis." in text
    shot(other, "09-refus-huissier-en-attente")


def test_a_form_without_its_csrf_token_is_refused(server, world, browser):
    attested = len(world.etude_group("P1")["attributes"].get(ATTEST_ATTR, []))
    page = browser.new_page()
    sign_in(page, server, "jmartin")
    page.goto(server + "depart?compte=" + world.ids["bcdd"])
    page.wait_for_selector("#dernier_jour")
    # A forged form: the same fields, posted without the session's CSRF token.
    page.evaluate("document.querySelector('form.formulaire input[name=csrf]').remove()")
    page.click("button:has-text('Déclarer le départ')")
    page.wait_for_selector("h1:has-text('Formulaire refusé')")
    shot(page, "10-formulaire-refuse")
    assert "departureDate" not in world.user("bcdd")["attributes"]
    # Posted from elsewhere with the right token: the foreign Origin is refused too.
    page.goto(server)
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    forged = browser.request.post(server + "attestation",
                                  form={"csrf": token, "comptes": "35"},
                                  headers={"Origin": "http://evil.example"})
    assert forged.status == 403 and "Formulaire refusé" in forged.text()
    missing = browser.request.post(server + "attestation", form={"comptes": "35"})
    assert missing.status == 403
    assert len(world.etude_group("P1")["attributes"].get(ATTEST_ATTR, [])) == attested


def test_a_superviseur_reads_but_cannot_act(server, world, browser, app):
    page = browser.new_page()
    sign_in(page, server, "fsuperviseur")
    page.wait_for_selector("h1:has-text('Accès de l')")
    assert "(lecture seule)" in page.inner_text("header")
    assert page.locator("button:has-text('Attester')").count() == 0
    assert page.locator("text=Déclarer un départ").count() == 0
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = browser.request.post(server + "depart", form={
        "csrf": token, "compte": world.ids["bcdd"], "dernier_jour": world.today.isoformat()})
    assert refused.status == 403 and "Lecture seule" in refused.text()
    assert "departureDate" not in world.user("bcdd")["attributes"]
    # His record changes while he is signed in: the very next page goes by the new record.
    app.extensions["users"].patch(world.ids["fsuperviseur"], {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": f"{E}:profile", "value": "comptable"}]},
        RequestContext(ADMIN))
    response = page.goto(server)
    assert response.status == 403
    assert "Votre profil (Comptable)" in page.inner_text("main")


def test_ending_his_keycloak_sessions_ends_the_portal_session(server, world, browser):
    page = browser.new_page()
    sign_in(page, server, "kautre")
    page.wait_for_selector("h1:has-text('Accès de l')")
    assert re.search(r"Etude Autre", page.inner_text("h1"))
    names = listed(page)
    assert sorted(names) == sorted(world.etudes["P2"])
    world.gw.request("POST", world.gw.path("/users/{u}/logout", u=world.ids["kautre"]))
    page.goto(server)
    page.wait_for_selector("#kc-login")
    assert page.url.startswith(world.settings.keycloak_url)
