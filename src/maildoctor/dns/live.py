"""The live backend: real DNS through a recursive resolver (or any server given by --nameserver).

Questions go out over UDP from a pool of sockets per name server. Each socket is bound to a port
drawn at random (the `secrets` module) and connected to its server, so the kernel drops
datagrams from any other address or port and reports an ICMP error on the socket it concerns;
a question takes a socket of the pool at random and an id from the system's CSPRNG (what
`secrets` reads), and a socket is replaced after USES_PER_SOCKET questions or MAX_SOCKET_AGE
seconds. The questions asked during one turn of the event loop are sent together at its end,
so the server wakes once for them, not once per datagram. A reply completes a question only
when it comes from the server asked, carries the question's id and echoes its question (name in
any case, type, class IN); anything else is counted in `ignored` and the question keeps waiting
until its deadline, which nothing can remove. Truncated replies are asked again over TCP
(dnspython's TCP client, which checks id and question too); FORMERR, NOTIMP or BADVERS to a
question with EDNS is asked again without it, and that server is asked without it from then on.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import functools
import os
import secrets
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
_ASK_AGAIN = frozenset((Outcome.TIMEOUT, Outcome.ERROR, Outcome.SERVFAIL, Outcome.MALFORMED))
# A server that does not know EDNS answers FORMERR or NOTIMP (RFC 6891 §7), or BADVERS to a version it lacks.
_NO_EDNS_RCODES = frozenset((dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.BADVERS))

_TC = 0x0200  # the header's truncated flag

POOL_SIZE = 32  # sockets per name server, each on its own random port
USES_PER_SOCKET = 1000  # questions before a socket is replaced by one on a new port (opening one costs ~0.5 ms)
MAX_SOCKET_AGE = 30.0  # seconds; a long-running `serve` keeps moving its ports too
_ENTROPY_CHUNK = 4096  # bytes read from the system's CSPRNG at a time
_READS_PER_WAKEUP = 64  # datagrams read from one socket before the loop gets its turn again
_MAX_DATAGRAM = 65535  # a reply larger than asked for (EDNS_PAYLOAD) is still read whole, then judged


class _Asked(NamedTuple):
    """A question of a batch, and where its answer goes."""

    index: int  # type: ignore[assignment]  # a field named like tuple.index, which it shadows on purpose
    question: Question
    asked: str
    rdtype: str


# Questions repeat (every audit asks for _dmarc, every receiver for the same senders' SPF): their
# wire form is built once.
_question = functools.lru_cache(maxsize=8192)(Question.of)


def encode_question(qid: int, question: Question, edns: bool = True) -> bytes:
    """A recursive query in wire format (RFC 1035 §4.1, RFC 6891 OPT).

    Written out because dnspython's make_query()+to_wire() cost a quarter of a millisecond per
    question, a third of an audit's CPU time; the format is fixed and small.
    """
    if edns:  # RD, AD (RFC 6840 §5.7: tell me what you validated); 1 question, 1 additional
        return qid.to_bytes(2, "big") + b"\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01" + question.section + _OPT_RECORD
    return qid.to_bytes(2, "big") + b"\x01\x20\x00\x01\x00\x00\x00\x00\x00\x00" + question.section


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    @classmethod
    def parse(cls, text: str) -> Nameserver:
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
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # written as the kernel gives a reply's source (::0:1 is ::1), so the two compare equal
        return cls(socket.inet_ntop(family, socket.inet_pton(family, host)), port_number)

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET


def system_nameservers() -> list[Nameserver]:
    try:
        found = dns.resolver.Resolver(configure=True).nameservers
    except dns.exception.DNSException:
        found = []
    return [Nameserver(str(ns)) for ns in found] or [Nameserver("127.0.0.1")]


# What the kernel reports on a connected UDP socket when ICMP says the server cannot be reached.
_UNREACHABLE = frozenset((errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN))


class _Entropy:
    """Random bytes from the system's CSPRNG (os.urandom, the source of the `secrets` module),
    read 4 KiB at a time: a call to secrets per question cost more than the rest of sending it."""

    def __init__(self) -> None:
        self._bytes = b""
        self._next = 0

    def take(self, count: int) -> bytes:
        if self._next + count > len(self._bytes):
            self._bytes, self._next = os.urandom(max(_ENTROPY_CHUNK, count)), 0
        start = self._next
        self._next = start + count
        return self._bytes[start : self._next]


_entropy = _Entropy()
# A forked child must not draw the same ids as its parent from a copy of the buffer.
os.register_at_fork(after_in_child=lambda: _entropy.__init__())  # type: ignore[misc]


def _local_port_range() -> tuple[int, int]:
    try:
        low, high = (int(n) for n in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        if 1024 <= low < high <= 65535:
            return low, high
    except (OSError, ValueError):
        pass
    return 49152, 65535  # IANA's dynamic range


_PORTS = _local_port_range()


class _Server:
    """What the client keeps of one name server under the running loop."""

    __slots__ = ("address", "pool", "down_until", "down_error", "edns")

    def __init__(self, address: Nameserver) -> None:
        self.address = address
        self.pool: list[_Channel | None] = [None] * POOL_SIZE
        self.down_until = 0.0  # after an ICMP error: questions to it fail at once until then
        self.down_error: OSError | None = None
        self.edns = True  # False once it answered FORMERR, NOTIMP or BADVERS to a question with OPT


class _InFlight:
    """A question on the wire: completed by its reply, an error of its socket, or its deadline."""

    __slots__ = ("future", "question", "qid", "channel", "deadline", "note")

    def __init__(self, future: asyncio.Future[Reply], question: Question, qid: int, channel: _Channel, deadline: float) -> None:
        self.future = future
        self.question = question
        self.qid = qid
        self.channel = channel
        self.deadline = deadline
        self.note = ""  # a malformed datagram seen for it: the outcome, should nothing valid come


class _Channel:
    """One UDP socket bound to a random port and connected to one name server, read by the loop
    whenever it is readable, every datagram waiting in one wake-up. (With uvloop's datagram
    transport, sending a loop turn's questions from its end left the loop idle half the time:
    157 against 331 domains/s in one process; each datagram also cost a Python call there.)"""

    __slots__ = ("owner", "server", "host", "port", "sock", "fileno", "pending", "uses", "born", "retired", "backlog", "closed")

    def __init__(self, owner: LiveResolver, server: _Server, born: float, sock: socket.socket | None = None) -> None:
        self.owner = owner
        self.server = server
        self.host, self.port = server.address.host, server.address.port
        self.sock = sock
        self.fileno = sock.fileno() if sock is not None else -1
        self.pending: dict[int, _InFlight] = {}
        self.uses = 0
        self.born = born  # the loop's clock
        self.retired = False
        self.backlog: collections.deque[bytes] = collections.deque()  # datagrams the kernel had no room for yet
        self.closed = sock is None

    def send(self, datagram: bytes) -> None:
        if self.backlog:
            self.backlog.append(datagram)
            return
        assert self.sock is not None
        try:
            self.sock.send(datagram)
        except (BlockingIOError, InterruptedError):  # the socket's buffer is full: sent when it drains
            self.backlog.append(datagram)
            loop = self.owner._loop
            assert loop is not None
            loop.add_writer(self.fileno, self._drain)
        except OSError as exc:
            self.error(exc)

    def _drain(self) -> None:
        sock, backlog = self.sock, self.backlog
        assert sock is not None
        while backlog:
            try:
                sock.send(backlog[0])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error(exc)
                return
            backlog.popleft()
        loop = self.owner._loop
        if loop is not None and not loop.is_closed():
            loop.remove_writer(self.fileno)

    def readable(self) -> None:
        """Every datagram waiting on the socket (up to a bound, so that one busy socket cannot
        starve the loop): each completes its question only when it comes from the server asked,
        carries a question's id and echoes that question."""
        sock, owner, pending, host, port = self.sock, self.owner, self.pending, self.host, self.port
        assert sock is not None
        for _ in range(_READS_PER_WAKEUP):
            try:
                data, source = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error(exc)
                return
            if source[0] != host or source[1] != port:
                owner.ignored["another source"] += 1  # the socket is connected: only a kernel that does not filter lets it in
                continue
            if len(data) < 12:
                owner.ignored["malformed"] += 1
                continue
            waiting = pending.get((data[0] << 8) | data[1])
            if waiting is None:
                owner.ignored["unknown id"] += 1
                continue
            try:
                reply = parse_reply(data, waiting.question)
            except dns.exception.FormError as exc:
                owner.ignored["malformed"] += 1
                waiting.note = f"malformed reply from {host}: {exc}"
                continue
            if reply is None:
                owner.ignored["another question"] += 1
                continue
            del pending[waiting.qid]
            if not waiting.future.done():
                waiting.future.set_result(reply)
            if self.retired and not pending:
                self.close()
                return

    def error(self, exc: OSError) -> None:
        if exc.errno in _UNREACHABLE:  # ICMP for this server: only its questions learn of it
            self.owner._unreachable(self.server, exc)
        else:  # anything else wrong with this socket: its own questions fail
            self.fail(exc)

    def fail(self, exc: OSError) -> None:
        pending, self.pending = self.pending, {}
        for waiting in pending.values():
            if not waiting.future.done():
                waiting.future.set_exception(exc)
        self.retired = True  # a fresh socket next time: an error may stick to this one
        self.close()

    def forget(self, waiting: _InFlight) -> None:
        if self.pending.get(waiting.qid) is waiting:
            del self.pending[waiting.qid]
            if self.retired and not self.pending:
                self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = self.retired = True
        loop = self.owner._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self.fileno)
            if self.backlog:
                loop.remove_writer(self.fileno)
        self.backlog.clear()
        assert self.sock is not None
        self.sock.close()


