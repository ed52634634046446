"""What is being audited: a domain with its sending IPs and DKIM selectors."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import idna

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def to_ascii(name: str) -> str:
    """A domain in its ASCII form by UTS #46 (IDNA 2008, nontransitional: straße.de is
    xn--strae-oqa.de, not strasse.de); A-labels are checked to decode. ValueError says why not.

    Labels that are plain ASCII are left as they are: underscores (_dmarc, _domainkey) are DNS,
    not IDNA, and must pass."""
    if name.isascii() and "xn--" not in name:
        return name
    try:
        ascii_labels = []
        for label in name.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".").split("."):
            if label.isascii() and not label.startswith("xn--"):
                ascii_labels.append(label.lower())
            else:
                ascii_labels.append(idna.encode(label, uts46=True, transitional=False).decode("ascii"))
        return ".".join(ascii_labels)
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"{name!r} is not a valid internationalized domain name ({exc})") from None


def parse_domain(text: str) -> str:
    """A domain name as users type it, normalized; ValueError with the reason otherwise."""
    name = text.strip().rstrip(".").rstrip("\u3002\uff0e\uff61")
    if "@" in name:
        name = name.rsplit("@", 1)[1]
    name = to_ascii(name).lower()
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"{text!r} is not a valid domain name (expected something like example.com)")
    return name


def is_ip_literal(text: str) -> bool:
    """An IP address (192.0.2.1, [2001:db8::1]) where a host name is expected: an MX target, a link's host."""
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def parse_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


@dataclass
class Target:
    domain: str
    ips: list[str] = field(default_factory=list)
    dkim_selectors: list[str] = field(default_factory=list)  # given by the user: a key must exist
    known_selectors: list[str] = field(default_factory=list)  # found in the zone, in reports or in a message
    discover_selectors: bool = True  # also try the common and the providers' selectors
    smtp: str | None = None  # HOST[:PORT] to probe
    probe: bool = False  # probe every MX host on port 25, and fetch the MTA-STS policy
    cafile: str | None = None  # extra CA certificates to trust (private CAs)
    blocklists: str | None = None  # the user's own blocklist catalog (TOML), instead of the shipped one
    link_domains: list[str] = field(default_factory=list)  # domains a message links to: looked up on the domain blocklists
    spamhaus_dqs_key: str | None = None  # ask Spamhaus through its Data Query Service (works through public resolvers)
    https_port: int = 443  # where the MTA-STS policy is fetched; only tests change it
    smtp_port: int = 25  # where --probe connects to each MX host; a lab or the tests change it


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT, IPv4:PORT, [IPv6]:PORT or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: expected [IPv6]:PORT")
        port = rest[1:] or str(default_port)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, str(default_port)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    if not host:
        raise ValueError(f"{text!r}: no host")
    if ":" not in host:
        try:
            parse_ip(host)
        except ValueError:
            host = parse_domain(host)
    return host, int(port)
