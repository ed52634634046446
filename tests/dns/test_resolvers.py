"""The resolver backends against a real DNS server on loopback, and against the same zones offline."""

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from maildoctor.dns.answer import Answer, Outcome, ask_all
from maildoctor.dns.live import POOL_SIZE, USES_PER_SOCKET, LiveResolver, Nameserver, _Channel
from maildoctor.dns.tracing import TracingResolver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.testing.dnsserver import TestDnsServer

BIG_TXT = '" "'.join(["x" * 250] * 8)
ZONE = f"""$ORIGIN res.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
a IN A 192.0.2.1
alias IN CNAME a
loop1 IN CNAME loop2
loop2 IN CNAME loop1
dangling IN CNAME nowhere
deep.ent IN A 192.0.2.9
*.wild IN TXT "wildcard"
big IN TXT "{BIG_TXT}"
"""


def ask(server: TestDnsServer, name: str, rdtype: str, timeout: float = 0.5) -> Answer:
    async def run() -> Answer:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=timeout)
        try:
            return await resolver.query(name, rdtype)
        finally:
            resolver.close()

    return asyncio.run(run())


CASES = [
    ("a.res.test", "A", Outcome.ANSWER),
    ("a.res.test", "TXT", Outcome.NODATA),
    ("none.res.test", "A", Outcome.NXDOMAIN),
    ("ent.res.test", "A", Outcome.NODATA),  # empty non-terminal exists
    ("x.wild.res.test", "TXT", Outcome.ANSWER),
    ("other.example", "A", Outcome.REFUSED),
]


@pytest.mark.parametrize("name,rdtype,outcome", CASES)
def test_live_and_zone_backends_agree(server: TestDnsServer, zones: ZoneSet, name: str, rdtype: str, outcome: Outcome) -> None:
    live = ask(server, name, rdtype)
    offline = asyncio.run(ZoneResolver(zones).query(name, rdtype))
    assert live.outcome is outcome and offline.outcome is outcome
    assert [r.to_text() for r in live.records] == [r.to_text() for r in offline.records]


def test_cname_chain_is_followed_and_reported(server: TestDnsServer) -> None:
    answer = ask(server, "alias.res.test", "A")
    assert answer.ok and answer.addresses() == ["192.0.2.1"] and answer.cnames == ("a.res.test",)
    dangling = ask(server, "dangling.res.test", "A")
    assert dangling.outcome is Outcome.NXDOMAIN and dangling.cnames == ("nowhere.res.test",)


def test_cname_loop_is_a_server_failure(server: TestDnsServer) -> None:
    assert ask(server, "loop1.res.test", "A").outcome is Outcome.SERVFAIL


def test_answer_too_big_for_udp_comes_over_tcp(server: TestDnsServer) -> None:
    answer = ask(server, "big.res.test", "TXT")
    assert answer.ok and len(answer.texts()[0]) == 2000


@pytest.mark.parametrize("fault,outcome", [("servfail", Outcome.SERVFAIL), ("refused", Outcome.REFUSED), ("timeout", Outcome.TIMEOUT)])
def test_faults_are_distinct_temporary_outcomes(server: TestDnsServer, fault: str, outcome: Outcome) -> None:
    server.faults.set("a.res.test", fault)
    answer = ask(server, "a.res.test", "A", timeout=0.2)
    assert answer.outcome is outcome and answer.outcome.is_temporary


def test_forced_truncation_falls_back_to_tcp(server: TestDnsServer) -> None:
    server.faults.set("a.res.test", "truncate")
    assert ask(server, "a.res.test", "A").addresses() == ["192.0.2.1"]


def test_nothing_listening_is_a_timeout() -> None:
    # a port on loopback nobody serves: the question gets no answer
    answer = asyncio.run(LiveResolver([Nameserver("127.0.0.1", 9)], timeout=0.2, attempts=1).query("a.res.test", "A"))
    assert answer.outcome in (Outcome.TIMEOUT, Outcome.ERROR) and answer.outcome.is_temporary


