"""A message's checks run by the one engine: isolated like a domain's, each area resting only on
what its own check read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from maildoctor.checks.registry import CheckSpec
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.findings import Finding, Report
from maildoctor.message.analyse import analyse_message
from maildoctor.message.checks import MESSAGE_CHECKS
from maildoctor.message.context import MessageContext
from maildoctor.message.options import MessageOptions
from maildoctor.testing.dnsserver import Faults, TestDnsServer
from tests.keys import publish_txt, rsa_p
from tests.message.signing import message, sign

IP = "192.0.2.10"


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def server(faults: Faults) -> Iterator[TestDnsServer]:
    zone = load_zone_text(
        "$ORIGIN signed.test.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n"
        '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"\n_dmarc IN TXT "v=DMARC1; p=reject"\n',
        None,
    )
    zones = ZoneSet([zone])
    publish_txt(zones, "rsa._domainkey.signed.test", f"v=DKIM1; k=rsa; p={rsa_p()}")
    with TestDnsServer(zones, faults=faults) as srv:
        yield srv


def analyse(server: TestDnsServer, raw: bytes, budget: float = 5.0) -> Report:
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3)
        try:
            options = MessageOptions(client_ip=IP, helo="mail.signed.test", mail_from="bounce@signed.test", audit_domain=False)
            options.budget = budget
            return await analyse_message(raw, resolver, options)
        finally:
            resolver.close()

    return asyncio.run(asyncio.wait_for(run(), 30))


def areas(report: Report) -> dict[str, str]:
    return {a.area: a.state for a in report.areas()}


def test_every_message_check_declares_catalog_ids() -> None:
    from maildoctor.catalog import catalog

    names = {spec.name for spec in MESSAGE_CHECKS}
    assert {"message_spf", "message_signatures", "message_dmarc", "message_structure", "content_engines"} <= names
    assert all(spec.emits and set(spec.emits) <= set(catalog()) for spec in MESSAGE_CHECKS)


def test_a_key_that_cannot_be_read_leaves_dkim_unavailable_and_spf_a_pass(server: TestDnsServer, faults: Faults) -> None:
    faults.set("rsa._domainkey.signed.test", "timeout")
    report = analyse(server, sign(message()))
    states = areas(report)
    assert states["dkim"] == "unavailable"
    assert states["spf"] == "pass"  # SPF's own check read no failed answer
    run = next(r for r in report.runs if r.check == "message_signatures")
    assert run.state == "unavailable" and "rsa._domainkey.signed.test TXT (timeout)" in run.reason
    assert not report.complete


def test_a_dmarc_record_that_cannot_be_read_is_no_dmarc_failure(server: TestDnsServer, faults: Faults) -> None:
    faults.set("_dmarc.signed.test", "servfail")
    report = analyse(server, sign(message()))
    assert areas(report)["dmarc"] == "unavailable"
    assert "auth.dmarc_fail" not in {f.id for f in report.findings}  # "publishes no policy" would be a guess
    assert areas(report)["dkim"] == "pass"


async def _raises(ctx: MessageContext) -> list[Finding]:
    await ctx.signatures()
    raise RuntimeError("a bug in a message check")


async def _hangs(ctx: MessageContext) -> list[Finding]:
    await asyncio.Event().wait()
    return []


BROKEN = [CheckSpec("dkim", "message_check_that_raises", (), _raises), CheckSpec("msg", "message_check_that_hangs", (), _hangs)]


@pytest.fixture
def broken_checks() -> Iterator[None]:
    MESSAGE_CHECKS.extend(BROKEN)
    try:
        yield
    finally:
        for spec in BROKEN:
            MESSAGE_CHECKS.remove(spec)


def test_a_message_check_that_raises_or_hangs_costs_only_its_area(server: TestDnsServer, broken_checks: None) -> None:
    report = analyse(server, sign(message()), budget=0.5)
    runs = {r.check: r for r in report.runs}
    assert runs["message_check_that_raises"].state == "crashed" and "a bug in a message check" in runs["message_check_that_raises"].reason
    assert runs["message_check_that_hangs"].state == "crashed"
    assert [f.id for f in report.findings].count("engine.check_crashed") == 2
    assert runs["message_spf"].state == "ran" and areas(report)["spf"] == "pass"
    assert areas(report)["dkim"] == "unavailable" and not report.complete
