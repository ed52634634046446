"""What the inbox tests share: the sender's zones on the test DNS server, and one running inbox
(module-scoped: each test module gets its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer
from tests.inbox.server import Inbox, start_inbox
from tests.keys import publish_txt, rsa_p

SENDER = """$ORIGIN sender.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 10 mail
mail IN A 127.0.0.1
@ IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@sender.test"
"""


@pytest.fixture(scope="module")
def dns() -> Iterator[TestDnsServer]:
    zones = ZoneSet([load_zone_text(SENDER, None)])
    publish_txt(zones, "rsa._domainkey.sender.test", f"v=DKIM1; k=rsa; p={rsa_p()}")
    with TestDnsServer(zones) as server:
        yield server


@pytest.fixture(scope="module")
def inbox(dns: TestDnsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbox]:
    server = start_inbox(tmp_path_factory.mktemp("inbox") / "data", dns.address, "--max-size", "50000", "--admin-token", "sekrit")
    yield server
    server.stop()
