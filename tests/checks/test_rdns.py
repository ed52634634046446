"""Reverse DNS checks against the loopback DNS server (tests/zones has the reverse zones)."""

import pytest

from maildoctor.checks.rdns import looks_generic
from maildoctor.records import change
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via


def rdns(server: TestDnsServer, *ips: str) -> list:  # noqa: ANN201
    return [f for f in audit_via(server, "rdns.test", ips=list(ips)).findings if f.area == "rdns"]


def test_confirmed_ptr_and_mx_host_have_no_findings(dns_server: TestDnsServer) -> None:
    assert rdns(dns_server, "192.0.2.25") == []


@pytest.mark.parametrize(
    "ip,expected",
    [
        ("192.0.2.26", ["rdns.multiple_ptr"]),
        ("192.0.2.27", ["rdns.fcrdns_mismatch"]),
        ("192.0.2.28", ["rdns.generic_ptr", "rdns.unrelated_domain"]),
        ("192.0.2.29", ["rdns.unrelated_domain"]),
        ("192.0.2.77", ["rdns.ptr_missing"]),
        ("2001:db8::77", ["rdns.ptr_missing"]),
    ],
)
def test_each_problem(dns_server: TestDnsServer, ip: str, expected: list[str]) -> None:
    found = [f for f in rdns(dns_server, ip) if ip in f.title]
    assert sorted(f.id for f in found) == sorted(expected)


def test_missing_ptr_on_ipv6_mentions_gmail_and_gives_records(dns_server: TestDnsServer) -> None:
    finding = rdns(dns_server, "2001:db8::77")[0]
    assert "Gmail" in finding.detail and "ip6.arpa. 3600 IN PTR mail.rdns.test." in finding.fix
    records = [c for c in finding.changes if isinstance(c, change.RecordChange)]
    assert [(c.op, c.type, c.new) for c in records] == [("add", "PTR", "mail.rdns.test."), ("add", "AAAA", "2001:db8::77")]
    assert records[0].name.endswith(".ip6.arpa") and records[1].name == "mail.rdns.test"
    # the server's side: the same name in HELO, and mail sent from that address
    settings = [c.config_line() for c in finding.changes if isinstance(c, change.SettingChange)]
    assert settings == ["smtp_helo_name = mail.rdns.test", "smtp_bind_address6 = 2001:db8::77"]


def test_mismatch_shows_where_the_name_points(dns_server: TestDnsServer) -> None:
    finding = next(f for f in rdns(dns_server, "192.0.2.27") if f.id == "rdns.fcrdns_mismatch")
    assert "192.0.2.99" in finding.detail and "nowhere.rdns.test. 3600 IN A 192.0.2.27" in finding.fix


def test_servfail_is_temporary(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("77.2.0.192.in-addr.arpa", "servfail")
    assert [f.id for f in rdns(dns_server, "192.0.2.77") if "192.0.2.77" in f.title or "77.2.0" in f.detail] == ["rdns.lookup_failed"]


@pytest.mark.parametrize(
    "name,ip,generic",
    [
        ("192-0-2-28.dyn.isp.test", "192.0.2.28", True),
        ("dsl-pool-12.isp.test", "198.51.100.12", True),
        ("c-203-0-113-7.hsd1.ca.comcast.net", "203.0.113.7", True),
        ("mail.example.com", "192.0.2.1", False),
        ("mx1.provider.net", "192.0.2.1", False),
        ("smtp.afspraakmanager.be", "37.230.96.72", False),
    ],
)
def test_generic_names(name: str, ip: str, generic: bool) -> None:
    import ipaddress

    assert looks_generic(name, ipaddress.ip_address(ip)) is generic