def _bound_socket(server: Nameserver) -> socket.socket:
    """A non-blocking UDP socket on a local port drawn with `secrets`, connected to the server."""
    sock = socket.socket(server.family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        wildcard = "::" if server.family == socket.AF_INET6 else "0.0.0.0"
        low, high = _PORTS
        for _ in range(16):  # a port in use is tried again elsewhere
            try:
                sock.bind((wildcard, low + secrets.randbelow(high - low + 1)))
                break
            except OSError:
                continue
        else:
            sock.bind((wildcard, 0))  # the kernel's own random choice
        try:  # a burst of answers must queue, not be dropped (a drop costs a timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        sock.connect((server.host, server.port))
    except BaseException:
        sock.close()
        raise
    return sock


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
        self._servers: list[_Server] = []
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._waiting: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()  # (turn, places wanted)
        # Every question has the same timeout, so deadlines come in the order questions were sent:
        # one sweep every SWEEP seconds pops what is overdue (a timer per question cost 5% of it).
        self._deadlines: collections.deque[_InFlight] = collections.deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.retries = 0  # questions asked again after a timeout or failure (lost datagrams show here)
        self.sockets_opened = 0
        self.ignored: collections.Counter[str] = collections.Counter()  # datagrams that answered nothing, by why
        self._no_edns: set[Nameserver] = set()  # servers that refused EDNS
        self._outbox: list[tuple[_Channel, bytes]] = []
        self._flushing = False

    def _bind_to_running_loop(self) -> None:
        """Sockets and waiting questions belong to one event loop: start afresh under a new one."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self.close()
            self._loop = loop
            self._servers = [self._server(address) for address in self.nameservers]
            self._in_flight = 0
            self._waiting.clear()
            self._deadlines.clear()
            self._sweeper = None
            self._outbox = []
            self._flushing = False

    def _server(self, address: Nameserver) -> _Server:
        server = _Server(address)
        server.edns = address not in self._no_edns  # learnt once, kept under any loop
        return server

    @property
    def pending(self) -> int:
        """Questions on the wire now."""
        return sum(len(c.pending) for server in self._servers for c in server.pool if c is not None)

    def _take(self, count: int) -> bool:
        """count of the max_in_flight places for questions, if they are free now and nobody waits
        for places (an asyncio.Semaphore cost more than the rest of a question's bookkeeping)."""
        waiting = self._waiting
        while waiting and waiting[0][0].done():  # cancelled while waiting
            waiting.popleft()
        if waiting or self._in_flight + count > self._max_in_flight:
            return False
        self._in_flight += count
        return True

    async def _wait_for_places(self, count: int) -> None:
        """count places (count <= max_in_flight), once finished questions have handed them on: a
        batch waits as one, first come first served."""
        assert self._loop is not None
        turn: asyncio.Future[None] = self._loop.create_future()
        self._waiting.append((turn, count))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._free(count)  # handed places just as we were cancelled: pass them on
            raise

    def _free(self, count: int) -> None:
        self._in_flight -= count
        waiting = self._waiting
        while waiting:
            turn, wanted = waiting[0]
            if turn.done():
                waiting.popleft()
            elif self._in_flight + wanted <= self._max_in_flight:
                waiting.popleft()
                self._in_flight += wanted
                turn.set_result(None)
            else:
                return

    def _unreachable(self, server: _Server, exc: OSError) -> None:
        """The kernel reported an ICMP error for a socket of this server. Every question out to it
        fails now, on all its sockets (the kernel rate-limits ICMP, so most sockets never hear of
        it), and for one timeout new questions to it fail at once: they go to the next server."""
        assert self._loop is not None
        server.down_until, server.down_error = self._loop.time() + self.timeout, exc
        for channel in server.pool:
            if channel is not None:
                channel.fail(exc)

    def _open(self, server: _Server, slot: int, now: float) -> _Channel:
        """A new socket, on a fresh random port, in place of the one in the slot."""
        assert self._loop is not None
        channel = _Channel(self, server, now, _bound_socket(server.address))
        self._loop.add_reader(channel.fileno, channel.readable)
        self.sockets_opened += 1
        old, server.pool[slot] = server.pool[slot], channel
        if old is not None and not old.retired:
            old.retired = True
            if not old.pending:
                old.close()
        return channel

    def close(self) -> None:
        for server in self._servers:
            for channel in server.pool:
                if channel is not None:
                    pending, channel.pending = channel.pending, {}
                    for waiting in pending.values():
                        if not waiting.future.done():
                            waiting.future.cancel()
                    channel.close()
        self._servers = [self._server(address) for address in self.nameservers] if self._servers else []
        self._outbox = []
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    async def query(self, name: str, rdtype: str) -> Answer:
        asked = normalize_name(name)
        try:
            question = _question(asked, rdtype_of(rdtype))
        except (dns.exception.DNSException, ValueError) as exc:
            return Answer(asked, rdtype.upper(), Outcome.ERROR, detail=f"not a valid question: {exc}")
        self._bind_to_running_loop()
        if not self._take(1):
            await self._wait_for_places(1)
        last = None
        try:
            for attempt in range(self.attempts):
                server = self._servers[attempt % len(self._servers)]
                last = (await self._ask_many(server, [_Asked(0, question, asked, rdtype.upper())]))[0]
                if last.outcome not in _ASK_AGAIN:
                    return last
                self.retries += 1
        finally:
            self._free(1)
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
        taken = len(asking)
        if taken > self._max_in_flight:  # more than may ever be out at once: each question queues on its own
            found = await asyncio.gather(*(self.query(*questions[item.index]) for item in asking))
            for item, answer in zip(asking, found):
                answers[item.index] = answer
            return answers  # type: ignore[return-value]
        if not self._take(taken):  # the batch waits for room as one (a task per question cost more than its answer)
            await self._wait_for_places(taken)
        try:
            for attempt in range(self.attempts):
                if not asking:
                    break
                server = self._servers[attempt % len(self._servers)]
                replies = await self._ask_many(server, asking)
                again = []
                for item, answer in zip(asking, replies):
                    answers[item.index] = answer
                    if answer.outcome in _ASK_AGAIN:
                        again.append(item)
                self.retries += len(again)
                asking = again
        finally:
            self._free(taken)
        return answers  # type: ignore[return-value]

    async def _ask_many(self, server: _Server, asking: list[_Asked], edns: bool | None = None) -> list[Answer]:
        """One server's answers to the questions: sent together, read in order."""
        if edns is None:
            edns = server.edns
        sent = self._send_all(server, asking, edns)
        answers: list[Answer] = []
        without_edns: list[int] = []
        read = 0  # the futures whose outcome was taken, in order
        try:
            for waiting, item in zip(sent, asking):
                future = waiting.future
                failure = None
                try:  # a reply already in needs no suspension of the task (most of a batch's)
                    reply = future.result() if future.done() else await future
                except TimeoutError:
                    failure = self._no_reply(waiting, server, item)
                except OSError as exc:
                    failure = Answer(item.asked, item.rdtype, Outcome.ERROR, detail=f"{server.address.host}: {exc.strerror or exc}")
                read += 1
                if failure is not None:
                    answers.append(failure)
                    continue
                if edns and reply.rcode in _NO_EDNS_RCODES:
                    server.edns = False
                    self._no_edns.add(server.address)
                    without_edns.append(len(answers))
                    answers.append(Answer(item.asked, item.rdtype, Outcome.ERROR, detail=_rcode_text(reply.rcode)))
                    continue
                answers.append(
                    interpret(reply, item.question, item.asked, item.rdtype)
                    if not reply.flags & _TC
                    else await self._over_tcp(server, item, edns)
                )
        finally:  # also when cancelled half-way: nothing may be left waiting
            for waiting in sent[read:]:
                future = waiting.future
                if not future.done():
                    waiting.channel.forget(waiting)
                    future.cancel()
                elif future.cancelled():  # the task was cancelled while awaiting it
                    waiting.channel.forget(waiting)
                else:
                    future.exception()  # an error nobody will read: not worth a warning
            for waiting in sent:
                waiting.future = None  # type: ignore[assignment]  # the deadline queue keeps the entry, not its reply
        if without_edns:
            again = await self._ask_many(server, [asking[i] for i in without_edns], edns=False)
            for i, answer in zip(without_edns, again):
                answers[i] = answer
        return answers

    def _send_all(self, server: _Server, asking: list[_Asked], edns: bool) -> list[_InFlight]:
        """Each question sent on a socket of the server's pool drawn at random, under a random id,
        with its deadline. A socket that has served its questions or its time is replaced first."""
        loop = self._loop
        assert loop is not None
        now = loop.time()
        deadline = now + self.timeout
        pool = server.pool
        drawn = _entropy.take(3 * len(asking))  # per question: the socket, then the id
        sent: list[_InFlight] = []
        outbox = self._outbox
        for index, item in enumerate(asking):
            slot = drawn[3 * index] % POOL_SIZE  # POOL_SIZE divides 256: every socket equally likely
            channel = pool[slot]
            if channel is None or channel.retired or channel.uses >= USES_PER_SOCKET or now - channel.born > MAX_SOCKET_AGE:
                try:
                    channel = self._open(server, slot, now)
                except OSError as exc:  # no socket to be had (out of file descriptors, ...): this question fails
                    failed = _InFlight(loop.create_future(), item.question, 0, _Channel(self, server, now), deadline)
                    failed.future.set_exception(exc)
                    sent.append(failed)
                    continue
            channel.uses += 1
            qid = (drawn[3 * index + 1] << 8) | drawn[3 * index + 2]
            while qid in channel.pending:
                qid = int.from_bytes(_entropy.take(2), "big")
            waiting = _InFlight(loop.create_future(), item.question, qid, channel, deadline)
            sent.append(waiting)
            if server.down_until > now:
                waiting.future.set_exception(server.down_error or ConnectionRefusedError())
                continue
            channel.pending[qid] = waiting
            self._deadlines.append(waiting)  # not asyncio.wait_for(): no task per question
            outbox.append((channel, encode_question(qid, item.question, edns)))
        if not self._flushing and outbox:
            self._flushing = True
            loop.call_soon(self._flush)
        if self._sweeper is None and self._deadlines:
            self._sweeper = loop.call_later(SWEEP, self._sweep)
        return sent

    def _flush(self) -> None:
        """Send what the loop's turn asked: back to back, so that the server, woken by the first
        datagram, finds the others waiting (a wake-up per datagram cost the server and this process
        more than the datagrams themselves)."""
        self._flushing = False
        outbox, self._outbox = self._outbox, []
        for channel, datagram in outbox:
            if not channel.closed:
                channel.send(datagram)

    def _sweep(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        deadlines = self._deadlines
        while deadlines and deadlines[0].deadline <= now:
            waiting = deadlines.popleft()
            if waiting.future is not None and not waiting.future.done():
                waiting.future.set_exception(TimeoutError())
                waiting.channel.forget(waiting)
        self._sweeper = self._loop.call_later(SWEEP, self._sweep) if deadlines else None

    def _no_reply(self, waiting: _InFlight, server: _Server, item: _Asked) -> Answer:
        """The Answer of a question whose deadline passed: malformed when only a malformed reply came."""
        if waiting.note:
            return Answer(item.asked, item.rdtype, Outcome.MALFORMED, detail=waiting.note)
        return Answer(item.asked, item.rdtype, Outcome.TIMEOUT, detail=f"{server.address.host} did not answer in {self.timeout:g}s")

    async def _over_tcp(self, server: _Server, item: _Asked, edns: bool) -> Answer:
        """A question whose reply came back truncated, asked again over TCP."""
        asked, rdtype, question = item.asked, item.rdtype, item.question
        host, port = server.address.host, server.address.port
        request = dns.message.make_query(
            question.name, dns.rdatatype.RdataType.make(question.rdtype), use_edns=0 if edns else False, payload=EDNS_PAYLOAD
        )
        try:
            response = await dns.asyncquery.tcp(request, host, timeout=self.timeout, port=port)
            reply = parse_reply(response.to_wire(), question)
        except (TimeoutError, dns.exception.Timeout):
            return Answer(asked, rdtype, Outcome.TIMEOUT, detail=f"{host} did not answer over TCP")
        except dns.exception.FormError as exc:
            return Answer(asked, rdtype, Outcome.MALFORMED, detail=f"malformed reply from {host} over TCP: {exc}")
        except (OSError, dns.exception.DNSException) as exc:
            return Answer(asked, rdtype, Outcome.ERROR, detail=f"{host} over TCP: {exc}")
        if reply is None:
            return Answer(asked, rdtype, Outcome.ERROR, detail=f"{host} answered another question over TCP")
        return interpret(reply, question, asked, rdtype)


def interpret(reply: Reply, question: Question, asked: str, rdtype: str) -> Answer:
    rcode = reply.rcode
    authenticated = bool(reply.flags & 0x0020)
    targets, records, ttl = reply.chain(question.labels, question.rdtype) if reply.records else ([], [], 0)
    cnames = tuple([normalize_name(t) for t in targets]) if targets else ()
    if rcode == dns.rcode.NXDOMAIN:
        return Answer(asked, rdtype, Outcome.NXDOMAIN, cnames=cnames, authenticated=authenticated)
    if rcode == dns.rcode.SERVFAIL:
        return Answer(asked, rdtype, Outcome.SERVFAIL, detail="SERVFAIL")
    if rcode == dns.rcode.REFUSED:
        return Answer(asked, rdtype, Outcome.REFUSED, detail="REFUSED")
    if rcode != dns.rcode.NOERROR:
        return Answer(asked, rdtype, Outcome.ERROR, detail=_rcode_text(rcode))
    if not records:
        return Answer(asked, rdtype, Outcome.NODATA, cnames=cnames, authenticated=authenticated)
    return Answer(asked, rdtype, Outcome.ANSWER, records=tuple(records), cnames=cnames, ttl=ttl, authenticated=authenticated)


def _rcode_text(rcode: int) -> str:
    try:
        return dns.rcode.to_text(dns.rcode.Rcode(rcode))
    except ValueError:
        return f"RCODE{rcode}"
