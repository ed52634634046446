"""MX: where the domain receives mail, and whether those hosts can be reached."""

from __future__ import annotations

from collections import defaultdict

from maildoctor.checks.common import lookup_failed, zone_line
from maildoctor.checks.facts import MxHost
from maildoctor.checks.registry import AuditContext, check
from maildoctor.dns.answer import Answer, Outcome, ask_all
from maildoctor.findings import Finding, catalog_finding, make_finding
from maildoctor.records import change
from maildoctor.target import is_ip_literal


async def mx_records(ctx: AuditContext) -> Answer:
    return await ctx.shared("mx", lambda: ctx.dns.query(ctx.target.domain, "MX"))


@check(
    "mx",
    emits=(
        "mx.missing",
        "mx.null",
        "mx.null_with_others",
        "mx.cname",
        "mx.ip_literal",
        "mx.no_address",
        "mx.duplicate_preference",
        "mx.no_ipv6",
        "mx.lookup_failed",
        "domain.nxdomain",
    ),
)
async def check_mx(ctx: AuditContext) -> list[Finding]:
    domain = ctx.target.domain
    answer = await mx_records(ctx)
    if answer.outcome.is_temporary:
        return [lookup_failed("mx", answer, f"the MX records of {domain}")]
    if not answer.ok:
        return [await _missing(ctx, answer)]

    hosts = sorted(answer.mx_hosts)  # (preference, host), a null MX's host "."
    evidence = [answer.describe()]
    null = [h for h in hosts if h[1] in ("", ".")]
    if null:
        if len(hosts) == 1:
            ctx.facts.mx = []
            return [
                make_finding(
                    "mx.null",
                    f"{domain} publishes a null MX: it receives no mail",
                    "A null MX (RFC 7505) says the domain accepts no mail. Mail from this domain is fine,"
                    " but bounces and replies to it cannot be delivered; some receivers distrust senders"
                    " whose domain cannot receive bounces.",
                    evidence=evidence,
                    fix="Nothing, if the domain really takes no mail.",
                )
            ]
        others = [h for h in hosts if h[1] not in ("", ".")]
        return [
            catalog_finding(
                "mx.null_with_others",
                "RFC 7505 says a null MX must be the only MX record. Senders may treat the domain as"
                " taking no mail, or try the other hosts: behaviour is undefined.",
                evidence=evidence,
                fix="Remove the null MX if the domain takes mail:\n"
                + f"  delete: {zone_line(domain, answer.ttl, 'MX', '0 .')}\n"
                + "or remove the others if it does not: "
                + ", ".join(h for _, h in others),
                changes=[change.remove(domain, "MX", "0 .")],  # the likelier intent: a domain with real MX hosts takes mail
            )
        ]

    findings: list[Finding] = []
    ctx.facts.mx = [MxHost(p, h) for p, h in hosts]
    by_preference: dict[int, list[str]] = defaultdict(list)
    for preference, host in hosts:
        by_preference[preference].append(host)
    for preference, names in by_preference.items():
        if len(names) > 1:
            findings.append(
                make_finding(
                    "mx.duplicate_preference",
                    f"{len(names)} MX hosts share preference {preference}",
                    f"{', '.join(names)} have the same preference, so senders pick among them at random."
                    " That is right for load sharing between equal servers; it is a mistake if one of them"
                    " was meant as a backup.",
                    evidence=evidence,
                    fix="If one host is a backup, give it a higher number, e.g. "
                    + zone_line(domain, answer.ttl, "MX", f"{preference + 10} {names[-1]}."),
                )
            )

    literal = [h for _, h in hosts if is_ip_literal(h)]
    for host in literal:
        findings.append(
            make_finding(
                "mx.ip_literal",
                f"The MX target {host} is an IP address, not a host name",
                "An MX record must name a host; senders look up that name, and an address written as a"
                " name does not resolve. Most senders will fail to deliver to it.",
                evidence=evidence,
                fix="Publish a host name with the address, and point the MX at it:\n"
                + f"  {zone_line('mail.' + domain, 3600, 'AAAA' if ':' in host else 'A', host)}\n"
                + f"  {zone_line(domain, answer.ttl, 'MX', '10 mail.' + domain + '.')}",
            )
        )

    names = [h for _, h in hosts if h not in literal]
    found = await ask_all(ctx.dns, [(host, rdtype) for host in names for rdtype in ("A", "AAAA")])
    resolved = list(zip(found[::2], found[1::2]))  # (A, AAAA) per host
    addresses: dict[str, list[str]] = {}
    any_v4 = any_v6 = False
    for host, (a, aaaa) in zip(names, resolved):
        failed = [x for x in (a, aaaa) if x.outcome.is_temporary]
        for failure in failed:
            findings.append(lookup_failed("mx", failure, f"the addresses of the MX host {host}"))
        via_cname = next((x for x in (a, aaaa) if x.cnames), None)
        if via_cname is not None:
            findings.append(
                make_finding(
                    "mx.cname",
                    f"The MX host {host} is an alias (CNAME) of {via_cname.cnames[-1]}",
                    "RFC 2181 §10.3 and RFC 5321 §5.1 forbid MX targets that are CNAMEs. Many senders"
                    " follow the alias anyway, but some refuse or mis-handle it.",
                    evidence=[answer.describe(), via_cname.describe()],
                    fix=f"Point the MX at the canonical name:\n  {zone_line(domain, answer.ttl, 'MX', f'{_preference_of(hosts, host)} {via_cname.cnames[-1]}.')}",
                    changes=[
                        change.replace(
                            domain,
                            answer.ttl,
                            "MX",
                            f"{_preference_of(hosts, host)} {host}.",
                            f"{_preference_of(hosts, host)} {via_cname.cnames[-1]}.",
                        )
                    ],
                )
            )
        v4, v6 = a.addresses(), aaaa.addresses()
        addresses[host] = v4 + v6
        any_v4 |= bool(v4)
        any_v6 |= bool(v6)
        if not v4 and not v6 and not failed:
            findings.append(
                make_finding(
                    "mx.no_address",
                    f"The MX host {host} has no address",
                    f"{host} has neither an A nor an AAAA record ({a.outcome.value} / {aaaa.outcome.value}),"
                    " so no sender can deliver mail to it. With no other reachable MX, mail to the domain"
                    " bounces, and so do the bounces and replies to your own mail.",
                    evidence=[answer.describe(), a.describe(), aaaa.describe()],
                    fix=f"Add the address of the mail server, e.g.\n  {zone_line(host, 3600, 'A', '<IPv4 of the mail server>')}",
                )
            )
    ctx.facts.mx_addresses = addresses
    for preference, host in hosts:
        ctx.verified("mx", f"MX {preference} {host}: " + (", ".join(addresses.get(host, [])) or "no address"))
    if any_v4 and not any_v6:
        findings.append(
            catalog_finding(
                "mx.no_ipv6",
                "The domain receives mail over IPv4 only. That works today, but IPv6-only senders cannot"
                " reach you and some checkers count it against modern setups.",
                evidence=[answer.describe()] + [f"{h}: {', '.join(a) or 'no address'}" for h, a in addresses.items()],
                fix="If the mail server has IPv6, publish it, e.g.\n  " + zone_line(names[0], 3600, "AAAA", "<IPv6 of the mail server>"),
            )
        )
    return findings


