"""Building an SPF record from what sends for a domain: its MX hosts, its A record, addresses, and
the includes of the services it uses (kept as data with their source). The record is evaluated
as receivers would before it is offered; over 10 DNS lookups it is flattened to the addresses the
lookups give, with what that costs said."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from maildoctor.data import load_json
from maildoctor.dns.answer import Resolver
from maildoctor.dns.overlay import OverlayResolver
from maildoctor.spf.tree import Network, SpfNode, build_tree

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4


def providers() -> dict[str, dict[str, str]]:
    return dict(load_json("spf_providers.json")["providers"])


@dataclass
class SpfBuild:
    domain: str
    record: str
    lookups: int
    tree: SpfNode
    flattened: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"domain": self.domain, "record": self.record, "lookups": self.lookups, "flattened": self.flattened, "notes": self.notes}


def include_of(name: str) -> tuple[str, str]:
    """A provider's key (google, mailchimp, ...) or a domain: the include and where it comes from."""
    known = providers().get(name.lower())
    if known is not None:
        return known["include"], f"{known['name']}: {known['source']}"
    return name.lower().rstrip("."), ""


def parse_network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address or network") from None


async def build_spf(
    resolver: Resolver, domain: str, mx: bool, a: bool, ips: list[str], includes: list[str], all_term: str = "~all"
) -> SpfBuild:
    networks = [parse_network(ip) for ip in ips]
    terms = (["mx"] if mx else []) + (["a"] if a else [])
    terms += [f"ip{n.version}:{n.with_prefixlen if n.prefixlen < n.max_prefixlen else n.network_address}" for n in networks]
    notes = []
    for name in includes:
        include, source = include_of(name)
        terms.append(f"include:{include}")
        if source:
            notes.append(f"include:{include} is {source}")
    if not terms:
        raise ValueError("say what sends mail for the domain: --mx, --a, --ip or --include")
    record = " ".join(["v=spf1", *terms, all_term])
    tree = await build_tree(OverlayResolver(resolver, {domain: [record]}), domain)
    for child in tree.children:
        if child.status in ("none", "nxdomain"):
            notes.append(f"{child.via} publishes no SPF record: receivers give permerror for every message (check the name)")
        elif child.status == "temperror":
            notes.append(f"{child.via} could not be read here: its own DNS lookups are not counted")
    build = SpfBuild(domain, record, tree.total_lookups, tree, notes=notes)
    if build.lookups > LOOKUP_LIMIT:
        _flatten(build, networks, all_term)
    return build


def _flatten(build: SpfBuild, given: list[Network], all_term: str) -> None:
    """Replace every lookup by the addresses it gives now: no lookup left, at the price of
    following the services' changes by hand."""
    resolved = build.tree.all_networks()
    unique = list(dict.fromkeys([*given, *resolved]))
    terms = [f"ip{n.version}:{n.with_prefixlen if n.prefixlen < n.max_prefixlen else n.network_address}" for n in unique]
    before = build.lookups
    macros = [term for node in build.tree.walk() for term in node.unresolved]
    if macros:
        build.notes.append(
            "left out of the flattened record, as they depend on each message: "
            + ", ".join(dict.fromkeys(macros))
            + " (ask the service for its addresses, or include it and drop another)"
        )
    build.record = " ".join(["v=spf1", *terms, all_term])
    build.lookups, build.flattened = 0, True
    build.notes.append(
        f"the record needs {before} DNS lookups, over the limit of {LOOKUP_LIMIT} (receivers then give permerror): it is"
        f" flattened to the {len(unique)} networks they give today. The services change their addresses without notice:"
        " build it again every month (or when a service says so), or drop the services you no longer use."
    )
