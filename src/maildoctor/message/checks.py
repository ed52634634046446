"""A message's checks, registered like a domain's and run by the same engine: each isolated, each
with a run (so that an area that could not be evaluated never reads as passed), the findings it
may emit declared, and what it verified recorded per area."""

from __future__ import annotations

from maildoctor.checks.registry import CheckSpec, NotChecked, check
from maildoctor.dns.zonedata import OUTSIDE_ZONES
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.message import authfindings
from maildoctor.message.context import MessageContext
from maildoctor.message.structure import body_findings, header_findings, phrase_findings, subject_findings, unsubscribe_findings
from maildoctor.records import change
from maildoctor.records.dkim import parse_dkim_key

MESSAGE_CHECKS: list[CheckSpec] = []

UNSUBSCRIBE_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
STRUCTURE_IDS = (
    "msg.bad_from",
    "msg.html_only",
    "msg.image_only",
    "msg.link_mismatch",
    "msg.no_date",
    "msg.no_message_id",
    "msg.no_one_click",
    "msg.no_unsubscribe",
    "msg.risky_attachment",
    "msg.subject_shouting",
    "msg.too_large",
    "msg.url_shortener",
)


@check("msg", emits=("msg.private_sender",), into=MESSAGE_CHECKS)
async def message_sender(ctx: MessageContext) -> list[Finding]:
    connection = ctx.connection
    if not ctx.private_sender:
        return []
    return [
        catalog_finding(
            "msg.private_sender",
            f"The connecting server {connection.ip} has a private address: receivers on the internet never see it, so its"
            " SPF result and reverse DNS say nothing about your real server, and maildoctor proposes no fix for them.",
            evidence=[f"client IP {connection.ip} ({connection.sources.get('ip', 'the headers')})"],
        )
    ]


@check("msg", emits=STRUCTURE_IDS, into=MESSAGE_CHECKS)
async def message_structure(ctx: MessageContext) -> list[Finding]:
    message = ctx.message
    for header in ("Message-ID", "Date", *(_header_name(h) for h in UNSUBSCRIBE_HEADERS)):
        value = message.first(header)
        ctx.verified("msg", f"{header}: {value.strip()[:160]}" if value is not None else f"{header}: missing")
    return header_findings(message) + unsubscribe_findings(message) + body_findings(message) + subject_findings(message)


@check("msg", emits=("msg.broken_link",), into=MESSAGE_CHECKS)
async def message_links(ctx: MessageContext) -> list[Finding]:
    if not ctx.options.check_links:
        raise NotChecked("not asked: the links were not fetched")
    if not ctx.links:
        raise NotChecked("not applicable: the message has no links")
    checked = await ctx.link_checks()
    ctx.verified("msg", f"{len(checked)} link{'s' if len(checked) != 1 else ''} fetched")
    broken = [c for c in checked if c.broken]
    if not broken:
        return []
    return [
        make_finding(
            "msg.broken_link",
            f"{len(broken)} link{'s' if len(broken) > 1 else ''} of the message do{'es' if len(broken) == 1 else ''} not work",
            "Readers who click land on an error, and spam filters score dead links: " + "; ".join(c.describe() for c in broken[:5]) + ".",
            evidence=[c.describe() for c in broken],
        )
    ]


@check("spf", emits=("auth.spf_fail",), into=MESSAGE_CHECKS)
async def message_spf(ctx: MessageContext) -> list[Finding]:
    spf, connection = await ctx.spf(), ctx.connection
    if spf is None:
        if ctx.recorded.spf_result:  # a header is no evidence we checked: not a pass of ours
            raise NotChecked(f"not checked here: the connecting IP is not known (a receiver recorded spf={ctx.recorded.spf_result})")
        raise NotChecked("not applicable: the connecting IP and envelope sender are not known")
    sender = connection.mail_from or f"HELO {connection.helo}"
    ctx.verified("spf", f"{spf.summary(connection.ip)} (envelope sender {sender})")
    return authfindings.spf_findings(await ctx.evaluation())


@check(
    "dkim",
    emits=("auth.dkim_none", "auth.dkim_fail", "auth.dkim_selector_mismatch", "auth.dkim_l_tag", "auth.dkim_from_unsigned"),
    into=MESSAGE_CHECKS,
)
async def message_signatures(ctx: MessageContext) -> list[Finding]:
    signatures = await ctx.signatures()
    unsubscribe = [h for h in UNSUBSCRIBE_HEADERS if ctx.message.first(h) is not None]
    for sig in signatures:
        key = parse_dkim_key(sig.key_text).key if sig.key_text else None
        size = f", {key.bits}-bit key" if key is not None and key.bits else ""
        if sig.result == "pass":
            outcome = "pass: body hash and signature verified"
        elif sig.result == "unverified":
            outcome = "not verified: only the header was given"
        else:
            outcome = f"{sig.result}: {sig.detail}" if sig.detail else sig.result
        ctx.verified("dkim", f"d={sig.domain} s={sig.selector} a={sig.algorithm}{size}: {outcome}")
        covered = [_header_name(h) for h in unsubscribe if h in sig.signed_headers]
        missing = [_header_name(h) for h in unsubscribe if h not in sig.signed_headers]
        note = ("; covers " + ", ".join(covered) if covered else "") + ("; does not cover " + ", ".join(missing) if missing else "")
        ctx.verified("dkim", f"d={sig.domain} signs: {', '.join(sig.signed_headers) or 'no header'}{note}")
    if not signatures:
        ctx.verified("dkim", "the message carries no DKIM-Signature")
    return authfindings.dkim_findings(await ctx.evaluation())


