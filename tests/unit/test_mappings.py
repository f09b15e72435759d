"""mappings/ are validated at start-up; a broken file names the file and entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.mappings import DEFAULT_DIR, MappingError, load_mappings


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for f in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_shipped_mappings_hold_seven_profiles_and_two_platforms():
    m = load_mappings()
    assert list(m.profiles) == ["accueil", "gestionnaire_amiable", "gestionnaire_judiciaire",
                                "back_office", "comptable", "superviseur", "huissier"]
    assert set(m.platforms) == {"mars", "v3"}
    assert m.platforms["mars"].shared_email and not m.platforms["v3"].shared_email
    assert m.password.keycloak_policy() == (
        "length(4) and maxLength(10) and regexPattern(^[A-Za-z0-9]+$)")


def test_the_annex_sentences_stated_as_refusals_hold():
    m = load_mappings()
    assert "collect_payments" not in m.profiles["accueil"].permissions
    assert "send_reminders" not in m.profiles["accueil"].permissions
    assert "contact_debtor" not in m.profiles["back_office"].permissions
    assert set(m.profiles["huissier"].permissions) == set(m.permissions)
    assert m.platform_group("v3", "comptable") == "/v3/comptable"


def test_unknown_permission_names_file_and_entry(copy: Path):
    path = copy / "profiles.yaml"
    path.write_text(path.read_text().replace("    mobile_app:", "    mobile_apps:"))
    with pytest.raises(MappingError) as exc:
        load_mappings(copy)
    assert "profiles.yaml" in str(exc.value) and "huissier.permissions.mobile_apps" in str(
        exc.value)


def test_missing_field_names_file_and_entry(copy: Path):
    path = copy / "platforms.yaml"
    path.write_text(path.read_text().replace("  shared_email: false\n", ""))
    with pytest.raises(MappingError) as exc:
        load_mappings(copy)
    assert "platforms.yaml" in str(exc.value) and "v3.shared_email" in str(exc.value)


def test_broken_yaml_and_bad_password_bounds(copy: Path):
    (copy / "permissions.yaml").write_text("a: [unclosed\n")
    with pytest.raises(MappingError, match="permissions.yaml"):
        load_mappings(copy)
    shutil.copy(DEFAULT_DIR / "permissions.yaml", copy / "permissions.yaml")
    (copy / "password.yaml").write_text("min_length: 12\nmax_length: 10\nalphabet: A-Z\n")
    with pytest.raises(MappingError, match="password.yaml.*min_length"):
        load_mappings(copy)


def test_a_citation_is_required_for_each_permission(copy: Path):
    path = copy / "profiles.yaml"
    path.write_text(path.read_text().replace(
        '    mobile_app: "J\'utilise néanmoins l\'application mobile"', "    mobile_app: \"\""))
    with pytest.raises(MappingError, match="huissier.permissions"):
        load_mappings(copy)


def test_a_broken_mapping_stops_the_app_from_starting(copy: Path):
    from connector.settings import Settings
    from connector.web.app import create_app

    (copy / "platforms.yaml").write_text("mars: {label: Mars}\n")
    with pytest.raises(MappingError, match="platforms.yaml"):
        create_app(Settings(mappings_dir=str(copy)))
