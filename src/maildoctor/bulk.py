"""Auditing many domains in one run (a hosting provider's nightly check): concurrent audits over one
DNS client with a shared cache, each report streamed out as soon as it is done."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

from maildoctor.dns.answer import Resolver
from maildoctor.dns.cache import CachingResolver
from maildoctor.engine import run_audit
from maildoctor.findings import Report
from maildoctor.target import Target


async def audit_many(targets: Iterable[Target], resolver: Resolver, concurrency: int = 50,
                     selectors: Callable[[str], list[str]] | None = None) -> AsyncIterator[Report]:
    """Reports in the order they finish; at most `concurrency` audits run at once."""
    shared = CachingResolver(resolver)  # providers' includes and MX hosts recur across customers
    pending = iter(targets)
    done: asyncio.Queue[Report | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def worker() -> None:
        for target in pending:  # the workers share one iterator
            if selectors is not None:
                target.known_selectors = selectors(target.domain)
            await done.put(await run_audit(target, shared))
        await done.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    finished = 0
    try:
        while finished < len(workers):
            report = await done.get()
            if report is None:
                finished += 1
            else:
                yield report
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