@check("dmarc", emits=("auth.dmarc_fail", "auth.dmarc_unaligned"), into=MESSAGE_CHECKS)
async def message_dmarc(ctx: MessageContext) -> list[Finding]:
    found = await ctx.dmarc()
    if found is not None and found.failure is not None and found.failure.detail == OUTSIDE_ZONES:
        raise NotChecked(f"offline: {found.failure.name} is not among the zone files")
    verdict = await ctx.verdict()
    if verdict is None:
        raise NotChecked("not applicable: the From header holds no single address with a domain")
    if found is not None and found.failure is not None:  # the run is unavailable: it read a failed answer
        return []
    if verdict.record is None:
        ctx.verified("dmarc", f"no DMARC record for {verdict.from_domain}: nothing to apply")
    else:
        ctx.verified("dmarc", f"record at _dmarc.{verdict.record_domain}: {verdict.record.text}")
        passed = "pass" if verdict.passed else "fail"
        ctx.verified("dmarc", f"policy applied to {verdict.from_domain}: {verdict.applicable_policy or 'none'}; result {passed}")
        for identifier in verdict.identifiers:
            mode = "strict" if identifier.strict else "relaxed" if identifier.relaxed else "not"
            counts = "counts for DMARC" if identifier.counts else "does not count"
            ctx.verified(
                "dmarc",
                f"{identifier.mechanism.upper()} {identifier.result} for {identifier.domain}, {mode} aligned with the From domain: {counts}",
            )
    return authfindings.dmarc_findings(await ctx.evaluation())


@check("auth", emits=("auth.arc_invalid", "auth.results_explained", "auth.results_disagree"), into=MESSAGE_CHECKS)
async def receiver_results(ctx: MessageContext) -> list[Finding]:
    """What receivers recorded, in plain words, and where our evaluation now disagrees; the ARC chain."""
    evaluation = await ctx.evaluation()
    found = authfindings.arc_findings(evaluation)
    if not ctx.results:
        if found:
            return found
        raise NotChecked("not applicable: no receiver recorded its results (Authentication-Results, Received-SPF)")
    for header in ctx.results:
        said = " ".join(f"{e.method}={e.result}" for e in header.results) or "no result"
        ctx.verified("auth", f"{header.header}" + (f" by {header.authserv_id}" if header.authserv_id else "") + f": {said}")
    return found + authfindings.explained_findings(evaluation) + authfindings.disagreement_findings(evaluation)


@check("content", emits=("content.spammy_phrases",), into=MESSAGE_CHECKS)
async def message_phrases(ctx: MessageContext) -> list[Finding]:
    if not ctx.message.has_body:
        raise NotChecked("not applicable: only the header was given")
    ctx.verified("content", "the text was read for phrases spam filters score")
    return phrase_findings(ctx.message)


@check("content", emits=("content.engine_score", "content.engine_unavailable"), into=MESSAGE_CHECKS)
async def content_engines(ctx: MessageContext) -> list[Finding]:
    results = await ctx.engines()
    if not results:  # our own phrases are no spam filter's verdict: the area is not a pass without one
        ctx.not_checked_part("content", "not checked by a content filter: no SpamAssassin or rspamd was configured")
    for engine in results:
        if not engine.error:
            ctx.verified("content", f"{engine.engine}: {engine.score:g} points (spam at {engine.threshold:g})")
            for rule in sorted(engine.rules, key=lambda r: -r.score):
                ctx.verified("content", f"{rule.name} {rule.score:+g}" + (f": {rule.description}" if rule.description else ""))
    return [authfindings.engine_finding(r) for r in results]


@check("tls", emits=("tls.not_encrypted",), into=MESSAGE_CHECKS)
async def delivery_tls(ctx: MessageContext) -> list[Finding]:
    """How the message reached us ("" for no TLS), when we received it ourselves."""
    tls, connection = ctx.options.tls, ctx.connection
    if tls is None:
        raise NotChecked("not applicable: how the message was delivered is not known here")
    ctx.verified("tls", f"delivered over {tls}" if tls else "delivered without TLS")
    if tls:
        return []
    return [
        catalog_finding(
            "tls.not_encrypted",
            f"The sending server{' ' + connection.ip if connection.ip else ''} did not use STARTTLS. Anyone on the path can read and"
            " change the mail; Gmail marks such mail with a red open lock, and its sender guidelines require TLS.",
            fix="Turn on opportunistic TLS for outgoing mail (Postfix: smtp_tls_security_level = may; Exim: it is on by default"
            " once a certificate is set).",
            changes=[change.postfix("smtp_tls_security_level", "may")],
        )
    ]


def _header_name(lowered: str) -> str:
    return "-".join(part.capitalize() for part in lowered.split("-"))
