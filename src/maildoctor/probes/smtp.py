"""The SMTP probe: connect, read the greeting, EHLO, STARTTLS, and look at the TLS certificate.

A connection is made only when the user asks (--smtp or --probe). Every step has a short
timeout, and the session ends with QUIT: nothing is ever sent beyond EHLO/STARTTLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

DEFAULT_TIMEOUT = 8.0
MAX_REPLY_LINES = 100


@dataclass
class Certificate:
    subject: str
    issuer: str
    names: list[str]  # DNS names of the SAN (the CN when there is no SAN)
    not_after: datetime
    self_signed: bool

    @property
    def expired(self) -> bool:
        return self.not_after < datetime.now(UTC)

    def matches(self, host: str) -> bool:
        return any(name_matches(pattern, host) for pattern in self.names)


@dataclass
class SmtpProbe:
    host: str  # as given or the MX name
    address: str
    port: int
    connected: bool = False
    error: str = ""
    banner_code: int = 0
    banner: str = ""
    extensions: list[str] = field(default_factory=list)
    starttls_offered: bool = False
    tls_version: str = ""
    tls_cipher: str = ""
    tls_error: str = ""
    verify_error: str = ""  # why the certificate did not verify; "" when it did
    certificate: Certificate | None = None
    transcript: list[str] = field(default_factory=list)

    @property
    def banner_name(self) -> str:
        words = self.banner.split()
        return words[0].rstrip(".").lower() if words else ""


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching: exact, or one leftmost wildcard label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        return "." in host and host.split(".", 1)[1] == pattern[2:]
    return pattern == host


def parse_certificate(der: bytes) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=list(names),
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
    )


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, probe: SmtpProbe, timeout: float) -> None:
        self.reader, self.writer, self.probe, self.timeout = reader, writer, probe, timeout

    async def reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        for _ in range(MAX_REPLY_LINES):
            raw = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if not raw:
                raise ConnectionError("the server closed the connection")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.probe.transcript.append(f"S: {line}")
            if len(line) < 3 or not line[:3].isdigit():
                raise ConnectionError(f"not an SMTP reply: {line[:80]!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), lines
        raise ConnectionError("reply too long")

    async def command(self, text: str) -> tuple[int, list[str]]:
        self.probe.transcript.append(f"C: {text}")
        self.writer.write(text.encode() + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), self.timeout)
        return await self.reply()


def client_context(verify: bool, cafile: str | None = None) -> ssl.SSLContext:
    if verify:
        context = ssl.create_default_context(cafile=cafile)
    else:  # to look at whatever the server offers, old protocols and broken certificates included
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        try:
            context.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
    return context


async def probe_smtp(
    host: str, address: str, port: int = 25, timeout: float = DEFAULT_TIMEOUT, ehlo_name: str | None = None, cafile: str | None = None
) -> SmtpProbe:
    """Greeting, EHLO and STARTTLS of one server. TLS is tried with verification first, then
    without it (to report the version and certificate even when it does not verify)."""
    probe = SmtpProbe(host=host, address=address, port=port)
    ehlo = ehlo_name or socket.getfqdn() or "maildoctor.invalid"
    verified = await _session(probe, ehlo, timeout, client_context(True, cafile))
    if probe.connected and probe.starttls_offered and not verified and not probe.tls_error:
        # the certificate did not verify: look again without verification, for the details
        second = SmtpProbe(host=host, address=address, port=port)
        await _session(second, ehlo, timeout, client_context(False))
        probe.tls_version, probe.tls_cipher = second.tls_version, second.tls_cipher
        probe.certificate = probe.certificate or second.certificate
        if second.tls_error:
            probe.tls_error = second.tls_error
    return probe


async def _session(probe: SmtpProbe, ehlo: str, timeout: float, context: ssl.SSLContext) -> bool:
    """One connection; True when TLS was established with a verified certificate."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(probe.address, probe.port), timeout)
    except (TimeoutError, OSError) as exc:
        probe.error = "no answer (timeout)" if isinstance(exc, asyncio.TimeoutError) else (exc.strerror or str(exc))
        return False
    probe.connected = True
    session = _Session(reader, writer, probe, timeout)
    verified = False
    try:
        probe.banner_code, lines = await session.reply()
        probe.banner = lines[0] if lines else ""
        if probe.banner_code != 220:
            return False
        code, lines = await session.command(f"EHLO {ehlo}")
        if code != 250:
            return False
        probe.extensions = [line.split()[0].upper() for line in lines[1:] if line.split()]
        probe.starttls_offered = "STARTTLS" in probe.extensions
        if not probe.starttls_offered:
            await session.command("QUIT")
            return False
        code, _ = await session.command("STARTTLS")
        if code != 220:
            probe.tls_error = f"STARTTLS answered {code}"
            return False
        server_name = probe.host if not _is_ip(probe.host) else None
        try:
            await asyncio.wait_for(writer.start_tls(context, server_hostname=server_name), timeout)
        except ssl.SSLCertVerificationError as exc:
            probe.verify_error = exc.verify_message or str(exc)
            return False
        except (TimeoutError, ssl.SSLError, OSError) as exc:
            if context.verify_mode != ssl.CERT_NONE:
                return False  # the unverified second look says what went wrong
            probe.tls_error = getattr(exc, "reason", None) or str(exc) or "handshake timed out"
            return False
        tls = writer.get_extra_info("ssl_object")
        probe.tls_version = tls.version() or ""
        probe.tls_cipher = (tls.cipher() or ("",))[0]
        der = tls.getpeercert(binary_form=True)
        if der:
            probe.certificate = parse_certificate(der)
        verified = context.verify_mode != ssl.CERT_NONE
        probe.transcript.append(f"(TLS {probe.tls_version}, {probe.tls_cipher})")
        code, lines = await session.command(f"EHLO {ehlo}")
        await session.command("QUIT")
    except (TimeoutError, ConnectionError, OSError, ssl.SSLError) as exc:
        probe.error = probe.error or (str(exc) or type(exc).__name__)
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (TimeoutError, OSError, ssl.SSLError):
            pass
    return verified


def _is_ip(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
        return True
    except OSError:
        return False