def test_identical_questions_are_asked_once_even_concurrently(server: TestDnsServer) -> None:
    async def run() -> tuple[int, int]:
        resolver = LiveResolver([Nameserver.parse(server.address)])
        traced = TracingResolver(resolver)
        before = server.questions
        await asyncio.gather(*(traced.query("A.res.test.", "a") for _ in range(20)), traced.query("a.res.test", "TXT"))
        resolver.close()
        return server.questions - before, traced.query_count

    on_wire, traced = asyncio.run(run())
    assert on_wire == 2 and traced == 2


def test_many_questions_in_flight_leave_from_many_random_ports_and_ids(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], int]:
        resolver = LiveResolver([Nameserver.parse(server.address)])
        answers = await asyncio.gather(*(resolver.query(f"n{i}.wild.res.test", "TXT") for i in range(300)))
        opened = resolver.sockets_opened
        resolver.close()
        return answers, opened

    server.sources.clear()
    answers, opened = asyncio.run(run())
    assert all(a.ok for a in answers)
    ports = {port for _, port, _ in server.sources}
    ids = {qid for _, _, qid in server.sources}
    # a pool of POOL_SIZE sockets, drawn at random: most of its ports are used, none for everything
    assert 20 <= len(ports) <= opened and opened <= 300 // USES_PER_SOCKET + POOL_SIZE + 1
    assert len(ids) > 290  # 16 random bits each: a handful of collisions at most


class _PeakWatch:
    """The most questions a resolver had on the wire, looked at every 2 ms (looks times at most)."""

    def __init__(self, resolver: LiveResolver, looks: int) -> None:
        self.peak = 0
        self.task = asyncio.ensure_future(self._watch(resolver, looks))

    async def _watch(self, resolver: LiveResolver, looks: int) -> None:
        for _ in range(looks):
            self.peak = max(self.peak, resolver.pending)
            await asyncio.sleep(0.002)


def test_questions_beyond_the_in_flight_bound_wait_their_turn(server: TestDnsServer) -> None:
    server.faults.set("slow.wild.res.test", "timeout")

    async def run() -> tuple[list[Answer], int, int]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3, attempts=1, max_in_flight=3)
        watcher = _PeakWatch(resolver, looks=200)
        stuck = asyncio.ensure_future(resolver.query("slow.wild.res.test", "TXT"))  # holds a place, then is cancelled
        await asyncio.sleep(0.05)
        stuck.cancel()
        answers = await asyncio.gather(*(resolver.query(f"n{i}.wild.res.test", "TXT") for i in range(40)))
        watcher.task.cancel()
        left = resolver._in_flight
        resolver.close()
        return answers, watcher.peak, left

    try:
        answers, peak, left = asyncio.run(run())
    finally:
        server.faults.by_name.clear()
    assert all(a.ok for a in answers) and 0 < peak <= 3 and left == 0


def test_a_batch_that_finds_the_bound_full_waits_as_one_without_a_task_per_question(server: TestDnsServer) -> None:
    slow_names = [f"slow{i}.wild.res.test" for i in range(8)]
    for name in slow_names:
        server.faults.set(name, "timeout")

    async def run() -> tuple[list[Answer], list[Answer], int, int, int]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3, attempts=1, max_in_flight=10)
        loop = asyncio.get_running_loop()
        tasks = 0

        def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            nonlocal tasks
            tasks += 1
            return asyncio.Task(coro, loop=loop, **kwargs)

        watcher = _PeakWatch(resolver, looks=300)
        slow = asyncio.ensure_future(resolver.query_many([(name, "TXT") for name in slow_names]))
        await asyncio.sleep(0.02)  # 8 of 10 places taken until the slow ones time out
        loop.set_task_factory(counting)
        batch = await resolver.query_many([(f"b{i}.wild.res.test", "TXT") for i in range(5)])
        loop.set_task_factory(None)
        waited = await slow
        watcher.task.cancel()
        left = resolver._in_flight
        resolver.close()
        return batch, waited, tasks, watcher.peak, left

    try:
        batch, waited, tasks, peak, left = asyncio.run(run())
    finally:
        server.faults.by_name.clear()
    assert all(a.ok for a in batch) and len(batch) == 5
    assert [a.outcome for a in waited] == [Outcome.TIMEOUT] * 8  # the batch went out only once they gave up
    assert tasks == 0 and 0 < peak <= 10 and left == 0


