"""DMARC aggregate reports (RFC 7489 appendix C, and DMARCbis' namespaced form), read as a stream:
each <record> is handed on and dropped as soon as it is read, so memory does not grow with the
report. A report whose prolog declares a DTD (the only way to entities and external
references) is refused before parsing."""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser


class ReportError(ValueError):
    """The report cannot be read; the message says where and why."""


@dataclass
class AggregateMeta:
    org: str
    report_id: str
    email: str
    begin: int
    end: int
    domain: str  # policy_published/domain
    policy: dict[str, str] = field(default_factory=dict)  # adkim, aspf, p, sp, pct, fo, np
    # What was repaired to read the report (filled while its records are read: read it after them)
    repairs: list[str] = field(default_factory=list)


@dataclass
class AggregateRecord:
    source_ip: str
    count: int
    disposition: str
    dkim: str  # policy_evaluated: pass/fail (DMARC-aligned DKIM)
    spf: str  # policy_evaluated: pass/fail (DMARC-aligned SPF)
    header_from: str
    envelope_from: str
    reasons: list[str] = field(default_factory=list)
    dkim_results: list[tuple[str, str, str]] = field(default_factory=list)  # (domain, selector, result)
    spf_results: list[tuple[str, str, str]] = field(default_factory=list)  # (domain, scope, result)


@lru_cache(maxsize=256)
def _local(tag: str) -> str:
    """The tag without its namespace (DMARCbis adds one), lower case; a report has few distinct tags."""
    return tag.rsplit("}", 1)[-1].lower()


def _text(element: Element | None, *path: str) -> str:
    for name in path:
        if element is None:
            return ""
        element = next((child for child in element if _local(child.tag) == name), None)
    return (element.text or "").strip() if element is not None else ""


def _normal_ip(text: str) -> str:
    if ":" not in text:
        try:
            return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, text))
        except OSError:
            raise ReportError(f"source_ip {text!r} is not an IP address") from None
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise ReportError(f"source_ip {text!r} is not an IP address") from None


def _fields(parent: Element | None) -> dict[str, str]:
    """The text of each child, by tag: one pass over a group of leaf elements."""
    return {} if parent is None else {child.tag: child.text or "" for child in parent}


@lru_cache(maxsize=8)
def _names(ns: str) -> tuple[str, ...]:
    return tuple(
        ns + name for name in ("disposition", "dkim", "spf", "header_from", "envelope_from", "domain", "selector", "result", "scope")
    )


def _record(element: Element, ns: str) -> AggregateRecord:
    """One <record>; ns is the namespace prefix of the report's tags ("{urn:...}" or "")."""
    row = element.find(ns + "row")
    if row is None and any(_local(e.tag) == "row" for e in element):
        for descendant in element.iter():  # tags in another case or namespace than the report's root: made plain
            descendant.tag = _local(descendant.tag)
        return _record(element, "")
    if row is None:
        raise ReportError("a <record> without <row>")
    fields = _fields(row)
    ip = _normal_ip(fields.get(ns + "source_ip", "").strip())
    count = fields.get(ns + "count", "").strip()
    if not count.isdigit():
        raise ReportError(f"count {count!r} of {ip} is not a number")
    evaluated_element = row.find(ns + "policy_evaluated")
    evaluated, identifiers = _fields(evaluated_element), _fields(element.find(ns + "identifiers"))
    # the names in the report's namespace, and each value read inline: this runs a million times for a big report
    disposition, dkim, spf, header_from, envelope_from, domain, selector, result, scope = _names(ns)
    record = AggregateRecord(
        ip,
        int(count),
        evaluated.get(disposition, "").strip().lower(),
        evaluated.get(dkim, "").strip().lower(),
        evaluated.get(spf, "").strip().lower(),
        identifiers.get(header_from, "").strip().lower(),
        identifiers.get(envelope_from, "").strip().lower(),
    )
    if evaluated_element is not None and ns + "reason" in evaluated:
        record.reasons = [(r.findtext(ns + "type") or "").strip().lower() for r in evaluated_element.findall(ns + "reason")]
    results = element.find(ns + "auth_results")
    if results is not None:
        for method in results:
            group = _fields(method)
            if method.tag == dkim:
                record.dkim_results.append(
                    (group.get(domain, "").strip().lower(), group.get(selector, "").strip().lower(), group.get(result, "").strip().lower())
                )
            elif method.tag == spf:
                record.spf_results.append(
                    (
                        group.get(domain, "").strip().lower(),
                        group.get(scope, "").strip().lower() or "mfrom",
                        group.get(result, "").strip().lower(),
                    )
                )
    return record


