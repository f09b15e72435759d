"""« Mon étude »: the account list's rows, parameters, pages and sorting."""

from __future__ import annotations

import json

from connector.portal.listing import (
    MAX_SORTED,
    Account,
    ListingRequest,
    account_from_keycloak,
    listing_request,
    sort_accounts,
    window,
)


def rep(user_name: str, **attrs: object) -> dict:
    base = {"etude": ["E1"], "scimUserName": [user_name], "accessStatus": ["granted"]}
    base.update({k: v if isinstance(v, list) else [v] for k, v in attrs.items()})
    return {"id": f"id-{user_name}", "username": user_name, "enabled": True,
            "firstName": "Anne", "lastName": "Martin", "attributes": base}


def account(user_name: str, **fields: object) -> Account:
    values = {"id": user_name, "user_name": user_name, "display": user_name, "etude": "E1",
              "profile": None, "platforms": (), "status": "granted", "issues": (),
              "titulaire": None, "contract_type": None, "contract_end": None,
              "departure": None, "modified": None, **fields}
    return Account(**values)  # type: ignore[arg-type]


def test_a_row_reads_the_record_with_french_issue_details():
    issues = json.dumps([["confidentiality_missing", "not accepted", "pas acceptée"]])
    row = account_from_keycloak(rep("amartin", accessStatus="pending", accessIssues=issues,
                                    profile="comptable", platforms=["v3", "mars"],
                                    contractType="CDD", contractEndDate="2027-01-31"))
    assert row.user_name == "amartin" and row.display == "Anne Martin"
    assert row.status == "pending" and row.issues == ("pas acceptée",)
    assert row.platforms == ("mars", "v3")
    assert (row.contract_type, row.contract_end, row.departure) == ("CDD", "2027-01-31", None)


def test_parameters_fall_back_to_the_defaults():
    assert listing_request({}) == ListingRequest()
    assert listing_request({"statut": "en-attente", "tri": "profil", "ordre": "desc",
                            "page": "3"}) == ListingRequest("pending", "profil", True, 3)
    assert listing_request({"statut": "pending", "tri": "password", "page": "-2"}) == \
        ListingRequest(None, "identifiant", False, 1)
    assert listing_request({"page": "deux"}).page == 1


def test_links_keep_the_filter_and_change_one_thing():
    req = ListingRequest("expired", "depart", True, 2)
    assert req.query(page=3) == "?statut=expire&tri=depart&ordre=desc&page=3"
    assert ListingRequest().query() == "?"
    assert ListingRequest().native and not req.native


def test_a_window_never_leaves_the_list():
    assert window(0, 1, 25) == window(0, 9, 25)
    assert window(0, 1, 25).pages == 1 and window(0, 1, 25).last == 0
    place = window(60, 3, 25)
    assert (place.page, place.pages, place.first, place.last) == (3, 3, 50, 60)
    assert window(60, 99, 25).page == 3
    assert window(50, 2, 25).pages == 2
    assert MAX_SORTED >= 1000


def test_sorting_puts_missing_values_last_both_ways():
    rows = [account("b", departure="2026-12-01"), account("a"),
            account("c", departure="2026-11-30"), account("d", departure="2026-12-01")]
    assert [r.user_name for r in sort_accounts(rows, "depart", False)] == ["c", "b", "d", "a"]
    assert [r.user_name for r in sort_accounts(rows, "depart", True)] == ["b", "d", "c", "a"]


def test_status_sorts_in_the_order_of_access():
    rows = [account("r", status="revoked"), account("p", status="pending"),
            account("g", status="granted"), account("e", status="expired")]
    assert [r.user_name for r in sort_accounts(rows, "statut", False)] == ["g", "p", "e", "r"]


def test_an_unknown_sort_is_by_user_name_ignoring_case():
    rows = [account("Bob"), account("alice"), account("carl")]
    assert [r.user_name for r in sort_accounts(rows, "nope", False)] == ["alice", "Bob", "carl"]
