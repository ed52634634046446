"""DKIM key checks against the loopback DNS server, with keys generated in the test."""

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from maildoctor.checks.facts import audit_facts
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via, ids, only
from tests.keys import ed25519_p, publish_txt, rsa_p

ZONE = """$ORIGIN dkimtest.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
alias._domainkey IN CNAME gone.dkimtest.test.
"""
PROVIDERS = """$ORIGIN m365.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 0 m365-test.mail.protection.outlook.com.
@ IN TXT "v=spf1 include:_spf.google.com -all"
"""
NOKEYS = """$ORIGIN nokeys.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
"""


def short_rsa_p() -> str:
    import base64

    numbers = rsa.RSAPublicNumbers(65537, (1 << 511) | 0x1234567)  # a 512-bit modulus: too short
    der = numbers.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def server() -> Iterator[TestDnsServer]:
    zones = ZoneSet([load_zone_text(ZONE, None), load_zone_text(NOKEYS, None), load_zone_text(PROVIDERS, None)])
    good = rsa_p()
    records = {
        "default": [f"v=DKIM1; k=rsa; p={good}"],
        "s1024": [f"v=DKIM1; k=rsa; p={rsa_p(1024)}"],
        "s512": [f"v=DKIM1; k=rsa; p={short_rsa_p()}"],
        "ed": [f"v=DKIM1; k=ed25519; p={ed25519_p()}"],
        "testing": [f"v=DKIM1; k=rsa; t=y; p={good}"],
        "sha1": [f"v=DKIM1; k=rsa; h=sha1; p={good}"],
        "revoked": ["v=DKIM1; k=rsa; p="],
        "badb64": ["v=DKIM1; k=rsa; p=MIIB!!notbase64"],
        "wrongtype": [f"v=DKIM1; k=rsa; p={ed25519_p()}"],
        "unknownk": [f"v=DKIM1; k=dsa; p={good}"],
        "escaped": [f"v=DKIM1\\; k=rsa\\; p={good}"],
        "quoted": [f'v=DKIM1; k=rsa; p="{good}"'],
        "split": [f"v=DKIM1; k=rsa; p={good[:200]}", good[200:]],
    }
    for selector, texts in records.items():
        publish_txt(zones, f"{selector}._domainkey.dkimtest.test", *texts)
    for selector in ("selector1-m365-test", "google"):
        publish_txt(zones, f"{selector}._domainkey.m365.test", f"v=DKIM1; k=rsa; p={good}")
    with TestDnsServer(zones) as srv:
        yield srv


def dkim_findings(server: TestDnsServer, *selectors: str, domain: str = "dkimtest.test"):  # noqa: ANN201
    report = audit_via(server, domain, dkim_selectors=list(selectors))
    return report, [f for f in report.findings if f.area == "dkim"]


@pytest.mark.parametrize("selector", ["default", "ed"])
def test_good_keys(server: TestDnsServer, selector: str) -> None:
    report, findings = dkim_findings(server, selector)
    assert not [f for f in findings if selector in f.title]
    key = audit_facts(report).dkim[selector]  # type: ignore[index]
    assert key.valid and key.bits == (2048 if selector == "default" else 256)
    assert report.facts.to_json()["dkim"][selector]["bits"] == key.bits


@pytest.mark.parametrize(
    "selector,check_id",
    [
        ("s1024", "dkim.key_1024"),
        ("s512", "dkim.key_too_short"),
        ("testing", "dkim.testing_mode"),
        ("sha1", "dkim.sha1_only"),
        ("revoked", "dkim.key_revoked"),
        ("badb64", "dkim.bad_key"),
        ("wrongtype", "dkim.bad_key"),
        ("unknownk", "dkim.unknown_key_type"),
        ("escaped", "dkim.record_escaped"),
        ("quoted", "dkim.record_malformed"),
        ("split", "dkim.record_malformed"),
    ],
)
def test_each_problem_is_reported_for_its_selector(server: TestDnsServer, selector: str, check_id: str) -> None:
    _, findings = dkim_findings(server, selector)
    mine = [f for f in findings if f"{selector}._domainkey" in f.title]
    assert [f.id for f in mine] == [check_id]


def test_escaped_record_fix_is_the_record_without_backslashes(server: TestDnsServer) -> None:
    _, findings = dkim_findings(server, "escaped")
    fix = next(f for f in findings if f.id == "dkim.record_escaped").fix
    assert '"v=DKIM1; k=rsa; p=' in fix and "\\" not in fix.splitlines()[-1]


def test_split_record_fix_joins_the_key(server: TestDnsServer) -> None:
    _, findings = dkim_findings(server, "split")
    finding = next(f for f in findings if "split._domainkey" in f.title)
    assert "split into several TXT records" in finding.detail
    joined = "".join(finding.fix.splitlines()[-1].split('"')[1::2])
    assert joined == f"v=DKIM1; k=rsa; p={rsa_p()}"


def test_missing_selector_points_at_the_published_one(server: TestDnsServer) -> None:
    report, _ = dkim_findings(server, "mail", "default")
    finding = only(report, "dkim.key_missing")
    assert "'mail'" in finding.title and "s=default" in finding.fix
    assert "mail._domainkey.dkimtest.test. 3600 IN TXT" in finding.fix


def test_cname_chain_that_ends_nowhere(server: TestDnsServer) -> None:
    report, _ = dkim_findings(server, "alias")
    assert "ends nowhere" in only(report, "dkim.key_missing").detail


def test_discovery_finds_common_selectors_without_being_told(server: TestDnsServer) -> None:
    report, _ = dkim_findings(server)
    assert {"default", "s1"} - set(report.facts.to_json()["dkim"]) == {"s1"}
    assert "dkim.no_keys_found" not in ids(report)


def test_discovery_follows_the_providers_of_the_mx_and_spf(server: TestDnsServer) -> None:
    report, _ = dkim_findings(server, domain="m365.test")
    assert set(report.facts.to_json()["dkim"]) == {"selector1-m365-test", "google"}
    assert report.facts.to_json()["dkim_discovery"]["providers"] == ["Google Workspace", "Microsoft 365"]
    plain, _ = dkim_findings(server)  # no provider: only the generic selectors are asked
    asked = {q["name"].split(".")[0] for q in plain.queries if "._domainkey." in q["name"]}
    assert "google" not in asked and "selector1" in asked and "default" in asked


def test_no_keys_and_no_discovery_below_a_missing_domainkey(server: TestDnsServer) -> None:
    report, _ = dkim_findings(server, domain="nokeys.test")
    assert "dkim.no_keys_found" in ids(report)
    asked = [q["name"] for q in report.queries if "_domainkey" in q["name"]]
    assert asked == ["_domainkey.nokeys.test"]  # RFC 8020: nothing below an NXDOMAIN


def test_timeout_on_a_given_selector_is_temporary(server: TestDnsServer) -> None:
    server.faults.set("default._domainkey.dkimtest.test", "timeout")
    try:
        report, _ = dkim_findings(server, "default")
    finally:
        server.faults.by_name.clear()
    assert "dkim.lookup_failed" in ids(report) and "dkim.key_missing" not in ids(report)
