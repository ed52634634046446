"""MTA-STS / TLS-RPT records, DANE TLSA and BIMI against the loopback DNS server."""

from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.records.policies import parse_bimi, parse_mtasts_txt, parse_tlsrpt
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via

DIGEST = "a" * 64
ZONE = f"""$ORIGIN pol.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 10 mx
@ IN MX 20 mx2
mx IN A 192.0.2.1
mx2 IN A 192.0.2.2
_25._tcp.mx IN TLSA 3 1 1 {DIGEST}
_25._tcp.mx2 IN TLSA 1 1 1 {DIGEST}
_mta-sts IN TXT "v=STSv1; id=bad-id!"
_smtp._tls IN TXT "v=TLSRPTv1; rua=ftp://x.test/r"
default._bimi IN TXT "v=BIMI1; l=http://pol.test/logo.png"
_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@pol.test"
"""
BARE = """$ORIGIN bare.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
"""


@pytest.fixture(scope="module")
def server() -> Iterator[TestDnsServer]:
    with TestDnsServer(ZoneSet([load_zone_text(ZONE, None), load_zone_text(BARE, None)])) as srv:
        yield srv


def found(server: TestDnsServer, domain: str) -> dict[str, str]:
    report = audit_via(server, domain)
    return {f.id: f.detail for f in report.findings if f.area in ("mtasts", "tlsrpt", "dane", "bimi")}


def test_broken_policy_records(server: TestDnsServer) -> None:
    findings = found(server, "pol.test")
    assert set(findings) == {
        "mtasts.txt_invalid",
        "tlsrpt.invalid",
        "dane.tlsa_invalid",
        "dane.present",
        "bimi.invalid",
        "bimi.policy_too_weak",
    }
    assert "id=bad-id!" in findings["mtasts.txt_invalid"] and "ftp://x.test/r" in findings["tlsrpt.invalid"]
    assert "usage 1" in findings["dane.tlsa_invalid"] and "SVG" in findings["bimi.invalid"]


def test_nothing_published(server: TestDnsServer) -> None:
    assert set(found(server, "bare.test")) == {"mtasts.missing", "tlsrpt.missing"}


def test_timeouts_are_temporary(server: TestDnsServer) -> None:
    server.faults.set("_mta-sts.bare.test", "timeout")
    try:
        assert "mtasts.lookup_failed" in found(server, "bare.test")
    finally:
        server.faults.by_name.clear()


def test_parsers() -> None:
    assert not parse_mtasts_txt("v=STSv1; id=20190429T010101").problems
    assert parse_mtasts_txt("id=1; v=STSv1").problems
    assert not parse_tlsrpt("v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x").problems
    assert not parse_bimi("v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem").problems
    assert not parse_bimi("v=BIMI1; l=;").problems  # declining is allowed


DNSSEC_ZONES = {
    "signed.test": "@ IN DNSKEY 257 3 13 {key}\n@ IN DS 2371 13 2 " + "b" * 64,
    "island.test": "@ IN DNSKEY 257 3 13 {key}",
    "plain.test": "",
}
EC_KEY = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="


@pytest.fixture(scope="module")
def dnssec_server() -> Iterator[TestDnsServer]:
    zones = [
        load_zone_text(f"$ORIGIN {name}.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n{extra.format(key=EC_KEY)}\n", None)
        for name, extra in DNSSEC_ZONES.items()
    ]
    with TestDnsServer(ZoneSet(zones)) as srv:
        yield srv


def test_dnssec_status(dnssec_server: TestDnsServer) -> None:
    signed = audit_via(dnssec_server, "signed.test")
    assert "dnssec.unsigned" not in {f.id for f in signed.findings}
    assert signed.facts.to_json()["dnssec"] == {"ds": True, "dnskey": True, "validated": False, "unknown": False}
    island = [f for f in audit_via(dnssec_server, "island.test").findings if f.id == "dnssec.unsigned"]
    assert len(island) == 1 and "no DS" in island[0].detail and "registrar" in island[0].fix
    plain = [f for f in audit_via(dnssec_server, "plain.test").findings if f.id == "dnssec.unsigned"]
    assert len(plain) == 1 and "not DNSSEC-signed" in plain[0].title


def test_dnssec_status_unknown_when_the_server_fails(dnssec_server: TestDnsServer) -> None:
    dnssec_server.faults.set("plain.test", "servfail", "DS")
    try:
        report = audit_via(dnssec_server, "plain.test")
    finally:
        dnssec_server.faults.by_name.clear()
    assert "dnssec.unsigned" not in {f.id for f in report.findings} and report.facts.to_json()["dnssec"]["unknown"]
