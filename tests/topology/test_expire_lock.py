"""Two nightly jobs started at the same moment on two Keycloak nodes: the lock lives in the
shared database, so one does the work and the other exits 75 (EX_TEMPFAIL)."""

from __future__ import annotations

import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

from tests.topology.conftest import NODES, ROOT, cli_env, report


def test_two_expire_runs_on_two_nodes_one_works_the_other_exits_75(tmp_path: Path):
    # A day far enough ahead that each run scans months of day-index groups: the runs overlap.
    as_of = (date.today() + timedelta(days=200)).isoformat()
    began = time.monotonic()
    runs = []
    for i, node in enumerate(NODES):
        out = (tmp_path / f"expire-{i}.log").open("w")
        runs.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/connector"), "expire", "--as-of", as_of],
            env=cli_env(node), stdout=out, stderr=subprocess.STDOUT))
    codes = [run.wait(timeout=300) for run in runs]
    logs = [(tmp_path / f"expire-{i}.log").read_text() for i in range(len(NODES))]
    report(f"expire on node 1 and node 2 at once: exit codes {codes} "
           f"in {time.monotonic() - began:.1f}s")
    assert sorted(codes) == [0, 75], logs
    worked, refused = (logs[0], logs[1]) if codes[0] == 0 else (logs[1], logs[0])
    assert "user(s) expired" in worked, logs
    assert "another run holds the lock" in refused, logs
