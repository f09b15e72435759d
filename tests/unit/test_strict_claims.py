"""R2: the addresses a record claims on platforms that want one account per address."""

from connector.scim.schema_defs import ETUDE_USER
from connector.service.user_checks import strict_claims


def record(email: str | None, *platforms: str) -> dict:
    emails = [{"value": email, "primary": True}] if email else []
    return {"emails": emails, ETUDE_USER: {"platforms": list(platforms)}}


def test_only_strict_platforms_claim_the_lower_cased_primary_address() -> None:
    assert strict_claims(record("A@X.fr", "mars", "v3"), {"v3"}) == {("v3", "a@x.fr")}
    assert strict_claims(record("a@x.fr", "mars"), {"v3"}) == set()


def test_no_address_or_no_record_claims_nothing() -> None:
    assert strict_claims(record(None, "v3"), {"v3"}) == set()
    assert strict_claims(None, {"v3"}) == set()


def test_what_a_write_claims_anew_is_the_difference() -> None:
    old = record("a@x.fr", "v3")
    same = record("A@x.FR", "v3", "mars")  # a case change keeps the claim
    assert strict_claims(same, {"v3"}) - strict_claims(old, {"v3"}) == set()
    moved = record("b@x.fr", "v3")
    assert strict_claims(moved, {"v3"}) - strict_claims(old, {"v3"}) == {("v3", "b@x.fr")}
    added = record("a@x.fr", "mars", "v3")
    assert strict_claims(added, {"v3"}) - strict_claims(record("a@x.fr", "mars"),
                                                        {"v3"}) == {("v3", "a@x.fr")}
