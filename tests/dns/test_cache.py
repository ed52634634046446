"""The shared cache against the real DNS test server: TTLs, negative answers, failures, size."""

import asyncio

import pytest

from maildoctor.dns.answer import Outcome
from maildoctor.dns.cache import CachingResolver
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer

ZONE = """$ORIGIN cache.test.
@ 300 IN SOA ns h 1 2 3 4 5
@ 300 IN NS ns
a 300 IN A 192.0.2.1
zero 0 IN A 192.0.2.2
"""


@pytest.fixture
def server():  # noqa: ANN201
    with TestDnsServer(ZoneSet([load_zone_text(ZONE, None)])) as srv:
        yield srv


def run(server: TestDnsServer, body):  # noqa: ANN001, ANN201
    async def main():  # noqa: ANN202
        live = LiveResolver([Nameserver.parse(server.address)], timeout=0.2, attempts=1)
        try:
            return await body(live)
        finally:
            live.close()

    return asyncio.run(main())


def test_answers_are_reused_until_they_expire(server: TestDnsServer) -> None:
    async def body(live):  # noqa: ANN001, ANN202
        cache = CachingResolver(live)
        first = await asyncio.gather(*(cache.query("a.cache.test", "A") for _ in range(10)))
        again = await cache.query("A.cache.test.", "a")
        zero = [await cache.query("zero.cache.test", "A") for _ in range(2)]
        return first, again, zero, cache

    before = server.questions
    first, again, zero, cache = run(server, body)
    assert all(a.addresses() == ["192.0.2.1"] for a in first) and again is first[0]
    assert zero[0].ok and server.questions - before == 3  # a once; zero TTL twice
    assert cache.misses == 3 and cache.hits == 9 + 1


def test_negative_answers_are_kept_and_failures_are_not(server: TestDnsServer) -> None:
    async def body(live):  # noqa: ANN001, ANN202
        cache = CachingResolver(live)
        missing = [await cache.query("none.cache.test", "A") for _ in range(3)]
        server.faults.set("a.cache.test", "servfail")
        failed = await cache.query("a.cache.test", "A")
        server.faults.by_name.clear()
        recovered = await cache.query("a.cache.test", "A")
        return missing, failed, recovered

    before = server.questions
    missing, failed, recovered = run(server, body)
    assert [m.outcome for m in missing] == [Outcome.NXDOMAIN] * 3
    assert failed.outcome is Outcome.SERVFAIL and recovered.ok
    assert server.questions - before == 1 + 1 + 1


def test_size_is_bounded(server: TestDnsServer) -> None:
    async def body(live):  # noqa: ANN001, ANN202
        cache = CachingResolver(live, max_entries=5)
        for i in range(20):
            await cache.query(f"n{i}.cache.test", "A")
        return len(cache._entries)

    assert run(server, body) == 5
