"""A change set written for the tool that applies it: nsupdate's input (RFC 2136 dynamic update)
or octoDNS's YAML. Pure."""

from __future__ import annotations

import dns.name

from maildoctor.records.change import RecordChange


def in_zone(zone: str, change: RecordChange) -> bool:
    return dns.name.from_text(change.name, origin=dns.name.root).is_subdomain(dns.name.from_text(zone))


def nsupdate_script(zone: str, changes: list[RecordChange], server: str | None = None) -> str:
    """The input of `nsupdate -k KEYFILE`: what goes is deleted by its data, what comes is added;
    a change outside the zone (a PTR) is a comment, for the owner of that zone."""
    lines = [f"server {server}"] if server else []
    lines.append(f"zone {zone.rstrip('.')}.")
    for change in changes:
        if not in_zone(zone, change):
            lines.append(f"; outside {zone.rstrip('.')}, for its owner: {change.op} {change.name} {change.type} {change.new or change.old}")
            continue
        owner = f"{change.name.rstrip('.')}."
        if change.old:
            lines.append(f"update delete {owner} {change.type} {change.old}")
        if change.new:
            lines.append(f"update add {owner} {change.ttl if change.ttl is not None else 3600} {change.type} {change.new}")
    lines.append("send")
    return "\n".join(lines) + "\n"


def _txt_value(data: str) -> str:
    """A TXT record's data as octoDNS writes it: one string (it splits long ones itself), ';' escaped."""
    strings = [part for part in data.strip().strip('"').split('" "')]
    return "".join(strings).replace('\\"', '"').replace(";", "\\;")


def octodns_yaml(zone: str, changes: list[RecordChange]) -> str:
    """The records to add or put in place, per name, as octoDNS YAML (names relative to the zone);
    the records to delete are listed as comments, since octoDNS deletes by leaving a record out."""
    origin = dns.name.from_text(zone)
    out = ["---", f"# the records maildoctor fix changes in {zone.rstrip('.')}; merge them into the zone's file"]
    for change in changes:
        if not in_zone(zone, change):
            out.append(f"# outside {zone.rstrip('.')}, for its owner: {change.op} {change.name} {change.type} {change.new or change.old}")
        elif change.old:
            out.append(f"# remove: {change.name} {change.type} {change.old}")
    grouped: dict[str, list[RecordChange]] = {}
    for change in changes:
        if change.new and in_zone(zone, change):
            name = dns.name.from_text(change.name, origin=dns.name.root)
            relative = "" if name == origin else name.relativize(origin).to_text()
            grouped.setdefault(relative, []).append(change)
    for relative, records in grouped.items():
        out.append(f"'{relative}':")
        for change in records:
            value = _txt_value(change.new) if change.type in ("TXT", "SPF") else change.new
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f"  - type: {change.type}")
            out.append(f"    ttl: {change.ttl if change.ttl is not None else 3600}")
            out.append(f'    value: "{escaped}"')
    return "\n".join(out) + "\n"