_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
MAX_PROLOG = 1 << 20


def _declares_dtd(head: bytes, at_end: bool) -> bool | None:
    """Whether the prolog (what comes before the root element) declares a DTD; None while head is
    too short to tell. A DTD is the only way to entities and external references, so a report
    with one is refused outright."""
    codec = next((c for bom, c in _BOMS if head.startswith(bom)), "utf-8")
    text = head.decode(codec, "replace").lstrip("\ufeff")
    position = 0
    while (item := _PROLOG_ITEM.match(text, position)) and item.end() > position:
        position = item.end()
    rest = text[position:].lstrip()
    if not at_end and (len(rest) < len("<!DOCTYPE") or rest.startswith(("<?", "<!--"))):
        return None
    return rest.startswith("<!") and not rest.startswith("<!--")


def _chunks(stream: IO[bytes], name: str) -> Iterator[bytes]:
    """The document in pieces, once its prolog is known to declare no DTD."""
    head = b""
    while (verdict := _declares_dtd(head, at_end=False)) is None:
        chunk = stream.read(CHUNK)
        if not chunk:
            verdict = _declares_dtd(head, at_end=True)
            break
        head += chunk
        if len(head) > MAX_PROLOG:
            raise ReportError(f"{name}: refused: no root element in the first {MAX_PROLOG >> 20} MB")
    if verdict:
        raise ReportError(f"{name}: refused: a DTD (entity or DTD tricks in a report are an attack)")
    if head[:1].isspace():  # blank lines before the XML declaration: some senders write them, expat refuses them
        head = head.lstrip()
    run = _run_after_markup(head, 0, name)
    yield head
    while chunk := stream.read(CHUNK):
        run = _run_after_markup(chunk, run, name)
        yield chunk


def _run_after_markup(chunk: bytes, run: int, name: str) -> int:
    """The bytes since the last < or > once this chunk is read. expat keeps a text run (or a tag)
    whole until it ends, so a run without markup is memory the parser holds: past MAX_TEXT_RUN
    the document is refused by rule, not by running out of memory (a whitespace bomb)."""
    last = max(chunk.rfind(b"<"), chunk.rfind(b">"))
    run = len(chunk) - last - 1 if last >= 0 else run + len(chunk)
    if run > MAX_TEXT_RUN:
        raise ReportError(
            f"{name}: refused: more than {MAX_TEXT_RUN >> 20} MB of text without markup (no report field is that long: a whitespace bomb?)"
        )
    return run


def _valid_utf8(chunks: Iterator[bytes], repairs: list[str]) -> Iterator[bytes]:
    """A UTF-8 document with its invalid bytes replaced by U+FFFD, so that one bad byte in a field
    does not cost the whole report (expat refuses the document); the repair is noted. Documents
    in another encoding (a BOM or an encoding declaration says so) pass as they are."""
    first = next(chunks, b"")
    declared = _DECLARED_ENCODING.match(first)
    if any(first.startswith(bom) for bom, codec in _BOMS if codec != "utf-8") or (
        declared is not None and declared.group(1).lower().replace(b"_", b"-") not in _UTF8_NAMES
    ):
        yield first
        yield from chunks
        return
    replaced = 0
    carry = b""  # a character cut by the chunk boundary
    for chunk in itertools.chain((first,), chunks):
        if not carry and chunk.isascii():  # nearly every chunk of a report
            yield chunk
            continue
        data = carry + chunk
        cut = _cut_character(data)
        body, carry = data[: len(data) - cut], data[len(data) - cut :]
        try:
            body.decode("utf-8")
            yield body
        except UnicodeDecodeError:
            text = body.decode("utf-8", "replace")
            replaced += text.count("\ufffd") - body.count("\ufffd".encode())
            yield text.encode("utf-8")
    if carry:
        replaced += 1
        yield "\ufffd".encode()
    if replaced:
        repairs.append(f"{replaced} byte sequence(s) that are not UTF-8 read as U+FFFD")


