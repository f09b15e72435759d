"""deploy/prometheus/alerts.yaml is valid and fires as the README says (promtool, Debian)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
PROMTOOL = shutil.which("promtool")


def _promtool(*args: str) -> str:
    assert PROMTOOL, "promtool is missing: `make tools` installs Debian's prometheus package"
    done = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_accepts_the_rules() -> None:
    assert "SUCCESS" in _promtool("check", "rules", str(RULES))


def test_the_alerts_fire_when_they_should_and_only_then() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "tests/prometheus/alerts_test.yaml")


def test_the_readme_names_every_alert() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert names and all(f"`{name}`" in readme for name in names)


def test_every_setting_is_in_the_readme_settings_table() -> None:
    from dataclasses import fields

    from connector.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):readme.index("## Design")]
    missing = [f.name for f in fields(Settings) if f"`CONNECTOR_{f.name.upper()}`" not in table]
    assert missing == []
