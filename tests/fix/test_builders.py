"""The record builders: SPF from what sends (lookups counted, flattened past 10), DKIM keys that
really sign and verify, the staged DMARC plan, the MTA-STS policy from the MX hosts."""

from __future__ import annotations

import asyncio
import datetime
import json
import stat
from pathlib import Path

import dkim
import pytest

from maildoctor.checks.common import quote_txt
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.overlay import OverlayResolver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.fix.dkim import generate, rotation_plan
from maildoctor.fix.dmarc import dmarc_stages
from maildoctor.fix.mtasts import build_mtasts, mx_hosts
from maildoctor.fix.spf import SpfBuild, build_spf
from maildoctor.records.dmarc import parse_dmarc
from maildoctor.records.mtasts_policy import parse_mtasts_policy
from maildoctor.spf.evaluator import SpfResult, check_host
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import ZONES
from tests.test_cli import run


def spf(server: TestDnsServer, domain: str, **what: object) -> SpfBuild:
    async def go() -> SpfBuild:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=1)
        try:
            return await build_spf(resolver, domain, **what)  # type: ignore[arg-type]
        finally:
            resolver.close()

    return asyncio.run(go())


def authorizes(server: TestDnsServer, domain: str, record: str, ip: str) -> SpfResult:
    async def go() -> SpfResult:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=1)
        try:
            return (await check_host(OverlayResolver(resolver, {domain: [record]}), ip, domain)).result
        finally:
            resolver.close()

    return asyncio.run(go())


def test_an_spf_record_from_its_senders(dns_server: TestDnsServer) -> None:
    build = spf(dns_server, "good.test", mx=True, a=False, ips=["198.51.100.7", "2001:db8:1::/48"], includes=["_spf.provider.test"])
    assert build.record == "v=spf1 mx ip4:198.51.100.7 ip6:2001:db8:1::/48 include:_spf.provider.test ~all"
    assert build.lookups == 2 and not build.flattened
    assert authorizes(dns_server, "good.test", build.record, "203.0.113.9") is SpfResult.PASS


def test_a_known_service_is_named_by_its_key_with_its_source(dns_server: TestDnsServer) -> None:
    build = spf(dns_server, "good.test", mx=False, a=False, ips=[], includes=["google"], all_term="-all")
    assert build.record == "v=spf1 include:_spf.google.com -all"
    assert any("support.google.com" in note for note in build.notes)


def test_past_ten_lookups_the_record_is_flattened_and_still_authorizes_the_same_senders(dns_server: TestDnsServer) -> None:
    build = spf(dns_server, "good.test", mx=True, a=True, ips=[], includes=["l1.provider.test", "_spf.provider.test", "l1.provider.test"])
    assert build.flattened and build.lookups == 0 and "include:" not in build.record and " mx " not in build.record
    assert any("every month" in note for note in build.notes) and any("%{i}" in note for note in build.notes)
    for ip in ("203.0.113.201", "203.0.113.204", "203.0.113.5", "2001:db8:aa::1"):
        assert authorizes(dns_server, "good.test", build.record, ip) is SpfResult.PASS, ip
    assert authorizes(dns_server, "good.test", build.record, "198.51.100.99") is SpfResult.SOFTFAIL


def test_nothing_to_authorize_is_an_error(dns_server: TestDnsServer) -> None:
    with pytest.raises(ValueError, match="say what sends"):
        spf(dns_server, "good.test", mx=False, a=False, ips=[], includes=[])


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_a_generated_key_signs_and_verifies_with_dkimpy(key_type: str) -> None:
    pair = generate("signed.test", "s2026", key_type)
    message = b"From: a@signed.test\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
    private = pair.private_pem
    if key_type == "ed25519":  # dkimpy takes the raw seed, base64
        from cryptography.hazmat.primitives import serialization

        loaded = serialization.load_pem_private_key(private, None)
        raw = loaded.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())  # type: ignore[union-attr]
        import base64

        private = base64.b64encode(raw)
    algorithm = b"ed25519-sha256" if key_type == "ed25519" else b"rsa-sha256"
    signature = dkim.sign(
        message, b"s2026", b"signed.test", private, signature_algorithm=algorithm, include_headers=[b"from", b"to", b"subject"]
    )
    record = pair.record.encode()
    assert dkim.verify(signature + message, dnsfunc=lambda name, timeout=5: record)
    assert pair.bits == (2048 if key_type == "rsa" else 256)


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    done = run("dkim", "keygen", "good.test", "-s", "s2026", "--out", str(out), "--zone", str(ZONES))
    assert done.returncode == 0, done.stderr
    key = out / "s2026.private"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    record = (out / "s2026.txt").read_text()
    assert record.startswith('s2026._domainkey.good.test. 3600 IN TXT "v=DKIM1; k=rsa; p=') and all(
        len(part) <= 257 for part in record.split(" IN TXT ")[1].strip().split('" "')
    )
    assert "KeyTable:" in done.stdout and "smtpd_milters = inet:127.0.0.1:8891" in done.stdout and "dkim_signing.conf" in done.stdout
    again = run("dkim", "keygen", "good.test", "-s", "s2026", "--out", str(out), "--zone", str(ZONES))
    assert again.returncode == 2 and "does not overwrite" in again.stderr
    zone = tmp_path / "keyed.test.zone"
    zone.write_text(
        "$ORIGIN keyed.test.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\n"
        f"default._domainkey 300 IN TXT {quote_txt(generate('keyed.test', 'default').record)}\n"
    )
    taken = run("dkim", "keygen", "keyed.test", "-s", "default", "--out", str(tmp_path / "other"), "--zone", str(zone))
    assert taken.returncode == 2 and "already holds a key" in taken.stderr
    rotated = run("dkim", "keygen", "keyed.test", "-s", "s2027", "--out", str(tmp_path / "other"), "--zone", str(zone))
    assert rotated.returncode == 0 and "Rotation from default to s2027" in rotated.stdout


