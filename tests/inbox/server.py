"""Starting `maildoctor serve` as users do (a subprocess) on free ports, against the test DNS server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.processes import free_port, stop


@dataclass
class Inbox:
    process: subprocess.Popen[bytes]
    smtp_port: int
    http_port: int
    data: Path
    domain: str = "inbox.test"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def api(self, path: str, method: str = "GET", token: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def get(self, path: str) -> tuple[int, str]:
        """A web page: its status and text."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def new_test(self) -> dict[str, Any]:
        status, body = self.api("/api/tests", "POST")
        assert status == 201, body
        return body

    def wait_graded(self, test_id: str, seconds: float = 30) -> dict[str, Any]:
        for _ in range(int(seconds * 10)):
            status, body = self.api(f"/api/tests/{test_id}")
            if body.get("status") == "done":
                return body
            time.sleep(0.1)
        raise AssertionError(f"test {test_id} not graded within {seconds} s: {body}")

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.poll() is None:
            self.process.kill()
        stop(self.process)


def start_inbox(data: Path, nameserver: str, *extra: str, smtp_port: int | None = None, http_port: int | None = None) -> Inbox:
    smtp_port, http_port = smtp_port or free_port(), http_port or free_port()
    log = open(data.parent / f"serve-{smtp_port}.log", "ab")  # noqa: SIM115  (kept open for the process)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maildoctor",
            "serve",
            "--data",
            str(data),
            "--domain",
            "inbox.test",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
            "--nameserver",
            nameserver,
            "--timeout",
            "0.5",
            *(() if "--spamassassin" in extra else ("--no-local-spamd",)),  # a spamd of the machine must not change the results
            *extra,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    inbox = Inbox(process, smtp_port, http_port, data)
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"maildoctor serve exited: {(data.parent / f'serve-{smtp_port}.log').read_text()[-1500:]}")
        try:
            with socket.create_connection(("127.0.0.1", http_port), 0.2), socket.create_connection(("127.0.0.1", smtp_port), 0.2):
                return inbox
        except OSError:
            time.sleep(0.1)
    inbox.stop()
    raise RuntimeError("maildoctor serve did not listen within 20 s")
