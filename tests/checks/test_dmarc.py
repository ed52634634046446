import asyncio

from maildoctor.dmarc.discovery import discover_dmarc
from maildoctor.dns.tracing import TracingResolver
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via, ids, only


def dmarc_ids(report) -> set[str]:  # noqa: ANN001
    return {i for i in ids(report) if i.startswith("dmarc.")}


def test_good_policy_has_no_findings(dns_server: TestDnsServer) -> None:
    assert dmarc_ids(audit_via(dns_server, "good.test")) == set()


def test_missing_record_offers_one_to_publish(dns_server: TestDnsServer) -> None:
    finding = only(audit_via(dns_server, "mxdup.test"), "dmarc.missing")
    assert '_dmarc.mxdup.test. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@mxdup.test"' in finding.fix


def test_subdomain_falls_back_to_the_organizational_domain_not_the_suffix(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "sub.example.co.uk")
    assert dmarc_ids(report) == {"dmarc.inherited"}
    asked = [q["name"] for q in report.queries if q["type"] == "TXT"]
    assert "_dmarc.sub.example.co.uk" in asked and "_dmarc.example.co.uk" in asked
    assert "_dmarc.co.uk" not in asked


def test_discovery_works_the_same_on_zone_files(test_zones) -> None:  # noqa: ANN001
    found = asyncio.run(discover_dmarc(TracingResolver(ZoneResolver(test_zones)), "sub.example.co.uk"))
    assert found.record_domain == "example.co.uk" and found.inherited


def test_multiple_records_mean_none_applies(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "dmarcmulti.test")
    finding = only(report, "dmarc.multiple_records")
    assert "2 DMARC records" in finding.title  # the unrelated TXT is not counted
    assert "dmarc.policy_none" not in ids(report)


def test_every_error_of_a_record_is_reported(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "dmarcbad.test")
    assert {"dmarc.invalid_tag_value", "dmarc.invalid_pct", "dmarc.invalid_uri", "dmarc.unknown_tag"} <= dmarc_ids(report)
    values = only(report, "dmarc.invalid_tag_value").detail
    for tag in ("p=bogus", "adkim=x", "fo=2", "rf=xml", "ri=soon"):
        assert tag in values, tag
    uris = only(report, "dmarc.invalid_uri").detail
    assert "https://x.example/r" in uris and "!10q" in uris
    assert "rue=" in only(report, "dmarc.unknown_tag").detail
    # the repaired record keeps what was valid and replaces what was not
    fix = only(report, "dmarc.invalid_tag_value").fix
    assert "p=none" in fix and "aspf=s" in fix and "adkim=x" not in fix


def test_monitoring_only_and_missing_reports(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "dmarcnone.test")
    assert dmarc_ids(report) == {"dmarc.policy_none", "dmarc.no_rua"}
    assert "rua=mailto:dmarc-reports@dmarcnone.test" in only(report, "dmarc.no_rua").fix


def test_partial_pct_and_exempt_subdomains(dns_server: TestDnsServer) -> None:
    assert dmarc_ids(audit_via(dns_server, "dmarcweak.test")) == {"dmarc.pct_partial", "dmarc.subdomain_none"}


def test_external_report_address_needs_authorization(dns_server: TestDnsServer) -> None:
    report = audit_via(dns_server, "external.test")
    finding = only(report, "dmarc.external_rua_unauthorized")
    # reports.test authorized another domain, not this one; authorized.test did authorize it
    assert "reports.test" in finding.title
    assert 'external.test._report._dmarc.reports.test. 3600 IN TXT "v=DMARC1"' in finding.fix
    assert any(q["name"] == "external.test._report._dmarc.authorized.test" for q in report.queries)


def test_timeout_is_temporary_not_missing(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("_dmarc.flaky.test", "timeout")
    report = audit_via(dns_server, "flaky.test", timeout=0.2)
    assert dmarc_ids(report) == {"dmarc.lookup_failed"}


def test_servfail_is_temporary_not_missing(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("_dmarc.flaky.test", "servfail")
    assert dmarc_ids(audit_via(dns_server, "flaky.test")) == {"dmarc.lookup_failed"}
