"""Every SPF check against the loopback DNS server serving tests/zones."""

import asyncio

from maildoctor.dns.overlay import OverlayResolver
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.spf.evaluator import check_host
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via, ids, only


def spf_ids(report) -> set[str]:  # noqa: ANN001
    return {i for i in ids(report) if i.startswith("spf.")}


def record_in(fix: str) -> str:
    """The TXT data of the first record line of a fix."""
    line = next(text for text in fix.splitlines() if " IN TXT " in text)
    return "".join(part for part in line.split(" IN TXT ", 1)[1].split('"')[1::2])


def test_good_record_has_no_findings_and_a_tree(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfok.test", ips=["198.51.100.9", "203.0.113.5"])
    assert spf_ids(report) == set()
    tree = report.facts.to_json()["spf"]
    assert tree["total_lookups"] == 2 and tree["children"][0]["networks"] == ["203.0.113.0/25", "2001:db8:aa::/48"]
    assert report.facts.to_json()["spf_results"]["203.0.113.5"]["result"] == "pass"


def test_missing_record_offers_one_that_covers_the_given_ips(dns_server: TestDnsServer, test_zones) -> None:  # noqa: ANN001
    report = audit_via(dns_server, "spfnone.test", ips=["192.0.2.200", "2001:db8::200"])
    finding = only(report, "spf.missing")
    suggested = record_in(finding.fix)
    assert suggested.startswith("v=spf1 mx") and "ip4:192.0.2.200" in suggested and suggested.endswith("~all")
    overlay = OverlayResolver(ZoneResolver(test_zones), {"spfnone.test": [suggested]})
    for ip in ("192.0.2.200", "2001:db8::200"):
        assert asyncio.run(check_host(overlay, ip, "spfnone.test")).result.value == "pass"


def test_obsolete_spf_type_only(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spf99.test")
    assert {"spf.missing", "spf.rrtype99"} <= spf_ids(report)
    assert record_in(only(report, "spf.missing").fix) == "v=spf1 mx ~all"  # one fix per problem:
    assert "the records are those of the fix of spf.missing" in only(report, "spf.rrtype99").fix  # the other points to it


def test_record_at_the_doubled_name(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfdot.test")
    finding = only(report, "spf.misplaced")
    assert "spfdot.test.spfdot.test" in finding.title
    assert record_in(only(report, "spf.missing").fix) == "v=spf1 ip4:192.0.2.82 ~all"
    assert "spf.missing" in finding.fix


def test_multiple_records_are_merged(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "spfmulti.test"), "spf.multiple_records")
    assert record_in(finding.fix) == "v=spf1 include:_spf.provider.test mx -all"


def test_every_syntax_error_with_its_term(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "spfsyntax.test"), "spf.syntax_error")
    for term in ("ip4:192.0.2.300", "a:museum", "foo:bar", "mx/40"):
        assert term in finding.detail, term
    assert "4 error(s)" in finding.detail


def test_too_many_lookups_names_each_include_and_offers_a_flat_record(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spflookups.test")
    finding = only(report, "spf.too_many_lookups")
    assert "needs 14 DNS lookups" in finding.title
    assert "- include:l1.provider.test: 9 lookup(s)" in finding.detail
    assert "- include:_spf.provider.test: 1 lookup(s)" in finding.detail
    flat = record_in(finding.fix)
    assert "ip4:203.0.113.0/25" in flat and "ip4:203.0.113.201" in flat and "include:" not in flat
    assert "exists:%{i}.spf.spflookups.test" in flat  # terms that depend on the sender stay
    assert "spf.ptr_mechanism" in spf_ids(report)


def test_too_many_void_lookups(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "spfvoid.test"), "spf.too_many_void_lookups")
    assert "3 lookups" in finding.title and "n3.spfvoid.test" in finding.detail


def test_include_targets_without_spf(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfinclude.test")
    titles = sorted(f.title for f in report.findings if f.id == "spf.include_missing")
    assert titles == [
        "'include:nospf.provider.test' leads nowhere: nospf.provider.test publishes no SPF record",
        "'include:nothere.provider.test' leads nowhere: nothere.provider.test does not exist",
    ]


def test_plus_all_and_ptr(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfplus.test")
    assert {"spf.plus_all", "spf.ptr_mechanism"} <= spf_ids(report)
    assert record_in(only(report, "spf.plus_all").fix) == "v=spf1 a mx ptr ~all"
    assert record_in(only(report, "spf.ptr_mechanism").fix) == "v=spf1 a mx +all"


def test_neutral_all(dns_server: TestDnsServer) -> None:
    assert spf_ids(audit_via(dns_server, "spfneutral.test")) == {"spf.neutral_all"}


def test_no_all_and_exp(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfnoall.test")
    assert spf_ids(report) == {"spf.no_all", "spf.exp_present"}
    assert record_in(only(report, "spf.no_all").fix) == "v=spf1 ip4:192.0.2.86 ~all exp=why.spfnoall.test"


def test_redirect_next_to_all(dns_server: TestDnsServer) -> None:
    assert "spf.redirect_ignored" in spf_ids(audit_via(dns_server, "spfredirect.test"))


def test_txt_answer_too_big_for_udp(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "spflong.test"), "spf.record_too_long")
    assert int(finding.title.split(" is ")[1].split()[0]) > 512


def test_ip_not_authorized_says_what_decided(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfneutral.test", ips=["192.0.2.85", "198.51.100.1"])
    finding = only(report, "spf.ip_not_authorized")
    assert "198.51.100.1" in finding.title and "neutral" in finding.title and "'?all'" in finding.detail
    assert record_in(finding.fix) == "v=spf1 ip4:192.0.2.85 ip4:198.51.100.1 ?all"


def test_ipv6_not_covered_while_ipv4_is(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "spfv6.test", ips=["192.0.2.90", "2001:db8:90::1"])
    finding = only(report, "spf.ipv6_not_covered")
    assert "2001:db8:90::1" in finding.title
    assert "ip6:2001:db8:90::1" in record_in(finding.fix)
    assert "spf.ip_not_authorized" not in spf_ids(report)


def test_timeouts_are_temporary(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("spfflaky.test", "timeout", "TXT")
    report = audit_via(dns_server, "spfflaky.test", timeout=0.2)
    assert spf_ids(report) == {"spf.lookup_failed"}


def test_timeout_inside_an_include_is_a_temperror_for_the_ip(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("slow.spfflaky.test", "servfail")
    report = audit_via(dns_server, "spfflaky.test", ips=["192.0.2.91"])
    assert "spf.lookup_failed" in spf_ids(report)
    assert "spf.include_missing" not in spf_ids(report)
