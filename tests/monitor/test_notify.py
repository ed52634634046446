"""Alert mail, through a real SMTP server on loopback (aiosmtpd): one message a cycle, grouped per target."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller

from maildoctor.monitor.alerts import OPENED, RESOLVED, Event
from maildoctor.monitor.notify import notify
from maildoctor.store.monitor import Alert
from tests.processes import free_port


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


def alert(n: int, target: str, title: str) -> Alert:
    return Alert(
        n, target, "dnsbl:zen.spamhaus.org", "listed", 0.0, None, title, {"delist": "https://check.spamhaus.org/", "fix": "Find the cause."}
    )


def test_a_cycles_alerts_come_as_one_mail() -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        events = [
            Event(OPENED, alert(1, "192.0.2.77", "192.0.2.77 is listed on Spamhaus ZEN")),
            Event(RESOLVED, alert(2, "192.0.2.78", "192.0.2.78 is listed on Barracuda")),
        ]
        failed = asyncio.run(notify(events, (), (), (f"127.0.0.1:{controller.port}", "monitor@example.com", ("ops@example.com",))))
    finally:
        controller.stop()
    assert failed == 0 and len(sink.messages) == 1
    rcpts, raw = sink.messages[0]
    message = message_from_bytes(raw, policy=default)
    assert (
        rcpts == ["ops@example.com"]
        and " ".join(message["Subject"].split())
        == "maildoctor monitor: 192.0.2.77 is listed on Spamhaus ZEN — https://check.spamhaus.org/ (and 1 more)"
    )
    body = message.get_content().replace("\r\n", "\n")
    assert "192.0.2.77\n  192.0.2.77 is listed on Spamhaus ZEN" in body and "Resolved: 192.0.2.78 is listed on Barracuda" in body


def test_an_unreachable_mail_server_is_counted_not_fatal() -> None:
    events = [Event(OPENED, alert(1, "192.0.2.77", "listed"))]
    assert asyncio.run(notify(events, (), (), (f"127.0.0.1:{free_port()}", "m@example.com", ("o@example.com",)))) == 1
