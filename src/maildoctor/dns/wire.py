"""Reading a DNS reply's answer section straight from the wire.

Records are parsed by dnspython (dns.rdata.from_wire_parser); what is skipped is dnspython's
Message layer, whose RRset bookkeeping cost a third of an audit's CPU. The question is checked
against the one we asked, so a reply to another question is never taken for ours.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.wire

MAX_CHAIN = 16


@dataclass(frozen=True)
class Reply:
    qid: int
    flags: int
    rcode: int
    records: tuple[tuple[dns.name.Name, int, int, dns.rdata.Rdata], ...]  # owner, type, TTL, data

    @property
    def truncated(self) -> bool:
        return bool(self.flags & 0x0200)

    def chain(self, qname: dns.name.Name, rdtype: int) -> tuple[list[dns.name.Name], list[dns.rdata.Rdata], int]:
        """Follow CNAMEs from qname: (the aliases' targets, the records of rdtype at the end, min TTL)."""
        targets: list[dns.name.Name] = []
        current = qname
        ttl = 0x7FFFFFFF
        for _ in range(MAX_CHAIN):
            found = [(t, rd) for owner, kind, t, rd in self.records if kind == rdtype and owner == current]
            if found:
                return targets, [rd for _, rd in found], min([ttl] + [t for t, _ in found])
            alias = next(((t, rd) for owner, kind, t, rd in self.records if kind == dns.rdatatype.CNAME and owner == current), None)
            if alias is None or rdtype == dns.rdatatype.CNAME:
                break
            ttl = min(ttl, alias[0])
            current = alias[1].target
            targets.append(current)
        return targets, [], 0


def parse_reply(wire: bytes, qname: dns.name.Name, rdtype: int) -> Reply | None:
    """The reply's answer records, or None when it does not answer (qname, rdtype).

    Raises dns.exception.FormError when the reply is malformed.
    """
    if len(wire) < 12:
        raise dns.exception.FormError("reply shorter than a DNS header")
    qid, flags, qdcount, ancount = struct.unpack("!HHHH", wire[:8])
    if not flags & 0x8000 or qdcount != 1:
        return None
    parser = dns.wire.Parser(wire, 12)
    try:
        asked = parser.get_name(decompress=True)
        qtype, qclass = parser.get_struct("!HH")
        if asked != qname or qtype != rdtype or qclass != dns.rdataclass.IN:
            return None
        records = []
        for _ in range(ancount):
            owner = parser.get_name(decompress=True)
            kind, rdclass, ttl, length = parser.get_struct("!HHIH")
            with parser.restrict_to(length):
                rdata = dns.rdata.from_wire_parser(rdclass, kind, parser)
            records.append((owner, kind, ttl, rdata))
    except (struct.error, ValueError, IndexError) as exc:
        raise dns.exception.FormError(f"malformed reply: {exc}") from exc
    return Reply(qid, flags, flags & 0x000F, tuple(records))
