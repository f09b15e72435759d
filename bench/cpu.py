"""Where a machine's CPU goes during a run: the connector's processes, Keycloak's, the rest.

On a machine whose cores serve the connector, Keycloak and the clients at once, requests per
second say less than the CPU each request costs each process; these read it from /proc (Linux).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User and system CPU seconds of one process and of its children that were waited for."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / TICK
    return 0.0


def tree(pid: int) -> list[int]:
    """A process and its descendants (a gunicorn master and its workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def machine_seconds() -> tuple[float, float]:
    """CPU seconds the machine has been busy since boot, and those a hypervisor stole from it
    for other guests (a virtual machine shared with others: not work of this one)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


def listener(port: int) -> int | None:
    """The process listening on a local TCP port, if `ss` names a java one (Keycloak)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
        match = re.search(r'\("java",pid=(\d+)', out)
        if match:
            return int(match.group(1))
    return None


@dataclass
class Meter:
    """CPU seconds spent by the connector's tree, Keycloak's process and the machine."""

    server: int | None
    keycloak: int | None

    def read(self) -> tuple[float, float, float, float]:
        """CPU seconds so far: the connector's tree, Keycloak, the machine, stolen from it."""
        server = sum(process_seconds(p) for p in tree(self.server)) if self.server else 0.0
        keycloak = process_seconds(self.keycloak) if self.keycloak else 0.0
        return server, keycloak, *machine_seconds()

    def at_rest(self, seconds: float = 5.0) -> str:
        """CPU per second while no request is sent: a server's own background work (JIT, GC,
        timers), which a side that sends fewer requests per second pays more of per request."""
        before = self.read()
        time.sleep(seconds)
        after = self.read()
        server, keycloak, machine, stolen = ((a - b) * 1000 / seconds
                                             for a, b in zip(after, before, strict=True))
        return (f"at rest, CPU ms per second: connector {server:.1f}, Keycloak {keycloak:.1f}, "
                f"machine {machine:.1f}, stolen by the host {stolen:.1f}")

    def per_request(self, before: tuple[float, float, float], requests: int) -> str:
        """CPU milliseconds per request since `before`: connector, Keycloak, whole machine."""
        after = self.read()
        server, keycloak, machine, _ = ((a - b) * 1000 / max(requests, 1)
                                        for a, b in zip(after, before, strict=True))
        kc = f"{keycloak:5.2f}" if self.keycloak else "    -"
        return f"CPU ms per request: connector {server:5.2f}, Keycloak {kc}, machine {machine:5.2f}"
