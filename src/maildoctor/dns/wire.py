"""Reading a DNS reply's answer section straight from the wire.

Records are parsed by dnspython (dns.rdata.from_wire_parser); what is skipped is dnspython's
Message layer, whose RRset bookkeeping cost a third of an audit's CPU. The question is checked
against the one we asked, so a reply to another question is never taken for ours.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True)
class Question:
    """A question in wire form, built once per query: its bytes go out in the query and are
    compared with the reply's question section, so a name is parsed only when records need it."""

    labels: tuple[bytes, ...]  # lower case, without the root label
    rdtype: int

    @classmethod
    def of(cls, name: str, rdtype: int) -> "Question":
        """Raises ValueError (or a dns.exception) when name is not a valid domain name."""
        text = name.rstrip(".") if name != "." else ""
        if text.isascii() and "\\" not in text:
            labels = tuple(text.lower().encode().split(b".")) if text else ()
            if any(not 0 < len(label) < 64 for label in labels) or sum(len(label) + 1 for label in labels) > 254:
                raise ValueError(f"{name!r} is not a valid domain name")
        else:
            labels = tuple(label.lower() for label in dns.name.from_text(name, origin=dns.name.root).labels[:-1])
        return cls(labels, rdtype)

    @cached_property
    def section(self) -> bytes:
        """QNAME QTYPE QCLASS=IN, as in the query."""
        return b"".join(len(label).to_bytes(1, "big") + label for label in self.labels) + b"\x00" + struct.pack("!HH", self.rdtype, 1)

    @cached_property
    def name(self) -> dns.name.Name:
        return dns.name.Name(self.labels + (b"",))


def parse_reply(wire: bytes, question: Question) -> Reply | None:
    """The reply's answer records, or None when it does not answer the question.

    Raises dns.exception.FormError when the reply is malformed.
    """
    if len(wire) < 12:
        raise dns.exception.FormError("reply shorter than a DNS header")
    qid, flags, qdcount, ancount = struct.unpack("!HHHH", wire[:8])
    if not flags & 0x8000 or qdcount != 1:
        return None
    expected = question.section
    end = 12 + len(expected)
    if wire[12:end].lower() == expected:  # the usual case: the question echoed as asked (any case)
        parser = dns.wire.Parser(wire, end)
    else:  # a compressed or different question: parse it to be sure
        parser = dns.wire.Parser(wire, 12)
        try:
            asked = parser.get_name(decompress=True)
            qtype, qclass = parser.get_struct("!HH")
        except (struct.error, ValueError, IndexError) as exc:
            raise dns.exception.FormError(f"malformed reply: {exc}") from exc
        if asked != question.name or qtype != question.rdtype or qclass != dns.rdataclass.IN:
            return None
    if not ancount:
        return Reply(qid, flags, flags & 0x000F, ())
    try:
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
