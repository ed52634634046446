"""Helpers for the real servers the tests start as processes (spamd, PostgreSQL, Dovecot, maildoctor serve)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen,
    what: str,
    seconds: float,  # type: ignore[type-arg]
    log: Callable[[], str] = lambda: "",
) -> None:
    """Until ready() holds; RuntimeError (with the end of the log) when the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log()[-800:]}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {seconds:g} s: {log()[-800:]}")


def stop(process: subprocess.Popen, seconds: float = 15) -> None:  # type: ignore[type-arg]
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
