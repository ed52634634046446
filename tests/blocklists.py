"""Blocklist zones for the test DNS server: every list of a catalog, with the listings a test wants."""

from __future__ import annotations

from maildoctor.dns.zonedata import LoadedZone, load_zone_text
from maildoctor.dnsbl.catalog import Blocklist
from maildoctor.dnsbl.lookup import Subject

Listing = tuple[str, str, str]  # (IP or domain, answer, TXT reason or "")


def blocklist_zone(blocklist: Blocklist, listings: list[Listing] = (), test_entry: bool = True) -> LoadedZone:
    lines = [f"$ORIGIN {blocklist.query_zone}.", "$TTL 300", "@ IN SOA ns h 1 2 3 4 5", "@ IN NS ns"]
    entries = [(Subject.parse(subject), answer, reason) for subject, answer, reason in listings]
    if test_entry and blocklist.test:
        entries.append((Subject.test_entry(blocklist), _listed_answer(blocklist), ""))
    for subject, answer, reason in entries:
        owner = subject.query_name(blocklist.query_zone) + "."
        lines.append(f"{owner} IN A {answer}")
        if reason:
            lines.append(f'{owner} IN TXT "{reason}"')
    return load_zone_text("\n".join(lines) + "\n", None)


def _listed_answer(blocklist: Blocklist) -> str:
    if blocklist.bitmask:
        return f"127.0.0.{sum(int(c.answer) for c in blocklist.codes) & 255}"
    listing = [c.answer for c in blocklist.codes if c.severity != "none"]
    return listing[0] if listing else "127.0.0.2"
