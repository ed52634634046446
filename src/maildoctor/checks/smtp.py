"""The SMTP server as the outside sees it: greeting, EHLO, STARTTLS and the certificate.

Runs only with --smtp HOST[:PORT] (one server) or --probe (every MX host on port 25)."""

from __future__ import annotations

import asyncio
import ipaddress
import re

from maildoctor.checks.facts import Certificate, SmtpSession
from maildoctor.checks.mx import mx_records
from maildoctor.checks.registry import AuditContext, NotChecked, check
from maildoctor.dns.answer import ask_all
from maildoctor.findings import Finding, make_finding
from maildoctor.probes.smtp import SmtpProbe, probe_smtp
from maildoctor.records import change
from maildoctor.target import parse_host_port

OLD_TLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


async def servers_to_probe(ctx: AuditContext) -> list[tuple[str, int]]:
    if ctx.target.smtp:
        return [parse_host_port(ctx.target.smtp, 25)]
    if ctx.target.probe:
        mx = await mx_records(ctx)
        return [(h, ctx.target.smtp_port) for _, h in mx.mx_hosts if h != "."] if mx.ok else []
    return []


async def address_of(ctx: AuditContext, host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    a, aaaa = await ask_all(ctx.dns, [(host, "A"), (host, "AAAA")])
    found = a.addresses() + aaaa.addresses()
    return found[0] if found else None


@check(
    "smtp",
    emits=(
        "smtp.unreachable",
        "smtp.banner_not_fqdn",
        "smtp.banner_mismatch",
        "smtp.no_starttls",
        "smtp.tls_failed",
        "smtp.tls_old_version",
        "smtp.cert_invalid",
    ),
)
async def check_smtp(ctx: AuditContext) -> list[Finding]:
    if not ctx.target.smtp and not ctx.target.probe:
        raise NotChecked("not asked: no connection to a mail server was requested")
    servers = await servers_to_probe(ctx)
    if not servers:
        raise NotChecked("not applicable: the domain has no MX host to connect to")
    addresses = await asyncio.gather(*(address_of(ctx, host) for host, _ in servers))
    probes = await asyncio.gather(
        *(probe_smtp(host, address, port, cafile=ctx.target.cafile) for (host, port), address in zip(servers, addresses) if address)
    )
    ctx.facts.smtp = [_session(p) for p in probes]
    for probe in probes:
        if probe.connected:
            where = f"{probe.host} ({probe.address} port {probe.port})"
            ctx.verified("smtp", f"{where}: greeting {probe.banner_code} {probe.banner}".rstrip())
            if probe.tls_version:
                valid = "certificate valid" if not probe.verify_error else f"certificate: {probe.verify_error}"
                ctx.verified("smtp", f"{where}: STARTTLS, {probe.tls_version} with {probe.tls_cipher}; {valid}")
    findings: list[Finding] = []
    for (host, _port), address in zip(servers, addresses):
        if not address:
            findings.append(
                make_finding(
                    "smtp.unreachable",
                    f"{host} has no address to connect to",
                    f"{host} has neither an A nor an AAAA record, so nobody can deliver mail to it.",
                    fix=f"Publish the address of {host}.",
                )
            )
    for probe in probes:
        findings += await _findings(ctx, probe)
    return findings


def _session(probe: SmtpProbe) -> SmtpSession:
    cert = probe.certificate
    return SmtpSession(
        host=probe.host,
        address=probe.address,
        port=probe.port,
        connected=probe.connected,
        error=probe.error,
        banner=f"{probe.banner_code} {probe.banner}".strip() if probe.banner_code else "",
        extensions=probe.extensions,
        starttls=probe.starttls_offered,
        tls_version=probe.tls_version,
        tls_cipher=probe.tls_cipher,
        tls_error=probe.tls_error,
        certificate_error=probe.verify_error,
        certificate=None
        if cert is None
        else Certificate(cert.subject, cert.issuer, cert.names, cert.not_after.isoformat(), cert.self_signed),
        transcript=probe.transcript,
    )


async def _findings(ctx: AuditContext, probe: SmtpProbe) -> list[Finding]:
    where = f"{probe.host} ({probe.address}) port {probe.port}"
    evidence = probe.transcript or [f"connect to {probe.address}:{probe.port}: {probe.error}"]
    if not probe.connected:
        return [
            make_finding(
                "smtp.unreachable",
                f"{where} does not answer",
                f"The connection failed: {probe.error}. Senders retry for a few days, then bounce. This can"
                " also be a firewall on the way from here, not at the server (many networks block port 25"
                " outbound).",
                evidence=evidence,
                fix=f"Check that the mail server runs and that port {probe.port} is open to the internet.",
            )
        ]
    if probe.banner_code != 220:
        return [
            make_finding(
                "smtp.unreachable",
                f"{where} refuses connections ({probe.banner_code})",
                f"The server greeted with '{probe.banner_code} {probe.banner}' instead of 220: it refuses mail (from here at least).",
                evidence=evidence,
                fix="Check the server's connection policy.",
            )
        ]
    findings = []
    name = probe.banner_name
    hostname = probe.host if not _is_ip(probe.host) else f"mail.{ctx.target.domain}"
    if not _FQDN.match(name):
        findings.append(
            make_finding(
                "smtp.banner_not_fqdn",
                f"The greeting of {where} does not name the host",
                f"The 220 greeting is '{probe.banner}'; RFC 5321 §4.3.1 wants the server's fully qualified"
                f" name first ('{name or 'nothing'}' is not one). Spam filters read a bare or local name"
                " as a misconfigured server.",
                evidence=evidence,
                fix=f"Set the server's host name (Postfix: myhostname = {hostname}).",
                changes=[change.postfix("myhostname", hostname)],
            )
        )
    else:
        a, aaaa = await ask_all(ctx.dns, [(name, "A"), (name, "AAAA")])
        if probe.address not in a.addresses() + aaaa.addresses():
            findings.append(
                make_finding(
                    "smtp.banner_mismatch",
                    f"The greeting name {name} does not resolve to {probe.address}",
                    f"{where} calls itself {name}, which resolves to {', '.join(a.addresses() + aaaa.addresses()) or 'nothing'}."
                    " Receivers and blocklist heuristics compare the two.",
                    evidence=evidence + [a.describe(), aaaa.describe()],
                    fix=f"Make the greeting name resolve to the server (an A/AAAA {probe.address}), or set the name that does.",
                )
            )
    if not probe.starttls_offered:
        findings.append(
            make_finding(
                "smtp.no_starttls",
                f"{where} does not offer STARTTLS",
                f"EHLO lists {', '.join(probe.extensions) or 'no extensions'}, but not STARTTLS: mail to this"
                " server travels in clear text, and Gmail marks such mail with a red padlock.",
                evidence=evidence,
                fix="Enable TLS with a certificate for the MX name (Postfix: smtpd_tls_security_level = may, smtpd_tls_cert_file, smtpd_tls_key_file).",
                changes=[
                    change.postfix("smtpd_tls_security_level", "may"),
                    change.postfix("smtpd_tls_cert_file", f"/etc/letsencrypt/live/{hostname}/fullchain.pem"),
                    change.postfix("smtpd_tls_key_file", f"/etc/letsencrypt/live/{hostname}/privkey.pem"),
                ],
            )
        )
        return findings
    if probe.tls_error and not probe.tls_version:
        findings.append(
            make_finding(
                "smtp.tls_failed",
                f"The TLS handshake with {where} fails",
                f"STARTTLS is offered, but the handshake fails: {probe.tls_error}. Senders that insist on TLS"
                " cannot deliver; others fall back to clear text or give up.",
                evidence=evidence,
                fix="Check the certificate and key files and the TLS settings of the server.",
            )
        )
        return findings
    if probe.tls_version in OLD_TLS:
        findings.append(
            make_finding(
                "smtp.tls_old_version",
                f"{where} speaks only {probe.tls_version}",
                "TLS 1.0 and 1.1 are deprecated (RFC 8996); modern senders refuse them and fall back to clear text.",
                evidence=evidence,
                fix="Enable TLS 1.2 and 1.3 (Postfix: smtpd_tls_protocols = >=TLSv1.2).",
                changes=[change.postfix("smtpd_tls_protocols", ">=TLSv1.2"), change.postfix("smtpd_tls_mandatory_protocols", ">=TLSv1.2")],
            )
        )
    cert = probe.certificate
    problems = []
    if probe.verify_error:
        problems.append(f"it does not verify ({probe.verify_error})")
    if cert is not None:
        if cert.expired:
            problems.append(f"it expired on {cert.not_after:%Y-%m-%d}")
        if cert.self_signed and not probe.verify_error:
            problems.append("it is self-signed")
        if not _is_ip(probe.host) and not cert.matches(probe.host):
            problems.append(f"it is for {', '.join(cert.names) or cert.subject}, not {probe.host}")
    if problems:
        findings.append(
            make_finding(
                "smtp.cert_invalid",
                f"The certificate of {where} is not valid for it",
                "The TLS certificate: " + "; ".join(problems) + ". Opportunistic TLS still works, but with"
                " MTA-STS or DANE senders refuse to deliver, and it shows a careless set-up.",
                evidence=evidence
                + (
                    [f"certificate: {cert.subject}, issued by {cert.issuer}, names {cert.names}, valid until {cert.not_after:%Y-%m-%d}"]
                    if cert
                    else []
                ),
                fix=f"Use a certificate from a public CA (e.g. Let's Encrypt) for {probe.host}, and renew it automatically.",
            )
        )
    return findings


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
