"""The blocklist area of an audit, and the blocklists command, against listings on the loopback DNS server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.findings import Severity
from maildoctor.testing.dnsserver import TestDnsServer
from tests.blocklists import blocklist_zone
from tests.conftest import ZONES, audit_via
from tests.test_cli import run

LISTINGS = {
    "zen.spamhaus.org": [("192.0.2.99", "127.0.0.11", "")],
    "bl.spamcop.net": [("2001:db8::99", "127.0.0.2", "")],  # not an IPv6 list: never asked
    "dbl.spamhaus.org": [("good.test", "127.0.1.102", "abused legit")],
    "b.barracudacentral.org": [("192.0.2.99", "127.255.255.254", "")],
}


@pytest.fixture(scope="module")
def server() -> Iterator[TestDnsServer]:
    zones = ZoneSet.from_paths([ZONES])
    for blocklist in shipped_catalog():
        zones.add(blocklist_zone(blocklist, LISTINGS.get(blocklist.zone, [])))
    with TestDnsServer(zones) as srv:
        yield srv


def test_the_audit_looks_up_the_ips_and_the_domain(server: TestDnsServer) -> None:
    report = audit_via(server, "good.test", ips=["192.0.2.99", "2001:db8::99"])
    found = {f.id: f for f in report.findings if f.area == "dnsbl"}
    assert set(found) == {"dnsbl.listed", "dnsbl.domain_listed", "dnsbl.query_refused"}
    pbl = found["dnsbl.listed"]
    assert pbl.severity is Severity.ERROR and "192.0.2.99" in pbl.title and "PBL" in pbl.title
    assert "relay" in pbl.fix and "https://check.spamhaus.org/" in pbl.fix  # end-user range: the advice differs
    assert found["dnsbl.domain_listed"].severity is Severity.ERROR and "abused legit" in found["dnsbl.domain_listed"].detail
    assert "Barracuda" in found["dnsbl.query_refused"].title
    assert {r["target"] for r in report.facts.to_json()["dnsbl"]} == {"192.0.2.99", "2001:db8::99", "good.test"}


def test_no_listing_no_finding(server: TestDnsServer) -> None:
    report = audit_via(server, "spfok.test", ips=["192.0.2.1"])
    assert [f.id for f in report.findings if f.area == "dnsbl"] == []


def test_blocklists_command_json(server: TestDnsServer) -> None:
    result = run("blocklists", "192.0.2.99", "good.test", "--nameserver", server.address, "--format", "json")
    assert result.returncode == 3, result.stderr  # Barracuda refused: what it says of 192.0.2.99 is unknown
    assert run("blocklists", "192.0.2.99", "--nameserver", server.address, "--allow-incomplete").returncode == 1
    data = json.loads(result.stdout)
    assert data["kind"] == "blocklists" and data["targets"] == ["192.0.2.99", "good.test"]
    assert data["lists"] == len(shipped_catalog())
    listed = [r for r in data["results"] if r["status"] == "listed"]
    assert {(r["target"], r["list"]) for r in listed} == {("192.0.2.99", "zen.spamhaus.org"), ("good.test", "dbl.spamhaus.org")}
    assert all(r["delist"].startswith("https://") and r["codes"] and r["meanings"] for r in listed)
    assert {f["id"] for f in data["findings"]} == {"dnsbl.listed", "dnsbl.domain_listed", "dnsbl.query_refused"}


def test_blocklists_command_text_and_exit_codes(server: TestDnsServer) -> None:
    clean = run("blocklists", "192.0.2.1", "--nameserver", server.address)
    assert clean.returncode == 0 and "not listed on" in clean.stdout
    listed = run("blocklists", "192.0.2.99", "--nameserver", server.address, "--fail-on", "critical", "--allow-incomplete")
    assert listed.returncode == 0 and "Spamhaus ZEN" in listed.stdout and "PBL" in listed.stdout  # PBL is an error


def test_self_test_command(server: TestDnsServer) -> None:
    result = run("blocklists", "--self-test", "--nameserver", server.address, "--format", "json")
    assert result.returncode == 0, result.stdout
    states = json.loads(result.stdout)["self_test"]
    assert states["zen.spamhaus.org"] == "working" and len(states) == len(shipped_catalog())


def test_own_list_file(server: TestDnsServer, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[list]]\nzone = "zen.spamhaus.org"\nname = "My ZEN"\nlists = "x"\nkinds = ["ipv4"]\n'
        'severity = "warning"\ndelist = "https://example.test/"\n'
    )
    data = json.loads(
        run(
            "blocklists", "192.0.2.99", "--lists", str(mine), "--nameserver", server.address, "--format", "json", "--fail-on", "never"
        ).stdout
    )
    assert data["lists"] == 1 and data["results"][0]["name"] == "My ZEN" and data["results"][0]["severity"] == "warning"
    broken = tmp_path / "broken.toml"
    broken.write_text('[[list]]\nzone = "x"\n')
    result = run("blocklists", "192.0.2.99", "--lists", str(broken))
    assert result.returncode == 2 and "broken.toml: list 1" in result.stderr and "Traceback" not in result.stderr


def _area(report_or_data: object, area: str) -> dict[str, object]:
    areas = report_or_data["areas"] if isinstance(report_or_data, dict) else [a.to_json() for a in report_or_data.areas()]  # type: ignore[attr-defined]
    return next(a for a in areas if a["area"] == area)


def test_a_clean_audit_shows_every_list_asked(server: TestDnsServer) -> None:
    report = audit_via(server, "spfok.test", ips=["192.0.2.1"])
    area = _area(report, "dnsbl")
    assert area["state"] == "pass" and area["points_lost"] == 0
    lines = area["verified"]
    assert (
        lines[0].endswith("answers count (their list listed its test entry; an IPv4 list, not 127.0.0.1)")
        and "192.0.2.1 on Spamhaus ZEN (zen.spamhaus.org): not listed" in lines
    )
    asked = {r["list"] for r in report.facts.to_json()["dnsbl"]}
    assert all(any(f"({zone})" in line for line in lines) for zone in asked)


def test_a_listing_fails_the_area_and_a_refusal_keeps_it_from_passing(server: TestDnsServer) -> None:
    listed = _area(audit_via(server, "good.test", ips=["192.0.2.99"]), "dnsbl")
    assert listed["state"] == "fail" and "PBL" in listed["reason"] and "not checked to the end" in listed["reason"]  # Barracuda refused
    assert any("listed (127.0.0.11" in line for line in listed["verified"])


def _public_resolver_zones() -> ZoneSet:
    """What a public resolver sees: Spamhaus answers 127.255.255.254 to everything, its DBL and ZRD
    (Google's way) NXDOMAIN even for their test entry; the lists that take public resolvers answer."""
    zones = [blocklist_zone(b) for b in shipped_catalog() if b.public_resolvers]
    zones.append(load_zone_text("$ORIGIN zen.spamhaus.org.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n* IN A 127.255.255.254\n", None))
    zones += [blocklist_zone(b, test_entry=False) for b in shipped_catalog() if not b.public_resolvers and b.zone != "zen.spamhaus.org"]
    return ZoneSet(zones)


def test_a_public_resolver_is_said_once_and_the_area_is_unavailable() -> None:
    with TestDnsServer(_public_resolver_zones()) as public:
        report = audit_via(public, "example.org", ips=["192.0.2.1"])
    found = [f for f in report.findings if f.area == "dnsbl"]
    assert [f.id for f in found] == ["dnsbl.public_resolver"]  # the refusals are under it, not beside it
    public_finding = found[0]
    assert {f.id for f in public_finding.folded} == {"dnsbl.query_refused", "dnsbl.unavailable"}
    assert "Spamhaus ZEN" in public_finding.detail and "DQS" in public_finding.fix
    area = _area(report, "dnsbl")
    assert area["state"] == "unavailable" and not report.complete
    assert "192.0.2.1 on Spamhaus ZEN (zen.spamhaus.org): refused: " in "\n".join(area["verified"])


def test_a_resolver_that_fails_every_list_is_not_called_public() -> None:
    lying = ZoneSet([blocklist_zone(b, [], test_entry=False) for b in shipped_catalog()])
    with TestDnsServer(lying) as broken:
        report = audit_via(broken, "example.org", ips=["192.0.2.1"])
        done = run("blocklists", "192.0.2.1", "--nameserver", broken.address, "--format", "json")
    assert "dnsbl.public_resolver" not in {f.id for f in report.findings}
    assert _area(report, "dnsbl")["state"] == "unavailable"
    data = json.loads(done.stdout)
    assert done.returncode == 3 and _area(data, "dnsbl")["state"] == "unavailable" and data["complete"] is False


def test_a_known_public_resolver_address_is_named() -> None:
    from maildoctor.checks.dnsbl import public_resolver_finding
    from maildoctor.dns.live import LiveResolver, Nameserver
    from maildoctor.dns.tracing import TracingResolver
    from maildoctor.dnsbl.lookup import Result, Subject

    resolver = TracingResolver(LiveResolver([Nameserver.parse("8.8.8.8")]))  # never asked: only its address is read
    zen = next(b for b in shipped_catalog() if b.zone == "zen.spamhaus.org")
    spamcop = next(b for b in shipped_catalog() if b.zone == "bl.spamcop.net")
    subject = Subject.parse("192.0.2.1")
    finding = public_resolver_finding([Result(subject, zen, "clean", "q"), Result(subject, spamcop, "clean", "q")], resolver)
    assert finding is not None and "Google Public DNS (8.8.8.8)" in finding.title
    assert public_resolver_finding([Result(subject, spamcop, "clean", "q")], resolver) is None  # no list that refuses it was asked


def test_spamhaus_through_dqs_with_a_key_that_is_never_shown(tmp_path: Path) -> None:
    from maildoctor.dnsbl.catalog import with_spamhaus_dqs_key

    key = "abcdefghij0123456789abcdef"
    lists = with_spamhaus_dqs_key(list(shipped_catalog()), key)
    zen = next(b for b in lists if b.zone == "zen.spamhaus.org")
    assert zen.query_zone == f"{key}.zen.dq.spamhaus.net" and zen.public_resolvers
    zones = ZoneSet([blocklist_zone(b, [("192.0.2.99", "127.0.0.2", "")] if b is zen else []) for b in lists])
    with TestDnsServer(zones) as dqs:
        done = run("blocklists", "192.0.2.99", "--nameserver", dqs.address, "--spamhaus-dqs-key", key, "--format", "json", "-v")
        audit = run(
            "check", "example.org", "--ip", "192.0.2.99", "--nameserver", dqs.address, "--spamhaus-dqs-key", key, "--format", "json"
        )
        env_key = run("blocklists", "192.0.2.99", "--nameserver", dqs.address, env={"MAILDOCTOR_SPAMHAUS_DQS_KEY": key})
    assert done.returncode == 1, done.stdout[-500:]
    assert key not in done.stdout and "<key>.zen.dq.spamhaus.net" in done.stdout
    listed = [r for r in json.loads(done.stdout)["results"] if r["status"] == "listed"]
    assert [(r["list"], r["name"]) for r in listed] == [("zen.spamhaus.org", "Spamhaus ZEN (DQS)")]
    assert "Spamhaus ZEN (DQS)" in env_key.stdout and env_key.returncode == 1
    assert key not in audit.stdout and "99.2.0.192.<key>.zen.dq.spamhaus.net" in audit.stdout  # in the queries, masked
    assert "dnsbl.listed" in audit.stdout
    bad = run("blocklists", "192.0.2.99", "--spamhaus-dqs-key", "no!")
    assert bad.returncode == 2 and "DQS key" in bad.stderr and "Traceback" not in bad.stderr


def test_the_domains_a_message_links_to_are_looked_up_too(server: TestDnsServer) -> None:
    report = audit_via(server, "spfok.test", link_domains=["good.test", "spfok.test"])
    listed = [f for f in report.findings if f.id == "dnsbl.domain_listed"]
    assert len(listed) == 1 and "good.test" in listed[0].title
    assert {r["target"] for r in report.facts.to_json()["dnsbl"] if r["kind"] == "domain"} == {"spfok.test", "good.test"}
