"""The check engine's shared work: done once per audit, whoever asks first."""
from __future__ import annotations

import asyncio

import pytest

from maildoctor.dns.tracing import TracingResolver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import AuditContext
from maildoctor.target import Target


def context() -> AuditContext:
    return AuditContext(target=Target(domain="example.test"), dns=TracingResolver(ZoneResolver(ZoneSet([]))))


def test_shared_work_is_done_once_for_every_check_that_asks() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    async def run() -> list[int]:
        ctx = context()
        first = await asyncio.gather(*(ctx.shared("mx", compute) for _ in range(5)))
        return [*first, await ctx.shared("mx", compute)]

    assert asyncio.run(run()) == [42] * 6 and calls == 1


def test_a_failure_of_shared_work_reaches_every_check_that_waits_for_it() -> None:
    async def compute() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("broken record")

    async def run() -> list[object]:
        ctx = context()
        waiting = await asyncio.gather(*(ctx.shared("dmarc", compute) for _ in range(3)), return_exceptions=True)
        with pytest.raises(ValueError):
            await ctx.shared("dmarc", compute)  # later askers get the same failure, not a new attempt
        return waiting

    assert all(isinstance(result, ValueError) for result in asyncio.run(run()))
