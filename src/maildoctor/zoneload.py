"""Reading a zone file for the offline audit: text, parsed zone and the scanned entries."""

from __future__ import annotations

from pathlib import Path

import dns.name

from maildoctor.dns.zonedata import ZoneLoadError, has_origin_directive, load_zone_text, origin_from_filename, read_zone_file
from maildoctor.records.zonefile import ZoneSource, scan_zone


def read_zone_source(path: Path, origin: str | None = None) -> ZoneSource:
    text = read_zone_file(path)
    if origin is None and not has_origin_directive(text):
        origin = origin_from_filename(path)
        if origin is None:
            raise ZoneLoadError(f"{path}: no $ORIGIN in the file; give the zone's name with --origin")
    loaded = load_zone_text(text, origin, path)
    start = dns.name.from_text(origin) if origin else loaded.origin
    return ZoneSource(text=text, origin=loaded.origin, loaded=loaded, path=path, entries=scan_zone(text, start, str(path)))
