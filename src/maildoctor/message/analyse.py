"""Analysing a received message: what the receiver saw, our own SPF/DKIM/DMARC/ARC evaluation, where
the two disagree, the headers and structure, optional content engines, and the sender domain's records."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

from maildoctor.dmarc.alignment import DmarcVerdict, evaluate
from maildoctor.dmarc.discovery import discover_dmarc
from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.dns.answer import Resolver
from maildoctor.dns.tracing import TracingResolver
from maildoctor.engine import CHECK_BUDGET, run_audit
from maildoctor.findings import Finding, Report, catalog_finding, make_finding, share_fixes
from maildoctor.message import authfindings
from maildoctor.message.authresults import AuthResults, parse_authentication_results, parse_received_spf
from maildoctor.message.connection import infer_connection
from maildoctor.message.parse import ParsedMessage, address_domain, addresses, parse_message
from maildoctor.message.signatures import check_arc, check_signatures, fetch_keys, signature_tags
from maildoctor.message.structure import is_excerpt, message_links, structure_findings
from maildoctor.message.verified import message_checks
from maildoctor.probes.contentengines import EngineResult, ask_rspamd, ask_spamd
from maildoctor.probes.links import LinkCheck, check_links
from maildoctor.records import change
from maildoctor.records.dmarc import parse_dmarc
from maildoctor.spf.evaluator import SpfEvaluation, check_identity
from maildoctor.target import Target


@dataclass
class MessageOptions:
    client_ip: str = ""
    helo: str = ""
    mail_from: str = ""
    spamassassin: str | None = None  # HOST[:PORT] of spamd
    rspamd: str | None = None  # URL of rspamd's controller/normal worker
    audit_domain: bool = True  # also audit the sender domain (and the client IP) ...
    audit_areas: tuple[str, ...] = ("spf", "dkim", "dmarc")  # ... in these areas
    budget: float = CHECK_BUDGET  # seconds for the domain audit's checks
    tls: str | None = None  # how the message reached our own server ("TLSv1.3 TLS_AES_256_GCM_SHA384", "" without TLS)
    given_by: str = "given on the command line"  # where client_ip, helo and mail_from come from
    check_links: bool = False  # fetch each link (HEAD, then GET), public addresses only ...
    links_allow_private: bool = False  # ... unless this is set (tests, a lab network)
    known_selectors: tuple[str, ...] = ()  # selectors seen working for the From domain before (reports, earlier mail)
    spamhaus_dqs_key: str | None = None


def receiver_results(message: ParsedMessage) -> list[AuthResults]:
    results = []
    for name, value in message.headers:
        lowered = name.lower()
        if lowered == "authentication-results":
            results.append(parse_authentication_results(value))
        elif lowered == "received-spf":
            results.append(parse_received_spf(value))
    return results


def from_address(message: ParsedMessage) -> str:
    froms = message.all("From")
    found = addresses(froms[0]) if len(froms) == 1 else []
    return found[0][1] if len(found) == 1 else ""


async def analyse_message(data: bytes, resolver: Resolver, options: MessageOptions | None = None) -> Report:
    options = options or MessageOptions()
    dns = TracingResolver(resolver)
    message = parse_message(data)
    sender = from_address(message)
    report = Report(target=sender or (message.first("Subject") or "message"), kind="message")
    if not message.headers:
        report.findings.append(
            catalog_finding(
                "msg.parse_error",
                "No header could be read (" + ("; ".join(message.problems[:3]) or "the input is empty") + "). Give the"
                " whole message (.eml, 'Download original' or 'Show original'), or at least its header block.",
                evidence=message.problems[:5],
                fix="Save the message with your mail program's 'show original' and try again.",
            )
        )
        return report
    results = receiver_results(message)
    connection = infer_connection(message, results, options.client_ip, options.helo, options.mail_from, options.given_by)
    from_domain = address_domain(sender)
    envelope_domain = address_domain(connection.mail_from) or (connection.helo.lower() if not connection.mail_from else "")
    signatures_of_from = [t for t in _signature_selectors(message) if t[0] == from_domain]
    private = is_private_address(connection.ip)
    links = message_links(message)

    async def spf() -> SpfEvaluation | None:
        if not connection.ip or not (connection.mail_from or connection.helo):
            return None
        return await check_identity(dns, connection.ip, connection.mail_from, connection.helo or "unknown")

    async def keys_then_domain_audit() -> tuple[dict[str, Any], Report | None]:
        keys = await fetch_keys(dns, message.headers)
        if not options.audit_domain or not from_domain:
            return keys, None
        # Other selectors are looked for only when the message gives none that works: that is
        # when "s= has no key, but the domain publishes one under another selector" matters.
        own_keys = [keys.get(f"{s}._domainkey.{d}") for d, s in signatures_of_from]
        discover = not own_keys or any(a is None or not a.ok for a in own_keys)
        target = Target(
            domain=from_domain,
            ips=[connection.ip] if connection.ip and not private else [],  # no PTR or SPF fix for an address nobody outside sees
            known_selectors=list(dict.fromkeys([s for _, s in signatures_of_from] + list(options.known_selectors))),
            discover_selectors=discover,
            spamhaus_dqs_key=options.spamhaus_dqs_key,
            link_domains=list(dict.fromkeys(organizational_domain(link["domain"]) for link in links if not is_address(link["domain"]))),
        )
        return keys, await run_audit(target, dns, areas=options.audit_areas, budget=options.budget)

    async def engines() -> list[EngineResult]:
        asks = []
        if options.spamassassin:
            asks.append(ask_spamd(options.spamassassin, message.raw))
        if options.rspamd:
            asks.append(ask_rspamd(options.rspamd, message.raw, connection.ip, connection.helo, connection.mail_from))
        return list(await asyncio.gather(*asks))

    async def no_policy() -> None:
        return None

    async def link_checks() -> list[LinkCheck]:
        if not options.check_links:
            return []
        return await check_links(dns, [link["href"] for link in links], options.links_allow_private)

    (keys, audit), spf_evaluation, dmarc_found, engine_results, checked_links = await asyncio.gather(
        keys_then_domain_audit(),
        spf(),
        discover_dmarc(dns, from_domain) if from_domain else no_policy(),
        engines(),
        link_checks(),
    )
    signatures = check_signatures(message.raw, message.headers, keys, message.has_body)
    arc = check_arc(message.raw, message.headers, keys, message.has_body)
    recorded = authfindings.Recorded.from_results(results)
    spf_result = spf_evaluation.result.value if spf_evaluation else recorded.spf_result
    dkim_for_dmarc = [(s.domain, s.result if s.result != "unverified" else recorded.dkim_result(s.domain)) for s in signatures]
    record = parse_dmarc(dmarc_found.records[0]) if dmarc_found and len(dmarc_found.records) == 1 else None
    verdict = (
        evaluate(
            from_domain, dmarc_found.record_domain if dmarc_found else None, record, envelope_domain, spf_result or "none", dkim_for_dmarc
        )
        if from_domain
        else None
    )

    if private:
        report.findings.append(
            catalog_finding(
                "msg.private_sender",
                f"The connecting server {connection.ip} has a private address: receivers on the internet never see it, so its"
                " SPF result and reverse DNS say nothing about your real server, and maildoctor proposes no fix for them.",
                evidence=[f"client IP {connection.ip} ({connection.sources.get('ip', 'the headers')})"],
            )
        )
    report.findings += structure_findings(message)
    broken = [c for c in checked_links if c.broken]
    if broken:
        report.findings.append(
            make_finding(
                "msg.broken_link",
                f"{len(broken)} link{'s' if len(broken) > 1 else ''} of the message do{'es' if len(broken) == 1 else ''} not work",
                "Readers who click land on an error, and spam filters score dead links: "
                + "; ".join(c.describe() for c in broken[:5])
                + ".",
                evidence=[c.describe() for c in broken],
            )
        )
    context = authfindings.Context(
        message,
        connection,
        spf_evaluation,
        spf_result,
        signatures,
        arc,
        verdict,
        recorded,
        results,
        audit,
        from_domain,
        envelope_domain,
        private,
    )
    report.findings += authfindings.auth_findings(context)
    report.findings += [authfindings.engine_finding(r) for r in engine_results]
    if options.tls == "":
        report.findings.append(_unencrypted(connection))
    if audit is not None:
        seen = {f.id for f in report.findings}
        report.findings += [f for f in audit.findings if f.id not in seen]
    report.findings = share_fixes(report.findings)
    report.queries = dns.trace_json(options.spamhaus_dqs_key)
    own = message_checks(
        message, connection, spf_evaluation, recorded, signatures, dmarc_found, verdict, engine_results, options.tls, results
    )
    report.runs = own.runs + (list(audit.runs) if audit is not None else [])
    report.verified = {area: lines + (audit.verified.get(area, []) if audit else []) for area, lines in own.verified.items()}
    for area, lines in audit.verified.items() if audit else ():
        report.verified.setdefault(area, lines)
    report.facts = _facts(message, connection, spf_evaluation, signatures, arc, verdict, results, engine_results, audit)
    by_url = {c.url: c.to_json() for c in checked_links}
    report.facts["links"] = [{**link, "check": by_url.get(link["href"])} for link in links]
    return report


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def is_private_address(text: str) -> bool:
    """Loopback, private, link-local or unique-local: an address the internet's receivers never see."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def _unencrypted(connection: Any) -> Finding:
    return catalog_finding(
        "tls.not_encrypted",
        f"The sending server{' ' + connection.ip if connection.ip else ''} did not use STARTTLS. Anyone on the path can read and"
        " change the mail; Gmail marks such mail with a red open lock, and its sender guidelines require TLS.",
        fix="Turn on opportunistic TLS for outgoing mail (Postfix: smtp_tls_security_level = may; Exim: it is on by default"
        " once a certificate is set).",
        changes=[change.postfix("smtp_tls_security_level", "may")],
    )


