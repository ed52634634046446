"""Reading a zone file for the offline audit: text, parsed zone and the scanned entries."""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdatatype

from maildoctor.dns.zonedata import NotAZone, ZoneLoadError, has_origin_directive, load_zone_text, origin_from_filename, read_zone_file
from maildoctor.records.zonefile import LoadedZone, ZoneSource, scan_zone
from maildoctor.target import parse_domain


def read_zone_source(path: Path, origin: str | None = None) -> ZoneSource:
    return zone_source(read_zone_file(path), path, origin)


def zone_source(text: str, path: Path, origin: str | None = None) -> ZoneSource:
    """A zone file's text as the zone audit reads it (`path` names it in messages and gives the
    origin when the text has no $ORIGIN and none is given)."""
    if origin is None and not has_origin_directive(text):
        origin = origin_from_filename(path)
        if origin is None:
            raise ZoneLoadError(f"{path}: no $ORIGIN in the file; give the zone's name with --origin")
    loaded = load_zone_text(text, origin, path)
    _check_is_a_domain_zone(loaded, path)
    start = dns.name.from_text(origin) if origin else loaded.origin
    return ZoneSource(text=text, origin=loaded.origin, loaded=loaded, path=path, entries=scan_zone(text, start, str(path)))


def _check_is_a_domain_zone(loaded: LoadedZone, path: Path) -> None:
    """What the zone audit can audit: a domain's zone, with records and its SOA (RFC 1035 §5.2);
    anything else is an input error, not a zone with findings."""
    origin = loaded.origin.to_text().rstrip(".")
    try:
        parse_domain(origin)
    except ValueError:
        raise NotAZone(f"{path}: the origin {origin!r} is not a domain name; name the file DOMAIN.zone or give --origin") from None
    if not any(loaded.zone.nodes):
        raise NotAZone(f"{path}: no records")
    if loaded.zone.get_rdataset(loaded.origin, dns.rdatatype.SOA) is None:
        raise NotAZone(f"{path}: no SOA record at {origin}: a zone file starts with its SOA (RFC 1035 §5.2)")
