"""Read the guides of docs/ and run their runnable blocks (the convention is docs/README.md).

A fenced ```sh block preceded by `<!-- runnable -->` (or `<!-- runnable: name -->`, naming a
check) is run, in the order of the guide, by bash from the repository root; each block sees the
variables (and functions) the blocks before it set. `<!-- example -->` marks a block that is
shown, not run (it needs a real tenant, or sets placeholders). Every ```sh block carries one of
the two. In a table whose header has a column starting with "detail", each `code span` of that
column is a detail text the connector sends, `…` standing for a variable part.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"<!--\s*(runnable|example)(?::\s*([\w-]+))?\s*-->\s*\n```sh\n(.*?)\n```",
                   re.S)
FENCE = re.compile(r"^```sh\s*$", re.M)
CODE = re.compile(r"`([^`]+)`")
DETAIL = re.compile(r'"detail"\s*:\s*("(?:[^"\\]|\\.)*")')
# Shell state carried from block to block; read-only variables cannot be sourced back.
SAVE = "\n{ export -p | grep -v -E '^declare -[a-zA-Z]*r'; declare -f; } > \"$DOCS_STATE\"\n"


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a guide."""

    guide: str
    index: int
    kind: str
    name: str | None
    text: str


def blocks(guide: Path) -> list[Block]:
    """Return a guide's shell blocks, in order; fail on a block that is neither kind."""
    text = guide.read_text(encoding="utf-8")
    found = [Block(guide.name, i, m.group(1), m.group(2), m.group(3))
             for i, m in enumerate(BLOCK.finditer(text))]
    fences = len(FENCE.findall(text))
    assert fences == len(found), (
        f"{guide}: {fences - len(found)} ```sh block(s) without <!-- runnable --> or "
        "<!-- example --> before them")
    return found


def quoted_details(guide: Path) -> list[str]:
    """Every detail text quoted in the guide's `detail` table columns."""
    out: list[str] = []
    column: int | None = None
    for line in guide.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if column is None:
            heads = [i for i, c in enumerate(cells) if c.lower().startswith("detail")]
            column = heads[0] if heads else -1
            continue
        if column >= 0 and column < len(cells) and not set(cells[column]) <= set("-: "):
            out += CODE.findall(cells[column])
    return out


def details_in(output: str) -> list[str]:
    """Every `detail` string of the JSON bodies a command printed."""
    return [json.loads(m.group(1)) for m in DETAIL.finditer(output)]


def matches(quoted: str, observed: str) -> bool:
    """Tell whether a quoted detail is an observed one, `…` standing for any text."""
    pattern = ".+?".join(re.escape(part) for part in quoted.split("…"))
    return re.fullmatch(pattern, observed, re.S) is not None


def run(block: Block, state: Path, timeout: float = 120) -> str:
    """Run one block with the shell state of the blocks before it; return what it printed."""
    script = ("set -a\n. \"$DOCS_STATE\"\nset -eo pipefail\n" + block.text + "\n" + SAVE)
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={"DOCS_STATE": str(state), "PATH": "/usr/bin:/bin"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"{block.guide}, block {block.index + 1} ({block.name or 'unnamed'}) exited "
        f"{done.returncode}:\n{block.text}\n--- output ---\n{output[-4000:]}")
    return output


def start_state(path: Path, env: dict[str, str]) -> Path:
    """Write the first shell state: the variables every guide assumes are set."""
    path.write_text("".join(f"export {k}={shell_quote(v)}\n" for k, v in env.items()),
                    encoding="utf-8")
    return path


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
