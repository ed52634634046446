"""The live backend: real DNS through a recursive resolver (or any server given by --nameserver).

dnspython builds and parses the messages; the UDP transport here keeps one socket per address
family and matches replies to questions by id, so thousands of questions can be in flight
without a socket each. Truncated replies are asked again over TCP (dnspython's TCP client).
"""
from __future__ import annotations

import asyncio
import collections
import functools
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.resolver

from maildoctor.dns.answer import Answer, Outcome, normalize_name, rdtype_of
from maildoctor.dns.wire import Question, Reply, parse_reply

DEFAULT_TIMEOUT = 2.0
DEFAULT_ATTEMPTS = 2
SWEEP = 0.05  # seconds between looks for questions past their deadline
EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no IP fragmentation
# The EDNS(0) OPT pseudo-record of every question: root owner, type 41, payload size, no options.
_OPT_RECORD = b"\x00\x00\x29" + EDNS_PAYLOAD.to_bytes(2, "big") + b"\x00\x00\x00\x00\x00\x00"


# Worth asking again, of the next name server: the answer says nothing about the name.
_ASK_AGAIN = frozenset((Outcome.TIMEOUT, Outcome.ERROR, Outcome.SERVFAIL))


class _Asked(NamedTuple):
    """A question of a batch, and where its answer goes."""

    index: int
    question: Question
    asked: str
    rdtype: str


# Questions repeat (every audit asks for _dmarc, every receiver for the same senders' SPF): their
# wire form is built once.
_question = functools.lru_cache(maxsize=8192)(Question.of)


def encode_question(qid: int, question: Question) -> bytes:
    """A recursive query in wire format (RFC 1035 §4.1, RFC 6891 OPT).

    Written out because dnspython's make_query()+to_wire() cost a quarter of a millisecond per
    question, a third of an audit's CPU time; the format is fixed and small.
    """
    header = qid.to_bytes(2, "big") + b"\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01"  # RD, AD (RFC 6840 §5.7: tell me what you validated); 1 question, 1 additional
    return header + question.section + _OPT_RECORD




@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    @classmethod
    def parse(cls, text: str) -> "Nameserver":
        """IP, IP:PORT, [IPv6]:PORT or a bare IPv6 address."""
        text = text.strip()
        if text.startswith("["):
            host, bracket, rest = text[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"not a name server address: {text!r} (expected [IPv6]:PORT)")
            port = rest[1:] or "53"
        elif text.count(":") == 1:
            host, port = text.split(":")
        else:
            host, port = text, "53"
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
            port_number = int(port)
        except (OSError, ValueError):
            raise ValueError(f"not a name server address: {text!r} (expected IP or IP:PORT)") from None
        if not 0 < port_number < 65536:
            raise ValueError(f"port out of range in {text!r}")
        return cls(host, port_number)

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET


def system_nameservers() -> list[Nameserver]:
    try:
        found = dns.resolver.Resolver(configure=True).nameservers
    except dns.exception.DNSException:
        found = []
    return [Nameserver(str(ns)) for ns in found] or [Nameserver("127.0.0.1")]


