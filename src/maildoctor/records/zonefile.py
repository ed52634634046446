"""A zone file as written: each entry with its line, owner text and TTL, for lint rules.

dnspython parses the zone for answering; but its zone object forgets how an owner was written
and merges TTLs, which is exactly what a zone-file lint needs to see. This scanner keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.ttl
import dns.zone


@dataclass(frozen=True)
class LoadedZone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    path: Path | None = None

    def existing_names(self) -> set[dns.name.Name]:
        """Every owner name and every empty non-terminal above one (they exist, with no data)."""
        names: set[dns.name.Name] = set()
        for owner in self.zone.nodes:
            while owner not in names and owner.is_subdomain(self.origin):
                names.add(owner)
                if owner == self.origin:
                    break
                owner = owner.parent()
        return names


@dataclass(frozen=True)
class ZoneEntry:
    line: int  # 1-based line where the entry starts
    owner: dns.name.Name  # absolute, as the server will publish it
    owner_text: str | None  # as written; None when inherited from the previous entry
    origin: dns.name.Name  # $ORIGIN in force
    ttl: int | None  # as written
    effective_ttl: int | None
    rdtype: str
    rdata: str  # the rest of the entry, as written (quotes kept)
    source_line: str  # the text of the starting line
    end_line: int = 0  # 1-based line where the entry ends (a parenthesised entry spans several)


@dataclass
class ZoneSource:
    """A zone file given to the offline audit: its text, its entries and its parsed zone."""

    text: str
    origin: dns.name.Name
    loaded: LoadedZone
    path: Path | None = None
    entries: list[ZoneEntry] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return self.origin.to_text().rstrip(".").lower()

    def dkim_selectors(self) -> list[str]:
        """Selectors published in the zone: every <selector>._domainkey.<origin> name."""
        suffix = dns.name.Name((b"_domainkey",) + self.origin.labels)
        found = []
        for name in self.loaded.zone.nodes:
            if name != suffix and name.is_subdomain(suffix):
                found.append(name.relativize(suffix).to_text().lower())
        return sorted(found)


def scan_zone(text: str, origin: dns.name.Name, filename: str = "<zone>") -> list[ZoneEntry]:
    lines = text.splitlines()
    tok = dns.tokenizer.Tokenizer(text, filename)
    entries: list[ZoneEntry] = []
    current_origin = origin
    default_ttl: int | None = None
    last_ttl: int | None = None
    last_owner: dns.name.Name | None = None
    while True:
        first = tok.get(want_leading=True)
        if first.is_eof():
            break
        if first.is_eol():
            continue
        line = tok.line_number
        rest = _rest_of_entry(tok)
        end = max(line, tok.line_number - 1)  # the tokenizer stands after the entry's newline
        if first.is_whitespace():
            owner_text = None
            if not rest:
                continue
        else:
            owner_text = first.value
        if owner_text and owner_text.startswith("$"):
            directive = owner_text.upper()
            if directive == "$ORIGIN" and rest:
                current_origin = _absolute(rest[0], current_origin)
            elif directive == "$TTL" and rest:
                try:
                    default_ttl = dns.ttl.from_text(rest[0])
                except dns.exception.DNSException:
                    pass
            continue
        if owner_text is None:
            owner = last_owner or current_origin
        else:
            owner = _absolute(owner_text, current_origin)
        ttl, rdtype, rdata = _split_fields(rest)
        if ttl is not None:
            last_ttl = ttl
        effective = ttl if ttl is not None else (default_ttl if default_ttl is not None else last_ttl)
        last_owner = owner
        entries.append(
            ZoneEntry(
                line=line,
                owner=owner,
                owner_text=owner_text,
                origin=current_origin,
                ttl=ttl,
                effective_ttl=effective,
                rdtype=rdtype,
                rdata=rdata,
                source_line=lines[line - 1].strip() if 0 < line <= len(lines) else "",
                end_line=end,
            )
        )
    return entries


def _rest_of_entry(tok: dns.tokenizer.Tokenizer) -> list[str]:
    values: list[str] = []
    while True:
        token = tok.get()
        if token.is_eol_or_eof():
            if token.is_eof():
                tok.unget(token)
            return values
        values.append(f'"{token.value}"' if token.is_quoted_string() else token.value)


def _absolute(text: str, origin: dns.name.Name) -> dns.name.Name:
    if text == "@":
        return origin
    try:
        return dns.name.from_text(text, origin=origin)
    except dns.exception.DNSException:
        return origin


def _split_fields(fields: list[str]) -> tuple[int | None, str, str]:
    """[TTL] [class] type rdata, with TTL and class in either order (RFC 1035 §5.1)."""
    ttl: int | None = None
    index = 0
    while index < len(fields) and index < 2:
        value = fields[index]
        if value.upper() in ("IN", "CH", "HS", "CS"):
            index += 1
            continue
        try:
            ttl = dns.ttl.from_text(value)
            index += 1
            continue
        except dns.exception.DNSException:
            break
    rdtype = fields[index].upper() if index < len(fields) else ""
    return ttl, rdtype, " ".join(fields[index + 1 :])
