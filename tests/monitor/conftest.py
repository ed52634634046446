"""What the monitor tests share: a DNS server with every blocklist of the catalog (their test
entries listed) and a watched domain, records changed in place while the monitor runs, and a
webhook receiver on loopback."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.dnsbl.lookup import Subject
from maildoctor.testing.dnsserver import TestDnsServer
from tests.blocklists import blocklist_zone
from tests.keys import publish_txt, rsa_p

WATCHED = """$ORIGIN watched.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 10 mail
mail IN A 192.0.2.25
out IN A 192.0.2.77
out2 IN A 192.0.2.78
relay-a IN A 192.0.2.10
relay-b IN A 192.0.2.11
@ IN TXT "v=spf1 ip4:192.0.2.25 -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@watched.test"
"""
PROBED = """$ORIGIN probed.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 10 mx
mx IN A 127.0.0.1
@ IN TXT "v=spf1 mx -all"
"""
REVERSE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ IN SOA ns.watched.test. h.watched.test. 1 2 3 4 5
@ IN NS ns.watched.test.
25 IN PTR mail.watched.test.
77 IN PTR out.watched.test.
78 IN PTR out2.watched.test.
10 IN PTR relay-a.watched.test.
11 IN PTR relay-b.watched.test.
"""
ZEN = "zen.spamhaus.org"


class Zones:
    """The server's zones, changed in place (the server answers from them as they are)."""

    def __init__(self) -> None:
        self.set = ZoneSet(
            [
                load_zone_text(WATCHED, None),
                load_zone_text(PROBED, None),
                load_zone_text(REVERSE, None),
                *(blocklist_zone(b) for b in shipped_catalog()),
            ]
        )
        publish_txt(self.set, "default._domainkey.watched.test", f"v=DKIM1; k=rsa; p={rsa_p()}")

    def list_ip(self, ip: str, zone: str = ZEN, answer: str = "127.0.0.2") -> None:
        owner = dns.name.from_text(Subject.parse(ip).query_name(zone))
        loaded = self.set.zone_for(owner)
        assert loaded is not None
        node = loaded.zone.find_node(owner, create=True)
        node.find_rdataset(dns.rdataclass.IN, dns.rdatatype.A, create=True).add(dns.rdata.from_text("IN", "A", answer), 300)
        self.set.refresh(loaded)

    def delist_ip(self, ip: str, zone: str = ZEN) -> None:
        self.remove(Subject.parse(ip).query_name(zone))

    def remove(self, name: str) -> None:
        owner = dns.name.from_text(name)
        loaded = self.set.zone_for(owner)
        assert loaded is not None
        loaded.zone.delete_node(owner)
        self.set.refresh(loaded)


@pytest.fixture
def zones() -> Zones:
    return Zones()


@pytest.fixture
def dns_watch(zones: Zones) -> Iterator[TestDnsServer]:
    with TestDnsServer(zones.set) as server:
        yield server


@dataclass
class Hook:
    url: str
    received: list[dict[str, object]] = field(default_factory=list)

    def events(self, kind: str | None = None) -> list[dict[str, object]]:
        return [e for e in list(self.received) if kind is None or e.get("event") == kind]


@pytest.fixture
def hook() -> Iterator[Hook]:
    received: list[dict[str, object]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hook(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    finally:
        server.shutdown()
