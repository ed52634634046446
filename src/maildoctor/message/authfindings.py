"""Findings about a message's authentication: SPF, DKIM, DMARC and ARC as we evaluate them, what the
receiver recorded in plain words, and where the two disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.checks.facts import DkimKey, audit_facts
from maildoctor.dmarc.alignment import DmarcVerdict
from maildoctor.findings import Finding, Report, Severity, catalog_finding, make_finding
from maildoctor.message.authresults import AuthResults, explain
from maildoctor.message.connection import Connection
from maildoctor.message.parse import ParsedMessage, address_domain
from maildoctor.message.signatures import ArcCheck, SignatureCheck
from maildoctor.probes.contentengines import EngineResult
from maildoctor.spf.evaluator import SpfEvaluation

DKIM_FIXES = {
    "key_missing": "Publish the key the signer uses at {key}, or make the signer use a selector whose key is published.",
    "key_malformed": "Republish the key record at {key} as one clean TXT record: v=DKIM1; k=rsa; p=<base64>.",
    "key_revoked": "The key at {key} is revoked: sign with a current key and selector.",
    "body_changed": "Find what changes the body after signing (a disclaimer or footer added by a gateway, a list"
    " server, a forwarder) and sign after it, or stop the change; use c=relaxed/relaxed.",
    "headers_changed": "Find what rewrites signed headers after signing (a gateway rewriting Subject or From), or"
    " check that the key at {key} is the one the signer holds.",
    "expired": "Sign with a longer x= (or none): the signature must outlive delivery and retries.",
    "sha1": "Sign with rsa-sha256 (or ed25519-sha256).",
    "malformed": "Fix the signing software's configuration; the DKIM-Signature header must follow RFC 6376 §3.5.",
}


@dataclass
class Recorded:
    """What the (topmost) receiver wrote about SPF, DKIM and DMARC."""

    spf_result: str = ""
    spf_comment: str = ""
    dkim: list[tuple[str, str, str]] = field(default_factory=list)  # (domain, result, comment)
    dmarc_result: str = ""

    @classmethod
    def from_results(cls, results: list[AuthResults]) -> Recorded:
        recorded = cls()
        for header in results:
            for entry in header.results:
                if entry.method == "spf" and not recorded.spf_result:
                    recorded.spf_result, recorded.spf_comment = entry.result, entry.comment
                elif entry.method == "dkim" and header.header == "Authentication-Results":
                    domain = entry.properties.get("header.d") or address_domain("x" + entry.properties.get("header.i", ""))
                    recorded.dkim.append((domain.lower(), entry.result, entry.comment))
                elif entry.method == "dmarc" and not recorded.dmarc_result:
                    recorded.dmarc_result = entry.result
        return recorded

    def dkim_result(self, domain: str) -> str:
        return next((r for d, r, _ in self.dkim if d == domain), "none")


@dataclass
class Context:
    message: ParsedMessage
    connection: Connection
    spf: SpfEvaluation | None
    spf_result: str
    signatures: list[SignatureCheck]
    arc: ArcCheck
    verdict: DmarcVerdict | None
    recorded: Recorded
    results: list[AuthResults]
    audit: Report | None
    from_domain: str
    envelope_domain: str
    private_sender: bool = False  # the connecting IP is loopback or private

    def domain_finding(self, *ids: str) -> list[Finding]:
        return [f for f in (self.audit.findings if self.audit else []) if f.id in ids]

    def published_selectors(self) -> dict[str, DkimKey]:
        return (audit_facts(self.audit).dkim or {}) if self.audit else {}


def spf_findings(ctx: Context) -> list[Finding]:
    spf, conn = ctx.spf, ctx.connection
    if spf is None or spf.result.value == "pass":
        return []
    related = ctx.domain_finding(
        "spf.missing", "spf.rrtype99", "spf.misplaced", "spf.ip_not_authorized", "spf.syntax_error", "spf.too_many_lookups"
    )
    because = {
        "none": f"{spf.domain} publishes no SPF record",
        "neutral": f"the SPF record of {spf.domain} ends in ?all and does not list {conn.ip}",
        "softfail": f"the SPF record of {spf.domain} does not list {conn.ip} (~all)",
        "fail": f"the SPF record of {spf.domain} does not list {conn.ip} (-all)",
        "permerror": f"the SPF record of {spf.domain} is broken ({spf.reason or spf.mechanism})",
        "temperror": f"the SPF record of {spf.domain} could not be read ({spf.reason})",
    }.get(spf.result.value, spf.reason)
    detail = (
        f"For the connecting server {conn.ip} (read from {conn.sources.get('ip', 'the headers')}) and MAIL FROM"
        f" {conn.mail_from or '<> (HELO ' + conn.helo + ')'}, SPF gives {spf.result.value}: {because}."
    )
    if ctx.recorded.spf_result:
        detail += f" The receiver recorded spf={ctx.recorded.spf_result}" + (
            f" ({ctx.recorded.spf_comment})." if ctx.recorded.spf_comment else "."
        )
    if related:
        detail += " The sender domain's records show why: " + "; ".join(f"{f.title} [{f.id}]" for f in related) + "."
    fix = related[0].fix if related else f"Authorize {conn.ip} in the SPF record of {spf.domain}."
    if ctx.private_sender:  # no record change for an address the internet never sees
        fix = "Send the test from the server that sends your real mail (see msg.private_sender)."
    return [
        make_finding(
            "auth.spf_fail",
            f"SPF {spf.result.value} for {conn.ip} sending as {spf.domain}",
            detail,
            evidence=spf.steps[-8:] or [f"SPF {spf.result.value}"],
            fix=fix,
        )
    ]


def dkim_findings(ctx: Context) -> list[Finding]:
    if not ctx.signatures:
        if not ctx.message.has_body and not ctx.message.all("Received") and not ctx.recorded.dkim:
            return []  # an excerpt of headers: a signature may simply not have been pasted
        domain = ctx.from_domain or "your domain"
        return [
            catalog_finding(
                "auth.dkim_none",
                "There is no DKIM-Signature header. Without DKIM, DMARC rests on SPF alone, which breaks on every"
                " forward; Gmail and Yahoo require DKIM from bulk senders.",
                fix=f"Sign outgoing mail with a key of {domain} (OpenDKIM, rspamd or your provider's DKIM setting) and publish"
                f" its public key at <selector>._domainkey.{domain}.",
            )
        ]
    findings = []
    published = ctx.published_selectors()
    for sig in ctx.signatures:
        label = f"d={sig.domain} s={sig.selector}"
        # a key that could not be read is no failure of the signature: the check's run says unavailable
        if sig.result not in ("pass", "unverified", "temperror"):
            others = {s: k for s, k in published.items() if s != sig.selector} if sig.domain == ctx.from_domain else {}
            if sig.cause == "key_missing" and others:
                broken = [s for s, k in others.items() if not k.valid]
                detail = (
                    f"The signature says s={sig.selector}, but {sig.key_name} has no key, while {sig.domain}"
                    f" publishes a key under {', '.join(sorted(others))}. Receivers look only at s=, so the"
                    " signature cannot be verified (Gmail: 'neutral (bad format)' or 'permerror (no key)')."
                )
                if broken:
                    detail += (
                        f" The key at {', '.join(sorted(broken))} is itself malformed (see dkim.record_escaped /"
                        " dkim.record_malformed below), so fix that record too."
                    )
                first = sorted(others)[0]
                findings.append(
                    make_finding(
                        "auth.dkim_selector_mismatch",
                        f"The signature uses selector '{sig.selector}', which has no key",
                        detail,
                        evidence=[sig.key_answer.describe()] if sig.key_answer else [],
                        fix=f"Either configure the signer with s={first} (the key published at {first}._domainkey.{sig.domain}),"
                        f" or publish the signer's public key at {sig.key_name}."
                        + (f" And republish the {first} key record cleanly (see the DKIM findings)." if broken else ""),
                    )
                )
                continue
            findings.append(
                make_finding(
                    "auth.dkim_fail",
                    f"The DKIM signature {label} does not verify ({sig.cause.replace('_', ' ')})",
                    f"{sig.detail[0].upper()}{sig.detail[1:]}.",
                    evidence=[f"DKIM-Signature {label} a={sig.algorithm} h={':'.join(sig.signed_headers)}"]
                    + ([sig.key_answer.describe()] if sig.key_answer else []),
                    fix=DKIM_FIXES.get(sig.cause, "Check the signer's configuration.").format(key=sig.key_name, domain=sig.domain),
                )
            )
        if sig.body_length:
            findings.append(
                make_finding(
                    "auth.dkim_l_tag",
                    f"The signature {label} covers only the first {sig.body_length} bytes of the body (l=)",
                    "With l=, anything appended to the body keeps the signature valid: an attacker can add content to a"
                    " message you signed. Several receivers ignore or distrust such signatures.",
                    evidence=[f"l={sig.body_length}"],
                    fix="Remove l= from the signer's configuration (OpenDKIM: BodyLengths no).",
                )
            )
        if sig.signed_headers and not sig.from_signed:
            findings.append(
                make_finding(
                    "auth.dkim_from_unsigned",
                    f"The signature {label} does not sign the From header",
                    "RFC 6376 requires From in h=; without it anyone can reuse the signature with another sender, and verifiers reject it.",
                    evidence=[f"h={':'.join(sig.signed_headers)}"],
                    fix="Add From (and Subject, Date, To, Message-ID) to the signed headers.",
                )
            )
    return findings


def dmarc_findings(ctx: Context) -> list[Finding]:
    verdict = ctx.verdict
    if verdict is None:
        return []
    evidence = [f"{i.mechanism}: {i.domain} {i.result}, aligned relaxed={i.relaxed} strict={i.strict}" for i in verdict.identifiers]
    findings = []
    policy = verdict.applicable_policy
    if not verdict.passed:
        what = (
            f"The policy of {verdict.record_domain} asks receivers to {policy} such mail"
            + (f" ({verdict.record.pct}% of it)" if verdict.record and verdict.record.pct < 100 else "")
            + "."
            if policy in ("quarantine", "reject")
            else f"The policy is p={policy}: receivers decide by themselves, and Gmail and Yahoo send unauthenticated mail to spam."
            if policy
            else f"{verdict.from_domain} publishes no DMARC policy: receivers decide by themselves, and Gmail and"
            " Yahoo send unauthenticated mail to spam or reject it."
        )
        findings.append(
            make_finding(
                "auth.dmarc_fail",
                f"DMARC fails for From: {verdict.from_domain}",
                f"Neither SPF nor DKIM passed for a domain aligned with {verdict.from_domain}: SPF {ctx.spf_result or 'unknown'} for"
                f" {ctx.envelope_domain or 'no envelope domain'}; DKIM "
                + (", ".join(f"{i.result} for d={i.domain}" for i in verdict.identifiers if i.mechanism == "dkim") or "absent")
                + f". {what}",
                evidence=evidence,
                fix=f"Make at least one pass aligned: sign with d={verdict.from_domain} (or a subdomain) and fix the DKIM"
                f" findings, and/or send with a MAIL FROM in {verdict.from_domain} that its SPF authorizes.",
            )
        )
    for identifier in verdict.unaligned_passes():
        findings.append(
            make_finding(
                "auth.dmarc_unaligned",
                f"{identifier.mechanism.upper()} passes for {identifier.domain}, which is not aligned with {verdict.from_domain}",
                f"{identifier.mechanism.upper()} passed, but for {identifier.domain}, not for {verdict.from_domain} (relaxed"
                f" alignment {'holds' if identifier.relaxed else 'fails'}, strict {'holds' if identifier.strict else 'fails'}):"
                " DMARC does not count it. This is typical of a mailing service that signs or bounces with its own domain.",
                evidence=evidence,
                fix=(
                    f"Have the service sign with d={verdict.from_domain} (publish its key under your domain)"
                    if identifier.mechanism == "dkim"
                    else f"Use a bounce (Return-Path) domain under {verdict.from_domain} at the service (a CNAME they give you)"
                )
                + ".",
            )
        )
    return findings


def arc_findings(ctx: Context) -> list[Finding]:
    if not ctx.arc.present or ctx.arc.result != "fail":
        return []
    return [
        make_finding(
            "auth.arc_invalid",
            f"The ARC chain ({ctx.arc.instances} hop(s)) does not verify",
            f"A forwarder added ARC headers, but the chain fails: {ctx.arc.reason or 'no reason given'}."
            " Receivers then cannot trust the forwarder's record of the original authentication.",
            evidence=[f"ARC-Seal instances: {ctx.arc.instances}"],
            fix="",
        )
    ]


def explained_findings(ctx: Context) -> list[Finding]:
    findings = []
    for header in ctx.results:
        lines = [f"{e.method}={e.result}: {explain(e)}" for e in header.results]
        if not lines:
            continue
        findings.append(
            make_finding(
                "auth.results_explained",
                f"What {header.authserv_id or 'the receiver'} recorded in {header.header}",
                "\n".join(lines),
                evidence=[f"{header.header}: {header.raw}"],
                fix="",
            )
        )
    return findings


def disagreement_findings(ctx: Context) -> list[Finding]:
    findings = []
    recorded = ctx.recorded
    if ctx.spf is not None and recorded.spf_result:
        ours, theirs = ctx.spf.result.value, recorded.spf_result
        best_guess = theirs == "neutral" and ours == "none" and "best guess" in recorded.spf_comment.lower()
        if ours != theirs and not best_guess:
            findings.append(
                make_finding(
                    "auth.results_disagree",
                    f"The receiver recorded spf={theirs}; evaluated now it is {ours}",
                    f"When the message arrived the receiver found SPF {theirs}; against the DNS as it is now it is {ours}."
                    " The record changed since, or the receiver saw another IP or envelope sender.",
                    evidence=[f"receiver: spf={theirs} ({recorded.spf_comment})", f"now: {ours} via {ctx.spf.mechanism or ctx.spf.reason}"],
                    fix="",
                )
            )
    for sig in ctx.signatures:
        if sig.result in ("unverified", "temperror"):
            continue
        theirs = recorded.dkim_result(sig.domain)
        if theirs != "none" and (theirs == "pass") != (sig.result == "pass"):
            findings.append(
                make_finding(
                    "auth.results_disagree",
                    f"The receiver recorded dkim={theirs} for d={sig.domain}; verified now it is {sig.result}",
                    f"{sig.detail[0].upper()}{sig.detail[1:]}. The key may have changed since, or the message was modified after it arrived.",
                    evidence=[f"receiver: dkim={theirs}", f"now: {sig.result} ({sig.cause or 'ok'})"],
                    fix="",
                )
            )
    return findings


def engine_finding(result: EngineResult) -> Finding:
    if result.error:
        return make_finding(
            "content.engine_unavailable",
            f"{result.engine} could not score the message",
            result.error,
            fix="Check that the engine runs and listens where given, then test again.",
        )
    ratio = result.score / result.threshold if result.threshold > 0 else 0.0
    # twice the threshold is spam by any filter's measure: critical, so the grade cannot stay good
    severity = (
        Severity.CRITICAL
        if ratio >= 2
        else Severity.ERROR
        if ratio >= 1
        else Severity.WARNING
        if ratio >= 0.5
        else Severity.NOTICE
        if ratio > 0
        else Severity.INFO
    )
    top = [r for r in sorted(result.rules, key=lambda r: -r.score) if r.score > 0][:8]
    return make_finding(
        "content.engine_score",
        f"{result.engine} scores the message {result.score:g} (spam at {result.threshold:g})",
        f"{result.engine} ({result.where}) gives {result.score:g} points against a threshold of {result.threshold:g}"
        + (f" ({result.action})" if result.action else "")
        + "."
        + (
            " The rules that add most: "
            + "; ".join(f"{r.name} +{r.score:g}" + (f" ({r.description})" if r.description else "") for r in top)
            + "."
            if top
            else ""
        ),
        evidence=[f"{r.score:+g} {r.name} {r.description}".strip() for r in result.rules],
        severity=severity,
        fix="Address the rules above, starting with the highest scores." if top else "",
    )