def _signature_selectors(message: ParsedMessage) -> list[tuple[str, str]]:
    pairs = []
    for value in message.all("DKIM-Signature"):
        tags = signature_tags(value)
        pairs.append((tags.get("d", "").lower().rstrip("."), tags.get("s", "").lower()))
    return pairs


def _facts(
    message: ParsedMessage,
    connection: Any,
    spf: SpfEvaluation | None,
    signatures: list[Any],
    arc: Any,
    verdict: DmarcVerdict | None,
    results: list[AuthResults],
    engines: list[EngineResult],
    audit: Report | None,
) -> dict[str, Any]:
    return {
        "headers_only": not message.has_body,
        "excerpt": is_excerpt(message),
        "subject": message.decoded("Subject"),
        "from": message.decoded("From"),
        "to": message.decoded("To"),
        "date": message.first("Date"),
        "message_id": message.first("Message-ID"),
        "size": message.size,
        "parts": [{"type": p.content_type, "size": p.size, "filename": p.filename} for p in message.parts],
        "parse_problems": message.problems,
        "connection": connection.to_json(),
        "spf": spf.to_json() if spf else None,
        "dkim": [s.to_json() for s in signatures],
        "arc": arc.to_json(),
        "dmarc": verdict.to_json() if verdict else None,
        "receiver_results": [
            {
                "header": r.header,
                "authserv_id": r.authserv_id,
                "results": [
                    {"method": e.method, "result": e.result, "comment": e.comment, "reason": e.reason, "properties": e.properties}
                    for e in r.results
                ],
            }
            for r in results
        ],
        "content_engines": [e.to_json() for e in engines],
        "domain": audit.facts if audit else None,
    }
