"""Public recursive resolvers: several blocklists refuse them (Spamhaus answers 127.255.255.254)
or cannot tell their users apart, so a lookup through one says nothing about a listing."""

from __future__ import annotations

import ipaddress
from typing import Any

# The anycast addresses of the large public resolvers (and their IPv6 forms).
_PUBLIC = {
    "Google Public DNS": ("8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"),
    "Cloudflare 1.1.1.1": (
        "1.1.1.1",
        "1.0.0.1",
        "1.1.1.2",
        "1.0.0.2",
        "1.1.1.3",
        "1.0.0.3",
        "2606:4700:4700::1111",
        "2606:4700:4700::1001",
    ),
    "Quad9": ("9.9.9.9", "149.112.112.112", "9.9.9.10", "149.112.112.10", "9.9.9.11", "2620:fe::fe", "2620:fe::9", "2620:fe::10"),
    "OpenDNS": ("208.67.222.222", "208.67.220.220", "208.67.222.123", "208.67.220.123", "2620:119:35::35", "2620:119:53::53"),
    "AdGuard DNS": ("94.140.14.14", "94.140.15.15", "2a10:50c0::ad1:ff", "2a10:50c0::ad2:ff"),
    "Yandex DNS": ("77.88.8.8", "77.88.8.1"),
    "Level3/CenturyLink": ("4.2.2.1", "4.2.2.2", "4.2.2.3", "4.2.2.4", "4.2.2.5", "4.2.2.6"),
    "DNS.WATCH": ("84.200.69.80", "84.200.70.40"),
    "Comodo Secure DNS": ("8.26.56.26", "8.20.247.20"),
    "CleanBrowsing": ("185.228.168.9", "185.228.169.9"),
    "Control D": ("76.76.2.0", "76.76.10.0"),
}
_BY_ADDRESS = {ipaddress.ip_address(a): name for name, addresses in _PUBLIC.items() for a in addresses}


def public_resolver_name(address: str) -> str | None:
    """The operator of a public resolver at this address, or None."""
    try:
        return _BY_ADDRESS.get(ipaddress.ip_address(address))
    except ValueError:
        return None


def upstream_addresses(resolver: Any) -> list[str]:
    """The name server addresses a resolver chain (tracer, cache, live client) finally asks."""
    seen = 0
    while resolver is not None and seen < 8:  # each wrapper holds the next one in .inner
        nameservers = getattr(resolver, "nameservers", None)
        if nameservers is not None:
            return [getattr(ns, "host", str(ns)) for ns in nameservers]
        resolver, seen = getattr(resolver, "inner", None), seen + 1
    return []


def public_resolvers_in(resolver: Any) -> list[tuple[str, str]]:
    """(address, operator) of the public resolvers among those the chain asks."""
    return [(a, name) for a in upstream_addresses(resolver) if (name := public_resolver_name(a))]
