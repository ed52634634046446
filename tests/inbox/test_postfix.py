"""A real Postfix (Debian's, a private instance on loopback) relays a signed 8-bit mail to
`maildoctor serve`: it pipelines its commands, the stored message carries serve's Received line,
and the decoded Subject is shown."""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inbox.server import Inbox
from tests.message.signing import message, sign
from tests.processes import free_port, listening

POSTFIX = "/usr/sbin/postfix"


@pytest.fixture(scope="module")
def postfix(inbox: Inbox) -> Iterator[tuple[int, Path]]:
    """Postfix with its own configuration, queue and log, taking mail on a loopback port and relaying
    everything to the inbox; its SMTP client's conversation with the inbox is logged (debug_peer_list)."""
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
    (conf / "master.cf").write_text(master)
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
                f"relayhost = [127.0.0.1]:{inbox.smtp_port}",
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


def test_postfix_relays_a_signed_8bit_mail_to_serve(inbox: Inbox, postfix: tuple[int, Path]) -> None:
    port, log = postfix
    test = inbox.new_test()
    raw = message(
        "alice@sender.test",
        subject="=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",
        body="Grüße aus Köln, bis Donnerstag.\r\n",  # 8-bit: encoded as UTF-8 by message()
        extra="Content-Transfer-Encoding: 8bit\r\n",
    )
    assert any(byte > 127 for byte in raw)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="app.sender.test", timeout=10) as client:
        client.sendmail("bounce@sender.test", [test["address"]], sign(raw, domain="sender.test"), mail_options=["BODY=8BITMIME"])
    report = inbox.wait_graded(test["id"], seconds=60)["report"]
    assert report["facts"]["subject"] == "Grüße aus Köln"
    assert report["facts"]["dkim"][0]["result"] == "pass"  # 8-bit body relayed untouched
    assert report["facts"]["received"]["helo"] == "relay.sender.test" and report["facts"]["received"]["tls"]
    with sqlite3.connect(inbox.data / "maildoctor.sqlite3") as db:
        (stored,) = db.execute("SELECT raw FROM messages WHERE test_id = ?", (test["id"],)).fetchone()
    assert stored.startswith(b"Received: from relay.sender.test ([127.0.0.1])")
    assert b"by relay.sender.test (Postfix)" in stored  # Postfix's own hop below ours
    conversation = [line for line in log.read_text().splitlines() if f"127.0.0.1[127.0.0.1]:{inbox.smtp_port}:" in line]
    said = [line.split(": ", 2)[-1] for line in conversation]
    sent_rcpt = next(i for i, s in enumerate(said) if s.startswith("RCPT TO:"))
    sent_data = said.index("DATA")
    mail_reply = next(i for i, s in enumerate(said) if s.startswith("250 2.1.0"))
    assert sent_rcpt < sent_data < mail_reply, said  # PIPELINING: RCPT and DATA went out before MAIL's reply was read
