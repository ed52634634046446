"""The check engine's shared work: done once per audit, whoever asks first."""

from __future__ import annotations

import asyncio

import pytest

from maildoctor.checks.registry import REGISTRY, AuditContext, CheckSpec
from maildoctor.dns.tracing import TracingResolver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.target import Target


def context() -> AuditContext:
    return AuditContext(target=Target(domain="example.test"), dns=TracingResolver(ZoneResolver(ZoneSet([]))))


def test_shared_work_is_done_once_for_every_check_that_asks() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    async def run() -> list[int]:
        ctx = context()
        first = await asyncio.gather(*(ctx.shared("mx", compute) for _ in range(5)))
        return [*first, await ctx.shared("mx", compute)]

    assert asyncio.run(run()) == [42] * 6 and calls == 1


def test_a_failure_of_shared_work_reaches_every_check_that_waits_for_it() -> None:
    async def compute() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("broken record")

    async def run() -> list[object]:
        ctx = context()
        waiting = await asyncio.gather(*(ctx.shared("dmarc", compute) for _ in range(3)), return_exceptions=True)
        with pytest.raises(ValueError):
            await ctx.shared("dmarc", compute)  # later askers get the same failure, not a new attempt
        return waiting

    assert all(isinstance(result, ValueError) for result in asyncio.run(run()))


# -- isolation: a check that raises or hangs ------------------------------------------------------
from collections.abc import Iterator  # noqa: E402

from maildoctor.bulk import audit_many  # noqa: E402
from maildoctor.engine import run_audit  # noqa: E402
from maildoctor.findings import Finding  # noqa: E402
from maildoctor.testing.dnsserver import TestDnsServer  # noqa: E402


async def _raises(ctx: AuditContext) -> list[Finding]:
    await ctx.dns.query(ctx.target.domain, "TXT")
    raise RuntimeError("a bug in a check")


async def _hangs(ctx: AuditContext) -> list[Finding]:
    await asyncio.Event().wait()  # never set
    return []


BROKEN = [CheckSpec("spf", "check_that_raises", (), _raises), CheckSpec("dmarc", "check_that_hangs", (), _hangs)]


@pytest.fixture
def broken_checks() -> Iterator[None]:
    REGISTRY.extend(BROKEN)
    try:
        yield
    finally:
        for spec in BROKEN:
            REGISTRY.remove(spec)


def _runs(report) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    return {run.check: (run.state, run.reason) for run in report.runs}


def test_a_check_that_raises_or_hangs_is_recorded_and_the_others_keep_their_findings(
    dns_server: TestDnsServer, broken_checks: None
) -> None:
    report = asyncio.run(_audit(dns_server, "spfnone.test", budget=0.5))
    runs = _runs(report)
    assert runs["check_that_raises"] == ("crashed", "RuntimeError: a bug in a check")
    assert runs["check_that_hangs"][0] == "crashed" and "0.5 s" in runs["check_that_hangs"][1]
    assert runs["check_spf"][0] == "ran" and "spf.missing" in {f.id for f in report.findings}
    assert [f.id for f in report.findings].count("engine.check_crashed") == 2
    assert not report.complete and report.incomplete_areas() == ["spf", "dmarc"]
    assert "incomplete: SPF, DMARC could not be checked" in report.score_text()
    crashed = next(r for r in report.runs if r.check == "check_that_raises")
    assert "RuntimeError" in crashed.traceback and "traceback" in crashed.to_json(verbose=True)
    assert "traceback" not in crashed.to_json()


async def _audit(server: TestDnsServer, domain: str, budget: float):  # noqa: ANN202
    from maildoctor.dns.live import LiveResolver, Nameserver

    resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3)
    try:
        return await run_audit(Target(domain=domain), resolver, budget=budget)
    finally:
        resolver.close()


def test_a_bulk_run_with_broken_checks_finishes_every_domain(dns_server: TestDnsServer, broken_checks: None) -> None:
    from maildoctor.dns.live import LiveResolver, Nameserver

    async def run() -> list:  # noqa: ANN202
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.3)
        try:
            targets = (Target(domain=d) for d in ["good.test", "spfnone.test", "nomx.test"])
            return [r async for r in audit_many(targets, resolver, concurrency=2, budget=0.5)]
        finally:
            resolver.close()

    reports = asyncio.run(asyncio.wait_for(run(), 20))
    assert sorted(r.target for r in reports) == ["good.test", "nomx.test", "spfnone.test"]
    assert all(_runs(r)["check_that_hangs"][0] == "crashed" and not r.complete for r in reports)


def test_a_bulk_run_survives_a_failure_outside_the_checks(dns_server: TestDnsServer) -> None:
    from maildoctor.dns.live import LiveResolver, Nameserver

    def selectors(domain: str) -> list[str]:
        raise OSError("the reports database went away")

    async def run() -> list:  # noqa: ANN202
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.3)
        try:
            return [r async for r in audit_many((Target(domain=d) for d in ["good.test", "nomx.test"]), resolver, 1, selectors)]
        finally:
            resolver.close()

    reports = asyncio.run(asyncio.wait_for(run(), 20))
    assert len(reports) == 2 and all(not r.complete and r.findings[0].id == "engine.check_crashed" for r in reports)


