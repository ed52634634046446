"""Reading a zone file for the offline audit: text, parsed zone and the scanned entries."""
from __future__ import annotations

from pathlib import Path

import dns.name

from maildoctor.dns.zonedata import ZoneLoadError, load_zone_text, origin_from_filename
from maildoctor.records.zonefile import ZoneSource, scan_zone


def read_zone_source(path: Path, origin: str | None = None) -> ZoneSource:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZoneLoadError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ZoneLoadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    has_origin = any(line.lstrip().upper().startswith("$ORIGIN") for line in text.splitlines())
    if origin is None and not has_origin:
        origin = origin_from_filename(path)
        if origin is None:
            raise ZoneLoadError(f"{path}: no $ORIGIN in the file; give the zone's name with --origin")
    loaded = load_zone_text(text, origin, path)
    start = dns.name.from_text(origin) if origin else loaded.origin
    return ZoneSource(text=text, origin=loaded.origin, loaded=loaded, path=path, entries=scan_zone(text, start, str(path)))
