"""Generated benchmark domains: each with MX, SPF with an include, DMARC and a DKIM key; and the
domain blocklists an audit asks, each listing only its own test entry."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

PROVIDER = "provider.example"


def domain_name(i: int) -> str:
    return f"bench{i:05d}.example"


def _fake_key(i: int) -> str:
    # DER-sized filler for a 2048-bit RSA key record: the audit of this issue does not verify keys.
    raw = b"".join(hashlib.sha256(f"{i}:{n}".encode()).digest() for n in range(10))[:294]
    return base64.b64encode(raw).decode()


def zone_text(i: int) -> str:
    d = domain_name(i)
    key = _fake_key(i)
    key_strings = " ".join(f'"{key[j : j + 250]}"' for j in range(0, len(key), 250))
    octet = i % 250 + 1
    return f"""$ORIGIN {d}.
$TTL 3600
@ IN SOA ns1.{d}. hostmaster.{d}. 1 3600 600 86400 300
@ IN NS ns1.{d}.
ns1 IN A 127.0.0.53
@ IN MX 10 mx1.{d}.
mx1 IN A 127.0.{i // 250 % 250}.{octet}
mx1 IN AAAA ::1
@ IN TXT "v=spf1 mx include:_spf.{PROVIDER} -all"
@ IN TXT "google-site-verification=bench{i}"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"
default._domainkey IN TXT "v=DKIM1; k=rsa; p=" {key_strings}
"""


def provider_zone() -> str:
    return f"""$ORIGIN {PROVIDER}.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 127.0.0.53
_spf IN TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all"
"""


def reverse_zones(count: int) -> dict[str, str]:
    """PTRs for the MX hosts' addresses (127.0.x.y and ::1), so reverse DNS gets real answers."""
    head = "$TTL 3600\n@ IN SOA ns1.provider.example. hostmaster.provider.example. 1 3600 600 86400 300\n@ IN NS ns1.provider.example.\n"
    v4 = [head] + [f"{i % 250 + 1}.{i // 250 % 250} IN PTR mx1.{domain_name(i)}." for i in range(count)]
    v6 = [head, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mx1.bench00000.example."]
    return {"0.127.in-addr.arpa": "\n".join(v4) + "\n", "ip6.arpa": "\n".join(v6) + "\n"}


def blocklist_zones() -> dict[str, str]:
    """Every domain blocklist of the shipped catalog, listing its own test entry and nothing else:
    lists that answer, as through a resolver that reaches them (NSD alone refuses what it does
    not serve, and a list that refuses is not asked again, which would flatter the figures)."""
    from maildoctor.checks.dnsbl import shipped_catalog
    from maildoctor.dnsbl.lookup import Subject

    zones = {}
    for blocklist in shipped_catalog():
        if not blocklist.serves("domain") or not blocklist.test:
            continue
        if blocklist.bitmask:
            listed = f"127.0.0.{sum(int(c.answer) for c in blocklist.codes if c.answer.isdigit()) & 255}"
        else:
            listed = next((c.answer for c in blocklist.codes if c.severity != "none"), "127.0.0.2")
        owner = Subject.test_entry(blocklist).query_name(blocklist.query_zone)
        zones[blocklist.query_zone] = (
            f"$ORIGIN {blocklist.query_zone}.\n$TTL 300\n@ IN SOA ns1.{PROVIDER}. hostmaster.{PROVIDER}. 1 3600 600 86400 300\n"
            f"@ IN NS ns1.{PROVIDER}.\n{owner}. IN A {listed}\n"
        )
    return zones


def write_zones(directory: Path, count: int) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{PROVIDER}.zone").write_text(provider_zone())
    for origin, text in {**reverse_zones(count), **blocklist_zones()}.items():
        (directory / f"{origin}.zone").write_text(text)
    domains = []
    for i in range(count):
        name = domain_name(i)
        (directory / f"{name}.zone").write_text(zone_text(i))
        domains.append(name)
    return domains
