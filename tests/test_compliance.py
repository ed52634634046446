"""The providers' sender rules for a good and a bad sender: from the audit and a sample message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from maildoctor.compliance import FAIL, NOT_APPLICABLE, PASS, UNKNOWN, compliance
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.engine import run_audit
from maildoctor.message.analyse import analyse_message
from maildoctor.message.options import MessageOptions
from maildoctor.target import Target
from maildoctor.testing.dnsserver import TestDnsServer
from tests.keys import publish_txt, rsa_p
from tests.message.signing import message, sign

UNSUBSCRIBE = "List-Unsubscribe: <https://good.lab/u/1>, <mailto:u@good.lab>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
BODY = "Hello,\r\n\r\nour news.\r\n\r\nUnsubscribe: https://good.lab/u/1\r\n"


@pytest.fixture(scope="module")
def dns() -> Iterator[TestDnsServer]:
    good = load_zone_text(
        '$ORIGIN good.lab.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n'
        '_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@good.lab"\n10.2.0.192.in-addr.arpa. IN PTR mail.good.lab.\nmail IN A 192.0.2.10\n',
        None,
    )
    reverse = load_zone_text(
        "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ IN SOA ns.good.lab. h 1 2 3 4 5\n@ IN NS ns.good.lab.\n10 IN PTR mail.good.lab.\n", None
    )
    bad = load_zone_text("$ORIGIN bad.lab.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n", None)
    zones = ZoneSet([good, reverse, bad])
    publish_txt(zones, "rsa._domainkey.good.lab", f"v=DKIM1; k=rsa; p={rsa_p()}")
    with TestDnsServer(zones) as server:
        yield server


def matrix(dns: TestDnsServer, domain: str, raw: bytes, ip: str = "192.0.2.10", volume: int | None = 20_000) -> dict[tuple[str, str], str]:
    async def go() -> dict[tuple[str, str], str]:
        resolver = LiveResolver([Nameserver.parse(dns.address)], timeout=0.5)
        try:
            audit = await run_audit(Target(domain=domain, ips=[ip]), resolver, areas=("spf", "dkim", "dmarc", "rdns"))
            options = MessageOptions(client_ip=ip, helo=f"mail.{domain}", mail_from=f"bounce@{domain}", audit_domain=False)
            analysed = await analyse_message(raw, resolver, options)
            return {(r.provider, r.check): r.state for r in compliance(audit, analysed, volume, True)}
        finally:
            resolver.close()

    return asyncio.run(go())


def test_a_good_bulk_sender_passes_what_can_be_checked(dns: TestDnsServer) -> None:
    headers = [b"from", b"to", b"subject", b"date", b"list-unsubscribe", b"list-unsubscribe-post"]
    raw = sign(message("news@good.lab", body=BODY, extra=UNSUBSCRIBE), domain="good.lab", include_headers=headers)
    states = matrix(dns, "good.lab", raw)
    for key in [("Gmail", "spf_or_dkim"), ("Gmail", "spf_and_dkim"), ("Gmail", "dmarc_record"), ("Gmail", "dmarc_aligned"), ("Gmail", "one_click"),
                ("Gmail", "ptr"), ("Outlook.com", "spf_pass"), ("Outlook.com", "dkim_pass"), ("GMX/Web.de", "dkim_aligned")]:  # fmt: skip
        assert states[key] == PASS, (key, states[key])
    assert states[("Gmail", "tls")] == UNKNOWN  # a file says nothing of its delivery: never a pass


def test_a_bad_sender_fails_and_small_volumes_skip_the_bulk_rules(dns: TestDnsServer) -> None:
    raw = message("news@bad.lab", body="Hello.\r\n")  # not signed, no SPF, no DMARC, no unsubscribe
    states = matrix(dns, "bad.lab", raw, ip="198.51.100.7")
    assert states[("Gmail", "spf_or_dkim")] == FAIL and states[("Gmail", "dmarc_record")] == FAIL
    assert states[("Outlook.com", "dkim_pass")] == FAIL and states[("Gmail", "one_click")] == FAIL
    small = matrix(dns, "bad.lab", raw, ip="198.51.100.7", volume=100)
    assert small[("Gmail", "one_click")] == NOT_APPLICABLE and small[("Outlook.com", "spf_pass")] == NOT_APPLICABLE
    assert small[("Gmail", "spf_or_dkim")] == FAIL  # a rule for every sender still holds
