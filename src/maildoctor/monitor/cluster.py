"""A cycle's looks on a Dask cluster: the IP chunks and batches of domains become tasks, each run
by a worker with a resolver of its own built from the monitor's DNS settings (so the workers must
reach the same nameservers, and the same zone files by the same path). A task whose worker died
is given to another by the scheduler; one that raised is retried. Nothing of ours schedules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from distributed import Client, as_completed

from maildoctor import aio
from maildoctor.dns.spec import ResolverSpec
from maildoctor.dnsbl.catalog import Blocklist
from maildoctor.monitor.looks import DOMAINS_AT_ONCE, DomainAsk, DomainOptions, look_at_domains
from maildoctor.monitor.watch import DomainLook, Observation, ReverseDns, observe_ips, observe_rdns

RETRIES = 3  # times a task that raised is run again
DOMAINS_A_TASK = DOMAINS_AT_ONCE  # one task keeps its worker's event loop busy with a batch


def ips_task(spec: ResolverSpec, ips: list[str], lists: list[Blocklist]) -> list[Observation]:
    return aio.run_batch(observe_ips(spec.build(), ips, lists))


def rdns_task(spec: ResolverSpec, ips: list[str]) -> list[ReverseDns]:
    return aio.run_batch(observe_rdns(spec.build(), ips))


def domains_task(spec: ResolverSpec, asks: list[DomainAsk], options: DomainOptions) -> list[DomainLook]:
    async def run() -> list[DomainLook]:
        return [look async for look in look_at_domains(spec.build(), asks, options)]

    return aio.run_batch(run())


class DaskLooks:
    def __init__(self, client: Client, spec: ResolverSpec, address: str) -> None:
        self.client, self.spec, self.where = client, spec, address

    @classmethod
    async def connect(cls, address: str, spec: ResolverSpec, timeout: float = 10) -> DaskLooks:
        """OSError (or TimeoutError) when the scheduler cannot be reached."""
        client = await Client(address, asynchronous=True, timeout=timeout)
        return cls(client, spec, address)

    async def _each(self, name: str, task: Callable[..., Any], batches: list[Any], *more: Any) -> AsyncIterator[Any]:
        futures = [
            self.client.submit(
                task, self.spec, batch, *more, key=f"maildoctor-monitor-{name}-{uuid.uuid4().hex}", pure=False, retries=RETRIES
            )
            for batch in batches
        ]
        async for future in as_completed(futures):
            yield await future

    async def ips(self, chunks: list[list[str]], lists: list[Blocklist]) -> AsyncIterator[list[Observation]]:
        async for chunk in self._each("ips", ips_task, chunks, lists):
            yield chunk

    async def rdns(self, chunks: list[list[str]]) -> AsyncIterator[list[ReverseDns]]:
        async for chunk in self._each("rdns", rdns_task, chunks):
            yield chunk

    async def domains(self, asks: list[DomainAsk], options: DomainOptions) -> AsyncIterator[DomainLook]:
        batches = [asks[i : i + DOMAINS_A_TASK] for i in range(0, len(asks), DOMAINS_A_TASK)]
        async for looks in self._each("domains", domains_task, batches, options):
            for look in looks:
                yield look

    async def close(self) -> None:
        await self.client.close()
