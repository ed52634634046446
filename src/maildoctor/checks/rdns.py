"""Reverse DNS of the sending IPs (and of the MX hosts, which usually send too): a PTR that
names a host, and that host resolving back to the IP (forward-confirmed reverse DNS)."""

from __future__ import annotations

import functools
import ipaddress
import re

from maildoctor.checks.common import lookup_failed, zone_line
from maildoctor.checks.mx import mx_records
from maildoctor.checks.registry import AuditContext, NotChecked, check
from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.dns.answer import Answer, ask_all
from maildoctor.dns.zonedata import OUTSIDE_ZONES
from maildoctor.findings import Finding, make_finding
from maildoctor.records import change

_GENERIC_WORDS = re.compile(
    r"(^|[.\-_\d])(dyn|dynamic|dhcp|pool|cable|dsl|adsl|vdsl|ppp|pppoe|dial|dialup|client|clients|broadband"
    r"|customer|cust|subscriber|residential|home|user|ip|host|static|unassigned|nat)([.\-_\d]|$)",
    re.IGNORECASE,
)


SENDING_IP = "sending IP"


def looks_generic(name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Names ISPs give to whole ranges: the address digits in the name, or dynamic/dsl/pool words."""
    first_labels = ".".join(name.split(".")[:-2]) or name
    if ip.version == 4:
        octets = str(ip).split(".")
        digits = re.findall(r"\d+", first_labels)
        if sum(1 for o in octets if o in digits) >= 3 or "".join(octets) in first_labels.replace("-", "").replace(".", ""):
            return True
    else:
        compact = ip.exploded.replace(":", "")
        if compact[-8:] in first_labels.replace("-", "").replace(".", "").lower():
            return True
    return bool(_GENERIC_WORDS.search(first_labels))


async def addresses_to_check(ctx: AuditContext) -> list[tuple[str, str]]:
    """(ip, where it came from): the --ip addresses, then the MX hosts' addresses."""
    out: list[tuple[str, str]] = [(ip, SENDING_IP) for ip in ctx.target.ips]
    mx = await mx_records(ctx)
    hosts = [h for _, h in mx.mx_hosts if h != "."] if mx.ok else []
    answers = await ask_all(ctx.dns, [(h, t) for h in hosts for t in ("A", "AAAA")])
    for i, answer in enumerate(answers):
        for address in answer.addresses():
            if address not in {ip for ip, _ in out}:
                out.append((address, f"MX host {hosts[i // 2]}"))
    return out


@check(
    "rdns",
    emits=(
        "rdns.ptr_missing",
        "rdns.fcrdns_mismatch",
        "rdns.generic_ptr",
        "rdns.multiple_ptr",
        "rdns.unrelated_domain",
        "rdns.lookup_failed",
    ),
)
async def check_reverse_dns(ctx: AuditContext) -> list[Finding]:
    targets = await addresses_to_check(ctx)
    if not targets:
        raise NotChecked("not applicable: no sending IP given and no MX host address found")
    # Every PTR at once, then every name they give at once; _check_ip then reads the answers from
    # the audit's resolver, which asks each question only once.
    addresses = [_address(ip) for ip, _ in targets]
    ptrs = await ask_all(ctx.dns, [(reverse, "PTR") for _, _, reverse in addresses])
    await ask_all(
        ctx.dns,
        [(name, "AAAA" if ip.version == 6 else "A") for (ip, _, _), ptr in zip(addresses, ptrs) if ptr.ok for name in _ptr_names(ptr)],
    )
    # in turn, not in tasks: every answer they read is in already
    results = [await _check_ip(ctx, ip, source) for ip, source in targets]
    if len(ctx.facts.rdns_not_checked or ()) == len(targets):
        raise NotChecked("offline: the reverse zones of these addresses are not among the zone files")
    return [f for findings in results for f in findings]


async def _check_ip(ctx: AuditContext, ip_text: str, source: str) -> list[Finding]:
    ip, shown, reverse = _address(ip_text)
    domain = ctx.target.domain
    ptr = await ctx.dns.query(reverse, "PTR")
    if ptr.detail == OUTSIDE_ZONES:
        ctx.facts.rdns_not_checked = [*(ctx.facts.rdns_not_checked or []), f"{shown}: its reverse zone is not among the zone files"]
        why = f"{shown} ({source}): not checked, its reverse zone ({_reverse_zone(ip)}) is not among the zone files"
        if source == SENDING_IP:
            ctx.not_checked_part("rdns", why + " (add that reverse zone file to check its PTR)")
        else:
            ctx.verified("rdns", why)
        return []
    if ptr.outcome.is_temporary:
        return [lookup_failed("rdns", ptr, f"the PTR record of {shown}")]
    suggested = f"mail.{domain}"
    if not ptr.ok:
        ipv6_note = (
            " Gmail rejects or spams mail from IPv6 addresses without a PTR."
            if ip.version == 6
            else " Many receivers reject or spam mail from addresses without a PTR."
        )
        return [
            make_finding(
                "rdns.ptr_missing",
                f"{shown} ({source}) has no reverse DNS (PTR)",
                f"{reverse} has no PTR record ({ptr.outcome.value}).{ipv6_note}",
                evidence=[ptr.describe()],
                fix=f"Ask the owner of {shown} (your hosting provider or ISP; often a setting in their panel) for a"
                f" PTR naming your mail host, and make that name resolve back:\n  {zone_line(reverse, 3600, 'PTR', suggested + '.')}\n"
                f"  {zone_line(suggested, 3600, 'AAAA' if ip.version == 6 else 'A', shown)}",
                changes=[
                    change.add(reverse, 3600, "PTR", suggested + "."),
                    change.add(suggested, 3600, "AAAA" if ip.version == 6 else "A", shown),
                    *_sending_as(suggested, ip),
                ],
            )
        ]
    names = _ptr_names(ptr)
    findings: list[Finding] = []
    if len(names) > 1:
        findings.append(
            make_finding(
                "rdns.multiple_ptr",
                f"{shown} has {len(names)} PTR records",
                f"Receivers pick one of {', '.join(names)} and may compare the wrong one with your HELO name.",
                evidence=[ptr.describe()],
                fix=f"Keep one PTR, the name your server uses in HELO (e.g. {names[0]}).",
            )
        )
    rdtype = "AAAA" if ip.version == 6 else "A"
    forwards = await ask_all(ctx.dns, [(n, rdtype) for n in names])
    confirmed = [n for n, f in zip(names, forwards) if ip in f.ip_objects]
    for name, forward in zip(names, forwards):
        back = "resolves back to it" if name in confirmed else f"resolves to {', '.join(forward.addresses()) or forward.outcome.value}"
        ctx.verified("rdns", f"{shown} ({source}): PTR {name}, which {back}")
    failed = [f for f in forwards if f.outcome.is_temporary]
    if not confirmed and failed:
        findings.append(lookup_failed("rdns", failed[0], f"the address of {names[0]}"))
    elif not confirmed:
        findings.append(
            make_finding(
                "rdns.fcrdns_mismatch",
                f"The PTR of {shown} ({names[0]}) does not resolve back to it",
                f"{shown} points to {names[0]}, but {names[0]} resolves to "
                f"{', '.join(forwards[0].addresses()) or 'nothing (' + forwards[0].outcome.value + ')'}."
                " Receivers check that both directions agree (forward-confirmed reverse DNS, 'iprev');"
                " when they do not, the PTR counts as missing.",
                evidence=[ptr.describe()] + [f.describe() for f in forwards],
                fix=f"Add the address to the name, or change the PTR to a name that has it:\n  {zone_line(names[0], 3600, rdtype, shown)}",
                changes=[change.add(names[0], 3600, rdtype, shown)],
            )
        )
    name = (confirmed or names)[0]
    if looks_generic(name, ip):
        findings.append(
            make_finding(
                "rdns.generic_ptr",
                f"The PTR of {shown} looks generic: {name}",
                "Names built from the address or with words like dyn, dsl, pool or client are what ISPs give"
                " to end-user ranges. Spam filters score them as 'dynamic IP' and some receivers refuse them.",
                evidence=[ptr.describe()],
                fix=f"Ask the owner of {shown} to set the PTR to your mail host's name (e.g. {suggested}), with a matching A/AAAA.",
                changes=list(_sending_as(suggested, ip)),
            )
        )
    mx = await mx_records(ctx)
    related = {organizational_domain(domain)} | {organizational_domain(h) for _, h in mx.mx_hosts if h != "."}
    if organizational_domain(name) not in related:
        findings.append(
            make_finding(
                "rdns.unrelated_domain",
                f"The PTR of {shown} is in another domain: {name}",
                f"{name} is not in {domain} nor in the MX hosts' domains. That is normal on shared hosting,"
                " but a name in your own domain is a stronger signal to receivers.",
                evidence=[ptr.describe()],
                fix=f"If you control the address, consider a PTR such as {suggested}.",
            )
        )
    return findings


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str, str]:
    """An address, as written in reports, and its reverse-DNS name: worked out once per address
    (the ipaddress module writes an IPv6 address or its reverse name in microseconds, each time)."""
    ip = ipaddress.ip_address(text)
    return ip, str(ip), ip.reverse_pointer


def _reverse_zone(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The usual delegation of the address's reverse zone: the /24 for IPv4, the /48 for IPv6."""
    labels = ip.reverse_pointer.split(".")
    return ".".join(labels[1:] if ip.version == 4 else labels[20:])


def _ptr_names(ptr: Answer) -> list[str]:
    return [getattr(rd, "host", None) or rd.target.to_text().rstrip(".").lower() for rd in ptr.records]


def _sending_as(name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[change.SettingChange, ...]:
    """The mail server's side of a PTR: it says the same name in HELO and sends from that address."""
    bind = "smtp_bind_address6" if ip.version == 6 else "smtp_bind_address"
    return (change.postfix("smtp_helo_name", name), change.postfix(bind, str(ip)))
