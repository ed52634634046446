"""Reading a DNS reply's answer section straight from the wire.

The records asked most (A, AAAA, TXT, MX, CNAME, PTR, NS) are decoded here into small objects
with the attributes of dnspython's rdata (address, strings, preference/exchange, target,
to_text()); other types go to dnspython's rdata parsers. dnspython's Message layer and its
generic parsers cost half of an SPF evaluation's time. The question is checked against the one
we asked, so a reply to another question is never taken for ours.
"""

from __future__ import annotations

import functools
import re
import socket
import struct

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.wire

MAX_CHAIN = 16


Labels = tuple[bytes, ...]  # a domain name's labels, lower case, without the root label
_HEADER = struct.Struct("!HHHHHH")
_RECORD = struct.Struct("!HHIH")
_LENGTH = [bytes((n,)) for n in range(256)]  # a label's length byte
_POINTER_TO_QUESTION = b"\xc0\x0c"  # a compression pointer to offset 12, where the question's name is
_A, _AAAA, _TXT, _SPF, _MX, _CNAME, _PTR, _NS, _OPT = 1, 28, 16, 99, 15, 5, 12, 2, 41
_IN = 1
_OPT_AT_END = b"\x00\x00\x29"  # the root owner and type 41 of an OPT record
# Error replies that need not echo the question (RFC 6891 §7: a server that does not know EDNS
# may answer FORMERR without one): FORMERR, SERVFAIL, NOTIMP, REFUSED.
_ERRORS_WITHOUT_QUESTION = frozenset((1, 2, 4, 5))


class AddressData:
    __slots__ = ("address",)

    def __init__(self, address: str) -> None:
        self.address = address

    def to_text(self) -> str:
        return self.address


class TextData:
    __slots__ = ("strings",)

    def __init__(self, strings: tuple[bytes, ...]) -> None:
        self.strings = strings

    def to_text(self) -> str:  # as dnspython writes TXT: quoted, with \" \\ and \DDD escapes
        return " ".join('"' + (s.decode() if _PLAIN.fullmatch(s) else "".join(_ESCAPED[b] for b in s)) + '"' for s in self.strings)


_PLAIN = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable ASCII but " and \\: written as it is
_ESCAPED = [("\\" + chr(b)) if chr(b) in '"\\' else chr(b) if 0x20 <= b < 0x7F else f"\\{b:03d}" for b in range(256)]


def _plain_host(labels: Labels) -> str | None:
    """The name as checks compare it (lower case, no trailing dot), written without dnspython's
    escaping pass when every label is letters, digits, hyphens and underscores; else None."""
    if labels and all(label.isascii() and label.replace(b"-", b"").replace(b"_", b"").isalnum() for label in labels):
        return b".".join(labels).decode().lower()
    return None


class NameData:
    """CNAME, PTR and NS data: the target name."""

    __slots__ = ("target", "labels", "host")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.target = dns.name.Name(labels + (b"",))
        self.host = _plain_host(labels)

    def to_text(self) -> str:  # a plain name needs none of dnspython's escaping
        return b".".join(self.labels).decode() + "." if self.host is not None else self.target.to_text()


class MxData:
    __slots__ = ("preference", "labels", "host", "_exchange")

    def __init__(self, preference: int, exchange: Labels) -> None:
        self.preference = preference
        self.labels = exchange
        self._exchange: dns.name.Name | None = None
        self.host = _plain_host(exchange)

    @property
    def exchange(self) -> dns.name.Name:
        """As dnspython gives it; built when asked (most readers want only host)."""
        if self._exchange is None:
            self._exchange = dns.name.Name(self.labels + (b"",))
        return self._exchange

    def to_text(self) -> str:
        exchange = b".".join(self.labels).decode() + "." if self.host is not None else self.exchange.to_text()
        return f"{self.preference} {exchange}"


Data = AddressData | TextData | NameData | MxData | dns.rdata.Rdata


