"""A small authoritative DNS server for tests and benchmarks: serves zone files on loopback
over UDP and TCP, with faults injected per name: timeout, SERVFAIL, REFUSED, truncation, delay,
and the ways a hostile or broken server answers (a stray reply to another question before the
real one, garbage with the question's id, no EDNS, BADVERS, records of another class).

It runs its own event loop in a thread, so synchronous tests, asyncio tests and subprocesses
(the CLI) can all talk to it as to any real server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from maildoctor.dns.answer import Outcome, normalize_name, rdtype_of, to_dns_name
from maildoctor.dns.zonedata import ZoneSet

FAULTS = (
    "timeout",
    "servfail",
    "refused",
    "truncate",
    "stray",  # first a reply with the question's id to another question, then the real reply
    "garbage",  # first a cut-short reply with the question's id, then the real reply
    "garbage_only",  # only the cut-short reply
    "no_question",  # a NOERROR reply without a question section
    "formerr_edns",
    "notimp_edns",
    "badvers",  # as servers that do not know EDNS answer a question with OPT
    "chaos_class",  # the records come back as class CH
    "none",  # answer normally (overrides a name-wide fault for one type)
)


@dataclass
class Faults:
    """Faults by lower-case name (no trailing dot); a name may also be 'name/TYPE' for one type."""

    by_name: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds added to every answer

    def set(self, name: str, fault: str, rdtype: str | None = None) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}, one of {FAULTS}")
        key = normalize_name(name) + (f"/{rdtype.upper()}" if rdtype else "")
        self.by_name[key] = fault

    def for_question(self, name: str, rdtype: str) -> str | None:
        fault = self.by_name.get(f"{name}/{rdtype}") or self.by_name.get(name)
        return None if fault == "none" else fault


class TestDnsServer:
    __test__ = False  # not a pytest test class

    def __init__(self, zones: ZoneSet, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None) -> None:
        self.zones = zones
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.questions = 0
        self.sources: list[tuple[str, int, int]] = []  # (address, port, id) of each UDP question
        self.edns_seen: list[bool] = []  # whether each question carried OPT
        # called with (question wire, client address) before a UDP question is answered: a test's forger
        self.on_udp_question: Callable[[bytes, tuple[str, int]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- answering -----------------------------------------------------------------------------
    def respond(self, wire: bytes, over_tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        self.questions += 1
        self.edns_seen.append(query.edns >= 0)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = normalize_name(question.name)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        fault = self.faults.for_question(name, rdtype)
        if fault in ("timeout", "garbage_only"):
            return None
        if fault in ("formerr_edns", "notimp_edns") and query.edns >= 0:
            refusal = bytearray(wire[:12])  # header only, no question: as old servers answer
            refusal[2] = 0x80 | (wire[2] & 0x01)
            refusal[3] = dns.rcode.FORMERR if fault == "formerr_edns" else dns.rcode.NOTIMP
            refusal[4:12] = bytes(8)
            return bytes(refusal)
        if fault == "badvers" and query.edns >= 0:
            response.set_rcode(dns.rcode.BADVERS)  # the upper bits go into the OPT record
            return response.to_wire()
        if fault == "no_question":
            response.question = []
            return response.to_wire()
        if fault in ("servfail", "refused"):
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL if fault == "servfail" else dns.rcode.REFUSED)
            return response.to_wire()
        if fault == "truncate" and not over_tcp:
            response.flags |= dns.flags.TC
            return response.to_wire()
        answer = self.zones.lookup(name, rdtype)
        if answer.outcome is Outcome.REFUSED:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        if answer.outcome is Outcome.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        owner = question.name
        for target in answer.cnames:
            rrset = dns.rrset.from_text(owner, answer.ttl or 300, "IN", "CNAME", target + ".")
            response.answer.append(rrset)
            owner = to_dns_name(target)
        if answer.records and fault == "chaos_class":  # the same data, as class CH (TXT data reads alike in any class)
            response.answer.append(dns.rrset.from_text_list(owner, answer.ttl, "CH", rdtype, [rd.to_text() for rd in answer.records]))
        elif answer.records:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype_of(rdtype))
            rrset.update_ttl(answer.ttl)
            for rd in answer.records:
                rrset.add(rd)
            response.answer.append(rrset)
        if answer.outcome is Outcome.NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
        limit = 65535 if over_tcp else (query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    def before_reply(self, wire: bytes) -> list[bytes]:
        """The datagrams a hostile server sends before its real reply (stray, garbage faults)."""
        try:
            query = dns.message.from_wire(wire)
            question = query.question[0]
        except (dns.exception.DNSException, IndexError):
            return []
        fault = self.faults.for_question(normalize_name(question.name), dns.rdatatype.to_text(question.rdtype))
        if fault == "stray":
            other = dns.message.make_query("stray.invalid.", question.rdtype)
            other.id = query.id
            stray = dns.message.make_response(other)
            stray.answer.append(dns.rrset.from_text("stray.invalid.", 300, "IN", "A", "192.0.2.66"))
            return [stray.to_wire()]
        if fault in ("garbage", "garbage_only"):
            return [wire[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + wire[12:-4]]  # the question cut short
        return []

    # -- serving -------------------------------------------------------------------------------
    def start(self) -> TestDnsServer:
        self._thread = threading.Thread(target=self._run, name="test-dns", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test DNS server did not start")
        if self._error:
            raise RuntimeError(f"test DNS server failed: {self._error}") from self._error
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> TestDnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # UDP and TCP on the same port: take a free UDP port, then bind TCP to it (retry on clash).
        for _ in range(20):
            udp_transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _UdpServer(self), local_addr=(self.host, self.port), family=family
            )
            port = udp_transport.get_extra_info("sockname")[1]
            try:
                tcp_server = await asyncio.start_server(self._handle_tcp, self.host, port, family=family, reuse_address=True)
            except OSError:
                udp_transport.close()
                if self.port:
                    raise
                continue
            self.port = port
            break
        else:
            raise RuntimeError("no free port for UDP and TCP")
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            udp_transport.close()
            tcp_server.close()

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                wire = await reader.readexactly(length)
                if self.faults.delay:
                    await asyncio.sleep(self.faults.delay)
                reply = self.respond(wire, over_tcp=True)
                if reply is None:
                    continue
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, server: TestDnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        try:  # bursts of thousands of questions must queue, not be dropped
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.server.faults.delay:
            # a timer, not a task per question: the delay must not cost the server its throughput
            asyncio.get_running_loop().call_later(self.server.faults.delay, self._answer, data, addr)
        else:
            self._answer(data, addr)

    def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) >= 2:
            self.server.sources.append((addr[0], addr[1], int.from_bytes(data[:2], "big")))
        if self.server.on_udp_question is not None:
            self.server.on_udp_question(data, addr)
        if self.transport is None or self.transport.is_closing():
            return
        for datagram in self.server.before_reply(data):
            self.transport.sendto(datagram, addr)
        reply = self.server.respond(data, over_tcp=False)
        if reply is not None:
            self.transport.sendto(reply, addr)
