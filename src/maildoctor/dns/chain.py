"""Zone files first, live DNS for names outside them (--zone together with --nameserver)."""

from __future__ import annotations

from maildoctor.dns.answer import Answer, Outcome, Resolver
from maildoctor.dns.zonedata import ZoneSet


class ZonesThenResolver:
    def __init__(self, zones: ZoneSet, fallback: Resolver) -> None:
        self.zones = zones
        self.fallback = fallback

    async def query(self, name: str, rdtype: str) -> Answer:
        answer = self.zones.lookup(name, rdtype)
        if answer.outcome is Outcome.REFUSED and not answer.cnames:
            return await self.fallback.query(name, rdtype)
        return answer
