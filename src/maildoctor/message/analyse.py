"""Analysing a received message: what the receiver saw, our own SPF/DKIM/DMARC/ARC evaluation, where
the two disagree, the headers and structure, optional content engines, and the sender domain's records."""

from __future__ import annotations

import re

from maildoctor.checks.facts import audit_facts
from maildoctor.dns.answer import Resolver
from maildoctor.dns.tracing import TracingResolver
from maildoctor.engine import run_checks
from maildoctor.findings import Report, catalog_finding, share_fixes
from maildoctor.message.authresults import AuthResults, parse_authentication_results, parse_received_spf
from maildoctor.message.checks import MESSAGE_CHECKS
from maildoctor.message.connection import infer_connection, is_private_address
from maildoctor.message.context import MessageContext
from maildoctor.message.facts import CheckedLink, MessageFacts
from maildoctor.message.options import MessageOptions
from maildoctor.message.parse import ParsedMessage, address_domain, addresses, parse_message
from maildoctor.message.signatures import signature_tags
from maildoctor.message.structure import is_excerpt, message_links

UNSUBSCRIBE_WORDS = re.compile(r"unsubscri|abmeld|d[ée]sabonn|d[ée]sinscri|opt[- ]?out|uitschrijv|afmeld", re.IGNORECASE)
AUDIT_SLACK = 5.0  # seconds the message's checks may take beyond the sender domain's audit they wait for


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
    context = MessageContext(
        message=message,
        options=options,
        dns=dns,
        results=results,
        connection=connection,
        from_domain=from_domain,
        envelope_domain=address_domain(connection.mail_from) or (connection.helo.lower() if not connection.mail_from else ""),
        private_sender=is_private_address(connection.ip),
        links=message_links(message),
        signatures_of_from=[t for t in _signature_selectors(message) if t[0] == from_domain],
    )
    try:
        # the checks that weigh the sender domain's audit wait for it: their budget holds its own
        found, runs = await run_checks(MESSAGE_CHECKS, context, options.budget + AUDIT_SLACK)
    finally:
        context.close()
    audit: Report | None = context.known("audit")
    report.findings = found
    if audit is not None:
        seen = {f.id for f in found}
        report.findings += [f for f in audit.findings if f.id not in seen]
    report.findings = share_fixes(report.findings)
    report.queries = dns.trace_json(options.spamhaus_dqs_key)
    report.runs = runs + (list(audit.runs) if audit is not None else [])
    report.verified = dict(context.verified_lines)
    for area, lines in audit.verified.items() if audit else ():
        report.verified[area] = report.verified.get(area, []) + lines
    report.facts = _facts(context, audit)
    return report


def _signature_selectors(message: ParsedMessage) -> list[tuple[str, str]]:
    pairs = []
    for value in message.all("DKIM-Signature"):
        tags = signature_tags(value)
        pairs.append((tags.get("d", "").lower().rstrip("."), tags.get("s", "").lower()))
    return pairs


def _unsubscribe_link(message: ParsedMessage, context: MessageContext) -> bool:
    """A link to unsubscribe the reader sees: one whose address or text says so, or the word in
    the text beside a link (plain text shows the address itself)."""
    if any(UNSUBSCRIBE_WORDS.search(f"{link.href} {link.text}") for link in context.links):
        return True
    return bool(context.links) and bool(UNSUBSCRIBE_WORDS.search(message.html_text or message.text))


def _facts(context: MessageContext, audit: Report | None) -> MessageFacts:
    message = context.message
    by_url = {c.url: c for c in context.known("links") or []}
    return MessageFacts(
        headers_only=not message.has_body,
        excerpt=is_excerpt(message),
        subject=message.decoded("Subject"),
        from_=message.decoded("From"),
        to=message.decoded("To"),
        date=message.first("Date"),
        message_id=message.first("Message-ID"),
        size=message.size,
        parts=message.parts,
        parse_problems=message.problems,
        connection=context.connection,
        spf=context.known("spf"),
        dkim=context.known("signatures") or [],
        arc=context.known("arc"),
        dmarc=context.known("verdict"),
        receiver_results=context.results,
        content_engines=context.known("engines") or [],
        domain=audit_facts(audit) if audit else None,
        links=[CheckedLink(link, by_url.get(link.href)) for link in context.links],
        list_unsubscribe={h: v.strip() for h in ("list-unsubscribe", "list-unsubscribe-post") if (v := message.first(h)) is not None},
        unsubscribe_link=_unsubscribe_link(message, context) if message.has_body else None,
    )
