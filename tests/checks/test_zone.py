import asyncio
from pathlib import Path

from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import run_audit
from maildoctor.findings import Report
from maildoctor.target import Target
from maildoctor.zoneload import read_zone_source
from tests.conftest import ROOT, ids, only

HERE = Path(__file__).resolve().parent.parent / "zonefiles"


def audit_zone(path: Path, origin: str | None = None) -> Report:
    source = read_zone_source(path, origin)
    return asyncio.run(run_audit(Target(domain=source.domain), ZoneResolver(ZoneSet([source.loaded])), zone=source))


def test_lint_rules() -> None:
    report = audit_zone(HERE / "lint.example.zone")
    moved = only(report, "zone.owner_missing_dot")
    assert "www.lint.example.lint.example." in moved.title
    assert moved.evidence == ("line 6: www.lint.example IN A 192.0.2.2",)
    assert "www.lint.example. IN A 192.0.2.2" in moved.fix
    ttl = only(report, "zone.ttl_mismatch")
    assert "mail.lint.example." in ttl.title and "300, 600" in ttl.detail
    assert only(report, "zone.localhost_record").evidence == ("line 10: localhost IN A 127.0.0.1",)
    escaped = only(report, "zone.txt_escaped")
    assert "info.lint.example." in escaped.title and 'info 3600 IN TXT "hello; world"' in escaped.fix
    # absolute owners with the dot are fine
    assert "abs.lint.example" not in moved.detail


def test_example_zone_explains_the_known_mistakes() -> None:
    report = audit_zone(ROOT / "examples" / "afspraakmanager.be.zone")
    assert {"zone.owner_missing_dot", "zone.localhost_record", "dmarc.missing"} <= ids(report)
    moved = only(report, "zone.owner_missing_dot")
    assert [e.split(":")[0] for e in moved.evidence] == ["line 24", "line 33"]
    assert "A, SPF" in moved.detail
    assert "@    600    IN SPF" in moved.fix and "@    600    IN A    37.230.96.72" in moved.fix
    assert '_dmarc.afspraakmanager.be. 3600 IN TXT "v=DMARC1; p=none;' in only(report, "dmarc.missing").fix
    # the audit ran on the file alone: every question in the zone was answered from it, and
    # questions outside it (reverse DNS) were not reported as failures
    inside = [q for q in report.queries if q["name"].endswith("afspraakmanager.be")]
    assert inside and all(q["outcome"] in ("answer", "nodata", "nxdomain") for q in inside)
    assert "rdns.lookup_failed" not in ids(report) and report.facts.to_json()["rdns_not_checked"]


def test_zone_without_origin_takes_it_from_the_option_or_file_name(tmp_path: Path) -> None:
    body = "@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\n@ 300 IN MX 10 mx\nmx 300 IN A 192.0.2.1\n"
    (tmp_path / "db.shop").write_text(body)
    assert audit_zone(tmp_path / "db.shop", origin="shop.example").target == "shop.example"
    (tmp_path / "named.example.zone").write_text(body)
    assert audit_zone(tmp_path / "named.example.zone").target == "named.example"


def test_dkim_selectors_are_found_in_the_zone() -> None:
    source = read_zone_source(ROOT / "examples" / "afspraakmanager.be.zone")
    assert source.dkim_selectors() == ["default"]


def test_example_zone_spf_is_explained_with_a_safe_record_covering_the_ipv6_sender() -> None:
    from maildoctor.dns.overlay import OverlayResolver
    from maildoctor.spf.evaluator import check_host

    source = read_zone_source(ROOT / "examples" / "afspraakmanager.be.zone")
    zones = ZoneSet([source.loaded])
    target = Target(domain=source.domain, ips=["2a02:348:8e:6048::1", "37.230.96.72"])
    report = asyncio.run(run_audit(target, ZoneResolver(zones), zone=source))
    assert {"spf.missing", "spf.rrtype99"} <= ids(report)
    rrtype99 = only(report, "spf.rrtype99")
    assert "afspraakmanager.be.afspraakmanager.be" in rrtype99.detail and '"v=spf1 a mx ptr +all"' in rrtype99.detail
    line = next(text for text in only(report, "spf.missing").fix.splitlines() if " IN TXT " in text)
    suggested = line.split('"')[1]
    assert "+all" not in suggested and "ptr" not in suggested and suggested.endswith("~all")
    overlay = OverlayResolver(ZoneResolver(zones), {"afspraakmanager.be": [suggested]})
    for ip in target.ips:
        assert asyncio.run(check_host(overlay, ip, "afspraakmanager.be")).result.value == "pass", ip


def test_example_zone_dkim_key_is_escaped_and_mail_selector_is_missing() -> None:
    source = read_zone_source(ROOT / "examples" / "afspraakmanager.be.zone")
    target = Target(domain=source.domain, dkim_selectors=["mail"], known_selectors=source.dkim_selectors())
    report = asyncio.run(run_audit(target, ZoneResolver(ZoneSet([source.loaded])), zone=source))
    escaped = only(report, "dkim.record_escaped")
    assert "default._domainkey.afspraakmanager.be" in escaped.title
    assert '"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6pvlZ' in escaped.fix
    missing = only(report, "dkim.key_missing")
    assert "'mail'" in missing.title and "s=default" in missing.fix and "mail._domainkey.afspraakmanager.be." in missing.fix
