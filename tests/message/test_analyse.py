"""Message analysis end to end: messages signed here, keys and policies on the loopback DNS server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.findings import Finding, Report
from maildoctor.message.analyse import analyse_message
from maildoctor.message.options import MessageOptions
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import EXAMPLES
from tests.keys import ed25519_p, publish_txt, rsa_p
from tests.message.signing import arc_forward, message, sign

ZONES = {
    "signed.test": ['@ IN TXT "v=spf1 ip4:192.0.2.10 -all"', '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@signed.test"'],
    "strict.test": ['@ IN TXT "v=spf1 ip4:192.0.2.10 -all"', '_dmarc IN TXT "v=DMARC1; p=quarantine; adkim=s; aspf=s"'],
    "attacker.test": ['@ IN TXT "v=spf1 ip4:198.51.100.66 -all"'],
    "forwarder.test": [],
}
KEYS = {
    "rsa._domainkey.signed.test": "rsa",
    "ed._domainkey.signed.test": "ed25519",
    "rsa._domainkey.mail.signed.test": "rsa",
    "rsa._domainkey.mail.strict.test": "rsa",
    "rsa._domainkey.attacker.test": "rsa",
    "arc._domainkey.forwarder.test": "rsa",
}
IP = "192.0.2.10"


@pytest.fixture(scope="module")
def server() -> Iterator[TestDnsServer]:
    zones = ZoneSet(
        [
            load_zone_text(f"$ORIGIN {d}.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n" + "\n".join(lines) + "\n", None)
            for d, lines in ZONES.items()
        ]
    )
    for name, kind in KEYS.items():
        publish_txt(zones, name, f"v=DKIM1; k={kind}; p={rsa_p() if kind == 'rsa' else ed25519_p()}")
    with TestDnsServer(zones) as srv:
        yield srv


def analyse(server: TestDnsServer, raw: bytes, ip: str = IP, mail_from: str = "bounce@signed.test", **options: object) -> Report:
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.5)
        try:
            return await analyse_message(
                raw, resolver, MessageOptions(client_ip=ip, helo="mail.signed.test", mail_from=mail_from, **options)
            )  # type: ignore[arg-type]
        finally:
            resolver.close()

    return asyncio.run(run())


def by_id(report: Report) -> dict[str, Finding]:
    return {f.id: f for f in report.findings}


def auth(report: Report) -> set[str]:
    return {f.id for f in report.findings if f.id.startswith("auth.") and f.id != "auth.results_explained"}


@pytest.mark.parametrize("ed25519", [False, True])
def test_a_well_signed_message_passes_everything(server: TestDnsServer, ed25519: bool) -> None:
    report = analyse(server, sign(message(), selector="ed" if ed25519 else "rsa", ed25519=ed25519))
    assert report.facts.to_json()["dkim"][0]["result"] == "pass" and report.facts.to_json()["dkim"][0]["a"].startswith(
        "ed25519" if ed25519 else "rsa"
    )
    assert report.facts.to_json()["spf"]["result"] == "pass" and report.facts.to_json()["dmarc"]["result"] == "pass"
    assert auth(report) == set()
    assert not any(q["name"].startswith("default._domainkey") for q in report.queries)  # a working key: no discovery


def test_body_changed_after_signing(server: TestDnsServer) -> None:
    signed = sign(message())
    report = analyse(server, signed.replace(b"see you at ten.", b"see you at eleven."))
    finding = by_id(report)["auth.dkim_fail"]
    assert report.facts.to_json()["dkim"][0]["cause"] == "body_changed" and "changed after signing" in finding.detail
    assert report.facts.to_json()["dmarc"]["result"] == "pass"  # SPF still passes aligned


def test_header_changed_after_signing(server: TestDnsServer) -> None:
    report = analyse(server, sign(message()).replace(b"Subject: Our meeting", b"Subject: [EXTERNAL] Our meeting"))
    assert report.facts.to_json()["dkim"][0]["cause"] == "headers_changed"


def test_key_missing(server: TestDnsServer) -> None:
    report = analyse(server, sign(message(), selector="gone"))
    sig = report.facts.to_json()["dkim"][0]
    assert sig["result"] == "permerror" and sig["cause"] == "key_missing"
    assert "auth.dkim_selector_mismatch" in auth(report) or "auth.dkim_fail" in auth(report)


def test_relaxed_and_strict_alignment_with_a_subdomain_signer(server: TestDnsServer) -> None:
    relaxed = analyse(server, sign(message(), domain="mail.signed.test"), ip="203.0.113.1")
    ident = next(i for i in relaxed.facts.to_json()["dmarc"]["identifiers"] if i["mechanism"] == "dkim")
    assert ident["aligned_relaxed"] and not ident["aligned_strict"] and relaxed.facts.to_json()["dmarc"]["result"] == "pass"
    strict = analyse(
        server, sign(message("alice@strict.test"), domain="mail.strict.test"), ip="203.0.113.1", mail_from="bounce@strict.test"
    )
    assert strict.facts.to_json()["dmarc"]["result"] == "fail" and strict.facts.to_json()["dmarc"]["disposition"] == "quarantine"
    assert {"auth.dmarc_fail", "auth.dmarc_unaligned"} <= auth(strict)


def test_a_spoofed_from_is_rejected_by_policy(server: TestDnsServer) -> None:
    spoof = sign(message("ceo@signed.test", subject="Urgent wire"), domain="attacker.test")
    report = analyse(server, spoof, ip="198.51.100.66", mail_from="x@attacker.test")
    assert report.facts.to_json()["dmarc"]["disposition"] == "reject"
    found = by_id(report)
    assert "reject" in found["auth.dmarc_fail"].detail and found["auth.dmarc_fail"].severity.name == "CRITICAL"
    assert "attacker.test" in found["auth.dmarc_unaligned"].title


def test_forwarded_through_a_list_with_arc(server: TestDnsServer) -> None:
    forwarded = arc_forward(sign(message()))
    report = analyse(server, forwarded, ip="203.0.113.99", mail_from="list-bounces@forwarder.test")
    assert report.facts.to_json()["arc"]["present"] and report.facts.to_json()["arc"]["result"] == "pass"
    assert report.facts.to_json()["dkim"][0]["cause"] == "body_changed"  # the footer broke the original signature
    broken = forwarded.replace(b"Sent through the list", b"Sent through the lisp")
    assert analyse(server, broken, ip="203.0.113.99").facts.to_json()["arc"]["result"] == "fail"


def test_tags_that_weaken_a_signature(server: TestDnsServer) -> None:
    with_length = analyse(server, sign(message(), length=True))
    assert with_length.facts.to_json()["dkim"][0]["result"] == "pass" and "auth.dkim_l_tag" in auth(with_length)
    without_from = sign(message()).replace(b"h=from : to", b"h=to", 1)  # dkimpy refuses to sign without From
    assert "auth.dkim_from_unsigned" in auth(analyse(server, without_from))


def test_unsigned_mail(server: TestDnsServer) -> None:
    assert "auth.dkim_none" in auth(analyse(server, message()))


def test_spf_fail_and_the_receivers_disagreement(server: TestDnsServer) -> None:
    received = b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=signed.test; dkim=none\r\n" + message()
    report = analyse(server, received, ip="203.0.113.7")
    found = by_id(report)
    assert "fail" in found["auth.spf_fail"].title and "203.0.113.7" in found["auth.spf_fail"].detail
    assert "spf=pass" in found["auth.results_disagree"].title


def test_the_example_from_the_field_is_explained() -> None:
    zone = ZoneSet.from_paths([EXAMPLES / "afspraakmanager.be.zone"])
    raw = (EXAMPLES / "afspraakmanager.be-gmail-headers.txt").read_bytes()
    report = asyncio.run(analyse_message(raw, ZoneResolver(zone)))
    found = by_id(report)
    assert report.facts.to_json()["connection"]["client_ip"] == "2a02:348:8e:6048::1"
    spf = found["auth.spf_fail"]
    assert "publishes no SPF record" in spf.detail and "spf.rrtype99" in spf.detail  # points at the misplaced record
    assert "ip6:2a02:348:8e:6048::1" in found["spf.missing"].fix and "fix of spf.missing" in spf.fix  # printed once
    mismatch = found["auth.dkim_selector_mismatch"]
    assert "s=mail" in mismatch.detail and "default" in mismatch.detail and "malformed" in mismatch.detail
    assert "s=default" in mismatch.fix and "mail._domainkey.afspraakmanager.be" in mismatch.fix
    assert "v=DKIM1; k=rsa; p=MIGf" in found["dkim.record_escaped"].fix  # the record as meant
    assert {"spf.missing", "spf.rrtype99", "auth.dmarc_fail", "dmarc.missing"} <= set(found)
    explained = " ".join(f.detail for f in report.findings if f.id == "auth.results_explained")
    assert "best guess" in explained and "bad format" in explained
    assert "auth.results_disagree" not in found  # Google's best-guess neutral is our 'none', not a disagreement


def test_headers_only_are_checked_without_the_body(server: TestDnsServer) -> None:
    signed = sign(message())
    headers = signed.split(b"\r\n\r\n")[0] + b"\r\n"
    report = analyse(server, headers)
    assert report.facts.to_json()["headers_only"] and report.facts.to_json()["dkim"][0]["result"] == "unverified"
    assert "auth.dkim_fail" not in auth(report)


def test_not_a_message() -> None:
    report = asyncio.run(analyse_message(b"\x00\x01\x02 binary junk", ZoneResolver(ZoneSet([]))))
    assert [f.id for f in report.findings] == ["msg.parse_error"]


def _areas(report: Report) -> dict[str, object]:
    return {a.area: a for a in report.areas()}


def test_a_message_report_says_what_each_area_verified(server: TestDnsServer) -> None:
    unsubscribe = "List-Unsubscribe: <https://signed.test/u/1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    raw = sign(message(extra=unsubscribe), include_headers=[b"from", b"to", b"subject", b"date", b"list-unsubscribe"])
    report = analyse(server, raw, tls="TLSv1.3 TLS_AES_256_GCM_SHA384")
    areas = _areas(report)
    assert {area: areas[area].state for area in ("spf", "dkim", "dmarc", "tls")} == dict.fromkeys(("spf", "dkim", "dmarc", "tls"), "pass")
    dkim = areas["dkim"].verified
    assert dkim[0] == "d=signed.test s=rsa a=rsa-sha256, 2048-bit key: pass: body hash and signature verified"
    assert dkim[1].startswith("d=signed.test signs: from, to, subject, date, list-unsubscribe")
    assert dkim[1].endswith("; covers List-Unsubscribe; does not cover List-Unsubscribe-Post")
    assert areas["spf"].verified[0].startswith(f"{IP} for signed.test: pass, matched ")
    assert any("counts for DMARC" in line and line.startswith("DKIM pass for signed.test") for line in areas["dmarc"].verified)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in areas["msg"].verified
    assert areas["tls"].verified == ("delivered over TLSv1.3 TLS_AES_256_GCM_SHA384",)
    # the phrases were read, but no content filter was asked: never a pass
    assert areas["content"].state == "not_checked" and "no SpamAssassin or rspamd" in areas["content"].reason
    assert any(r.area == "content" and r.state == "partial" for r in report.runs)


def test_an_area_the_message_gives_nothing_for_is_not_checked(server: TestDnsServer) -> None:
    report = analyse(server, message("root@vm"), ip="", mail_from="", audit_domain=False, tls="")
    areas = _areas(report)
    assert areas["dmarc"].state == "not_checked" and "From header" in areas["dmarc"].reason  # no DMARC evaluated: never a pass
    assert areas["spf"].state == "not_checked" and "connecting IP" in areas["spf"].reason
    assert areas["tls"].state == "fail" and "tls.not_encrypted" in by_id(report)


def test_a_receivers_header_alone_is_no_pass_of_ours(server: TestDnsServer) -> None:
    recorded = "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=signed.test\r\n"
    report = analyse(server, recorded.encode() + message(), ip="", mail_from="", audit_domain=False)
    spf = _areas(report)["spf"]
    assert spf.state == "not_checked" and "a receiver recorded spf=pass" in spf.reason
