"""SPF: whether receivers can find the record, whether it parses and stays within the limits,
and whether the sending IPs are authorized by it."""

from __future__ import annotations

import asyncio
import ipaddress

from maildoctor.checks.common import lookup_failed, quote_txt, zone_line
from maildoctor.checks.registry import AuditContext, check
from maildoctor.dns.answer import Answer
from maildoctor.dns.overlay import OverlayResolver
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.records import change
from maildoctor.records.change import RecordChange
from maildoctor.records.spf import SpfRecord, parse_spf
from maildoctor.spf.evaluator import SpfEvaluation, SpfResult, check_host
from maildoctor.spf.tree import SpfNode, build_tree, spf_texts

UDP_LIMIT = 512


async def spf_tree(ctx: AuditContext) -> SpfNode:
    return await ctx.shared("spf_tree", lambda: build_tree(ctx.dns, ctx.target.domain))


@check(
    "spf",
    emits=(
        "spf.missing",
        "spf.rrtype99",
        "spf.misplaced",
        "spf.multiple_records",
        "spf.syntax_error",
        "spf.too_many_lookups",
        "spf.too_many_void_lookups",
        "spf.include_missing",
        "spf.plus_all",
        "spf.neutral_all",
        "spf.no_all",
        "spf.ptr_mechanism",
        "spf.redirect_ignored",
        "spf.record_too_long",
        "spf.ip_not_authorized",
        "spf.ipv6_not_covered",
        "spf.lookup_failed",
        "spf.exp_present",
    ),
)
async def check_spf(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    tree = await spf_tree(ctx)
    answer = tree.answer
    assert answer is not None or tree.status in ("loop", "too_deep")
    if tree.status == "temperror" and answer is not None:
        return [lookup_failed("spf", answer, f"the SPF (TXT) record of {domain}")]
    ctx.facts.spf = tree
    if tree.status in ("none", "nxdomain"):
        return await _missing(ctx, answer)  # type: ignore[arg-type]
    evidence = [answer.describe()] if answer else []
    if tree.status == "multiple":
        return [_multiple(domain, tree.records, evidence)]
    record = tree.record
    assert record is not None
    findings: list[Finding] = []
    ctx.verified("spf", f"record at {domain}: {record.text}")
    if tree.status == "invalid":
        return [_syntax(domain, record, evidence)]
    ctx.verified("spf", f"{tree.total_lookups} of 10 DNS lookups used, {tree.total_voids} of 2 void lookups")
    findings += _policy_findings(domain, record, evidence)
    findings += _tree_findings(domain, tree, evidence)
    findings += _size_finding(domain, answer)
    findings += await _ip_findings(ctx, record)
    return findings


# -- the record cannot be found ------------------------------------------------------------------
async def _missing(ctx: AuditContext, answer: Answer) -> list[Finding]:
    domain = ctx.target.domain
    doubled = f"{domain}.{domain}"
    type99, misplaced_txt, misplaced_99 = await asyncio.gather(
        ctx.dns.query(domain, "SPF"),
        ctx.dns.query(doubled, "TXT"),
        ctx.dns.query(doubled, "SPF"),
    )
    candidates = spf_texts(type99) + spf_texts(misplaced_txt) + spf_texts(misplaced_99)
    suggestion = await suggest_record(ctx, candidates[0] if candidates else None)
    publish = "  " + zone_line(domain, 3600, "TXT", quote_txt(suggestion))
    findings = [
        make_finding(
            "spf.missing",
            f"{domain} has no SPF record",
            f"There is no TXT record starting with v=spf1 at {domain}. Receivers evaluate SPF to"
            " 'none': nothing authorizes your servers, Gmail and Yahoo require SPF or DKIM from every"
            " sender (and both from bulk senders), and many receivers spam or reject such mail."
            + (" A record was found elsewhere (below): receivers never look there." if candidates else "")
            + (_dropped(candidates[0]) if candidates else ""),
            evidence=[answer.describe(), type99.describe(), misplaced_txt.describe(), misplaced_99.describe()],
            fix="Publish one TXT record (checked against the sending IPs given):\n" + publish,
            changes=[change.add(domain, 3600, "TXT", quote_txt(suggestion))],
        )
    ]
    if spf_texts(type99) or spf_texts(misplaced_99):
        where = []
        if spf_texts(type99):
            where.append(f"at {domain}")
        if spf_texts(misplaced_99):
            where.append(f"at {doubled} (an owner name without its trailing dot in the zone file)")
        findings.append(
            catalog_finding(
                "spf.rrtype99",
                f"An SPF record of type SPF (99) exists {' and '.join(where)}: "
                + "; ".join(f'"{t}"' for t in spf_texts(type99) + spf_texts(misplaced_99))
                + ". RFC 7208 removed that type; receivers only read TXT records, so for them the"
                " domain has no SPF at all.",
                evidence=[type99.describe(), misplaced_99.describe()],
                fix="Publish the record as TXT at the domain itself, and remove the SPF-type record:\n" + publish,
            )
        )
    if spf_texts(misplaced_txt):
        findings.append(
            make_finding(
                "spf.misplaced",
                f"The SPF record is published at {doubled}",
                f"A v=spf1 TXT record exists at {doubled}: the zone file names its owner '{domain}'"
                " without a trailing dot, so the origin was appended again. Receivers look at"
                f" {domain} and find nothing.",
                evidence=[misplaced_txt.describe()],
                fix=f"In the zone file write the owner as '{domain}.' (with the dot) or '@':\n" + publish,
            )
        )
    return findings


def _dropped(base: str) -> str:
    """What the suggested record leaves out of the record found elsewhere, and why: its problems are
    reported here, with the one fix, rather than as findings about a record no receiver reads."""
    reasons = []
    for m in parse_spf(base).mechanisms:
        if m.kind == "ptr":
            reasons.append(f"'{m.text}' is left out: ptr is deprecated (RFC 7208 §5.5), slow, and ignored by large receivers")
        elif m.kind == "all" and m.qualifier == "+":
            reasons.append(f"'{m.text}' is replaced by ~all: it would authorize every host on the internet")
        elif m.kind == "all" and m.qualifier == "?":
            reasons.append(f"'{m.text}' is replaced by ~all: it tells receivers nothing about forged mail")
    return (" In the record found elsewhere: " + "; ".join(reasons) + ".") if reasons else ""


async def suggest_record(ctx: AuditContext, base: str | None) -> str:
    """A record to publish: the user's own record made safe (no ptr, no +all), covering every --ip."""
    domain = ctx.target.domain
    terms: list[str] = []
    if base is not None:
        parsed = parse_spf(base)
        terms = [m.text.lstrip("+") for m in parsed.mechanisms if m.kind not in ("ptr", "all")]
    if not terms:
        mx = await ctx.dns.query(domain, "MX")
        terms = ["mx"] if mx.ok else []
    for ip in ctx.target.ips:
        candidate = " ".join(["v=spf1", *terms, "~all"])
        overlay = OverlayResolver(ctx.dns, {domain: [candidate]})
        evaluation = await check_host(overlay, ip, domain)
        if evaluation.result is not SpfResult.PASS:
            address = ipaddress.ip_address(ip)
            terms.append(f"ip{address.version}:{address}")
    return " ".join(["v=spf1", *terms, "~all"])


# -- the record itself -------------------------------------------------------------------------
def _multiple(domain: str, records: list[str], evidence: list[str]) -> Finding:
    terms: list[str] = []
    ending = "~all"
    for text in sorted(records):  # DNS returns them in any order; the advice must not change with it
        for m in parse_spf(text).mechanisms:
            if m.kind == "all":
                ending = m.text if m.text in ("-all", "~all") else ending
            elif m.text not in terms:
                terms.append(m.text)
    merged = " ".join(["v=spf1", *terms, ending])
    return make_finding(
        "spf.multiple_records",
        f"{domain} has {len(records)} SPF records",
        "RFC 7208 §4.5: with more than one v=spf1 record, SPF evaluation is a permanent error."
        " Receivers treat every message as failing SPF. This often happens when a second service"
        " is added by publishing its own record instead of adding its include.",
        evidence=evidence + [f'record {i + 1}: "{t}"' for i, t in enumerate(records)],
        fix="Replace them with one merged record (check the terms are all still needed):\n  "
        + zone_line(domain, 3600, "TXT", quote_txt(merged)),
        changes=[change.replace(domain, None, "TXT", quote_txt(records[0]), quote_txt(merged))]
        + [change.remove(domain, "TXT", quote_txt(other)) for other in records[1:]],
    )


def _syntax(domain: str, record: SpfRecord, evidence: list[str]) -> Finding:
    problems = "\n".join(f"- {p.describe()}" for p in record.problems)
    return make_finding(
        "spf.syntax_error",
        f"The SPF record of {domain} does not parse",
        f"`{record.text}` has {len(record.problems)} error(s):\n{problems}\nRFC 7208 §4.6: any syntax"
        " error makes the whole record a permanent error, so every message fails SPF.",
        evidence=evidence,
        fix="Correct each term above (mechanisms are written name:value, modifiers name=value, one space between terms).",
    )


def _replaced(domain: str, record: SpfRecord, new: str) -> RecordChange:
    """The SPF record's TXT data, old and new, as a change (its TTL kept)."""
    return change.replace(domain, None, "TXT", quote_txt(record.text), quote_txt(new))


def rewritten(record: SpfRecord, drop: tuple[str, ...] = (), add: tuple[str, ...] = (), ending: str | None = None) -> str:
    """The record with mechanisms of some kinds dropped, terms added before 'all', and a new ending."""
    final = record.all_mechanism
    keep = [m.text for m in record.mechanisms if m.kind not in drop and m.kind != "all"]
    end = [ending] if ending else ([final.text] if final is not None else [])
    return " ".join(["v=spf1", *keep, *add, *end, *[m.text for m in record.modifiers]])


def _policy_findings(domain: str, record: SpfRecord, evidence: list[str]) -> list[Finding]:
    findings = []
    final = record.all_mechanism
    if final is not None and final.qualifier == "+":
        findings.append(
            make_finding(
                "spf.plus_all",
                f"The SPF record of {domain} authorizes every host on the internet",
                f"'{final.text}' gives 'pass' to any IP address: anyone can send mail as {domain} with"
                " SPF passing. Receivers know this trick and distrust such records; spam filters score it.",
                evidence=evidence,
                fix="End the record with ~all (or -all):\n  " + zone_line(domain, 3600, "TXT", quote_txt(rewritten(record, ending="~all"))),
                changes=[_replaced(domain, record, rewritten(record, ending="~all"))],
            )
        )
    elif final is not None and final.qualifier == "?":
        findings.append(
            catalog_finding(
                "spf.neutral_all",
                "'?all' asserts nothing about hosts not listed, so forged mail is not told apart from yours.",
                evidence=evidence,
                fix="End the record with ~all or -all:\n  " + zone_line(domain, 3600, "TXT", quote_txt(rewritten(record, ending="~all"))),
                changes=[_replaced(domain, record, rewritten(record, ending="~all"))],
            )
        )
    if final is None and record.redirect is None:
        findings.append(
            catalog_finding(
                "spf.no_all",
                "When no mechanism matches, the result is 'neutral' (RFC 7208 §4.7): hosts not listed are neither authorized nor refused.",
                evidence=evidence,
                fix="Add ~all (or -all) at the end:\n  " + zone_line(domain, 3600, "TXT", quote_txt(rewritten(record, ending="~all"))),
                changes=[_replaced(domain, record, rewritten(record, ending="~all"))],
            )
        )
    ptr = [m for m in record.mechanisms if m.kind == "ptr"]
    if ptr:
        findings.append(
            catalog_finding(
                "spf.ptr_mechanism",
                "RFC 7208 §5.5: ptr must not be used. It is slow, unreliable, costs many DNS lookups,"
                " and some large receivers ignore it, so it may authorize nothing at all.",
                evidence=evidence,
                fix="Replace it with the addresses of your senders (ip4:/ip6:, a, mx):\n  "
                + zone_line(domain, 3600, "TXT", quote_txt(rewritten(record, drop=("ptr",)))),
                changes=[_replaced(domain, record, rewritten(record, drop=("ptr",)))],
            )
        )
    if record.redirect is not None and final is not None:
        findings.append(
            make_finding(
                "spf.redirect_ignored",
                f"'{record.redirect.text}' is never used",
                f"The record ends with '{final.text}', which always matches first; RFC 7208 §6.1 says the"
                " redirect is then ignored. Whatever the redirect target authorizes is not authorized.",
                evidence=evidence,
                fix="Keep either the all mechanism or the redirect, not both.",
            )
        )
    if record.exp is not None:
        findings.append(
            catalog_finding(
                "spf.exp_present",
                f"Receivers that reject mail for failing SPF may show the text found at {record.exp.value.text}.",
                evidence=evidence,
                fix="",
            )
        )
    return findings


def _tree_findings(domain: str, tree: SpfNode, evidence: list[str]) -> list[Finding]:
    findings = []
    for node in tree.walk()[1:]:
        if node.status in ("none", "nxdomain", "invalid", "multiple", "loop"):
            what = {
                "none": f"{node.domain} publishes no SPF record",
                "nxdomain": f"{node.domain} does not exist",
                "invalid": f"the SPF record of {node.domain} does not parse",
                "multiple": f"{node.domain} has several SPF records",
                "loop": f"{node.domain} includes itself (a loop)",
            }[node.status]
            findings.append(
                make_finding(
                    "spf.include_missing",
                    f"'{node.via}' leads nowhere: {what}",
                    "RFC 7208 §5.2/§6.1: an include or redirect whose target has no usable SPF record"
                    " is a permanent error; receivers then fail SPF for every message, not just for"
                    " that service's mail.",
                    evidence=evidence + ([node.answer.describe()] if node.answer else []),
                    fix=f"Remove '{node.via}' from the record, or use the include the service documents today.",
                )
            )
    total = tree.total_lookups
    if total > 10:
        costs = [f"- {child.via}: {child.total_lookups + 1} lookup(s)" for child in tree.children]
        own = tree.own_lookups - len(tree.children)
        findings.append(
            make_finding(
                "spf.too_many_lookups",
                f"The SPF record needs {total} DNS lookups; receivers allow 10",
                "RFC 7208 §4.6.4: evaluation stops with a permanent error at the 11th DNS-querying term"
                " (include, a, mx, ptr, exists, redirect), so mail that is not matched early fails SPF."
                " What each part costs:\n" + "\n".join(costs) + (f"\n- the record's own a/mx/ptr/exists: {own}" if own > 0 else ""),
                evidence=evidence,
                fix=_flattened_fix(domain, tree),
            )
        )
    voids = tree.total_voids
    if voids > 2:
        findings.append(
            make_finding(
                "spf.too_many_void_lookups",
                f"{voids} lookups of the SPF record return nothing; receivers allow 2",
                "RFC 7208 §4.6.4: more than two lookups that return no records (NXDOMAIN or no data) make"
                " SPF a permanent error:\n" + "\n".join(f"- {v}" for n in tree.walk() for v in n.voids),
                evidence=evidence,
                fix="Remove the terms that point at names with no records.",
            )
        )
    return findings


def _flattened_fix(domain: str, tree: SpfNode) -> str:
    networks = sorted(set(tree.all_networks()), key=lambda n: (n.version, n.network_address))
    collapsed = [str(n) for version in (4, 6) for n in ipaddress.collapse_addresses([n for n in networks if n.version == version])]  # type: ignore[type-var]
    terms = [f"ip{ipaddress.ip_network(n).version}:{n.removesuffix('/32') if '.' in n else n.removesuffix('/128')}" for n in collapsed]
    unresolved = [t for n in tree.walk() for t in n.unresolved]
    final = tree.record.all_mechanism.text if tree.record and tree.record.all_mechanism else "~all"
    record = " ".join(["v=spf1", *terms, *unresolved, final])
    lines = [
        "Flatten what you can into ip4:/ip6: terms (0 lookups each), or drop includes you no longer use."
        " A flattened record freezes the providers' addresses: re-check it when they change them."
    ]
    if len(record) <= 450:
        lines.append("  " + zone_line(domain, 3600, "TXT", quote_txt(record)))
        return "\n".join(lines)
    chunks: list[list[str]] = [[]]
    for term in terms:
        if len(" ".join(chunks[-1] + [term])) > 400:
            chunks.append([])
        chunks[-1].append(term)
    main = " ".join(["v=spf1", *[f"include:_spf{i + 1}.{domain}" for i in range(len(chunks))], *unresolved, final])
    lines.append("  " + zone_line(domain, 3600, "TXT", quote_txt(main)))
    for i, chunk in enumerate(chunks):
        lines.append("  " + zone_line(f"_spf{i + 1}.{domain}", 3600, "TXT", quote_txt(" ".join(["v=spf1", *chunk, "-all"]))))
    return "\n".join(lines)


def _size_finding(domain: str, answer: Answer | None) -> list[Finding]:
    if answer is None or not answer.records:
        return []
    name_length = len(domain.rstrip(".")) + 2
    size = 12 + name_length + 4 + sum(2 + 10 + sum(1 + len(s) for s in rd.strings) for rd in answer.records)
    if size <= UDP_LIMIT:
        return []
    return [
        make_finding(
            "spf.record_too_long",
            f"The TXT answer of {domain} is {size} bytes",
            f"The TXT records at {domain} (SPF and others) no longer fit a classic 512-byte UDP answer."
            " Resolvers must retry over TCP, and some receivers' resolvers fail: SPF becomes temperror."
            " RFC 7208 §3.4 advises keeping the answer under 512 bytes.",
            evidence=[answer.describe()],
            fix="Move parts of the SPF record into include:_spf.<domain> records, and remove TXT records no longer needed (old verification tokens).",
        )
    ]


# -- sending IPs -------------------------------------------------------------------------------
async def _ip_findings(ctx: AuditContext, record: SpfRecord) -> list[Finding]:
    domain = ctx.target.domain
    ips = list(dict.fromkeys(ctx.target.ips))
    evaluations = await asyncio.gather(*(check_host(ctx.dns, ip, domain) for ip in ips))
    results = dict(zip(ips, evaluations))
    v4_passing = any(ipaddress.ip_address(ip).version == 4 and e.result is SpfResult.PASS for ip, e in results.items())
    findings = []
    for ip, evaluation in results.items():
        ctx.facts.spf_results = {**(ctx.facts.spf_results or {}), ip: evaluation}
        ctx.verified("spf", evaluation.summary(ip))
        if evaluation.result is SpfResult.TEMPERROR:
            findings.append(
                make_finding(
                    "spf.lookup_failed",
                    f"SPF for {ip} could not be evaluated (temperror)",
                    f"{evaluation.reason}. Receivers defer or treat the mail as unauthenticated while this lasts.",
                    evidence=evaluation.steps,
                    fix="Check that every name server of the names above answers.",
                )
            )
            continue
        if evaluation.result not in (SpfResult.FAIL, SpfResult.SOFTFAIL, SpfResult.NEUTRAL):
            continue
        address = ipaddress.ip_address(ip)
        term = f"ip{address.version}:{address}"
        fixed = rewritten(record, add=(term,))
        if address.version == 6 and v4_passing:
            findings.append(
                make_finding(
                    "spf.ipv6_not_covered",
                    f"The IPv6 address {ip} is not authorized, while IPv4 is",
                    f"SPF gives {evaluation.result.value} for {ip} ({_decided(evaluation)}), but passes for the"
                    " IPv4 address of the same sender. Mail sent over IPv6 fails SPF: the classic 'works"
                    " over IPv4, spam over IPv6'. Gmail requires SPF or DKIM, and a PTR, for IPv6 senders.",
                    evidence=evaluation.steps,
                    fix=f"Authorize the IPv6 address ({term}, or an AAAA record for the host that 'a'/'mx' names):\n  "
                    + zone_line(domain, 3600, "TXT", quote_txt(fixed)),
                    changes=[_replaced(domain, record, fixed)],
                )
            )
            continue
        findings.append(
            make_finding(
                "spf.ip_not_authorized",
                f"{ip} is not authorized to send for {domain} ({evaluation.result.value})",
                f"SPF evaluates to {evaluation.result.value} for {ip}: {_decided(evaluation)}. Mail from"
                " this address fails SPF at every receiver.",
                evidence=evaluation.steps,
                fix=f"If {ip} is yours, add {term} (or the include your sending service documents):\n  "
                + zone_line(domain, 3600, "TXT", quote_txt(fixed)),
                changes=[_replaced(domain, record, fixed)],
            )
        )
    return findings


def _decided(evaluation: SpfEvaluation) -> str:
    if evaluation.mechanism.startswith("default"):
        return "no mechanism matched it"
    where = f" of {evaluation.mechanism_domain}" if evaluation.mechanism_domain != evaluation.domain else ""
    return f"decided by '{evaluation.mechanism}'{where}"
