"""Keys made in the tests (never committed): DKIM key records from freshly generated keys."""

from __future__ import annotations

import base64
from functools import cache

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from maildoctor.dns.zonedata import ZoneSet


@cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def rsa_p(bits: int = 2048) -> str:
    der = rsa_key(bits).public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def ed25519_p() -> str:
    raw = ed25519_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def txt_rdata(text: str) -> dns.rdata.Rdata:
    data = text.encode()
    wire = b"".join(len(c).to_bytes(1, "big") + c for c in (data[i : i + 255] for i in range(0, len(data), 255)))
    return dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TXT, wire, 0, len(wire))


def publish_txt(zones: ZoneSet, name: str, *texts: str) -> None:
    """Add TXT records to the zone that holds name (records, not files: keys are made per run)."""
    owner = dns.name.from_text(name)
    loaded = zones.zone_for(owner)
    assert loaded is not None, name
    node = loaded.zone.find_node(owner, create=True)
    rdataset = node.find_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT, create=True)
    for text in texts:
        rdataset.add(txt_rdata(text), 300)
    zones.refresh(loaded)
