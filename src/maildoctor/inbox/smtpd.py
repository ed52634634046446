"""The SMTP side of the inbox (aiosmtpd): mail only for addresses the inbox issued, never a relay;
limits on size, recipients, connections per IP and command time; 250 only once stored."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, TLSSetupException

from maildoctor.feedback.ingest import ingest
from maildoctor.store.database import Received, Store

log = logging.getLogger("maildoctor.inbox")


@dataclass
class SmtpLimits:
    reports_local: str = "reports"  # <this>@domain takes DMARC/TLS reports, bounces and complaints
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 10
    max_connections_per_ip: int = 20
    command_timeout: float = 60.0


class InboxHandler:
    def __init__(self, store: Store, domain: str, grader: Any, limits: SmtpLimits) -> None:
        self.store, self.domain, self.grader, self.limits = store, domain.lower().rstrip("."), grader, limits

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:  # noqa: N802
        """What a receiving MTA offers: PIPELINING (serve answers pipelined commands in order) and
        ENHANCEDSTATUSCODES (every reply carries one), beside aiosmtpd's own."""
        session.host_name = hostname
        *first, last = responses
        return [*first, "250-PIPELINING", "250-ENHANCEDSTATUSCODES", last]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]) -> str:  # noqa: N802
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return "250 2.0.0 OK"

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, arg: str) -> str:  # noqa: N802
        return "250 2.0.0 OK"

    async def handle_exception(self, error: Exception) -> str:
        """A client that fails the TLS handshake is one log line, not a traceback; a bug keeps its traceback."""
        if isinstance(error, TLSSetupException):
            log.warning("a client failed the TLS handshake: %s", error.__cause__ or error)
            return "421 4.7.0 TLS handshake failed"
        log.exception("SMTP session error")
        return "451 4.3.0 Local error, try again later"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return "221 2.0.0 Bye"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:  # noqa: N802
        local, at, domain = address.rpartition("@")
        if not at or domain.lower().rstrip(".") != self.domain:
            return "550 5.7.1 Relaying denied: this server accepts mail only for its test addresses"
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            return "452 4.5.3 Too many recipients"
        if self.limits.reports_local and local.lower() == self.limits.reports_local.lower():
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK (reports)"
        test_id = await asyncio.to_thread(self.store.test_for_address, local)
        if test_id is None:
            return "550 5.1.1 No such test address: get one on the web page first"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        stored = []
        reports_to = [
            r for r in envelope.rcpt_tos if self.limits.reports_local and r.rpartition("@")[0].lower() == self.limits.reports_local.lower()
        ]
        if reports_to:
            try:
                await asyncio.to_thread(self._ingest_report_mail, raw)
            except Exception:  # noqa: BLE001  (not taken in: the sender keeps it and retries)
                log.exception("ingesting report mail failed")
                return "451 4.3.0 Could not take the report in, try again later"
            if len(reports_to) == len(envelope.rcpt_tos):
                return "250 2.0.0 OK: report taken in"
        await self.grader.wait_for_room()
        try:
            for rcpt in envelope.rcpt_tos:
                test_id = await asyncio.to_thread(self.store.test_for_address, rcpt.rpartition("@")[0])
                if test_id is None:
                    continue
                stored.append(
                    await self.store.store_message(
                        Received(
                            test_id=test_id,
                            client_ip=peer.removeprefix("::ffff:"),
                            helo=session.host_name or "",
                            mail_from=envelope.mail_from or "",
                            rcpt=rcpt,
                            tls=session.ssl is not None,
                            tls_cipher=_cipher(session.ssl),
                            raw=received_header(self.domain, peer, session, rcpt) + raw,
                        )
                    )
                )
        except Exception:  # noqa: BLE001  (not stored: the client must keep the message and retry)
            log.exception("storing a message failed")
            return "451 4.3.0 Could not store the message, try again later"
        for message_id in stored:
            self.grader.submit(message_id)
        log.info(
            "accepted message %s from %s (HELO %s, MAIL FROM <%s>, %d bytes, %s) for %s",
            ",".join(map(str, stored)),
            peer,
            session.host_name or "-",
            envelope.mail_from or "",
            len(raw),
            _cipher(session.ssl) or "no TLS",
            ", ".join(envelope.rcpt_tos),
        )
        return f"250 2.0.0 OK: queued as {','.join(map(str, stored))}"

    def _ingest_report_mail(self, raw: bytes) -> None:
        """Reports, bounces and complaints sent to the reports address go where `reports ingest` puts them;
        what cannot be read is kept aside with the reason, as there."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="maildoctor-report-") as directory:
            path = Path(directory) / "report-mail.eml"
            path.write_bytes(raw)
            ingest(self.store.engine, [path])


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP with a limit on simultaneous connections per client address."""

    connections: Counter[str] = Counter()

    def __init__(self, *args: Any, max_per_ip: int = 20, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_per_ip = max_per_ip
        self._counted: str | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else str(peer)
        if self.connections[ip] >= self.max_per_ip:
            transport.write(b"421 4.7.0 Too many connections from your address, try again later\r\n")  # type: ignore[attr-defined]
            transport.close()
            self._refused = True
            return
        self.connections[ip] += 1
        self._counted = ip
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._counted is not None:
            self.connections[self._counted] -= 1
            if self.connections[self._counted] <= 0:
                del self.connections[self._counted]
            self._counted = None
        super().connection_lost(error)


def any_credentials(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    """A sender set up to authenticate to its relay can test through the inbox: any login is
    taken (after STARTTLS only), and the reply says so. It grants nothing: the inbox never relays."""
    return AuthResult(success=True, message="235 2.7.0 Accepted: this test inbox takes any credentials and never relays")


def received_header(domain: str, peer: str, session: Session, rcpt: str) -> bytes:
    """The inbox's own trace field (RFC 5321 §4.4), so a downloaded message keeps the receiving hop."""
    protocol = "ESMTP" if session.extended_smtp else "SMTP"
    protocol += "S" if session.ssl is not None else ""
    protocol += "A" if session.authenticated else ""
    cipher = _cipher(session.ssl)
    tls = f"\r\n\t(using {cipher})" if cipher else ""
    helo = (session.host_name or "unknown").replace("\r", "").replace("\n", "")[:255]
    when = email.utils.format_datetime(datetime.datetime.now(datetime.UTC))
    return (
        f"Received: from {helo} ([{peer}]){tls}\r\n\tby {domain} (maildoctor test inbox) with {protocol}\r\n\tfor <{rcpt}>; {when}\r\n"
    ).encode("utf-8", "replace")


def _cipher(extra: Any) -> str:
    """'TLSv1.3 TLS_AES_256_GCM_SHA384' from the session's TLS details (aiosmtpd keeps the transport's extra info)."""
    cipher = extra.get("cipher") if isinstance(extra, dict) else None
    if not cipher:
        return ""
    name, version, _bits = cipher
    return f"{version} {name}"
