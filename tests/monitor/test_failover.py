"""Relay failover with a real Postfix (a private instance on loopback) asking the monitor's
socketmap for its relay, and two relay SMTP sinks: relay A listed → mail goes through relay B
within one interval; A delisted → back to A after the hysteresis; the monitor stopped → mail is
deferred, and delivered once it is back: none lost, none through an unchecked relay."""

from __future__ import annotations

import json
import smtplib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from maildoctor.monitor.config import Pool, Relay
from maildoctor.monitor.socketmap import answer, netstring
from maildoctor.testing.dnsserver import TestDnsServer
from tests.monitor.conftest import Hook, Zones
from tests.monitor.test_monitor import cycles, get, running_monitor, until, write_config
from tests.postfix import POSTFIX, private_postfix
from tests.processes import free_port

RELAY_A, RELAY_B = "192.0.2.10", "192.0.2.11"  # the addresses the relays send from (what the lists see)


class Sink:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.received += list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def relays() -> Iterator[tuple[Controller, Sink, Controller, Sink]]:
    sinks = (Sink(), Sink())
    controllers = [Controller(sink, hostname="127.0.0.1", port=free_port()) for sink in sinks]
    for controller in controllers:
        controller.start()
    try:
        yield controllers[0], sinks[0], controllers[1], sinks[1]
    finally:
        for controller in controllers:
            controller.stop()


def test_the_socketmap_names_the_first_relay_on_no_list() -> None:
    pool = Pool("outbound", (Relay("127.0.0.1", 2001, RELAY_A), Relay("127.0.0.1", 2002, RELAY_B)))
    listed = {RELAY_A}
    pick = lambda p: next(((r, True) for r in p.relays if r.ip not in listed), (p.relays[0], False))  # noqa: E731
    assert answer("outbound bob@example.net", {"outbound": pool}, pick) == "OK smtp:[127.0.0.1]:2002"
    listed.add(RELAY_B)
    assert answer("outbound bob@example.net", {"outbound": pool}, pick) == "OK smtp:[127.0.0.1]:2001"  # never no relay
    assert answer("other bob@example.net", {"outbound": pool}, pick) == "NOTFOUND "
    assert netstring("OK x") == b"4:OK x,"


def send(port: int, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="app.sender.test", timeout=10) as client:
        client.sendmail("app@sender.test", [rcpt], f"From: app@sender.test\r\nTo: {rcpt}\r\nSubject: {rcpt}\r\n\r\nhello\r\n")


def test_postfix_fails_over_to_a_clean_relay_and_back(
    zones: Zones, dns_watch: TestDnsServer, hook: Hook, relays: tuple[Controller, Sink, Controller, Sink], tmp_path: Path
) -> None:
    assert Path(POSTFIX).exists(), "postfix is missing: make test installs Debian's postfix"
    a, sink_a, b, sink_b = relays
    port, map_port = free_port(), free_port()
    pool = f"""
[pool.outbound]
relays = [{{host = "127.0.0.1:{a.port}", ip = "{RELAY_A}"}}, {{host = "127.0.0.1:{b.port}", ip = "{RELAY_B}"}}]

[postfix]
socketmap = "127.0.0.1:{map_port}"
"""
    config = write_config(tmp_path / "monitor.toml", dns_watch, hook, port, pool)
    settings = [
        f"transport_maps = socketmap:inet:127.0.0.1:{map_port}:outbound",
        "maximal_queue_lifetime = 1h",
        "queue_run_delay = 1s",
        "minimal_backoff_time = 1s",
        "maximal_backoff_time = 2s",
    ]
    with private_postfix(a.port, settings) as (smtp_port, log):
        with running_monitor(config, port):
            until(lambda: cycles(port) > 0, 20, "a first cycle")
            send(smtp_port, "one@example.net")
            until(lambda: "one@example.net" in sink_a.received, 20, "mail through relay A")
            zones.list_ip(RELAY_A)
            until(lambda: json.loads(get(port, "/api/status"))["pools"][0]["using"] == f"127.0.0.1:{b.port}", 5, "the switch to B")
            send(smtp_port, "two@example.net")
            until(lambda: "two@example.net" in sink_b.received, 20, "mail through relay B")
            assert "two@example.net" not in sink_a.received
            zones.delist_ip(RELAY_A)
            until(lambda: json.loads(get(port, "/api/status"))["pools"][0]["using"] == f"127.0.0.1:{a.port}", 8, "back to A")
            send(smtp_port, "three@example.net")
            until(lambda: "three@example.net" in sink_a.received, 20, "mail through relay A again")
        # the monitor is down: Postfix cannot ask for the relay. New mail over SMTP gets a temporary
        # error (the sender keeps it and retries); mail submitted locally waits in the queue
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(smtp_port, "five@example.net")
        assert refused.value.recipients["five@example.net"][0] == 451
        submitted = subprocess.run(
            ["/usr/sbin/sendmail", "-C", str(log.parent / "conf"), "-f", "app@sender.test", "four@example.net"],
            input="From: app@sender.test\nTo: four@example.net\nSubject: four\n\nhello\n",
            text=True,
            capture_output=True,
        )
        assert submitted.returncode == 0, submitted.stderr
        time.sleep(4)
        assert "four@example.net" not in sink_a.received + sink_b.received
        queue = subprocess.run(
            [POSTFIX.replace("postfix", "postqueue"), "-c", str(log.parent / "conf"), "-j"], capture_output=True, text=True
        )
        assert "four@example.net" in queue.stdout, queue.stdout + queue.stderr
        with running_monitor(config, port):
            subprocess.run([POSTFIX, "-c", str(log.parent / "conf"), "flush"], capture_output=True)
            until(lambda: "four@example.net" in sink_a.received, 30, "the deferred mail delivered once the monitor is back")
        assert "status=bounced" not in log.read_text() and "status=deferred" in log.read_text()
