"""How to reach DNS, as data: the --nameserver / --zone / --timeout choice, which can be handed to
another process (the inbox's graders) and built there into a resolver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maildoctor.dns.answer import Resolver
from maildoctor.dns.chain import ZonesThenResolver
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver


@dataclass(frozen=True)
class ResolverSpec:
    nameservers: tuple[str, ...] = ()  # IP[:PORT]; empty: the system's resolvers (unless zones are given)
    zones: tuple[str, ...] = ()  # zone files or directories
    timeout: float = 2.0

    def build(self) -> Resolver:
        """ValueError for a bad nameserver, ZoneLoadError for a bad zone file, ValueError when no zone file is found."""
        servers = [Nameserver.parse(n) for n in self.nameservers]
        live = LiveResolver(servers or None, timeout=self.timeout) if servers or not self.zones else None
        if not self.zones:
            assert live is not None
            return live
        zone_set = ZoneSet.from_paths([Path(z) for z in self.zones])
        if not zone_set.zones:
            raise ValueError(f"no zone files (*.zone) found in {', '.join(self.zones)}")
        return ZonesThenResolver(zone_set, live) if live else ZoneResolver(zone_set)


def close_resolver(resolver: Resolver) -> None:
    """Close the sockets of a resolver that spec.build() made (a live one, alone or behind zones):
    a process that builds one per batch would otherwise keep every batch's sockets, and with them
    the event loop each was made on."""
    live = resolver.fallback if isinstance(resolver, ZonesThenResolver) else resolver
    if isinstance(live, LiveResolver):
        live.close()
