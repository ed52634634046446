"""A private instance of Debian's Postfix on loopback, for the tests that need a real MTA."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import free_port, listening

POSTFIX = "/usr/sbin/postfix"


@contextmanager
def private_postfix(relay_port: int, settings: list[str] | None = None, services: str = "") -> Iterator[tuple[int, Path]]:
    """Postfix with its own configuration, queue and log, taking mail on a loopback port and relaying
    everything to 127.0.0.1:relay_port; its SMTP client's conversation there is logged
    (debug_peer_list). `settings` are more main.cf lines (a milter, ...), `services` more master.cf entries."""
    assert Path(POSTFIX).exists(), "postfix is missing: make test installs Debian's postfix"
    assert os.geteuid() == 0, "a private Postfix instance needs root (its master runs as root, its daemons as postfix)"
    home = Path(tempfile.mkdtemp(prefix="maildoctor-postfix-", dir="/tmp"))
    home.chmod(0o755)  # the postfix user must reach its queue and data directories
    conf, data, log = home / "conf", home / "data", home / "postfix.log"
    conf.mkdir()
    data.mkdir()
    (home / "queue").mkdir()
    shutil.chown(data, "postfix")
    port = free_port()
    master = Path("/usr/share/postfix/master.cf.dist").read_text()
    master = re.sub(r"(?m)^smtp\s+inet\s.*$", f"127.0.0.1:{port} inet n - n - - smtpd", master)
    master = re.sub(r"(?m)^(\S+\s+\S+\s+\S+\s+\S+\s+)y(\s)", r"\1n\2", master)  # no chroot: the instance lives in /tmp
    (conf / "master.cf").write_text(master + services)
    (conf / "main.cf").write_text(
        "\n".join(
            [
                "compatibility_level = 3.6",
                f"queue_directory = {home}/queue",
                f"data_directory = {data}",
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = relay.sender.test",
                "myorigin = sender.test",
                "mydestination =",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "mynetworks = 127.0.0.0/8",
                f"relayhost = [127.0.0.1]:{relay_port}",
                "smtp_tls_security_level = may",
                "smtpd_peername_lookup = no",
                "smtp_dns_support_level = disabled",
                "alias_maps =",
                "alias_database =",
                "local_recipient_maps =",
                "smtputf8_enable = yes",
                "debug_peer_list = 127.0.0.1",
                "debug_peer_level = 2",
                "maillog_file = /dev/stdout",
                *(settings or []),
            ]
        )
        + "\n"
    )
    prepared = subprocess.run([POSTFIX, "-c", str(conf), "set-permissions", "create-missing"], capture_output=True, text=True)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    with log.open("w") as out:
        process = subprocess.Popen([POSTFIX, "-c", str(conf), "start-fg"], stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            if listening(port):
                break
            assert process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.1)
        yield port, log
    finally:
        subprocess.run([POSTFIX, "-c", str(conf), "stop"], capture_output=True)
        process.wait(30)
        shutil.rmtree(home, ignore_errors=True)
