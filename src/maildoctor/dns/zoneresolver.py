"""The zone-file backend: answers from local zone files, no network."""

from __future__ import annotations

from maildoctor.dns.answer import Answer
from maildoctor.dns.zonedata import ZoneSet


class ZoneResolver:
    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones

    async def query(self, name: str, rdtype: str) -> Answer:
        return self.zones.lookup(name, rdtype)
