"""Where alerts go: JSON webhooks (the event as the status API shows it), Slack-compatible ones
({"text": ...}), and a mail per cycle through a given SMTP server. A receiver that fails is logged and the alert kept in the database and on the
status page; the watch goes on."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import smtplib
import ssl
from email.message import EmailMessage

import httpx

from maildoctor.monitor.alerts import Event
from maildoctor.target import parse_host_port

log = logging.getLogger("maildoctor.monitor")
TIMEOUT = 10.0


def mail_message(events: list[Event], sender: str, to: tuple[str, ...]) -> EmailMessage:
    """One message for a cycle's events, grouped per target."""
    message = EmailMessage()
    message["From"], message["To"] = sender, ", ".join(to)
    message["Subject"] = f"maildoctor monitor: {events[0].words()}" + (f" (and {len(events) - 1} more)" if len(events) > 1 else "")
    message["Date"] = email.utils.formatdate()
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or "maildoctor.invalid")
    lines = []
    for target in dict.fromkeys(e.alert.target for e in events):
        lines.append(target)
        for event in (e for e in events if e.alert.target == target):
            lines.append(f"  {event.words()}")
            fix = event.alert.detail.get("fix")
            if fix and event.what != "resolved":
                lines.append(f"    {fix}")
        lines.append("")
    message.set_content("\n".join(lines))
    return message


def send_mail(events: list[Event], server: str, sender: str, to: tuple[str, ...]) -> None:
    """Through the given SMTP server (STARTTLS when it offers it); OSError or SMTPException on failure."""
    host, port = parse_host_port(server, 25)
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as client:
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        client.send_message(mail_message(events, sender, to))


async def notify(
    events: list[Event], webhooks: tuple[str, ...], slack: tuple[str, ...], mail: tuple[str, str, tuple[str, ...]] | None = None
) -> int:
    """Send every event to every receiver (and a mail of them all); the number of deliveries that failed."""
    failed = 0
    if not events:
        return 0
    if mail is not None:
        try:
            await asyncio.to_thread(send_mail, events, *mail)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            log.warning("alert mail through %s failed: %s", mail[0], exc)
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        for event in events:
            for url, body in [(u, event.to_json()) for u in webhooks] + [(u, {"text": event.words()}) for u in slack]:
                try:
                    response = await client.post(url, json=body)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    failed += 1
                    log.warning("alert to %s failed: %s", url, exc)
    return failed
