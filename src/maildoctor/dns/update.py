"""Sending a change set as an RFC 2136 dynamic update, signed with a TSIG key (RFC 8945), to the
server the user names; and reading the key from a BIND key file (what tsig-keygen writes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from maildoctor.records.change import RecordChange

KEY_CLAUSE = re.compile(r'key\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', re.S)


class UpdateError(Exception):
    """The update could not be made: the key file, the server or its answer says why."""


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str
    secret: str  # base64


def read_tsig_key(path: Path) -> TsigKey:
    """The first key of a BIND key file (key "name" { algorithm hmac-sha256; secret "..."; };)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UpdateError(f"cannot read the TSIG key file {path}: {exc.strerror}") from None
    found = KEY_CLAUSE.search(text)
    algorithm = re.search(r"algorithm\s+\"?([\w.-]+)\"?\s*;", found.group(2)) if found else None
    secret = re.search(r'secret\s+"([^"]+)"\s*;', found.group(2)) if found else None
    if found is None or algorithm is None or secret is None:
        raise UpdateError(f'{path} is not a BIND key file: expected key "name" {{ algorithm ...; secret "..."; }};')
    return TsigKey(found.group(1), algorithm.group(1).lower(), secret.group(1))


def send_update(zone: str, changes: list[RecordChange], host: str, port: int, key: TsigKey | None, timeout: float = 10.0) -> None:
    """Send the changes as one update over TCP; raise UpdateError unless the server says NOERROR."""
    origin = dns.name.from_text(zone)
    keyring = dns.tsigkeyring.from_text({key.name: key.secret}) if key else None
    update = dns.update.UpdateMessage(
        origin,
        keyring=keyring,
        keyname=dns.name.from_text(key.name) if key else None,
        keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
    )
    try:
        for change in changes:
            name = dns.name.from_text(change.name, origin=dns.name.root)
            rdtype = dns.rdatatype.from_text(change.type)
            if change.old:
                update.delete(name, dns.rdata.from_text(dns.rdataclass.IN, rdtype, change.old, origin=dns.name.root))
            if change.new:
                new = dns.rdata.from_text(dns.rdataclass.IN, rdtype, change.new, origin=dns.name.root)
                update.add(name, change.ttl if change.ttl is not None else 3600, new)
        reply = dns.query.tcp(update, host, port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError) as exc:
        raise UpdateError(f"the update to {host} port {port} failed: {exc}") from None
    if reply.rcode() != dns.rcode.NOERROR:
        raise UpdateError(f"{host} refused the update: {dns.rcode.to_text(reply.rcode())}")
