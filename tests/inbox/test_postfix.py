"""A real Postfix (Debian's, a private instance on loopback) relays a signed 8-bit mail to
`maildoctor serve`: it pipelines its commands, the stored message carries serve's Received line,
and the decoded Subject is shown."""

from __future__ import annotations

import smtplib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inbox.server import Inbox
from tests.message.signing import message, sign
from tests.postfix import private_postfix


@pytest.fixture(scope="module")
def postfix(inbox: Inbox) -> Iterator[tuple[int, Path]]:
    with private_postfix(inbox.smtp_port) as running:
        yield running


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
