"""MTA-STS and TLS-RPT records, DANE TLSA on the MX hosts, and BIMI (the DNS side of each)."""

from __future__ import annotations

from maildoctor.checks.common import lookup_failed, quote_txt, zone_line
from maildoctor.checks.dmarc import dmarc_policy
from maildoctor.checks.facts import Dnssec
from maildoctor.checks.mtasts_policy import mtasts_policy_findings
from maildoctor.checks.mx import mx_records
from maildoctor.checks.registry import AuditContext, check
from maildoctor.dns.answer import Answer, ask_all
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.records import change
from maildoctor.records.dmarc import parse_dmarc
from maildoctor.records.policies import parse_bimi, parse_mtasts_txt, parse_tlsrpt


async def _records(ctx: AuditContext, area: str, name: str, version: str) -> tuple[Answer, list[str], list[Finding]]:
    """The TXT records at name that start with version (e.g. v=STSv1), or the temporary failure."""
    answer = await ctx.dns.query(name, "TXT")
    if answer.outcome.is_temporary:
        return answer, [], [lookup_failed(area, answer, name)]
    own = [t for t in answer.texts() if t.replace(" ", "").lower().startswith(version.lower())]
    return answer, own, []


@check(
    "mtasts",
    emits=(
        "mtasts.missing",
        "mtasts.txt_invalid",
        "mtasts.lookup_failed",
        "mtasts.policy_unreachable",
        "mtasts.policy_invalid",
        "mtasts.mx_not_covered",
        "mtasts.testing_mode",
    ),
)
async def check_mtasts(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    answer, records, failed = await _records(ctx, "mtasts", f"_mta-sts.{domain}", "v=STSv1")
    if failed:
        return failed
    if not records:
        return [
            make_finding(
                "mtasts.missing",
                f"{domain} publishes no MTA-STS policy",
                "Without MTA-STS, senders deliver to your MX over TLS only opportunistically: an attacker on"
                " the path can strip STARTTLS and read or redirect the mail.",
                evidence=[answer.describe()],
                fix="Serve a policy at https://mta-sts.<domain>/.well-known/mta-sts.txt (version: STSv1, mode: testing,"
                " mx: <your MX hosts>, max_age: 604800), then publish:\n  "
                + zone_line(f"_mta-sts.{domain}", 3600, "TXT", quote_txt("v=STSv1; id=20260101000000")),
                changes=[change.add(f"_mta-sts.{domain}", 3600, "TXT", quote_txt("v=STSv1; id=20260101000000"))],
            )
        ]
    ctx.verified("mtasts", f"record at _mta-sts.{domain}: {records[0]}")
    problems = [f"{len(records)} records: senders ignore MTA-STS when there is more than one"] if len(records) > 1 else []
    problems += parse_mtasts_txt(records[0]).problems
    findings = (
        []
        if not problems
        else [
            make_finding(
                "mtasts.txt_invalid",
                f"The MTA-STS record of {domain} is not valid",
                "; ".join(problems) + ". Senders then ignore the policy.",
                evidence=[answer.describe()],
                fix="Publish exactly one record:\n  "
                + zone_line(f"_mta-sts.{domain}", 3600, "TXT", quote_txt("v=STSv1; id=20260101000000")),
                changes=[change.replace(f"_mta-sts.{domain}", None, "TXT", quote_txt(records[0]), quote_txt("v=STSv1; id=20260101000000"))]
                + [change.remove(f"_mta-sts.{domain}", "TXT", quote_txt(other)) for other in records[1:]],
            )
        ]
    )
    if ctx.target.probe:
        findings += await mtasts_policy_findings(ctx)
    return findings


@check("tlsrpt", emits=("tlsrpt.missing", "tlsrpt.invalid", "tlsrpt.lookup_failed"))
async def check_tlsrpt(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    answer, records, failed = await _records(ctx, "tlsrpt", f"_smtp._tls.{domain}", "v=TLSRPTv1")
    if failed:
        return failed
    fix_record = zone_line(f"_smtp._tls.{domain}", 3600, "TXT", quote_txt(f"v=TLSRPTv1; rua=mailto:tls-reports@{domain}"))
    if not records:
        return [
            make_finding(
                "tlsrpt.missing",
                f"{domain} asks for no TLS reports (TLS-RPT)",
                "Senders that fail to reach your MX over TLS could tell you, but only if you publish where.",
                evidence=[answer.describe()],
                fix="Publish:\n  " + fix_record,
                changes=[change.add(f"_smtp._tls.{domain}", 3600, "TXT", quote_txt(f"v=TLSRPTv1; rua=mailto:tls-reports@{domain}"))],
            )
        ]
    ctx.verified("tlsrpt", f"record at _smtp._tls.{domain}: {records[0]}")
    problems = [f"{len(records)} records: there must be one"] if len(records) > 1 else []
    problems += parse_tlsrpt(records[0]).problems
    if not problems:
        return []
    return [
        make_finding(
            "tlsrpt.invalid",
            f"The TLS-RPT record of {domain} is not valid",
            "; ".join(problems) + ". Senders send no reports.",
            evidence=[answer.describe()],
            fix="Publish one record:\n  " + fix_record,
        )
    ]


@check("dane", emits=("dane.present", "dane.tlsa_invalid", "mx.lookup_failed"))
async def check_dane(ctx: AuditContext) -> list[Finding]:
    mx = await mx_records(ctx)
    hosts = [h for _, h in mx.mx_hosts if h != "."] if mx.ok else []
    answers = await ask_all(ctx.dns, [(f"_25._tcp.{h}", "TLSA") for h in hosts])
    findings: list[Finding] = []
    published = []
    for host, answer in zip(hosts, answers):
        if answer.outcome.is_temporary:
            findings.append(lookup_failed("mx", answer, f"the TLSA records of {host}"))
            continue
        if not answer.ok:
            ctx.verified("dane", f"_25._tcp.{host}: no TLSA record ({answer.outcome.value})")
            continue
        ctx.verified("dane", f"_25._tcp.{host}: " + "; ".join(rd.to_text()[:80] for rd in answer.records))
        published.append(host)
        bad = []
        for rd in answer.records:
            if rd.usage not in (2, 3):
                bad.append(f"usage {rd.usage} (PKIX-TA/PKIX-EE) is not for SMTP: RFC 7672 §3.1.3 says use 2 or 3")
            if rd.selector not in (0, 1) or rd.mtype not in (0, 1, 2):
                bad.append(f"selector {rd.selector} / matching type {rd.mtype} is not defined")
            elif rd.mtype == 1 and len(rd.cert) != 32 or rd.mtype == 2 and len(rd.cert) != 64:
                bad.append(f"the digest is {len(rd.cert)} bytes, not what matching type {rd.mtype} needs")
        if bad:
            findings.append(
                make_finding(
                    "dane.tlsa_invalid",
                    f"The TLSA records of {host} are not usable",
                    "; ".join(bad) + ". DANE senders cannot authenticate the server and may refuse to deliver.",
                    evidence=[answer.describe()],
                    fix=f"Publish '3 1 1 <SHA-256 of the server key>' (and a 2 1 1 for the issuing CA) at _25._tcp.{host}.",
                )
            )
    if published:
        findings.append(
            make_finding(
                "dane.present",
                f"DANE TLSA records are published for {', '.join(published)}",
                "Senders that validate DNSSEC (Postfix, Exim, several large providers) require TLS with a matching"
                " certificate. Remember to publish the new TLSA before every key change.",
                evidence=[a.describe() for a in answers if a.ok],
                fix="",
            )
        )
    return findings


@check("bimi", emits=("bimi.invalid", "bimi.policy_too_weak", "bimi.lookup_failed"))
async def check_bimi(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    answer, records, failed = await _records(ctx, "bimi", f"default._bimi.{domain}", "v=BIMI1")
    if failed:
        return failed
    if not records:
        ctx.verified("bimi", f"no BIMI record at default._bimi.{domain} (optional: a logo beside your mail)")
        return []
    findings = []
    ctx.verified("bimi", f"record at default._bimi.{domain}: {records[0]}")
    record = parse_bimi(records[0])
    if record.problems:
        findings.append(
            make_finding(
                "bimi.invalid",
                f"The BIMI record of {domain} is not valid",
                "; ".join(record.problems) + ".",
                evidence=[answer.describe()],
                fix="Publish:\n  "
                + zone_line(
                    f"default._bimi.{domain}", 3600, "TXT", quote_txt("v=BIMI1; l=https://<host>/logo.svg; a=https://<host>/vmc.pem")
                ),
            )
        )
    dmarc = await dmarc_policy(ctx)
    policy = parse_dmarc(dmarc.records[0]).policy if len(dmarc.records) == 1 else None
    if policy not in ("quarantine", "reject"):
        findings.append(
            catalog_finding(
                "bimi.policy_too_weak",
                f"The DMARC policy is {policy or 'missing'}; Gmail, Yahoo and Apple show a BIMI logo only for"
                " mail under p=quarantine or p=reject (with pct=100).",
                evidence=[answer.describe()] + [a.describe() for a in dmarc.answers],
                fix="Move DMARC to p=quarantine or p=reject once your reports show your mail passing.",
            )
        )
    return findings


@check("dnssec", emits=("dnssec.unsigned",))
async def check_dnssec(ctx: AuditContext) -> list[Finding]:
    """Information only: whether the domain is signed and the parent holds its DS (the chain of trust)."""
    domain = ctx.target.domain
    ds, dnskey = await ask_all(ctx.dns, [(domain, "DS"), (domain, "DNSKEY")])
    ctx.facts.dnssec = Dnssec(
        ds=ds.ok,
        dnskey=dnskey.ok,
        validated=dnskey.authenticated or ds.authenticated,
        unknown=ds.outcome.is_temporary or dnskey.outcome.is_temporary,
    )
    if ds.ok:
        ctx.verified("dnssec", f"DS of {domain} in its parent zone" + (", validated by the resolver" if ctx.facts.dnssec.validated else ""))
    if ds.ok or ds.outcome.is_temporary or dnskey.outcome.is_temporary:
        return []
    if dnskey.ok and ctx.zone is not None:
        return []  # a zone file holds the keys; the DS lives in the parent, which it cannot show
    if dnskey.ok:
        explanation = (
            f"{domain} publishes DNSKEY records, but its parent zone has no DS record for it, so the chain"
            " of trust is broken and validating resolvers treat the domain as unsigned."
        )
        fix = "Give your registrar the DS record of the key-signing key (e.g. from dnssec-dsfromkey), or remove the keys."
    else:
        explanation = (
            f"{domain} is not DNSSEC-signed. This does not affect spam filtering, but without it"
            " DANE cannot protect mail to your MX hosts and MTA-STS is the only defence against"
            " a downgrade of TLS."
        )
        fix = "Sign the zone (most DNS hosts offer it as one switch) and publish the DS record at your registrar."
    return [
        make_finding(
            "dnssec.unsigned",
            f"{domain} is not DNSSEC-signed" if not dnskey.ok else f"{domain} is signed, but not delegated securely",
            explanation,
            evidence=[ds.describe(), dnskey.describe()],
            fix=fix,
        )
    ]