class Reply:
    """A reply's header and answer records (a plain class: one is built per datagram read)."""

    __slots__ = ("qid", "flags", "rcode", "records", "edns")

    def __init__(self, qid: int, flags: int, rcode: int, records: tuple[tuple[Labels, int, int, Data], ...], edns: bool = False) -> None:
        self.qid = qid
        self.flags = flags
        self.rcode = rcode  # with the OPT record's extended bits
        self.records = records  # owner (lower case), type, TTL, data
        self.edns = edns  # the reply carried an OPT record

    @property
    def truncated(self) -> bool:
        return bool(self.flags & 0x0200)

    def chain(self, qname: dns.name.Name | Labels, rdtype: int) -> tuple[list[dns.name.Name], list[Data], int]:
        """Follow CNAMEs from qname: (the aliases' targets, the records of rdtype at the end, min TTL)."""
        current = qname if isinstance(qname, tuple) else tuple(label.lower() for label in qname.labels[:-1])
        targets: list[dns.name.Name] = []
        ttl = 0x7FFFFFFF
        for _ in range(MAX_CHAIN):
            found = [(t, rd) for owner, kind, t, rd in self.records if kind == rdtype and owner == current]
            if found:
                return targets, [rd for _, rd in found], min([ttl] + [t for t, _ in found])
            alias = next(((t, rd) for owner, kind, t, rd in self.records if kind == _CNAME and owner == current), None)
            if alias is None or rdtype == _CNAME or not isinstance(alias[1], NameData):
                break
            ttl = min(ttl, alias[0])
            current = tuple(label.lower() for label in alias[1].labels)
            targets.append(alias[1].target)
        return targets, [], 0


def _name(wire: bytes, offset: int) -> tuple[Labels, int]:
    """A (possibly compressed) name at offset: its labels as written, and the offset after it."""
    labels: list[bytes] = []
    resume = -1
    size = 0
    for _ in range(256):
        length = wire[offset]
        if length == 0:
            return tuple(labels), resume if resume >= 0 else offset + 1
        if length >= 0xC0:  # a pointer to an earlier name (RFC 1035 §4.1.4)
            if resume < 0:
                resume = offset + 2
            pointer = ((length & 0x3F) << 8) | wire[offset + 1]
            if pointer >= offset:  # always backwards, so a chain of pointers cannot loop
                raise dns.exception.FormError("a name compression pointer that does not point back")
            offset = pointer
            continue
        if length > 63:
            raise dns.exception.FormError("an unknown label type")
        label = wire[offset + 1 : offset + 1 + length]
        size += length + 1
        if len(label) != length or size > 255:
            raise dns.exception.FormError("a name cut short or longer than 255 bytes")
        labels.append(label)
        offset += 1 + length
    raise dns.exception.FormError("a name of more than 255 labels")


def _data(wire: bytes, kind: int, start: int, end: int) -> Data:
    if kind == _A and end - start == 4:
        return AddressData(socket.inet_ntop(socket.AF_INET, wire[start:end]))
    if kind == _AAAA and end - start == 16:
        return AddressData(socket.inet_ntop(socket.AF_INET6, wire[start:end]))
    if kind in (_TXT, _SPF):
        strings = []
        while start < end:
            length = wire[start]
            strings.append(wire[start + 1 : start + 1 + length])
            start += 1 + length
        if start != end or not strings:
            raise dns.exception.FormError("TXT data that does not end where its length says")
        return TextData(tuple(strings))
    if kind in (_CNAME, _PTR, _NS):
        labels, after = _name(wire, start)
        if after != end:
            raise dns.exception.FormError("name data that does not end where its length says")
        return NameData(labels)
    if kind == _MX and end - start >= 3:
        labels, after = _name(wire, start + 2)
        if after != end:
            raise dns.exception.FormError("MX data that does not end where its length says")
        return MxData(int.from_bytes(wire[start : start + 2], "big"), labels)
    parser = dns.wire.Parser(wire, start)
    with parser.restrict_to(end - start):
        return dns.rdata.from_wire_parser(dns.rdataclass.IN, dns.rdatatype.RdataType.make(kind), parser)


@functools.lru_cache(maxsize=256)
def _question_tail(rdtype: int) -> bytes:
    """The root label, QTYPE and QCLASS=IN that end a question section (a few types are asked)."""
    return b"\x00" + struct.pack("!HH", rdtype, 1)


class Question:
    """A question in wire form, built once per query: its bytes go out in the query and are
    compared with the reply's question section, so a name is parsed only when records need it."""

    __slots__ = ("labels", "rdtype", "section")

    def __init__(self, labels: Labels, rdtype: int) -> None:
        self.labels = labels  # lower case, without the root label
        self.rdtype = rdtype
        # QNAME QTYPE QCLASS=IN, as in the query
        self.section = b"".join([_LENGTH[len(label)] + label for label in labels]) + _question_tail(rdtype)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Question) and (self.labels, self.rdtype) == (other.labels, other.rdtype)

    def __hash__(self) -> int:
        return hash((self.labels, self.rdtype))

    @classmethod
    def of(cls, name: str, rdtype: int) -> Question:
        """Raises ValueError (or a dns.exception) when name is not a valid domain name."""
        text = name.rstrip(".") if name != "." else ""
        if text.isascii() and "\\" not in text:
            labels = tuple(text.lower().encode().split(b".")) if text else ()
            if labels and (b"" in labels or max(map(len, labels)) > 63 or len(text) > 253):
                raise ValueError(f"{name!r} is not a valid domain name")
        else:
            labels = tuple(label.lower() for label in dns.name.from_text(name, origin=dns.name.root).labels[:-1])
        return cls(labels, rdtype)

    @property
    def name(self) -> dns.name.Name:
        return dns.name.Name(self.labels + (b"",))


