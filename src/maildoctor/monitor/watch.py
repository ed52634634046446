"""One look at what is watched: each IP on every IP blocklist (a list whose canaries fail is
'unknown', never clean), each domain's records as a snapshot to compare with the last one, and the
domain's own listings."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any

from maildoctor.checks.facts import audit_facts
from maildoctor.dns.answer import Resolver, ask_all
from maildoctor.dnsbl.catalog import Blocklist
from maildoctor.dnsbl.lookup import CLEAN, LISTED, Result, Subject, check_all
from maildoctor.engine import run_audit
from maildoctor.findings import FAIL, PASS
from maildoctor.target import Target

LISTED_STATE, CLEAN_STATE, UNKNOWN_STATE = "listed", "clean", "unknown"
# The areas whose records a snapshot keeps: what a change of is worth an alert
SNAPSHOT_AREAS = ("mx", "spf", "dmarc", "mtasts", "tlsrpt", "bimi")
AUDITED_AREAS = (*SNAPSHOT_AREAS, "dkim", "dnsbl")


@dataclass(frozen=True)
class Observation:
    """What one check saw of one target in this cycle."""

    target: str
    check: str  # "dnsbl:<zone>"
    state: str  # listed, clean, unknown
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    target: str
    check: str  # the area (spf, dmarc, ...) or dkim:<selector>
    title: str
    before: list[str]
    after: list[str]


def listing_observation(result: Result) -> Observation:
    blocklist = result.blocklist
    state = LISTED_STATE if result.status == LISTED else CLEAN_STATE if result.status == CLEAN else UNKNOWN_STATE
    evidence = {"list": blocklist.name, "zone": blocklist.zone, "delist": blocklist.delist, "answer": result.outcome()}
    if result.reason:
        evidence["reason"] = result.reason
    return Observation(result.subject.text, f"dnsbl:{blocklist.zone}", state, result.outcome(), evidence)


async def observe_ips(resolver: Resolver, ips: list[str], lists: list[Blocklist]) -> list[Observation]:
    if not ips or not lists:
        return []
    results = await check_all(resolver, [Subject.parse(ip) for ip in ips], lists)
    return [listing_observation(r) for r in results]


@dataclass(frozen=True)
class ReverseDns:
    """An IP's reverse DNS: its PTR name, and whether that name resolves back to it (FCrDNS)."""

    ip: str
    state: str  # ok, missing, mismatch, unknown (an answer failed)
    detail: str


async def observe_rdns(resolver: Resolver, ips: list[str]) -> list[ReverseDns]:
    addresses = [ipaddress.ip_address(ip) for ip in ips]
    ptrs = await ask_all(resolver, [(a.reverse_pointer, "PTR") for a in addresses])
    names = [next((r.target.to_text().rstrip(".").lower() for r in p.records), "") if p.ok else "" for p in ptrs]
    forwards = await ask_all(resolver, [(n, "AAAA" if a.version == 6 else "A") for a, n in zip(addresses, names) if n])
    forward_of = dict(zip([n for n in names if n], forwards))
    out = []
    for address, ptr, name in zip(addresses, ptrs, names):
        if ptr.outcome.is_temporary:
            out.append(ReverseDns(str(address), UNKNOWN_STATE, ptr.describe()))
        elif not name:
            out.append(ReverseDns(str(address), "missing", f"{address} has no PTR record ({ptr.outcome.value})"))
        elif forward_of[name].outcome.is_temporary:
            out.append(ReverseDns(str(address), UNKNOWN_STATE, forward_of[name].describe()))
        elif address in forward_of[name].ip_objects:
            out.append(ReverseDns(str(address), "ok", f"PTR {name}, which resolves back to {address}"))
        else:
            out.append(ReverseDns(str(address), "mismatch", f"PTR {name}, which does not resolve back to {address}"))
    return out


@dataclass
class DomainLook:
    domain: str
    snapshot: dict[str, Any]  # area -> the lines of its records; "dkim" -> {selector: record}
    checked: set[str]  # the areas read to an answer this cycle: only those are compared
    listings: list[Observation]
    certificates: list[tuple[str, str]] = field(default_factory=list)  # (MX host, not after, ISO 8601) with probe