class _UdpDemux(asyncio.DatagramProtocol):
    """One UDP socket shared by many questions; replies are handed to the waiting question by id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        # One sweep every SWEEP seconds expires what is overdue, instead of a timer per question
        # (arming and cancelling a timer was 5% of a question's cost); timeouts end up to SWEEP late.
        self.deadlines: dict[int, float] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def expire_at(self, qid: int, deadline: float, loop: asyncio.AbstractEventLoop) -> None:
        self.deadlines[qid] = deadline
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for qid, deadline in list(self.deadlines.items()):
            if deadline <= now:
                del self.deadlines[qid]
                waiting = self.pending.get(qid)
                if waiting is not None and not waiting.done():
                    waiting.set_exception(asyncio.TimeoutError())
        self._sweeper = loop.call_later(SWEEP, self._sweep, loop) if self.deadlines else None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 2:
            return
        waiting = self.pending.get(int.from_bytes(data[:2], "big"))
        if waiting and not waiting.done():
            waiting.set_result(data)

    def error_received(self, exc: Exception) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)

    def free_id(self) -> int:
        for _ in range(64):
            qid = random.getrandbits(16)
            if qid not in self.pending:
                return qid
        raise RuntimeError("too many DNS questions in flight")


class LiveResolver:
    def __init__(
        self,
        nameservers: list[Nameserver] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        max_in_flight: int = 2000,
    ) -> None:
        self.nameservers = nameservers or system_nameservers()
        self.timeout = timeout
        self.attempts = attempts
        self._demux: dict[int, _UdpDemux] = {}
        self._opening: dict[int, asyncio.Lock] = {}
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.retries = 0  # questions asked again after a timeout or failure (lost datagrams show here)

    def _bind_to_running_loop(self) -> None:
        """Sockets and waiting questions belong to one event loop: start afresh under a new one."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._demux = {}
            self._opening = {}
            self._in_flight = 0
            self._waiting.clear()

    async def _slot(self) -> None:
        """One of max_in_flight places for a question. A plain counter while there is room (an
        asyncio.Semaphore cost more than the rest of a question's bookkeeping); a queue when full,
        where a finished question hands its place to the next."""
        if self._in_flight < self._max_in_flight:
            self._in_flight += 1
            return
        assert self._loop is not None
        turn: asyncio.Future[None] = self._loop.create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._free_slot()  # handed a place just as we were cancelled: pass it on
            raise

    def _free_slot(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._in_flight -= 1

    async def _endpoint(self, family: int) -> _UdpDemux:
        if family in self._demux:
            return self._demux[family]
        lock = self._opening.setdefault(family, asyncio.Lock())
        async with lock:
            if family not in self._demux:
                loop = asyncio.get_running_loop()
                local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
                transport, protocol = await loop.create_datagram_endpoint(_UdpDemux, local_addr=local, family=family)
                try:  # many answers can arrive at once; a small buffer would drop some and cost a timeout
                    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                except OSError:
                    pass
                self._demux[family] = protocol
        return self._demux[family]

    def close(self) -> None:
        if self._loop is None or self._loop.is_closed():
            for demux in self._demux.values():  # the loop is gone: close the sockets directly
                sock = demux.transport.get_extra_info("socket") if demux.transport else None
                if sock is not None:
                    sock.close()
        else:
            for demux in self._demux.values():
                if demux.transport:
                    demux.transport.close()
        self._demux.clear()

    async def query(self, name: str, rdtype: str) -> Answer:
        asked = normalize_name(name)
        try:
            question = _question(asked, rdtype_of(rdtype))
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(asked, rdtype.upper(), Outcome.ERROR, detail=f"not a valid question: {exc}")
        self._bind_to_running_loop()
        if self._in_flight < self._max_in_flight:  # the usual case, without a coroutine to await
            self._in_flight += 1
        else:
            await self._slot()
        last = None
        try:
            for attempt in range(self.attempts):
                server = self.nameservers[attempt % len(self.nameservers)]
                last = await self._ask(server, question, asked, rdtype.upper())
                if last.outcome not in _ASK_AGAIN:
                    return last
                self.retries += 1
        finally:
            self._free_slot()
        return last or Answer(asked, rdtype.upper(), Outcome.TIMEOUT, detail="no answer")

    async def query_many(self, questions: Sequence[tuple[str, str]]) -> list[Answer]:
        """Every question sent at once, then the replies collected in order: no task per question.
        Those that time out or fail are asked again together, of the next name server."""
        answers: list[Answer | None] = [None] * len(questions)
        asking: list[_Asked] = []
        for index, (name, rdtype) in enumerate(questions):
            asked = normalize_name(name)
            try:
                asking.append(_Asked(index, _question(asked, rdtype_of(rdtype)), asked, rdtype.upper()))
            except (dns.exception.DNSException, ValueError) as exc:
                answers[index] = Answer(asked, rdtype.upper(), Outcome.ERROR, detail=f"not a valid question: {exc}")
        self._bind_to_running_loop()
        if self._in_flight + len(asking) > self._max_in_flight:  # no room for the batch: queue each question
            found = await asyncio.gather(*(self.query(*questions[item.index]) for item in asking))
            for item, answer in zip(asking, found):
                answers[item.index] = answer
            return answers  # type: ignore[return-value]
        taken = len(asking)
        self._in_flight += taken
        try:
            for attempt in range(self.attempts):
                if not asking:
                    break
                server = self.nameservers[attempt % len(self.nameservers)]
                replies = await self._ask_many(server, asking)
                again = []
                for item, answer in zip(asking, replies):
                    answers[item.index] = answer
                    if answer.outcome in _ASK_AGAIN:
                        again.append(item)
                self.retries += len(again)
                asking = again
        finally:
            for _ in range(taken):
                self._free_slot()
        return answers  # type: ignore[return-value]

    async def _ask(self, server: Nameserver, question: Question, asked: str, rdtype: str) -> Answer:
        demux = self._demux.get(server.family) or await self._endpoint(server.family)
        qid = self._send(demux, server, question)
        try:
            return await self._receive(demux, qid, server, question, asked, rdtype)
        finally:
            demux.deadlines.pop(qid, None)
            demux.pending.pop(qid, None)

    async def _ask_many(self, server: Nameserver, asking: list[_Asked]) -> list[Answer]:
        demux = self._demux.get(server.family) or await self._endpoint(server.family)
        sent = [self._send(demux, server, item.question) for item in asking]
        try:
            return [await self._receive(demux, qid, server, item.question, item.asked, item.rdtype)
                    for qid, item in zip(sent, asking)]
        finally:  # also when cancelled half-way: no reply may be left waiting
            for qid in sent:
                demux.deadlines.pop(qid, None)
                waiting = demux.pending.pop(qid, None)
                if waiting is None:
                    continue
                if not waiting.done():
                    waiting.cancel()
                elif not waiting.cancelled():
                    waiting.exception()  # a timeout nobody will read: not worth a warning

    def _send(self, demux: _UdpDemux, server: Nameserver, question: Question) -> int:
        """Send a question and register its future and deadline; the question's id."""
        qid = demux.free_id()
        loop = self._loop or asyncio.get_running_loop()
        demux.pending[qid] = loop.create_future()
        demux.expire_at(qid, loop.time() + self.timeout, loop)  # not asyncio.wait_for(): no task per question
        assert demux.transport is not None
        try:
            demux.transport.sendto(encode_question(qid, question), (server.host, server.port))
        except OSError as exc:
            demux.pending[qid].set_exception(exc)
        return qid

    async def _receive(self, demux: _UdpDemux, qid: int, server: Nameserver, question: Question, asked: str,
                       rdtype: str) -> Answer:
        """The reply to a sent question, read (over TCP when it came back truncated)."""
        loop = self._loop or asyncio.get_running_loop()
        try:
            while True:
                wire = await demux.pending[qid]
                try:
                    reply = parse_reply(wire, question)
                except dns.exception.DNSException as exc:
                    return Answer(asked, rdtype, Outcome.ERROR, detail=f"malformed reply from {server.host}: {exc}")
                if reply is not None:
                    break
                # A stray or spoofed datagram with a colliding id: keep waiting for the real one.
                demux.pending[qid] = loop.create_future()
        except asyncio.TimeoutError:
            return Answer(asked, rdtype, Outcome.TIMEOUT, detail=f"{server.host} did not answer in {self.timeout:g}s")
        except OSError as exc:
            return Answer(asked, rdtype, Outcome.ERROR, detail=f"{server.host}: {exc}")
        finally:
            demux.deadlines.pop(qid, None)
        if reply.truncated:
            request = dns.message.make_query(question.name, question.rdtype, use_edns=0, payload=EDNS_PAYLOAD)
            try:
                response = await dns.asyncquery.tcp(request, server.host, timeout=self.timeout, port=server.port)
                reply = parse_reply(response.to_wire(), question)
            except (dns.exception.Timeout, asyncio.TimeoutError):
                return Answer(asked, rdtype, Outcome.TIMEOUT, detail=f"{server.host} did not answer over TCP")
            except (OSError, dns.exception.DNSException) as exc:
                return Answer(asked, rdtype, Outcome.ERROR, detail=f"{server.host} over TCP: {exc}")
            if reply is None:
                return Answer(asked, rdtype, Outcome.ERROR, detail=f"{server.host} answered another question over TCP")
        return interpret(reply, question, asked, rdtype)


def interpret(reply: Reply, question: Question, asked: str, rdtype: str) -> Answer:
    rcode = reply.rcode
    authenticated = bool(reply.flags & 0x0020)
    targets, records, ttl = reply.chain(question.labels, question.rdtype) if reply.records else ([], [], 0)
    cnames = tuple(normalize_name(t) for t in targets)
    if rcode == dns.rcode.NXDOMAIN:
        return Answer(asked, rdtype, Outcome.NXDOMAIN, cnames=cnames, authenticated=authenticated)
    if rcode == dns.rcode.SERVFAIL:
        return Answer(asked, rdtype, Outcome.SERVFAIL, detail="SERVFAIL")
    if rcode == dns.rcode.REFUSED:
        return Answer(asked, rdtype, Outcome.REFUSED, detail="REFUSED")
    if rcode != dns.rcode.NOERROR:
        return Answer(asked, rdtype, Outcome.ERROR, detail=dns.rcode.to_text(rcode))
    if not records:
        return Answer(asked, rdtype, Outcome.NODATA, cnames=cnames, authenticated=authenticated)
    return Answer(asked, rdtype, Outcome.ANSWER, records=tuple(records), cnames=cnames, ttl=ttl, authenticated=authenticated)