def _skip_name(wire: bytes, offset: int) -> int:
    """The offset after a name, without reading it (a pointer ends it)."""
    for _ in range(128):
        length = wire[offset]
        if length == 0:
            return offset + 1
        if length >= 0xC0:
            return offset + 2
        if length > 63:
            raise dns.exception.FormError("an unknown label type")
        offset += 1 + length
    raise dns.exception.FormError("a name of more than 127 labels")


def _extended_rcode(wire: bytes, offset: int, nscount: int, arcount: int) -> tuple[int, bool]:
    """(the upper 8 bits of the rcode from the OPT record, whether there was one): the authority
    section is skipped, the additional section read for type 41 (RFC 6891 §6.1.3)."""
    for _ in range(nscount):
        offset = _skip_name(wire, offset)
        offset += 10 + int.from_bytes(wire[offset + 8 : offset + 10], "big")
    if offset > len(wire):
        raise dns.exception.FormError("an authority record longer than the reply")
    extended, edns = 0, False
    for _ in range(arcount):  # every record walked: a count that lies is a malformed reply
        offset = _skip_name(wire, offset)
        kind, _, ttl, length = _RECORD.unpack_from(wire, offset)
        offset += 10 + length
        if offset > len(wire):
            raise dns.exception.FormError("an additional record longer than the reply")
        if kind == _OPT:
            if edns:
                raise dns.exception.FormError("more than one OPT record")  # RFC 6891 §6.1.1
            extended, edns = ttl >> 24, True
    return extended, edns


def parse_reply(wire: bytes, question: Question) -> Reply | None:
    """The reply's answer records, or None when it is not a reply to the question: not a response,
    not a QUERY, another question (name compared case-insensitively, type, class IN). An error
    reply without a question section (FORMERR, SERVFAIL, NOTIMP, REFUSED) is taken as it is.

    The rcode includes the OPT record's extended bits (BADVERS is 16). Records of a class other
    than IN are left out: they do not answer an IN question.
    Raises dns.exception.FormError when the reply is malformed.
    """
    if len(wire) < 12:
        raise dns.exception.FormError("reply shorter than a DNS header")
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire)
    if not flags & 0x8000 or flags & 0x7800:  # not a response, or an opcode other than QUERY
        return None
    try:
        if qdcount == 0:
            if flags & 0x000F not in _ERRORS_WITHOUT_QUESTION or ancount:
                return None
            offset = 12
        elif qdcount == 1:
            expected = question.section
            offset = 12 + len(expected)
            name_end = offset - 4
            # the question echoed as asked, in any case (the name is compared lowered, type and class exactly)
            if wire[12:name_end].lower() != expected[:-4] or wire[name_end:offset] != expected[-4:]:
                asked, offset = _name(wire, 12)
                qtype, qclass = struct.unpack_from("!HH", wire, offset)
                offset += 4
                if tuple(label.lower() for label in asked) != question.labels or qtype != question.rdtype or qclass != _IN:
                    return None
        else:
            return None
        records = []
        for _ in range(ancount):
            if wire[offset : offset + 2] == _POINTER_TO_QUESTION:  # the usual owner: the name asked, compressed
                owner, offset = question.labels, offset + 2
            else:
                owner, offset = _name(wire, offset)
                owner = tuple(label.lower() for label in owner)
            kind, rdclass, ttl, length = _RECORD.unpack_from(wire, offset)
            offset += 10
            end = offset + length
            if end > len(wire):
                raise dns.exception.FormError("a record longer than the reply")
            if rdclass == _IN:
                records.append((owner, kind, ttl, _data(wire, kind, offset, end)))
            offset = end
        if arcount and len(wire) >= offset + 11 and wire[-11:-8] == _OPT_AT_END and wire[-2:] == b"\x00\x00":
            extended, edns = wire[-6], True  # the usual end of a reply: an OPT record without options
        elif arcount:
            extended, edns = _extended_rcode(wire, offset, nscount, arcount)
        else:
            extended, edns = 0, False
    except (struct.error, ValueError, IndexError) as exc:
        raise dns.exception.FormError(f"malformed reply: {exc}") from exc
    return Reply(qid, flags, (extended << 4) | (flags & 0x000F), tuple(records), edns)
