"""DNS blocklists: the sending IPs (--ip) and the domain, against every list of the catalog."""

from __future__ import annotations

from functools import cache

from maildoctor.checks.registry import AuditContext, NotChecked, check
from maildoctor.dns.zonedata import OUTSIDE_ZONES
from maildoctor.dnsbl.catalog import Blocklist, load_catalog
from maildoctor.dnsbl.lookup import LISTED, REFUSED, UNAVAILABLE, Result, Subject, check_all
from maildoctor.findings import Finding, Severity, make_finding

IP_ADVICE = (
    "Find out why first, or the listing comes back: a compromised mailbox sending through SMTP AUTH"
    " (look for logins from unusual countries and a spike in outgoing mail), an infected machine"
    " behind the address, an open relay or a web form that sends mail, or mail to bought or old"
    " address lists. Fix the cause, then request removal"
)
END_USER_ADVICE = (
    "This address is in a range its provider marks as end-user or dynamic. Send through your"
    " provider's relay (smarthost); if it really is a mail server on a static address, set a proper"
    " reverse DNS name and request removal of the policy listing"
)
DOMAIN_ADVICE = (
    "Find where the domain appears in spam: a compromised website or CMS plugin, a contact form"
    " that relays mail, an affiliate or reseller, or a newsletter to unconsented addresses. Clean"
    " it up, then request removal"
)


@cache
def shipped_catalog() -> tuple[Blocklist, ...]:
    return tuple(load_catalog())


def _listing(result: Result) -> Finding:
    bl, reading, subject = result.blocklist, result.reading, result.subject
    domain = subject.kind == "domain"
    meanings = "; ".join(dict.fromkeys(reading.meanings))
    end_user = any("end-user" in m or "dynamic" in m for m in reading.meanings)
    advice = DOMAIN_ADVICE if domain else END_USER_ADVICE if end_user else IP_ADVICE
    evidence = [f"{result.query} A: {' '.join(reading.codes)}"]
    if result.reason:
        evidence.append(f"{result.query} TXT: {result.reason}")
    return make_finding(
        "dnsbl.domain_listed" if domain else "dnsbl.listed",
        f"{subject.text} is listed on {bl.name} ({meanings})",
        f"{bl.name} ({bl.zone}) lists {bl.lists}. It answered {', '.join(reading.codes)}: {meanings}."
        + (f" Its reason: {result.reason.rstrip('.')}." if result.reason else "")
        + " Receivers that use this list reject or junk mail "
        + ("that links to or comes from this domain." if domain else "from this address."),
        evidence=evidence,
        fix=f"{advice} at {bl.delist}.",
        severity=Severity.parse(reading.severity),
    )


def blocklist_findings(results: list[Result]) -> list[Finding]:
    findings = [_listing(r) for r in results if r.status == LISTED]
    refused = [r for r in results if r.status == REFUSED]
    if refused:
        zones = sorted({r.blocklist.name for r in refused})
        findings.append(
            make_finding(
                "dnsbl.query_refused",
                f"{len(zones)} blocklist{'s' if len(zones) > 1 else ''} refused to answer: {', '.join(zones)}",
                "These lists answered with a code that means 'query refused' (for instance Spamhaus' 127.255.255.254"
                " for queries through public resolvers such as 8.8.8.8, or an over-quota code). The answer says"
                " nothing about a listing: the addresses may be listed there or not.",
                evidence=[f"{r.query} A: {' '.join(r.reading.codes)} ({r.detail})" for r in refused],
                fix="Query from your own recursive resolver (e.g. unbound on the server, then --nameserver 127.0.0.1),"
                " not through a public or forwarding one; some lists also need a free registration of that resolver.",
            )
        )
    unavailable = [r for r in results if r.status == UNAVAILABLE]
    if unavailable:
        zones = sorted({r.blocklist.zone for r in unavailable})
        findings.append(
            make_finding(
                "dnsbl.unavailable",
                f"{len(zones)} blocklist{'s' if len(zones) > 1 else ''} could not be queried",
                "No usable answer came back (timeout, SERVFAIL or REFUSED), so nothing is known about a listing"
                f" there: {', '.join(zones[:12])}{' …' if len(zones) > 12 else ''}.",
                evidence=[f"{r.query} A: {r.detail}" for r in unavailable],
                fix="Run again later, or with --nameserver pointing at a resolver that reaches these lists.",
            )
        )
    return findings


@check("dnsbl", emits=("dnsbl.listed", "dnsbl.domain_listed", "dnsbl.query_refused", "dnsbl.unavailable"))
async def check_blocklists(ctx: AuditContext) -> list[Finding]:
    if ctx.zone is not None:  # blocklists are asked once the records are live
        raise NotChecked("offline: a zone file audit asks no blocklist")
    subjects = [Subject.parse(ip) for ip in ctx.target.ips] + [Subject(ctx.target.domain, "domain")]
    lists = list(load_catalog(ctx.target.blocklists)) if ctx.target.blocklists else list(shipped_catalog())
    # In an audit the lists are one area among many: a listing's reason is asked only once it is
    # listed (one more round trip then), not for every list beforehand (a third of an audit's questions).
    results = await check_all(ctx.dns, subjects, lists, eager_reasons=False)
    if results and all(r.detail.endswith(OUTSIDE_ZONES) for r in results):  # DNS from zone files only
        raise NotChecked("offline: DNS is answered from zone files, which hold no blocklist")
    ctx.facts["dnsbl"] = [r.to_json() for r in results]
    return blocklist_findings(results)
