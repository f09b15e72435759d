"""Real HTTP for the serving tests: free ports, a server process, and bursts of requests counted
by outcome (answered, refused before sending, failed after sending)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    """One request of a burst: its status (None when it failed) and when it ran."""

    index: int
    started: float
    ended: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    refused: bool = False   # the connection was refused: no byte of the request was sent
    error: str = ""         # failed after the request was sent


def send(url: str, method: str, path: str, body: Any = None, token: str = "",
         timeout: float = 60, context: ssl.SSLContext | None = None, index: int = 0) -> Answer:
    """Send one request on its own connection and classify what happened."""
    parts = urlsplit(url)
    started = time.monotonic()
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                           context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    answer = Answer(index, started, started)
    try:
        try:
            conn.connect()
        except (ConnectionRefusedError, TimeoutError):
            answer.refused = True
            return answer
        headers = {"Content-Type": "application/scim+json", "Connection": "close"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        try:
            conn.request(method, parts.path.rstrip("/") + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            answer.error = f"{type(exc).__name__}: {exc}"
            return answer
        answer.status = resp.status
        answer.headers = {k.lower(): v for k, v in resp.getheaders()}
        try:
            answer.body = json.loads(raw) if raw else None
        except ValueError:
            answer.body = raw[:200]
        return answer
    finally:
        answer.ended = time.monotonic()
        conn.close()


def burst(count: int, threads: int, request: Callable[[int], Answer],
          during: Callable[[list[Answer]], None] | None = None) -> list[Answer]:
    """Run `count` requests over `threads` threads; `during` runs beside them with the answers
    so far (to kill something in the middle)."""
    answers: list[Answer] = []
    lock = threading.Lock()
    next_index = iter(range(count))

    def work() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            answer = request(i)
            with lock:
                answers.append(answer)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    if during is not None:
        during(answers)
    for t in pool:
        t.join()
    return sorted(answers, key=lambda a: a.index)


def tally(answers: list[Answer]) -> Counter[str]:
    """Count answers by outcome: status codes, 'refused' and 'failed'."""
    out: Counter[str] = Counter()
    for a in answers:
        out["refused" if a.refused else "failed" if a.status is None else str(a.status)] += 1
    return out


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen[Any] | None = None,
              context: ssl.SSLContext | None = None) -> None:
    """Wait until GET url answers 200 (fail early if the server process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        a = send(url, "GET", "", timeout=5, context=context)
        if a.status == 200:
            return
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s")
