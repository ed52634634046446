"""Zone-file lint: mistakes in how a zone file is written, found before it is published."""

from __future__ import annotations

from collections import defaultdict

import dns.name
import dns.rdataclass
import dns.rdatatype

from maildoctor.checks.registry import AuditContext, check
from maildoctor.findings import Finding, make_finding
from maildoctor.records import change
from maildoctor.records.change import RecordChange
from maildoctor.records.zonefile import ZoneEntry, ZoneSource


def _show(entry: ZoneEntry) -> str:
    return f"line {entry.line}: {entry.source_line}"


def _relative(name: dns.name.Name, origin: dns.name.Name) -> str:
    return "@" if name == origin else name.relativize(origin).to_text()


@check("zone", emits=("zone.owner_missing_dot", "zone.localhost_record", "zone.ttl_mismatch", "zone.txt_escaped"), needs_zone=True)
async def check_zone_file(ctx: AuditContext) -> list[Finding]:
    assert ctx.zone is not None
    source = ctx.zone
    return _missing_dots(source) + _localhost(source) + _ttl_mismatches(source) + _escaped_txt(source)


def _missing_dots(source: ZoneSource) -> list[Finding]:
    moved: dict[dns.name.Name, list[ZoneEntry]] = defaultdict(list)
    for entry in source.entries:
        text = entry.owner_text
        if not text or text == "@" or text.endswith(".") or entry.origin == dns.name.root:
            continue
        written = dns.name.from_text(text, origin=None)
        if written.is_subdomain(entry.origin.relativize(dns.name.root)):
            moved[entry.owner].append(entry)
    findings = []
    for owner, entries in moved.items():
        owner_text = entries[0].owner_text or ""
        meant = owner_text + "."
        origin = entries[0].origin.to_text()
        rewritten = [e.source_line.replace(owner_text, meant if meant.lower() != origin.lower() else "@", 1) for e in entries]
        types = ", ".join(sorted({e.rdtype for e in entries}))
        findings.append(
            make_finding(
                "zone.owner_missing_dot",
                f"{len(entries)} record(s) written as {owner_text} land at {owner.to_text()}",
                f"The owner {owner_text!r} has no trailing dot, so under $ORIGIN {origin} it is relative and"
                f" becomes {owner.to_text()} The {types} record(s) meant for {meant} are published at the"
                f" wrong name; {meant} itself does not have them.",
                evidence=[_show(e) for e in entries],
                fix="Write the owner with a trailing dot, or as @:\n" + "\n".join(f"  {line}" for line in rewritten),
                changes=[c for e in entries for c in _moved(e, meant)],
            )
        )
    return findings


def _localhost(source: ZoneSource) -> list[Finding]:
    entries = [
        e
        for e in source.entries
        if e.owner.labels and e.owner.labels[0].lower() == b"localhost" and e.owner != dns.name.from_text("localhost.")
    ]
    if not entries:
        return []
    return [
        make_finding(
            "zone.localhost_record",
            f"A localhost name is published in {source.domain}",
            f"{entries[0].owner.to_text()} points to a loopback address in a public zone. It serves no"
            " purpose outside the server, and names in your domain that resolve to 127.0.0.1 enable"
            " same-site tricks against browsers (RFC 1912 advises against it).",
            evidence=[_show(e) for e in entries],
            fix="Remove the line(s):\n" + "\n".join(f"  {e.source_line}" for e in entries),
            changes=[change.remove(e.owner.to_text(), e.rdtype, e.rdata) for e in entries],
        )
    ]


def _ttl_mismatches(source: ZoneSource) -> list[Finding]:
    rrsets: dict[tuple[dns.name.Name, str], list[ZoneEntry]] = defaultdict(list)
    for entry in source.entries:
        rrsets[(entry.owner, entry.rdtype)].append(entry)
    findings = []
    for (owner, rdtype), entries in rrsets.items():
        ttls = {e.effective_ttl for e in entries}
        if len(ttls) < 2:
            continue
        lowest = min(t for t in ttls if t is not None)
        findings.append(
            make_finding(
                "zone.ttl_mismatch",
                f"The {rdtype} records of {owner.to_text()} have different TTLs",
                f"One RRset is given TTLs {', '.join(str(t) for t in sorted(t for t in ttls if t is not None))}."
                f" RFC 2181 §5.2 makes this an error; servers and resolvers use one of them (usually"
                f" {lowest}), so the TTL written is not the TTL served.",
                evidence=[_show(e) for e in entries],
                fix=f"Give every {rdtype} record of {_relative(owner, source.origin)} the same TTL.",
            )
        )
    return findings


def _escaped_txt(source: ZoneSource) -> list[Finding]:
    """Double escaping outside DKIM/SPF/DMARC (those areas report it themselves, with more to say)."""
    findings = []
    for name, node in source.loaded.zone.nodes.items():
        labels = [label.lower() for label in name.labels]
        if b"_domainkey" in labels or b"_dmarc" in labels:
            continue
        rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
        if rdataset is None:
            continue
        for rd in rdataset:
            text = b"".join(rd.strings).decode("utf-8", "backslashreplace")
            if "\\" in text and not text.lower().startswith("v=spf1"):
                findings.append(
                    make_finding(
                        "zone.txt_escaped",
                        f"The TXT record of {name.to_text()} contains literal backslashes",
                        f"The published text is {text!r}: the backslashes were escaped twice in the zone"
                        " file (\\\\), so they are part of the data and whatever reads it sees them.",
                        evidence=[f"{name.to_text()} TXT {rd.to_text()}"],
                        fix="Write the character itself (or a single backslash escape) in the zone file:\n  "
                        + f'{_relative(name, source.origin)} {rdataset.ttl} IN TXT "{text.replace(chr(92), "")}"',
                    )
                )
    return findings


def _moved(entry: ZoneEntry, meant: str) -> list[RecordChange]:
    """A record published at the wrong name: gone from there, added where it was meant."""
    ttl = entry.effective_ttl if entry.effective_ttl is not None else 3600
    return [change.remove(entry.owner.to_text(), entry.rdtype, entry.rdata), change.add(meant, ttl, entry.rdtype, entry.rdata)]
