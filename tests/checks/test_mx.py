from maildoctor.checks.facts import MxHost, audit_facts
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via, ids, only


def mx_ids(report) -> set[str]:  # noqa: ANN001
    return {i for i in ids(report) if i.startswith("mx.")}


def test_clean_domain_has_no_mx_findings(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "good.test")
    assert mx_ids(report) == set()
    assert report.facts.to_json()["mx_addresses"] == {"mx1.good.test": ["192.0.2.10", "2001:db8::10"], "mx2.good.test": ["192.0.2.11"]}


def test_missing_mx_mentions_the_a_fallback_and_offers_records(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "nomx.test"), "mx.missing")
    assert "192.0.2.20" in finding.detail
    assert "nomx.test. 3600 IN MX 10 mail.nomx.test." in finding.fix
    assert "nomx.test. 3600 IN MX 0 ." in finding.fix


def test_nonexistent_domain_is_the_one_root_cause(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "nothere.good.test")
    finding = only(report, "domain.nxdomain")
    assert "does not exist" in finding.title and finding.severity.name == "CRITICAL"
    assert report.by_area() and next(iter(report.by_area())) == "domain"  # on top
    folded = {f.id for f in finding.folded}
    assert {"spf.missing", "dkim.no_keys_found"} <= folded  # what it implies is under it, not beside it
    assert not folded & ids(report) and "mx.missing" not in ids(report)
    assert report.score <= 4.0  # scored once, capped as a critical
    assert [f["id"] for f in report.to_json()["findings"][0]["folded"]] == [f.id for f in finding.folded]


def test_null_mx_is_information(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "nullmx.test")
    assert mx_ids(report) == {"mx.null"}
    assert only(report, "mx.null").severity.name == "INFO"


def test_null_mx_next_to_real_ones(dns_server: TestDnsServer) -> None:
    assert "mx.null_with_others" in ids(audit_via(dns_server, "mixednull.test"))


def test_mx_pointing_at_a_cname(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "mxcname.test"), "mx.cname")
    assert "mx1.good.test" in finding.title
    assert "mxcname.test. 300 IN MX 10 mx1.good.test." in finding.fix
    [swap] = finding.changes  # the same fix, for a program to apply
    assert (swap.op, swap.name, swap.type, swap.new) == ("replace", "mxcname.test", "MX", "10 mx1.good.test.")
    assert swap.old.startswith("10 ") and swap.old != swap.new


def test_mx_ip_literal(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "mxip.test"), "mx.ip_literal")
    assert "192.0.2.30" in finding.title


def test_mx_hosts_without_addresses(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "mxnoaddr.test")
    hosts = sorted(f.title for f in report.findings if f.id == "mx.no_address")
    assert hosts == ["The MX host gone.mxnoaddr.test has no address", "The MX host mail.mxnoaddr.test has no address"]


def test_duplicate_preferences(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "mxdup.test"), "mx.duplicate_preference")
    assert "a.mxdup.test" in finding.detail and "b.mxdup.test" in finding.detail


def test_no_ipv6_on_any_mx(dns_server: TestDnsServer) -> None:
    assert "mx.no_ipv6" in ids(audit_via(dns_server, "mxdup.test"))
    assert "mx.no_ipv6" not in ids(audit_via(dns_server, "good.test"))


def test_servfail_on_mx_is_temporary_not_missing(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("flaky.test", "servfail", "MX")
    report = audit_via(dns_server, "flaky.test")
    assert "mx.lookup_failed" in ids(report)
    assert "mx.missing" not in ids(report)


def test_timeout_on_mx_host_address_is_temporary(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("mx.flaky.test", "timeout", "A")
    report = audit_via(dns_server, "flaky.test", timeout=0.2)
    finding = only(report, "mx.lookup_failed")
    assert "TIMEOUT" in finding.detail
    assert "mx.no_address" not in ids(report)


def test_refused_is_temporary(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("flaky.test", "refused", "MX")
    assert mx_ids(audit_via(dns_server, "flaky.test")) == {"mx.lookup_failed"}


def test_truncated_udp_answer_is_retried_over_tcp(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("good.test", "truncate", "MX")
    report = audit_via(dns_server, "good.test")
    assert mx_ids(report) == set()
    assert audit_facts(report).mx == [MxHost(10, "mx1.good.test"), MxHost(20, "mx2.good.test")]
    assert [m["host"] for m in report.facts.to_json()["mx"]] == ["mx1.good.test", "mx2.good.test"]