@pytest.mark.parametrize(
    "text,expected",
    [
        ("127.0.0.2", ("127.0.0.2", 53)),
        ("127.0.0.2:5353", ("127.0.0.2", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
    ],
)
def test_nameserver_syntax(text: str, expected: tuple[str, int]) -> None:
    ns = Nameserver.parse(text)
    assert (ns.host, ns.port) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:99999", "1.2.3", "[::1"])
def test_bad_nameserver_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="address|range"):
        Nameserver.parse(text)


def test_zone_directory_with_broken_file_names_the_file(tmp_path: Path) -> None:
    from maildoctor.dns.zonedata import ZoneLoadError

    (tmp_path / "bad.test.zone").write_text("@ IN SOA ns h 1 2 3 4 5\nwww IN A not-an-ip\n")
    with pytest.raises(ZoneLoadError, match=r"bad.test.zone:2: A data .not-an-ip. does not parse"):
        ZoneSet.from_paths([tmp_path])


QUESTIONS = [
    ("a.res.test", "A"),
    ("none.res.test", "A"),
    ("alias.res.test", "A"),
    ("a.res.test", "TXT"),
    ("big.res.test", "TXT"),
    ("bad..name", "A"),
    ("x.wild.res.test", "TXT"),
]


def test_a_batch_answers_as_single_questions_do(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], list[Answer]]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.5)
        try:
            batch = await resolver.query_many(QUESTIONS)
            one_by_one = [await resolver.query(n, t) for n, t in QUESTIONS]
            return batch, one_by_one
        finally:
            resolver.close()

    batch, one_by_one = asyncio.run(run())
    assert [a.outcome for a in batch] == [a.outcome for a in one_by_one]
    assert [a.outcome for a in batch][:3] == [Outcome.ANSWER, Outcome.NXDOMAIN, Outcome.ANSWER]
    assert [a.record_texts for a in batch] == [a.record_texts for a in one_by_one]
    assert batch[5].outcome is Outcome.ERROR and "not a valid question" in batch[5].detail
    assert len(batch[4].texts()[0]) == 2000  # truncated over UDP, asked again over TCP


def test_a_batch_asks_what_timed_out_of_the_next_server(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], int, int]:
        silent = Nameserver("127.0.0.1", 9)  # nobody answers there
        resolver = LiveResolver([silent, Nameserver.parse(server.address)], timeout=0.2, attempts=2)
        try:
            answers = await resolver.query_many([("a.res.test", "A"), ("none.res.test", "A")])
            return answers, resolver.retries, resolver._in_flight
        finally:
            resolver.close()

    answers, retries, in_flight = asyncio.run(run())
    assert [a.outcome for a in answers] == [Outcome.ANSWER, Outcome.NXDOMAIN]
    assert retries == 2 and in_flight == 0


def test_a_batch_larger_than_the_in_flight_bound_still_gets_every_answer(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], int]:
        resolver = LiveResolver([Nameserver.parse(server.address)], max_in_flight=5)
        try:
            answers = await resolver.query_many([(f"n{i}.wild.res.test", "TXT") for i in range(30)])
            return answers, resolver._in_flight
        finally:
            resolver.close()

    answers, in_flight = asyncio.run(run())
    assert len(answers) == 30 and all(a.ok for a in answers) and in_flight == 0


