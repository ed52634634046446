"""Where a cycle's looks are taken (the blocklist answers of the IPs, their reverse DNS, the audit
of each domain): in the monitor's own event loop, or handed to a Dask cluster (monitor.cluster).
Either way the monitor gets the same observations back and does the rest itself: the state,
the alerts and the database stay in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from maildoctor.dns.answer import Resolver
from maildoctor.dnsbl.catalog import Blocklist
from maildoctor.monitor.watch import DomainLook, Observation, Probe, ReverseDns, observe_domain, observe_ips, observe_rdns

DOMAINS_AT_ONCE = 50  # domain audits in flight (on the cluster: in each task)


@dataclass(frozen=True)
class DomainAsk:
    """What a domain's look needs: the domain, and the DKIM selectors its last snapshot knew."""

    domain: str
    known_selectors: list[str]


@dataclass(frozen=True)
class DomainOptions:
    blocklists: str | None
    spamhaus_dqs_key: str | None
    probe: Probe | None


class Looks(Protocol):
    """Each method yields its results as they come, a chunk (or a domain) at a time."""

    where: str  # said on the status page: "this process" or the scheduler's address

    def ips(self, chunks: list[list[str]], lists: list[Blocklist]) -> AsyncIterator[list[Observation]]: ...

    def rdns(self, chunks: list[list[str]]) -> AsyncIterator[list[ReverseDns]]: ...

    def domains(self, asks: list[DomainAsk], options: DomainOptions) -> AsyncIterator[DomainLook]: ...

    async def close(self) -> None: ...


async def look_at_domains(resolver: Resolver, asks: list[DomainAsk], options: DomainOptions) -> AsyncIterator[DomainLook]:
    gate = asyncio.Semaphore(DOMAINS_AT_ONCE)

    async def one(ask: DomainAsk) -> DomainLook:
        async with gate:
            return await observe_domain(
                resolver, ask.domain, ask.known_selectors, options.blocklists, options.spamhaus_dqs_key, options.probe
            )

    for finished in asyncio.as_completed([one(a) for a in asks]):
        yield await finished


class LocalLooks:
    where = "this process"

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    async def ips(self, chunks: list[list[str]], lists: list[Blocklist]) -> AsyncIterator[list[Observation]]:
        for chunk in chunks:  # one after the other: memory stays bounded by a chunk's answers
            yield await observe_ips(self.resolver, chunk, lists)

    async def rdns(self, chunks: list[list[str]]) -> AsyncIterator[list[ReverseDns]]:
        for chunk in chunks:
            yield await observe_rdns(self.resolver, chunk)

    async def domains(self, asks: list[DomainAsk], options: DomainOptions) -> AsyncIterator[DomainLook]:
        async for look in look_at_domains(self.resolver, asks, options):
            yield look

    async def close(self) -> None:
        pass
