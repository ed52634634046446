"""Record changes applied to a zone file as written: the entries a change removes or replaces are
found by their data (not their spelling), new records go after the owner's last entry (or at the
end), every other line stays as it was, comments and formatting included, and the SOA serial is
bumped. Pure: text in, text out."""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase

from maildoctor.records.change import RecordChange
from maildoctor.records.zonefile import ZoneEntry, scan_zone


@dataclass
class ZonePatch:
    text: str  # the zone with the changes applied
    applied: list[RecordChange] = field(default_factory=list)
    outside: list[RecordChange] = field(default_factory=list)  # names outside the zone: for their owner to change
    missing: list[RecordChange] = field(default_factory=list)  # what they remove or replace is not in the file
    serial: tuple[int, int] | None = None  # the SOA serial before and after

    def diff(self, original: str, filename: str) -> str:
        """The patch as a unified diff of the file."""
        lines = difflib.unified_diff(
            original.splitlines(keepends=True), _ending(self.text).splitlines(keepends=True), f"a/{filename}", f"b/{filename}"
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _ending(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def split_comment(line: str) -> tuple[str, str]:
    """A zone-file line as its data and its comment (from the first ';' outside quotes)."""
    quoted = escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[:index], line[index:]
    return line, ""


def same_data(rdtype: str, written: str, written_origin: dns.name.Name, data: str) -> bool:
    """Whether an entry's data (as written, relative to its $ORIGIN) is the change's data
    (absolute names; TXT compared as the strings joined, since their splitting differs)."""
    try:
        kind = dns.rdatatype.from_text(rdtype)
        mine = dns.rdata.from_text(dns.rdataclass.IN, kind, written, origin=written_origin, relativize=False)
        theirs = dns.rdata.from_text(dns.rdataclass.IN, kind, data, origin=dns.name.root, relativize=False)
    except (dns.exception.DNSException, ValueError):
        return written.strip() == data.strip()
    if isinstance(mine, dns.rdtypes.txtbase.TXTBase) and isinstance(theirs, dns.rdtypes.txtbase.TXTBase):
        return b"".join(mine.strings) == b"".join(theirs.strings)
    return bool(mine == theirs)


def next_serial(serial: int, today: datetime.date | None = None) -> int:
    """The serial after this one: date-based (YYYYMMDDnn) serials move to today's first number
    when they are older; any other serial counts up by one (RFC 1982 arithmetic, 32 bits)."""
    day = today or datetime.date.today()
    dated = int(day.strftime("%Y%m%d")) * 100
    if 1990010100 <= serial <= 2999123199 and serial < dated:
        return dated
    return (serial + 1) % 2**32 or 1


def patch_zone(text: str, origin: dns.name.Name, changes: list[RecordChange], notes: dict[RecordChange, str] | None = None) -> ZonePatch:
    """The zone file with the changes applied; each added record is preceded by its note (why)."""
    entries = scan_zone(text, origin)
    lines = text.splitlines()
    patch = ZonePatch(text)
    dropped: set[int] = set()  # 0-based lines removed
    rewritten: dict[int, str] = {}  # 0-based first line of an entry -> its new text
    inserted: dict[int, list[str]] = {}  # 0-based line after which new lines go (-1: at the very end)
    for change in changes:
        name = dns.name.from_text(change.name, origin=dns.name.root)
        if not name.is_subdomain(origin):
            patch.outside.append(change)
            continue
        if change.old:
            entry = _find(entries, name, change, dropped, rewritten)
            if entry is None:
                patch.missing.append(change)
                continue
            first = entry.line - 1
            if change.new:
                comment = split_comment(lines[first])[1] if entry.end_line == entry.line else ""
                rewritten[first] = _entry_text(entry, change) + (f" {comment}" if comment else "")
                dropped.update(range(first + 1, entry.end_line))
            else:
                dropped.update(range(first, entry.end_line))
                _keep_owner_for_the_next(entries, entry, lines, rewritten)
        else:
            after = max((e for e in entries if e.owner == name), key=lambda e: e.end_line, default=None)
            where = after.end_line - 1 if after is not None else -1
            owner_origin = after.origin if after is not None else (entries[-1].origin if entries else origin)
            note = (notes or {}).get(change)
            added = ([f"; maildoctor fix: {note}"] if note else []) + [_record_line(name, owner_origin, change)]
            inserted.setdefault(where, []).extend(added)
        patch.applied.append(change)
    if patch.applied:
        _bump_serial(entries, origin, lines, rewritten, patch)
    out: list[str] = []
    for index, line in enumerate(lines):
        if index in rewritten and index not in dropped:
            out.append(rewritten[index])
        elif index not in dropped:
            out.append(line)
        out += inserted.get(index, [])
    out += inserted.get(-1, [])
    patch.text = "\n".join(out) + "\n"
    return patch


def _find(
    entries: list[ZoneEntry], name: dns.name.Name, change: RecordChange, dropped: set[int], rewritten: dict[int, str]
) -> ZoneEntry | None:
    for entry in entries:
        first = entry.line - 1
        if entry.owner == name and entry.rdtype == change.type.upper() and first not in dropped and first not in rewritten:
            if same_data(entry.rdtype, entry.rdata, entry.origin, change.old):
                return entry
    return None


def _keep_owner_for_the_next(entries: list[ZoneEntry], removed: ZoneEntry, lines: list[str], rewritten: dict[int, str]) -> None:
    """An entry that inherited its owner from the removed one gets the owner written out."""
    if removed.owner_text is None:
        return
    following = next((e for e in entries if e.line > removed.end_line), None)
    if following is not None and following.owner_text is None:
        first = following.line - 1
        rewritten[first] = removed.owner_text + " " + rewritten.get(first, lines[first]).lstrip()


def _entry_text(entry: ZoneEntry, change: RecordChange) -> str:
    owner = entry.owner_text if entry.owner_text is not None else ""
    ttl = change.ttl if change.ttl is not None else entry.ttl
    return "\t".join([owner, *([str(ttl)] if ttl is not None else []), "IN", entry.rdtype, change.new])


def _record_line(name: dns.name.Name, origin: dns.name.Name, change: RecordChange) -> str:
    owner = "@" if name == origin else name.relativize(origin).to_text() if name.is_subdomain(origin) else name.to_text()
    return "\t".join([owner, str(change.ttl if change.ttl is not None else 3600), "IN", change.type.upper(), change.new])


def _bump_serial(entries: list[ZoneEntry], origin: dns.name.Name, lines: list[str], rewritten: dict[int, str], patch: ZonePatch) -> None:
    """Count up the serial where it is written: the third field after SOA, on whichever line of
    the (parenthesised) entry it stands."""
    soa = next((e for e in entries if e.rdtype == "SOA" and e.owner == origin), None)
    if soa is None:
        return
    after_soa = -1  # fields seen after the SOA keyword; -1 until it is seen
    for index in range(soa.line - 1, soa.end_line):
        line = rewritten.get(index, lines[index])
        code, comment = split_comment(line)
        for token in re.finditer(r"[^\s()]+", code):
            if after_soa < 0:
                after_soa = 0 if token.group().upper() == "SOA" else -1
                continue
            after_soa += 1
            if after_soa == 3:
                if not token.group().isdigit():
                    return
                old = int(token.group())
                new = next_serial(old)
                rewritten[index] = code[: token.start()] + str(new) + code[token.end() :] + comment
                patch.serial = (old, new)
                return