def test_a_cancelled_batch_leaves_nothing_waiting(server: TestDnsServer) -> None:
    server.faults.set("slow.wild.res.test", "timeout")

    async def run() -> tuple[int, int]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=5.0)
        batch = asyncio.ensure_future(resolver.query_many([("slow.wild.res.test", "TXT"), ("a.res.test", "A")]))
        await asyncio.sleep(0.1)
        batch.cancel()
        await asyncio.gather(batch, return_exceptions=True)
        waiting = resolver.pending
        resolver.close()
        return waiting, resolver._in_flight

    try:
        assert asyncio.run(run()) == (0, 0)
    finally:
        server.faults.by_name.clear()


def test_the_tracing_resolver_asks_a_batch_once_and_traces_each_question(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], int, list[str]]:
        resolver = LiveResolver([Nameserver.parse(server.address)])
        traced = TracingResolver(resolver)
        before = server.questions
        single = asyncio.ensure_future(traced.query("a.res.test", "A"))  # in flight when the batch comes
        await asyncio.sleep(0)
        answers = await traced.query_many([("A.res.test.", "a"), ("alias.res.test", "A"), ("alias.res.test", "A")])
        await single
        again = await traced.query_many([("alias.res.test", "A")])  # known: not asked again
        resolver.close()
        return answers + again, server.questions - before, [q.answer.name for q in traced.trace]

    answers, on_wire, traced = asyncio.run(run())
    assert [a.name for a in answers] == ["a.res.test", "alias.res.test", "alias.res.test", "alias.res.test"]
    assert all(a.ok for a in answers) and on_wire == 2 and sorted(traced) == ["a.res.test", "alias.res.test"]


def test_ask_all_works_with_resolvers_that_take_one_question_at_a_time(zones: ZoneSet) -> None:
    answers = asyncio.run(ask_all(ZoneResolver(zones), [("a.res.test", "A"), ("none.res.test", "A")]))
    assert [a.outcome for a in answers] == [Outcome.ANSWER, Outcome.NXDOMAIN]


def test_sockets_are_renewed_while_questions_keep_coming(server: TestDnsServer) -> None:
    async def run() -> tuple[list[Answer], int, int]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=1.0, max_in_flight=500)
        answers: list[Answer] = []
        for wave in range(4):  # each wave after sockets were retired (and closed) during the one before
            answers += await asyncio.gather(*(resolver.query(f"w{wave}n{i}.wild.res.test", "TXT") for i in range(1000)))
        opened, pending = resolver.sockets_opened, resolver.pending
        resolver.close()
        return answers, opened, pending

    answers, opened, pending = asyncio.run(run())
    assert [a.outcome for a in answers if not a.ok] == [] and pending == 0
    assert opened >= 4000 // USES_PER_SOCKET  # ports kept moving


def test_datagrams_the_kernel_has_no_room_for_are_sent_in_order_once_it_has() -> None:
    """A socket whose send buffer is full keeps the rest of a burst and sends it when writable.
    (A UNIX datagram pair fills up when its reader falls behind; UDP on loopback hardly ever does.)"""

    async def run() -> tuple[int, bool]:
        resolver = LiveResolver([Nameserver("127.0.0.1", 53)])
        resolver._bind_to_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        ours.setblocking(False)
        channel = _Channel(resolver, resolver._servers[0], 0.0, ours)
        burst = [i.to_bytes(4, "big") * 64 for i in range(2000)]
        for datagram in burst:
            channel.send(datagram)
        held_back = len(channel.backlog)
        received: list[bytes] = []
        theirs.setblocking(False)
        for _ in range(2000):  # bounded: each round reads what arrived, then lets the loop send more
            while True:
                try:
                    received.append(theirs.recv(4096))
                except BlockingIOError:
                    break
            if len(received) == len(burst):
                break
            await asyncio.sleep(0.001)
        channel.close()
        theirs.close()
        return held_back, received == burst

    held_back, in_order = asyncio.run(run())
    assert held_back > 0 and in_order