def _cut_character(data: bytes) -> int:
    """How many bytes at the end begin a UTF-8 character that the next chunk completes."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # not a continuation byte: ASCII or a lead byte
            needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
            return back if needed > back else 0
    return 0


_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF8_NAMES = (b"utf-8", b"utf8", b"us-ascii", b"ascii")


CHUNK = 1 << 16
MAX_TEXT_RUN = 1 << 20
_REPORT_CLOSED = re.compile(rb"</(?:[\w.-]+:)?feedback>\s*\Z")
_JUNK_AFTER_ROOT = 9  # expat's XML_ERROR_JUNK_AFTER_DOC_ELEMENT: the root element is closed


def parse_aggregate(stream: IO[bytes], name: str = "report") -> Iterator[AggregateMeta | AggregateRecord]:
    """The report's metadata first, then its records one by one. ReportError names what is wrong.

    Speed matters here (reports of millions of records): the C parser builds the tree with no
    per-element events; the root element is caught by one start event, and after each chunk its
    finished children (all but the last) are read and dropped."""
    parser = XMLParser(target=TreeBuilder())
    started: list[tuple[str, Element]] = []
    parser._setevents(started, ("start",))  # type: ignore[attr-defined]  # XMLPullParser's own hook
    root: Element | None = None
    body: Element | None = None  # <feedback>: the root, or its first child when a sender wraps it
    ns = ""
    meta_parts: dict[str, Element] = {}
    waiting: list[AggregateRecord] = []
    meta: AggregateMeta | None = None

    def take(count: int) -> Iterator[AggregateMeta | AggregateRecord]:
        nonlocal meta
        assert body is not None
        for child in body[:count]:
            tag = _local(child.tag)
            if tag in ("report_metadata", "policy_published"):
                meta_parts[tag] = child
                if meta is None and len(meta_parts) == 2:
                    meta = _meta(meta_parts, name, repairs)
                    yield meta
                    yield from waiting
                    waiting.clear()
            elif tag == "record":
                record = _record(child, ns)
                if meta is None:
                    waiting.append(record)
                else:
                    yield record
        del body[:count]

    tail = b""
    repairs: list[str] = []
    try:
        for chunk in _valid_utf8(_chunks(stream, name), repairs):
            tail = (tail + chunk)[-256:]
            report_closed = False
            try:
                parser.feed(chunk)
            except ParseError as exc:
                if exc.code != _JUNK_AFTER_ROOT:
                    raise
                report_closed = True  # what follows a closed report (padding, a second copy) does not matter
            if root is None and started:
                root = started[0][1]
                parser._setevents(started, ())  # type: ignore[attr-defined]
                started.clear()
            if body is None and root is not None:
                body = root if _local(root.tag) == "feedback" else next((c for c in root if _local(c.tag) == "feedback"), None)
                ns = body.tag[: body.tag.find("}") + 1] if body is not None else ""
            if report_closed:
                break
            if body is not None:
                yield from take(len(body) - 1)
        else:
            try:
                parser.close()
            except ParseError:
                if body is root or not _REPORT_CLOSED.search(tail):
                    raise
                # a wrapper left open after a closed <feedback> (seen from real senders): the report is whole
    except ParseError as exc:
        raise ReportError(f"{name}: not well-formed XML ({exc})") from None
    except LookupError as exc:  # the XML declaration names an encoding nobody knows
        raise ReportError(f"{name}: {exc}") from None
    if body is not None:
        yield from take(len(body))
    if meta is None:
        tag = _local(root.tag) if root is not None else ""
        raise ReportError(f"{name}: no <report_metadata> and <policy_published> (root <{tag}>): not a DMARC aggregate report")


def _meta(parts: dict[str, Element], name: str, repairs: list[str]) -> AggregateMeta:
    meta, policy = parts["report_metadata"], parts["policy_published"]
    org, report_id, domain = _text(meta, "org_name"), _text(meta, "report_id"), _text(policy, "domain").lower()
    if not org and "@" in _text(meta, "email"):  # as receivers' own tools do: the reporter is its address's domain
        org = _text(meta, "email").rsplit("@", 1)[1].strip().lower()
        repairs.append(f"empty <org_name>: the organization is taken from <email> ({org})")
    begin, end = _text(meta, "date_range", "begin"), _text(meta, "date_range", "end")
    missing = [n for n, v in (("org_name", org), ("report_id", report_id), ("policy_published/domain", domain)) if not v]
    if missing:
        raise ReportError(f"{name}: missing {', '.join(missing)}")
    if not (begin.isdigit() and end.isdigit()):
        raise ReportError(f"{name}: date_range {begin!r}..{end!r} is not two UNIX times")
    return AggregateMeta(
        org,
        report_id,
        _text(meta, "email"),
        int(begin),
        int(end),
        domain,
        {_local(c.tag): (c.text or "").strip() for c in policy if _local(c.tag) != "domain"},
        repairs,
    )
