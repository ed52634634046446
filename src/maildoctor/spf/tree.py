"""The SPF tree of a domain, without a connecting IP: every include and redirect, the lookups
each branch costs (what receivers count against the limit of 10), void lookups, and the
address ranges each branch authorizes."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from maildoctor.aio import concurrently
from maildoctor.dns.answer import Answer, Outcome, Resolver, ask_all
from maildoctor.records.spf import SpfRecord, is_spf_record, parse_spf

MAX_DEPTH = 12
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
# ipaddress writes a network out anew each time it is asked (an IPv6 one slowly); the ranges of
# shared includes recur in every report of a bulk run.
_network_text = functools.lru_cache(maxsize=4096)(str)


@dataclass
class SpfNode:
    domain: str
    via: str  # "" for the top, else the term that led here ("include:x", "redirect=x")
    status: str = "ok"  # ok, none, nxdomain, multiple, invalid, temperror, loop, too_deep
    record: SpfRecord | None = None
    records: list[str] = field(default_factory=list)  # every v=spf1 text found
    answer: Answer | None = None
    own_lookups: int = 0
    networks: list[Network] = field(default_factory=list)  # ip4/ip6 and what a/mx resolve to
    voids: list[str] = field(default_factory=list)  # lookups of this record that returned nothing
    unresolved: list[str] = field(default_factory=list)  # terms with macros: depend on the sender
    children: list[SpfNode] = field(default_factory=list)

    @property
    def total_lookups(self) -> int:
        return self.own_lookups + sum(c.total_lookups for c in self.children)

    @property
    def total_voids(self) -> int:
        return len(self.voids) + sum(c.total_voids for c in self.children)

    def all_networks(self) -> list[Network]:
        out = list(self.networks)
        for child in self.children:
            out += child.all_networks()
        return out

    def walk(self) -> list[SpfNode]:
        nodes = [self]
        for child in self.children:
            nodes += child.walk()
        return nodes

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "via": self.via,
            "status": self.status,
            "record": self.record.text if self.record else None,
            "records": self.records,
            "lookups": self.own_lookups,
            "total_lookups": self.total_lookups,
            "void_lookups": self.voids,
            "networks": [_network_text(n) for n in self.networks],
            "unresolved": self.unresolved,
            "children": [c.to_json() for c in self.children],
        }


def spf_texts(answer: Answer) -> list[str]:
    return [t for t in answer.texts() if is_spf_record(t)]


async def build_tree(resolver: Resolver, domain: str, via: str = "", path: tuple[str, ...] = ()) -> SpfNode:
    node = SpfNode(domain=domain, via=via)
    if domain.lower() in path:
        node.status = "loop"
        return node
    if len(path) >= MAX_DEPTH:
        node.status = "too_deep"
        return node
    answer = await resolver.query(domain, "TXT")
    node.answer = answer
    if answer.outcome.is_temporary:
        node.status = "temperror"
        return node
    node.records = spf_texts(answer)
    if not node.records:
        node.status = "nxdomain" if answer.outcome is Outcome.NXDOMAIN else "none"
        return node
    if len(node.records) > 1:
        node.status = "multiple"
        return node
    record = parse_spf(node.records[0])
    node.record = record
    if not record.valid:
        node.status = "invalid"
        return node
    inner_path = path + (domain.lower(),)
    branches = []
    resolutions = []
    for mechanism in record.mechanisms:
        if mechanism.costs_lookup:
            node.own_lookups += 1
        if mechanism.network is not None:
            node.networks.append(mechanism.network)
            continue
        if mechanism.domain is not None and mechanism.domain.has_macros:
            node.unresolved.append(mechanism.text)
            continue
        target = mechanism.domain.text.rstrip(".") if mechanism.domain else domain
        if mechanism.kind == "include":
            branches.append(build_tree(resolver, target, mechanism.text, inner_path))
        elif mechanism.kind in ("a", "mx"):
            resolutions.append(_resolve(resolver, node, mechanism.kind, target, mechanism.cidr4, mechanism.cidr6, mechanism.text))
        elif mechanism.kind == "exists":
            resolutions.append(_exists(resolver, node, target, mechanism.text))
    redirect = record.redirect
    if redirect is not None and record.all_mechanism is None:
        node.own_lookups += 1
        if redirect.value.has_macros:
            node.unresolved.append(redirect.text)
        else:
            branches.append(build_tree(resolver, redirect.value.text.rstrip("."), redirect.text, inner_path))
    results = await concurrently(*branches, *resolutions)
    node.children = [r for r in results[: len(branches)] if isinstance(r, SpfNode)]
    return node


async def _resolve(resolver: Resolver, node: SpfNode, kind: str, target: str, cidr4: int | None, cidr6: int | None, term: str) -> None:
    if kind == "a":
        hosts = [target]
    else:
        mx = await resolver.query(target, "MX")
        if not mx.ok:
            node.voids.append(f"{term}: {target} has no MX ({mx.outcome.value})")
            return
        hosts = [host for _, host in mx.mx_hosts if host != "."]
    answers = await ask_all(resolver, [(host, rdtype) for host in hosts for rdtype in ("A", "AAAA")])
    if kind == "a" and answers and not answers[0].ok and not answers[1].ok:
        node.voids.append(f"{term}: {target} has no address")
    for answer in answers:
        for ip in answer.ip_objects:
            prefix = cidr4 if ip.version == 4 else cidr6
            prefix = prefix if prefix is not None else ip.max_prefixlen
            node.networks.append(ipaddress.ip_network((ip, prefix), strict=False))


async def _exists(resolver: Resolver, node: SpfNode, target: str, term: str) -> None:
    answer = await resolver.query(target, "A")
    if not answer.ok:
        node.voids.append(f"{term}: {target} does not exist")
