"""DMARC aggregate reports (RFC 7489 appendix C, and DMARCbis' namespaced form), read as a stream:
each <record> is handed on and dropped as soon as it is read, so memory does not grow with the
report. XML entities, DTDs and external references are refused (defusedxml)."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse


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


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _record(element: Element) -> AggregateRecord:
    row = next(iter(_children(element, "row")), None)
    if row is None:
        raise ReportError("a <record> without <row>")
    ip = _text(row, "source_ip")
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        raise ReportError(f"source_ip {ip!r} is not an IP address") from None
    count_text = _text(row, "count")
    if not count_text.isdigit():
        raise ReportError(f"count {count_text!r} of {ip} is not a number")
    evaluated = next(iter(_children(row, "policy_evaluated")), None)
    identifiers = next(iter(_children(element, "identifiers")), None)
    results = next(iter(_children(element, "auth_results")), None)
    record = AggregateRecord(
        source_ip=ip, count=int(count_text), disposition=_text(evaluated, "disposition").lower(),
        dkim=_text(evaluated, "dkim").lower(), spf=_text(evaluated, "spf").lower(),
        header_from=_text(identifiers, "header_from").lower(), envelope_from=_text(identifiers, "envelope_from").lower(),
    )
    if evaluated is not None:
        record.reasons = [_text(r, "type").lower() for r in _children(evaluated, "reason")]
    if results is not None:
        record.dkim_results = [(_text(d, "domain").lower(), _text(d, "selector").lower(), _text(d, "result").lower())
                               for d in _children(results, "dkim")]
        record.spf_results = [(_text(s, "domain").lower(), _text(s, "scope").lower() or "mfrom", _text(s, "result").lower())
                              for s in _children(results, "spf")]
    return record


def parse_aggregate(stream: IO[bytes], name: str = "report") -> Iterator[AggregateMeta | AggregateRecord]:
    """The report's metadata first, then its records one by one. ReportError names what is wrong."""
    meta_parts: dict[str, Element] = {}
    waiting: list[AggregateRecord] = []
    meta: AggregateMeta | None = None
    root = ""
    complete = False  # </feedback> seen: what follows (an unclosed wrapper) does not matter
    try:
        for _, element in iterparse(stream, events=("end",), forbid_dtd=True):
            tag = root = _local(element.tag)  # the last end is the root's; some senders wrap <feedback>: accepted
            if tag in ("report_metadata", "policy_published"):
                meta_parts[tag] = element
                if meta is None and len(meta_parts) == 2:
                    meta = _meta(meta_parts, name)
                    yield meta
                    yield from waiting
                    waiting.clear()
            elif tag == "feedback":
                complete = True
            elif tag == "record":
                record = _record(element)
                element.clear()
                if meta is None:
                    waiting.append(record)
                else:
                    yield record
    except ParseError as exc:
        if not (complete and meta is not None):
            raise ReportError(f"{name}: not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:
        raise ReportError(f"{name}: refused: {type(exc).__name__} (entity or DTD tricks in a report are an attack)") from None
    if meta is None:
        raise ReportError(f"{name}: no <report_metadata> and <policy_published> (root <{root}>): not a DMARC aggregate report")


def _meta(parts: dict[str, Element], name: str) -> AggregateMeta:
    meta, policy = parts["report_metadata"], parts["policy_published"]
    org, report_id, domain = _text(meta, "org_name"), _text(meta, "report_id"), _text(policy, "domain").lower()
    begin, end = _text(meta, "date_range", "begin"), _text(meta, "date_range", "end")
    missing = [n for n, v in (("org_name", org), ("report_id", report_id), ("policy_published/domain", domain)) if not v]
    if missing:
        raise ReportError(f"{name}: missing {', '.join(missing)}")
    if not (begin.isdigit() and end.isdigit()):
        raise ReportError(f"{name}: date_range {begin!r}..{end!r} is not two UNIX times")
    return AggregateMeta(org, report_id, _text(meta, "email"), int(begin), int(end), domain,
                         {_local(c.tag): (c.text or "").strip() for c in policy if _local(c.tag) != "domain"})

