"""Documentation that cannot rot: every runnable block of the guides in docs/, French then
English, run in order against a connector served over HTTP on the real Keycloak, with the
outcome each guide promises checked in Keycloak, and every detail text a guide quotes checked
against what the connector actually sends."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.keycloak.etudes import EtudeDirectory
from tests.integration import docs_checks as checks
from tests.integration.docs_runner import (
    DOCS,
    Block,
    blocks,
    details_in,
    matches,
    quoted_details,
    run,
    start_state,
)
from tests.integration.docs_server import server_only_details
from tests.integration.servers import replicas

GUIDES = {
    "fr": ["administrateurs-keycloak.md", "sirh.md", "entra-id.md", "okta.md", "depannage.md"],
    "en": ["keycloak-administrators.md", "hris.md", "entra-id.md", "okta.md",
           "troubleshooting.md"],
}
ETUDES = ("75001", "13002")  # the IT contacts' étude, and the one the administrators' guide adds


@pytest.fixture(scope="module")
def world(settings: Any, admin_gw: Any, mailbox: Any) -> Iterator[dict[str, Any]]:
    """A served connector, the IT contacts' étude and its token, and Keycloak to look into."""
    directory = EtudeDirectory(admin_gw)
    directory.add("75001", "Etude Martin & Associes")
    token = directory.create_token("75001")[1]
    with replicas(settings, 1, CONNECTOR_TOKEN_CACHE_SECONDS="0",
                  CONNECTOR_LOCK_WAIT_SECONDS="1") as roots:
        yield {"root": roots[0], "token": token, "gw": admin_gw, "settings": settings,
               "mailbox": mailbox}


def shell_env(world: dict[str, Any], home: Path) -> dict[str, str]:
    """What the guides assume: the SCIM address, a token, and `connector` on the path."""
    settings = world["settings"]
    return {"SCIM": world["root"], "TOKEN": world["token"], "HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "CONNECTOR_REALM": settings.realm, "CONNECTOR_KEYCLOAK_URL": settings.keycloak_url,
            "CONNECTOR_DEV_MODE": "1", "LC_ALL": "C.UTF-8", "TZ": "Europe/Paris"}


@pytest.mark.parametrize("lang", list(GUIDES))
def test_guides_run_and_keep_their_promises(lang: str, world: dict[str, Any],
                                            tmp_path: Path) -> None:
    checks.forget_etude_users(world["gw"], ETUDES)
    for name in GUIDES[lang]:
        guide = DOCS / lang / name
        state = start_state(tmp_path / f"{name}.state", shell_env(world, tmp_path))
        observed: list[str] = []
        for block in blocks(guide):
            if block.kind != "runnable":
                continue
            observed += run_checked(block, state, world)
        if quoted_details(guide):
            observed += server_only_details(world, lang)
        missing = [q for q in quoted_details(guide)
                   if not any(matches(q, seen) for seen in observed)]
        assert missing == [], (f"{lang}/{name} quotes detail texts the connector did not send "
                               f"while its blocks ran: {missing}")


def run_checked(block: Block, state: Path, world: dict[str, Any]) -> list[str]:
    """Run a block between its named preparation and check; return the details it printed."""
    world["state"] = state
    before: Callable[..., Any] | None = checks.BEFORE.get(block.name or "")
    if before:
        before(world)
    output = run(block, state)
    after = checks.AFTER.get(block.name or "")
    if block.name and before is None and after is None:
        raise AssertionError(f"{block.guide}: no check is named {block.name!r}")
    if after:
        after(world, output)
    return details_in(output)


def test_every_example_script_is_run_by_a_guide():
    runnable = " ".join(b.text for lang, names in GUIDES.items() for name in names
                        for b in blocks(DOCS / lang / name) if b.kind == "runnable")
    scripts = [p.name for p in (DOCS / "examples").glob("*.py") if p.name != "scim_etude.py"]
    assert scripts and [s for s in scripts if f"docs/examples/{s}" not in runnable] == []


def test_both_languages_run_the_same_blocks():
    """The English guides are translations: the same named blocks in the same order, so the
    same promises are checked in both languages."""
    for fr, en in zip(GUIDES["fr"], GUIDES["en"], strict=True):
        assert [b.name for b in blocks(DOCS / "fr" / fr)] == \
            [b.name for b in blocks(DOCS / "en" / en)], (fr, en)