def test_the_inbox_grader_records_a_crashed_and_a_hanging_check(dns_server: TestDnsServer, broken_checks: None) -> None:
    from maildoctor.dns.live import LiveResolver, Nameserver
    from maildoctor.inbox.grader import grade_rows

    raw = b"From: a@spfnone.test\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <1@spfnone.test>\r\n\r\nhello\r\n"
    row = {
        "id": 1,
        "raw": raw,
        "client_ip": "192.0.2.9",
        "helo": "mail.spfnone.test",
        "mail_from": "a@spfnone.test",
        "rcpt": "md-1@localhost",
        "tls": 0,
        "size": len(raw),
        "received": 0.0,
    }

    async def run() -> list:  # noqa: ANN202
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.3)
        try:
            return await grade_rows([row], resolver, budget=0.5)
        finally:
            resolver.close()

    [(message_id, _, data)] = asyncio.run(asyncio.wait_for(run(), 20))
    states = {r["check"]: r["state"] for r in data["runs"]}
    assert message_id == 1 and data["complete"] is False
    assert states["check_that_raises"] == "crashed" and states["check_that_hangs"] == "crashed"
    assert "engine.check_crashed" in {f["id"] for f in data["findings"]} and "msg.parse_error" not in {f["id"] for f in data["findings"]}


def test_skipped_checks_say_why() -> None:
    report = asyncio.run(run_audit(Target(domain="example.test"), ZoneResolver(ZoneSet([])), areas=("mx", "smtp")))
    runs = _runs(report)
    assert runs["check_smtp"] == ("skipped", "not asked: no connection to a mail server was requested")
    assert runs["check_spf"] == ("skipped", "not asked")
    every = _runs(asyncio.run(run_audit(Target(domain="example.test"), ZoneResolver(ZoneSet([])))))
    assert every["check_zone_file"] == ("skipped", "not applicable: no zone file")
    assert every["check_blocklists"] == ("skipped", "offline: DNS is answered from zone files, which hold no blocklist")
    assert every["check_mx"][0] == "unavailable"  # example.test is in none of the (no) zones: nothing could be read


def test_a_check_that_read_failed_answers_and_said_nothing_is_unavailable(dns_server: TestDnsServer) -> None:
    dns_server.faults.set("good.test", "servfail", "DS")  # DNSSEC has no finding for this: it must not pass
    dns_server.faults.set("good.test", "servfail", "MX")  # the MX hosts, which DANE and reverse DNS rest on
    try:
        report = asyncio.run(_audit(dns_server, "good.test", budget=10))
    finally:
        dns_server.faults.by_name.clear()
    runs = _runs(report)
    assert runs["check_dnssec"] == ("unavailable", "DNS questions failed: good.test DS (servfail)")
    assert runs["check_dane"][0] == "unavailable" and "good.test MX (servfail)" in runs["check_dane"][1]
    assert runs["check_reverse_dns"][0] == "unavailable"  # not "skipped: no address": the MX lookup failed
    assert runs["check_dmarc"][0] == "ran" and not report.complete


def test_what_each_area_verified_is_in_the_report(dns_server: TestDnsServer) -> None:
    from tests.conftest import audit_via

    report = audit_via(dns_server, "good.test", ips=["192.0.2.10"])
    areas = {a.area: a for a in report.areas()}
    spf = areas["spf"].verified
    assert spf[0] == "record at good.test: v=spf1 mx -all" and any(
        line.endswith("of 10 DNS lookups used, 0 of 2 void lookups") for line in spf
    )
    assert any(line.startswith("192.0.2.10 for good.test: pass, matched mx") for line in spf)
    assert areas["dmarc"].verified == (
        "record at _dmarc.good.test: v=DMARC1; p=reject; rua=mailto:dmarc@good.test; adkim=s",
        "policy applied to good.test: p=reject, pct=100; alignment DKIM strict, SPF relaxed",
    )
    assert "192.0.2.10 (sending IP): PTR mx1.good.test, which resolves back to it" in areas["rdns"].verified
    assert "MX 10 mx1.good.test: 192.0.2.10, 2001:db8::10" in areas["mx"].verified
    assert areas["spf"].state == areas["dmarc"].state == areas["rdns"].state == "pass"
    assert areas["smtp"].state == "not_checked"


def test_nothing_answering_makes_every_area_unavailable_and_none_pass() -> None:
    from maildoctor.dns.live import LiveResolver, Nameserver

    async def run() -> object:
        resolver = LiveResolver([Nameserver.parse("127.0.0.9:9")], timeout=0.1)  # nothing listens there
        try:
            return await run_audit(Target(domain="example.test", ips=["192.0.2.1"]), resolver, budget=10)
        finally:
            resolver.close()

    report = asyncio.run(run())
    found = {a.area: a.state for a in report.areas()}  # type: ignore[attr-defined]
    assert "pass" not in found.values() and found["spf"] == found["dmarc"] == found["dnsbl"] == "unavailable"
