"""The blocklist area of an audit, and the blocklists command, against listings on the loopback DNS server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dns.zonedata import ZoneSet
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
    assert {r["target"] for r in report.facts["dnsbl"]} == {"192.0.2.99", "2001:db8::99", "good.test"}


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