@dataclass(frozen=True)
class Probe:
    """Connect to each MX host (STARTTLS, its certificate) during the domain's look."""

    port: int = 25
    cafile: str | None = None


async def observe_domain(
    resolver: Resolver, domain: str, known_selectors: list[str], blocklists: str | None, dqs: str | None, probe: Probe | None = None
) -> DomainLook:
    target = Target(domain=domain, known_selectors=known_selectors, blocklists=blocklists, spamhaus_dqs_key=dqs)
    if probe is not None:
        target.probe, target.smtp_port, target.cafile = True, probe.port, probe.cafile
    report = await run_audit(target, resolver, areas=(*AUDITED_AREAS, "smtp") if probe else AUDITED_AREAS)
    states = {a.area: a for a in report.areas()}
    snapshot: dict[str, Any] = {}
    checked = set()
    for area in SNAPSHOT_AREAS:
        result = states.get(area)
        if result is not None and result.state in (PASS, FAIL):
            snapshot[area] = list(result.verified)
            checked.add(area)
    dkim = states.get("dkim")
    if dkim is not None and dkim.state in (PASS, FAIL):
        snapshot["dkim"] = {selector: key.record for selector, key in (audit_facts(report).dkim or {}).items()}
        checked.add("dkim")
    facts = audit_facts(report)
    listings = [listing_observation(r) for r in facts.dnsbl or [] if r.subject.kind == "domain"]
    certificates = [(s.host, s.certificate.not_after) for s in facts.smtp or [] if s.certificate is not None]
    return DomainLook(domain, snapshot, checked, listings, certificates)


@dataclass(frozen=True)
class Budget:
    """How often a list with a query budget is asked, to stay within its terms."""

    blocklist: Blocklist
    every: int  # asked every this many cycles
    per_day: int  # the queries a day that makes

    def to_json(self) -> dict[str, object]:
        b = self.blocklist
        return {
            "list": b.name,
            "daily_queries": b.daily_queries,
            "terms": b.terms,
            "every_cycles": self.every,
            "queries_per_day": self.per_day,
        }


def budgets(lists: list[Blocklist], ips: list[str], interval: float, domains: int = 0) -> list[Budget]:
    """Each list's cadence: every cycle, or every n-th when asking the IPs (and the list's two
    canaries) every cycle would go over its daily queries. A domain list is asked with each
    domain's audit, every cycle: its count includes them."""
    cycles_a_day = 86400 / interval
    out = []
    for blocklist in lists:
        served = sum(1 for ip in ips if blocklist.serves(Subject.parse(ip).kind)) + 2 + (domains if blocklist.serves("domain") else 0)
        wanted = served * cycles_a_day
        every = max(1, math.ceil(wanted / blocklist.daily_queries)) if blocklist.daily_queries else 1
        out.append(Budget(blocklist, every, math.ceil(wanted / every)))
    return out


def changes(domain: str, before: dict[str, Any] | None, look: DomainLook) -> list[Change]:
    """What differs from the last snapshot, in the areas read to an answer both times."""
    if before is None:
        return []
    found = []
    for area in SNAPSHOT_AREAS:
        if area in look.checked and area in before and before[area] != look.snapshot[area]:
            found.append(Change(domain, area, f"The {area.upper()} records of {domain} changed", before[area], look.snapshot[area]))
    if "dkim" in look.checked and "dkim" in before:
        old, new = before["dkim"], look.snapshot["dkim"]
        for selector in sorted(set(old) | set(new)):
            if selector not in new:
                found.append(Change(domain, f"dkim:{selector}", f"The DKIM key {selector} of {domain} was removed", [old[selector]], []))
            elif selector not in old:
                found.append(Change(domain, f"dkim:{selector}", f"A DKIM key {selector} appeared for {domain}", [], [new[selector]]))
            elif old[selector] != new[selector]:
                found.append(
                    Change(
                        domain, f"dkim:{selector}", f"The DKIM key {selector} of {domain} was replaced", [old[selector]], [new[selector]]
                    )
                )
    return found
