"""shape postfix: its output accepted by a private Postfix (postfix check, postconf knows every
parameter), and mail through a generated transport keeping its concurrency, measured at a sink."""

from __future__ import annotations

import asyncio
import re
import smtplib
import subprocess
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from maildoctor.campaign.shaping import shape_postfix
from tests.postfix import POSTFIX, private_postfix
from tests.processes import free_port

CONSUMER = {"Google": ["gmail.com"], "Orange": ["orange.fr"]}


class SlowSink:
    """Takes each message in half a second, counting how many are in flight at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.received: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.5)
        self.now -= 1
        self.received += list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        return "250 OK"


def test_a_domain_goes_to_the_transport_of_the_provider_of_its_mx() -> None:
    shaped = shape_postfix({"company.lab": "Google", "shop.lab": "other", "orange.lab": "Orange"}, CONSUMER, ips=2)
    assert "company.lab md_google:" in shaped.transport and "gmail.com md_google:" in shaped.transport
    assert "shop.lab" not in shaped.transport  # no provider: the default transport
    assert "md_orange unix - - n - 4 smtp" in shaped.master_cf  # 2 connections per IP, 2 IPs
    assert "md_orange_destination_concurrency_limit = 4" in shaped.main_cf


def test_postfix_accepts_the_output_and_keeps_the_concurrency(tmp_path: Path) -> None:
    sink = SlowSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    shaped = shape_postfix({"orange.lab": "Orange"}, CONSUMER, ips=1)
    transport = tmp_path / "transport"
    # the sink stands in for Orange's MX: the same transport, a fixed next hop
    transport.write_text(shaped.transport.replace("orange.lab md_orange:", f"orange.lab md_orange:[127.0.0.1]:{controller.port}"))
    # postmap reads a main.cf; a machine whose Postfix was installed unconfigured has none in /etc/postfix
    own_conf = tmp_path / "postmap"
    own_conf.mkdir()
    (own_conf / "main.cf").write_text("compatibility_level = 3.6\n")
    subprocess.run(["/usr/sbin/postmap", "-c", str(own_conf), f"hash:{transport}"], check=True)
    main = [
        line.replace("hash:/etc/postfix/transport", f"hash:{transport}")
        for line in shaped.main_cf.splitlines()
        if line and not line.startswith("#")
    ]
    try:
        with private_postfix(controller.port, main, shaped.master_cf) as (port, log):
            conf = log.parent / "conf"
            checked = subprocess.run([POSTFIX, "-c", str(conf), "check"], capture_output=True, text=True)
            assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
            known = subprocess.run(["/usr/sbin/postconf", "-c", str(conf), "-n"], capture_output=True, text=True)
            assert not re.search(r"unused parameter: md_", known.stderr), known.stderr
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                for n in range(8):
                    client.sendmail("app@sender.lab", [f"reader{n}@orange.lab"], f"Subject: {n}\r\n\r\nhello\r\n")
            deadline = time.monotonic() + 30
            while len(sink.received) < 8 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(sink.received) == 8, log.read_text()[-2000:]
            assert "postfix/md_orange" in log.read_text()  # through the generated transport
    finally:
        controller.stop()
    assert sink.most == 2  # Orange's 2 connections per IP, used and never passed


def test_own_limits_override_the_shipped_ones(tmp_path: Path) -> None:
    from tests.test_cli import run

    own = tmp_path / "limits.json"
    own.write_text('{"Google": {"connections_per_ip": 3, "rate_delay": "1s"}}')
    done = run("shape", "postfix", "--out", str(tmp_path / "out"), "--providers", str(own))
    assert done.returncode == 0, done.stderr
    main = (tmp_path / "out" / "main.cf").read_text()
    assert "md_google_destination_concurrency_limit = 3" in main and "md_google_destination_rate_delay = 1s" in main
    own.write_text('{"Google": {"connections_per_ip": 0}}')
    bad = run("shape", "postfix", "--out", str(tmp_path / "out"), "--providers", str(own))
    assert bad.returncode == 2 and "connections_per_ip" in bad.stderr
