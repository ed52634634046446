"""Authoritative answers from zone files: the zone-file backend and the test DNS server share this."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from maildoctor.dns.answer import Answer, Outcome, normalize_name, rdtype_of, to_dns_name
from maildoctor.records.zonefile import LoadedZone, scan_zone

MAX_CNAME_CHAIN = 8
OUTSIDE_ZONES = "not in the zones served"


class ZoneLoadError(Exception):
    """A zone file that cannot be read; carries the file and the parser's reason with its line."""


class NotAZone(ZoneLoadError):
    """A file that parses but is no domain's zone (no records, no SOA, an origin that is no domain):
    an input error, not a zone to report findings on."""


def load_zone_text(text: str, origin: str | None, path: Path | None = None) -> LoadedZone:
    where = str(path) if path else "<zone>"
    try:
        zone = dns.zone.from_text(
            text,
            origin=to_dns_name(origin) if origin else None,
            relativize=False,
            check_origin=False,
            filename=where,
        )
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ZoneLoadError(_locate_error(text, origin, where) or f"{where}: {exc}".replace(f"{where}: {where}", where)) from exc
    if zone.origin is None:  # no $ORIGIN and no record to take it from
        raise NotAZone(f"{where}: no records and no $ORIGIN: an empty zone file?")
    return LoadedZone(zone.origin, zone, path)


def _locate_error(text: str, origin: str | None, where: str) -> str | None:
    """Name the exact entry whose data does not parse (dnspython's line is the one after it)."""
    try:
        start = to_dns_name(origin) if origin else dns.name.root
        entries = scan_zone(text, start, where)
    except dns.exception.DNSException:
        return None
    for entry in entries:
        try:
            dns.rdata.from_text(dns.rdataclass.IN, entry.rdtype, entry.rdata, origin=entry.origin)
        except dns.exception.DNSException as exc:
            if _type_or_zero(entry.rdtype) == 0:
                return f"{where}:{entry.line}: unknown record type {entry.rdtype!r}: {entry.source_line}"
            return f"{where}:{entry.line}: {entry.rdtype} data {entry.rdata!r} does not parse ({exc}): {entry.source_line}"
    return None


def _type_or_zero(rdtype: str) -> int:
    try:
        return dns.rdatatype.from_text(rdtype)
    except dns.exception.DNSException:
        return 0


def read_zone_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZoneLoadError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ZoneLoadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def has_origin_directive(text: str) -> bool:
    return any(line.lstrip().upper().startswith("$ORIGIN") for line in text.splitlines())


def origin_from_filename(path: Path) -> str | None:
    name = path.name
    for suffix in (".zone", ".db", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


class ZoneSet:
    """A set of zones answering like authoritative servers (CNAMEs followed across the set)."""

    def __init__(self, zones: list[LoadedZone] | None = None) -> None:
        self.zones: list[LoadedZone] = []
        self._names: dict[dns.name.Name, set[dns.name.Name]] = {}
        for z in zones or []:
            self.add(z)

    @classmethod
    def from_paths(cls, paths: list[Path], origin: str | None = None) -> ZoneSet:
        zones: list[LoadedZone] = []
        for path in paths:
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".zone", ".db")) if path.is_dir() else [path]
            for file in files:
                text = read_zone_file(file)
                zones.append(load_zone_text(text, origin or _origin_if_missing(text, file), file))
        return cls(zones)

    def add(self, loaded: LoadedZone) -> None:
        self.zones.append(loaded)
        self.zones.sort(key=lambda z: -len(z.origin.labels))
        self._names[loaded.origin] = loaded.existing_names()

    def refresh(self, loaded: LoadedZone) -> None:
        """Re-index a zone whose records were changed in place."""
        self._names[loaded.origin] = loaded.existing_names()

    def zone_for(self, name: dns.name.Name) -> LoadedZone | None:
        for z in self.zones:
            if name.is_subdomain(z.origin):
                return z
        return None

    def lookup(self, name: str, rdtype: str) -> Answer:
        qname = to_dns_name(name)
        wanted = rdtype_of(rdtype)
        cnames: list[str] = []
        current = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            loaded = self.zone_for(current)
            if loaded is None:
                if cnames:  # a CNAME led out of the zones we serve: the chain ends there
                    return Answer(normalize_name(qname), rdtype.upper(), Outcome.NXDOMAIN, cnames=tuple(cnames))
                return Answer(normalize_name(qname), rdtype.upper(), Outcome.REFUSED, detail=OUTSIDE_ZONES)
            node = loaded.zone.get_node(current) or self._wildcard(loaded, current)
            if node is None:
                outcome = Outcome.NODATA if current in self._names[loaded.origin] else Outcome.NXDOMAIN
                return Answer(normalize_name(qname), rdtype.upper(), outcome, cnames=tuple(cnames))
            rdataset = node.get_rdataset(dns.rdataclass.IN, wanted)
            if rdataset is not None:
                return Answer(
                    normalize_name(qname),
                    rdtype.upper(),
                    Outcome.ANSWER,
                    records=tuple(rdataset),
                    cnames=tuple(cnames),
                    ttl=rdataset.ttl,
                )
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or wanted == dns.rdatatype.CNAME:
                return Answer(normalize_name(qname), rdtype.upper(), Outcome.NODATA, cnames=tuple(cnames))
            current = cname[0].target
            cnames.append(normalize_name(current))
        return Answer(normalize_name(qname), rdtype.upper(), Outcome.SERVFAIL, cnames=tuple(cnames), detail="CNAME chain too long")

    def _wildcard(self, loaded: LoadedZone, name: dns.name.Name) -> dns.node.Node | None:
        """RFC 4592: a wildcard at the closest encloser answers for names that do not exist."""
        existing = self._names[loaded.origin]
        candidate = name
        while candidate != loaded.origin and len(candidate.labels) > 1:
            candidate = candidate.parent()
            if candidate in existing:
                return loaded.zone.get_node(dns.name.Name((b"*",) + candidate.labels))
        return None


def _origin_if_missing(text: str, path: Path) -> str | None:
    """Files without $ORIGIN take their origin from the file name (example.com.zone)."""
    if has_origin_directive(text):
        return None
    return origin_from_filename(path)
