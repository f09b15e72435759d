"""A connector replica stopped with SIGTERM in the middle of a burst through nginx: it finishes
what it took, refuses the rest at connect time, nginx sends those to the other replica, and not
one request fails."""

from __future__ import annotations

import os
import signal
import ssl
import time

from tests.burst import Answer, burst, send, tally
from tests.integration.conftest import granted_user, unique
from tests.topology.conftest import SCIM, pid_of, report, topology


def test_sigterm_to_one_replica_mid_burst_fails_no_request(tls: ssl.SSLContext, token: str):
    prefix = unique("rt")
    signalled: list[float] = []

    def create(i: int) -> Answer:
        return send(SCIM, "POST", "/Users", granted_user(f"{prefix}{i}"), token=token,
                    context=tls, index=i)

    def terminate_replica_1(answers: list[Answer]) -> None:
        while len(answers) < 40:
            time.sleep(0.01)
        signalled.append(time.monotonic())
        os.kill(pid_of("connector-1"), signal.SIGTERM)

    began = time.monotonic()
    answers = burst(200, 8, create, during=terminate_replica_1)
    took = time.monotonic() - began
    counts = tally(answers)
    after = sum(1 for a in answers if a.started > signalled[0])
    report(f"SIGTERM to replica 1 mid-burst: {dict(counts)} in {took:.1f}s "
           f"({after} requests sent after the signal)")
    assert counts == {"201": len(answers)}, [a.error or a.body for a in answers
                                              if a.status != 201]
    assert after > 0
    topology("start")
