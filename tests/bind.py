"""A private BIND (Debian's named) on loopback, primary for one zone that takes dynamic updates
signed with a TSIG key made here."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, listening, stop, wait_until

NAMED = shutil.which("named") or "/usr/sbin/named"
KEY_NAME = "maildoctor-fix"


@dataclass(frozen=True)
class Bind:
    port: int
    key_file: Path  # the BIND key file (what tsig-keygen writes)
    directory: Path


@contextmanager
def bind_primary(directory: Path, zone: str, text: str) -> Iterator[Bind]:
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    secret = base64.b64encode(os.urandom(32)).decode()
    key = f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
    (directory / "update.key").write_text(key)
    (directory / f"{zone}.zone").write_text(text)
    (directory / "named.conf").write_text(
        f"""options {{
    directory "{directory}";
    pid-file "{directory}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ none; }};
}};
controls {{ }};
include "{directory}/update.key";
zone "{zone}" {{ type primary; file "{directory}/{zone}.zone"; allow-update {{ key "{KEY_NAME}"; }}; }};
"""
    )
    log = directory / "named.log"
    with log.open("w") as out:
        process = subprocess.Popen([NAMED, "-g", "-4", "-c", str(directory / "named.conf")], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(port) and "running" in log.read_text(), process, "named", 30, log.read_text)
        yield Bind(port, directory / "update.key", directory)
    finally:
        stop(process)