def test_a_rotation_keeps_the_old_key_until_the_new_one_is_seen() -> None:
    pair = generate("signed.test", "s2027")
    plan = rotation_plan(pair, ["s2026"], datetime.date(2027, 1, 4))
    assert plan is not None and [s.when.isoformat() for s in plan.steps] == ["2027-01-04", "2027-01-06", "2027-01-13", "2027-02-05"]
    assert "keep signing with s2026" in plan.steps[0].what and "empty p=" in plan.steps[2].what
    assert rotation_plan(pair, [], datetime.date(2027, 1, 4)) is None


def test_dmarc_is_reached_in_stages_from_where_the_domain_stands() -> None:
    start = datetime.date(2027, 1, 4)
    fresh = dmarc_stages("ex.test", "mailto:d@ex.test", None, start)
    assert [s.record for s in fresh][0] == "v=DMARC1; p=none; rua=mailto:d@ex.test"
    assert fresh[-1].record == "v=DMARC1; p=reject; rua=mailto:d@ex.test" and fresh[1].start == datetime.date(2027, 1, 18)
    current = parse_dmarc("v=DMARC1; p=quarantine; pct=50; adkim=s; ruf=mailto:f@ex.test; bogus=1")
    later = dmarc_stages("ex.test", "mailto:d@ex.test", current, start)
    assert later[0].record == "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@ex.test; adkim=s; ruf=mailto:f@ex.test"
    assert len(later) == 3 and all(parse_dmarc(s.record).problems == [] for s in later)


def test_an_mta_sts_policy_from_the_mx_hosts() -> None:
    hosts = asyncio.run(mx_hosts(ZoneResolver(ZoneSet.from_paths([ZONES])), "good.test"))
    assert hosts == ["mx1.good.test", "mx2.good.test"]
    build = build_mtasts("good.test", hosts, "testing", "mailto:tls@good.test", datetime.datetime(2027, 1, 4, 12, tzinfo=datetime.UTC))
    policy = parse_mtasts_policy(build.policy)
    assert policy.mode == "testing" and policy.mx == hosts and not policy.notes
    assert build.txt == "v=STSv1; id=20270104120000" and build.url == "https://mta-sts.good.test/.well-known/mta-sts.txt"
    with pytest.raises(ValueError, match="null MX"):
        asyncio.run(mx_hosts(ZoneResolver(ZoneSet.from_paths([ZONES])), "nullmx.test"))


def test_the_builders_json() -> None:
    for args, kind in (
        (["dmarc", "build", "good.test", "--rua", "mailto:d@good.test", "--zone", str(ZONES)], "dmarc_build"),
        (["mta-sts", "build", "good.test", "--zone", str(ZONES)], "mtasts_build"),
        (["spf", "build", "good.test", "--mx", "--zone", str(ZONES)], "spf_build"),
        (["bimi", "build", "good.test", "--logo", "https://good.test/logo.svg"], "bimi_build"),
    ):
        done = run(*args, "--format", "json")
        assert done.returncode == 0, (args, done.stderr)
        assert json.loads(done.stdout)["kind"] == kind
    assert run("dmarc", "build", "good.test", "--rua", "dmarc@good.test", "--zone", str(ZONES)).returncode == 2