def _preference_of(hosts: list[tuple[int, str]], host: str) -> int:
    return next(p for p, h in hosts if h == host)


async def _missing(ctx: AuditContext, answer: Answer) -> Finding:
    domain = ctx.target.domain
    if answer.outcome is Outcome.NXDOMAIN:
        detail = (
            f"{domain} does not exist in DNS (NXDOMAIN). Nobody can send mail to it, and"
            " receivers reject mail from a domain that does not exist."
        )
        detail += " Everything else this audit reports about missing records follows from this one cause, and is listed under it."
        fix = f"Register or publish the domain, then add an MX:\n  {zone_line(domain, 3600, 'MX', '10 mail.' + domain + '.')}"
        return make_finding("domain.nxdomain", f"{domain} does not exist", detail, evidence=[answer.describe()], fix=fix)
    fallback = await ctx.dns.query(domain, "A")
    evidence = [answer.describe(), fallback.describe()]
    if fallback.ok:
        detail = (
            f"{domain} has no MX record, so senders fall back to its A record"
            f" ({', '.join(fallback.addresses())}). That only works if that host runs a mail"
            " server; bounces and replies to your mail depend on it."
        )
    else:
        detail = (
            f"{domain} has no MX record and no A record: mail to it bounces, including the"
            " bounces and replies to your own mail. Some receivers reject senders whose domain"
            " cannot receive mail."
        )
    fix = (
        "Publish the host that receives mail:\n"
        f"  {zone_line(domain, 3600, 'MX', '10 mail.' + domain + '.')}\n"
        "or, if the domain takes no mail at all, a null MX (RFC 7505):\n"
        f"  {zone_line(domain, 3600, 'MX', '0 .')}"
    )
    return make_finding("mx.missing", f"{domain} has no MX record", detail, evidence=evidence, fix=fix)
