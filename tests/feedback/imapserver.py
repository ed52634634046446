"""A throwaway Dovecot IMAP server (Debian's dovecot-imapd) on 127.0.0.1 for the tests: IMAPS with a
certificate from the test CA, one user, messages dropped straight into its Maildir."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, listening, stop, wait_until
from tests.tls import TestCA

USER, PASSWORD = "dmarc", "s3cret-test"


@dataclass
class ImapServer:
    port: int
    maildir: Path
    cafile: str

    def deliver(self, name: str, data: bytes) -> None:  # set per server: files must belong to the mail user
        raise NotImplementedError


@contextmanager
def imap_server(ca: TestCA) -> Iterator[ImapServer]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    assert Path(binary).exists(), "dovecot is missing: make test installs Debian's dovecot-imapd"
    directory = Path(tempfile.mkdtemp(prefix="maildoctor-imap-"))
    ca.issue(["localhost"])
    cert, key = ca.directory / "localhost-00.pem", ca.directory / "localhost-00.key"
    root = os.geteuid() == 0
    owner = pwd.getpwnam("dovecot") if root else pwd.getpwuid(os.getuid())
    home = directory / "home" / USER
    maildir = home / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    (directory / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
default_internal_user = {owner.pw_name}
default_login_user = {owner.pw_name}
auth_mechanisms = plain
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
first_valid_uid = {owner.pw_uid}
last_valid_uid = {owner.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={directory}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
""")
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    process = subprocess.Popen([binary, "-F", "-c", str(directory / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(
            lambda: listening(port),
            process,
            "dovecot",
            10,
            lambda: (directory / "dovecot.log").read_text() if (directory / "dovecot.log").exists() else "",
        )
        server = ImapServer(port, maildir, ca.cafile)
        server.deliver = lambda name, data: _deliver(maildir, name, data, owner)  # type: ignore[method-assign]
        yield server
    finally:
        stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _deliver(maildir: Path, name: str, data: bytes, owner: pwd.struct_passwd) -> None:
    path = maildir / "new" / f"{time.time():.6f}.{name}"
    path.write_bytes(data)
    os.chown(path, owner.pw_uid, owner.pw_gid)
