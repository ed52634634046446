"""DNS blocklists: the sending IPs (--ip) and the domain, against every list of the catalog."""

from __future__ import annotations

from functools import cache
from typing import Any

from maildoctor.checks.registry import AuditContext, NotChecked, check
from maildoctor.dns.public import public_resolvers_in
from maildoctor.dns.zonedata import OUTSIDE_ZONES
from maildoctor.dnsbl.catalog import Blocklist, load_catalog, with_spamhaus_dqs_key
from maildoctor.dnsbl.lookup import CLEAN, LISTED, REFUSED, UNAVAILABLE, Result, Subject, check_all
from maildoctor.findings import Finding, Severity, fold_under, make_finding

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


MAX_LINK_DOMAINS = 10


@cache
def shipped_catalog() -> tuple[Blocklist, ...]:
    return tuple(load_catalog())


def _listing(result: Result) -> Finding:
    bl, reading, subject = result.blocklist, result.reading, result.subject
    domain = subject.kind == "domain"
    meanings = "; ".join(dict.fromkeys(reading.meanings))
    end_user = any("end-user" in m or "dynamic" in m for m in reading.meanings)
    advice = DOMAIN_ADVICE if domain else END_USER_ADVICE if end_user else IP_ADVICE
    evidence = [f"{result.shown_query} A: {' '.join(reading.codes)}"]
    if result.reason:
        evidence.append(f"{result.shown_query} TXT: {result.reason}")
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


def _refuses_public(result: Result) -> bool:
    """The list refuses public resolvers and said so: its refusal code, or a test entry it did not list."""
    if result.blocklist.public_resolvers:
        return False
    return (result.status == REFUSED and "public" in result.detail) or result.canary in (REFUSED, CLEAN)


def public_resolver_finding(results: list[Result], resolver: Any) -> Finding | None:
    """Said once, when DNS goes through a public resolver (a known address, or the answers show it:
    the lists that refuse public resolvers refused while the others answered) and a list that
    refuses them was asked."""
    strict = [r for r in results if not r.blocklist.public_resolvers]
    if not strict:
        return None
    known = public_resolvers_in(resolver)
    refusing = [r for r in strict if _refuses_public(r)]
    answered_strict = any(r.status in (LISTED, CLEAN) for r in strict)
    # a resolver that fails every list (NXDOMAIN for everything) is broken, not public: the others must work
    answered_others = any(r.blocklist.public_resolvers and r.blocklist.test and r.status in (LISTED, CLEAN) for r in results)
    if not known and not (refusing and answered_others and not answered_strict):
        return None
    names = sorted({r.blocklist.name for r in (refusing or strict)})
    who = ", ".join(f"{name} ({address})" for address, name in known) if known else "a public or forwarding resolver"
    return make_finding(
        "dnsbl.public_resolver",
        f"DNS goes through {who}: {len(names)} blocklist{'s' if len(names) > 1 else ''} cannot be asked",
        f"{', '.join(names)} answer no public resolver (Spamhaus answers 127.255.255.254 or nothing; Google's"
        " resolver answers NXDOMAIN for them), so what they say of your addresses is unknown, not clean."
        + (
            " The answers show it: these lists refused, or did not list their own test entry, while the others answered."
            if refusing
            else ""
        ),
        evidence=[f"{r.shown_query} A: {r.detail or r.status}" for r in refusing[:6]] + [f"resolver {a}: {n}" for a, n in known],
        fix="Ask these lists from a recursive resolver of your own (for instance unbound on the server itself),"
        " or register for Spamhaus' free Data Query Service and give its key (maildoctor's Spamhaus DQS key"
        " option), which answers through any resolver.",
    )


def blocklist_verified(results: list[Result]) -> list[str]:
    """Every list asked, for every subject, with its outcome."""
    lines = []
    if results:  # a clean or listed answer survives only from a list whose canaries passed
        counted = sum(1 for r in results if r.status in (LISTED, CLEAN))
        lines.append(f"{counted} of {len(results)} answers count (their list listed its test entry; an IPv4 list, not 127.0.0.1)")
    for r in results:
        lines.append(f"{r.subject.text} on {r.blocklist.name} ({r.blocklist.zone}): {r.outcome()}")
    return lines


def blocklist_findings(results: list[Result], resolver: Any = None) -> list[Finding]:
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
                evidence=[f"{r.shown_query} A: {' '.join(r.reading.codes)} ({r.detail})" for r in refused],
                fix="Query from your own recursive resolver (e.g. unbound on the server itself),"
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
                evidence=[f"{r.shown_query} A: {r.detail}" for r in unavailable],
                fix="Run again later, or through a resolver that reaches these lists.",
            )
        )
    public = public_resolver_finding(results, resolver)
    if public is not None:  # the cause of the refusals: they are shown under it, not scored twice
        findings = fold_under([public, *findings], public.id, frozenset(("dnsbl.query_refused", "dnsbl.unavailable")))
    return findings


def catalog_for(own: str | None, spamhaus_dqs_key: str | None) -> list[Blocklist]:
    """The lists an audit asks: the user's catalog or the shipped one, with Spamhaus through DQS when a key is given."""
    lists = list(load_catalog(own)) if own else list(shipped_catalog())
    return with_spamhaus_dqs_key(lists, spamhaus_dqs_key) if spamhaus_dqs_key else lists


@check("dnsbl", emits=("dnsbl.listed", "dnsbl.domain_listed", "dnsbl.query_refused", "dnsbl.unavailable", "dnsbl.public_resolver"))
async def check_blocklists(ctx: AuditContext) -> list[Finding]:
    if ctx.zone is not None:  # blocklists are asked once the records are live
        raise NotChecked("offline: a zone file audit asks no blocklist")
    linked = [Subject(d, "domain") for d in dict.fromkeys(ctx.target.link_domains) if d != ctx.target.domain][:MAX_LINK_DOMAINS]
    subjects = [Subject.parse(ip) for ip in ctx.target.ips] + [Subject(ctx.target.domain, "domain")] + linked
    lists = catalog_for(ctx.target.blocklists, ctx.target.spamhaus_dqs_key)
    # In an audit the lists are one area among many: a listing's reason is asked only once it is
    # listed (one more round trip then), not for every list beforehand (a third of an audit's questions).
    results = await check_all(ctx.dns, subjects, lists, eager_reasons=False)
    if results and all(r.detail.endswith(OUTSIDE_ZONES) for r in results):  # DNS from zone files only
        raise NotChecked("offline: DNS is answered from zone files, which hold no blocklist")
    ctx.facts.dnsbl = list(results)
    for line in blocklist_verified(results):
        ctx.verified("dnsbl", line)
    return blocklist_findings(results, ctx.dns)
