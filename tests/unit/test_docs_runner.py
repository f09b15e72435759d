"""How the docs test reads guides: markers, quoted detail texts, details printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.docs_runner import blocks, details_in, matches, quoted_details

GUIDE = """# A guide

<!-- example -->
```sh
export SCIM=https://x
```

<!-- runnable -->
```sh
echo one
```

<!-- runnable: second-step -->
```sh
echo two
```

| symptom | detail (exact text) | fix |
|---|---|---|
| a | `userName '…' is already taken.` | see `accessIssues` |
| b | none: see the table | |

| code | meaning |
|---|---|
| `not_a_detail` | `nor this` |
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guide.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_come_in_order_with_their_kind_and_name(tmp_path):
    found = blocks(write(tmp_path, GUIDE))
    assert [(b.kind, b.name, b.text) for b in found] == [
        ("example", None, "export SCIM=https://x"), ("runnable", None, "echo one"),
        ("runnable", "second-step", "echo two")]


def test_a_shell_block_without_marker_fails(tmp_path):
    with pytest.raises(AssertionError, match="without"):
        blocks(write(tmp_path, GUIDE + "\n```sh\ncurl x\n```\n"))


def test_only_the_detail_column_is_quoted(tmp_path):
    assert quoted_details(write(tmp_path, GUIDE)) == ["userName '…' is already taken."]


def test_an_ellipsis_stands_for_a_variable_part_and_nothing_else_differs():
    assert matches("userName '…' is already taken.", "userName 'amartin' is already taken.")
    assert not matches("userName '…' is already taken.", "userName 'a' is already taken!")
    assert not matches("userName '…' is already taken.", "userName '' is already taken.")
    assert matches("Keycloak cannot be reached; retry later.",
                   "Keycloak cannot be reached; retry later.")
    assert not matches("Keycloak cannot be reached.", "Keycloak cannot be reached; retry later.")


def test_details_are_read_from_every_json_body_printed():
    printed = ('{"status": "400", "detail": "L\\u2019attribut \\u00ab x \\u00bb"}\n'
               '{"accessIssues": [{"code": "c", "detail": "A \\"quoted\\" word."}]}')
    assert details_in(printed) == ["L’attribut « x »", 'A "quoted" word.']
