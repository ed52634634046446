"""The live client against hostile and broken DNS servers on loopback: forged replies from another
address, stray replies with the right id, garbage, unreachable servers, servers without EDNS. In
each case the genuine data must win, in bounded time."""

from __future__ import annotations

import asyncio
import socket
import time

import dns.message
import dns.rrset
import pytest

from maildoctor.dns.answer import Answer, Outcome
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.testing.dnsserver import TestDnsServer

ZONE = """$ORIGIN hostile.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
a IN A 192.0.2.1
b IN A 192.0.2.2
*.w IN TXT "genuine"
"""


def run_with(
    servers: list[Nameserver], questions: list[tuple[str, str]], timeout: float = 0.5, attempts: int = 2
) -> tuple[list[Answer], float, LiveResolver]:
    async def go() -> tuple[list[Answer], float, LiveResolver]:
        resolver = LiveResolver(servers, timeout=timeout, attempts=attempts)
        started = time.monotonic()
        try:
            answers = await resolver.query_many(questions)
            return answers, time.monotonic() - started, resolver
        finally:
            resolver.close()

    return asyncio.run(go())


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free once closed: nothing listens there


def forged_reply(query: bytes, address: str) -> bytes:
    """A reply a forger would send: the query's id and question, with the forger's address."""
    message = dns.message.from_wire(query)
    reply = dns.message.make_response(message)
    reply.answer.append(dns.rrset.from_text(message.question[0].name, 300, "IN", "A", address))
    return reply.to_wire()


def test_forged_replies_from_another_address_or_port_lose_to_the_genuine_one(server: TestDnsServer) -> None:
    forgers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    forgers[0].bind(("127.0.0.3", 0))  # another loopback address, as an off-path forger spoofing nothing
    forgers[1].bind(("127.0.0.1", 0))  # the server's address but another port
    sent = []

    def forge(query: bytes, client: tuple[str, int]) -> None:  # the forger knows id, question and port
        for forger in forgers:
            forger.sendto(forged_reply(query, "198.51.100.66"), client)
        sent.append(client)

    server.on_udp_question = forge
    server.faults.delay = 0.1  # the genuine reply comes well after the forged ones
    try:
        answers, elapsed, resolver = run_with([Nameserver.parse(server.address)], [("a.hostile.test", "A"), ("b.hostile.test", "A")])
    finally:
        for forger in forgers:
            forger.close()
    assert [a.addresses() for a in answers] == [["192.0.2.1"], ["192.0.2.2"]]
    assert len(sent) == 2 and elapsed < 0.5


def test_a_stray_reply_with_the_right_id_neither_completes_nor_strands_the_question(server: TestDnsServer) -> None:
    names = [f"s{i}.w.hostile.test" for i in range(20)]
    for name in names:
        server.faults.set(name, "stray")
    server.faults.set("dead.w.hostile.test", "timeout")
    answers, elapsed, resolver = run_with(
        [Nameserver.parse(server.address)], [(n, "TXT") for n in names] + [("dead.w.hostile.test", "TXT")]
    )
    assert all(a.texts() == ["genuine"] for a in answers[:-1])
    assert answers[-1].outcome is Outcome.TIMEOUT
    assert resolver.ignored["another question"] == 20
    assert elapsed < 0.5 * 2 + 0.3  # two attempts of 0.5 s, and nothing waits beyond its deadline


def test_garbage_with_the_right_id_is_ignored_and_only_garbage_is_malformed(server: TestDnsServer) -> None:
    server.faults.set("g.w.hostile.test", "garbage")
    server.faults.set("only.w.hostile.test", "garbage_only")
    answers, elapsed, resolver = run_with(
        [Nameserver.parse(server.address)], [("g.w.hostile.test", "TXT"), ("only.w.hostile.test", "TXT")], timeout=0.2
    )
    assert answers[0].texts() == ["genuine"]
    assert answers[1].outcome is Outcome.MALFORMED and "malformed reply" in answers[1].detail
    assert answers[1].outcome.is_temporary and resolver.ignored["malformed"] >= 3


def test_a_reply_without_a_question_is_not_an_answer(server: TestDnsServer) -> None:
    server.faults.set("a.hostile.test", "no_question")
    answers, _, resolver = run_with([Nameserver.parse(server.address)], [("a.hostile.test", "A")], timeout=0.2, attempts=1)
    assert answers[0].outcome is Outcome.TIMEOUT and resolver.ignored["another question"] == 1


def test_records_of_another_class_do_not_answer(server: TestDnsServer) -> None:
    server.faults.set("c.w.hostile.test", "chaos_class")
    answers, _, _ = run_with([Nameserver.parse(server.address)], [("c.w.hostile.test", "TXT")])
    assert answers[0].outcome is Outcome.NODATA and answers[0].records == ()


def test_an_unreachable_first_server_fails_only_its_own_questions(server: TestDnsServer) -> None:
    dead = Nameserver("127.0.0.1", closed_udp_port())  # answers every datagram with ICMP port unreachable
    good = Nameserver.parse(server.address)

    async def go() -> tuple[list[Answer], float, int]:
        resolver = LiveResolver([dead, good], timeout=2.0, attempts=2)
        started = time.monotonic()
        first = asyncio.ensure_future(resolver.query_many([(f"f{i}.w.hostile.test", "TXT") for i in range(50)]))
        await asyncio.sleep(0.005)  # more first attempts at the dead server while retries are out at the good one
        rest = [resolver.query(f"r{i}.w.hostile.test", "TXT") for i in range(50)]
        answers = list(await first) + list(await asyncio.gather(*rest))
        elapsed = time.monotonic() - started
        retries = resolver.retries
        resolver.close()
        return answers, elapsed, retries

    answers, elapsed, retries = asyncio.run(go())
    assert all(a.texts() == ["genuine"] for a in answers)
    assert retries == 100 and elapsed < 1.0  # each asked again at once, none waited for a timeout


@pytest.mark.parametrize("fault", ["formerr_edns", "notimp_edns", "badvers"])
def test_a_server_that_refuses_edns_is_asked_without_it(server: TestDnsServer, fault: str) -> None:
    server.faults.set("a.hostile.test", fault)
    server.faults.set("b.hostile.test", fault)
    server.edns_seen.clear()
    answers, elapsed, resolver = run_with([Nameserver.parse(server.address)], [("a.hostile.test", "A")])
    assert answers[0].addresses() == ["192.0.2.1"] and server.edns_seen == [True, False]

    async def later() -> Answer:  # the same client remembers: no OPT for that server any more
        resolver._bind_to_running_loop()
        try:
            return await resolver.query("b.hostile.test", "A")
        finally:
            resolver.close()

    assert asyncio.run(later()).addresses() == ["192.0.2.2"] and server.edns_seen == [True, False, False]
