"""check_host() against the loopback DNS server: limits, macros, IPv6, redirect, explanations."""

import asyncio

import pytest

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.spf.evaluator import SpfEvaluation, check_host, check_identity
from maildoctor.testing.dnsserver import TestDnsServer

ZONE = """$ORIGIN ev.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN TXT "v=spf1 ip6:2001:db8:1::/48 a/24 mx include:inc.ev.test -all"
@ IN A 192.0.2.10
@ IN MX 10 mx
mx IN A 198.51.100.20
inc IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
deep IN TXT "v=spf1 include:l1.ev.test include:l2.ev.test include:l3.ev.test include:l4.ev.test include:l5.ev.test include:l6.ev.test -all"
l1 IN TXT "v=spf1 a:x1.ev.test a:x2.ev.test ?all"
l2 IN TXT "v=spf1 a:x1.ev.test ?all"
l3 IN TXT "v=spf1 a:x1.ev.test ?all"
l4 IN TXT "v=spf1 a:x1.ev.test ?all"
l5 IN TXT "v=spf1 a:x1.ev.test ?all"
l6 IN TXT "v=spf1 ip4:192.0.2.99 a:x3.ev.test ?all"
x1 IN A 192.0.2.1
x2 IN A 192.0.2.2
x3 IN A 192.0.2.3
voids IN TXT "v=spf1 a:n1.ev.test a:n2.ev.test a:n3.ev.test ip4:192.0.2.50 -all"
macro IN TXT "v=spf1 exists:%{ir}.%{v}.%{l}._ok.ev.test -all exp=exp.ev.test"
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.user._ok IN A 127.0.0.2
exp IN TXT "%{i} may not send for %{d} as %{s}"
redir IN TXT "v=spf1 ip4:192.0.2.77 redirect=inc.ev.test"
"""


@pytest.fixture(scope="module")
def server():  # noqa: ANN201
    with TestDnsServer(ZoneSet([load_zone_text(ZONE, None)])) as srv:
        yield srv


def evaluate(server: TestDnsServer, ip: str, domain: str = "ev.test", sender: str | None = None) -> SpfEvaluation:
    async def run() -> SpfEvaluation:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3)
        try:
            return await check_host(resolver, ip, domain, sender)
        finally:
            resolver.close()

    return asyncio.run(run())


@pytest.mark.parametrize(
    "ip,result,mechanism",
    [
        ("2001:db8:1::5", "pass", "ip6:2001:db8:1::/48"),
        ("192.0.2.200", "pass", "a/24"),
        ("198.51.100.20", "pass", "mx"),
        ("203.0.113.9", "pass", "include:inc.ev.test"),
        ("::ffff:203.0.113.9", "pass", "include:inc.ev.test"),  # IPv4-mapped: evaluated as IPv4
        ("198.51.100.21", "fail", "-all"),
        ("2001:db8:2::1", "fail", "-all"),
    ],
)
def test_mechanisms(server: TestDnsServer, ip: str, result: str, mechanism: str) -> None:
    evaluation = evaluate(server, ip)
    assert (evaluation.result.value, evaluation.mechanism) == (result, mechanism)


def test_lookup_limit_is_a_permerror_at_the_eleventh_term(server: TestDnsServer) -> None:
    evaluation = evaluate(server, "192.0.2.99", "deep.ev.test")
    assert evaluation.result.value == "permerror" and "more than 10" in evaluation.reason
    assert evaluation.lookups == 11


def test_void_limit(server: TestDnsServer) -> None:
    evaluation = evaluate(server, "192.0.2.50", "voids.ev.test")
    assert evaluation.result.value == "permerror" and "void" in evaluation.reason


def test_ipv6_macros_and_explanation(server: TestDnsServer) -> None:
    assert evaluate(server, "2001:db8::1", "macro.ev.test", "user@macro.ev.test").result.value == "pass"
    failed = evaluate(server, "2001:db8::2", "macro.ev.test", "user@macro.ev.test")
    assert failed.result.value == "fail"
    assert (
        failed.explanation
        == "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2 may not send for macro.ev.test as user@macro.ev.test"
    )


def test_redirect(server: TestDnsServer) -> None:
    assert evaluate(server, "203.0.113.1", "redir.ev.test").result.value == "pass"
    assert evaluate(server, "192.0.2.77", "redir.ev.test").result.value == "pass"
    assert evaluate(server, "198.51.100.1", "redir.ev.test").result.value == "fail"


def test_no_record_and_bad_domains(server: TestDnsServer) -> None:
    assert evaluate(server, "192.0.2.1", "x1.ev.test").result.value == "none"
    assert evaluate(server, "192.0.2.1", "nonexistent.ev.test").result.value == "none"
    assert evaluate(server, "192.0.2.1", "single-label").result.value == "none"


def test_server_failure_is_temperror(server: TestDnsServer) -> None:
    server.faults.set("inc.ev.test", "servfail")
    try:
        evaluation = evaluate(server, "203.0.113.9")
    finally:
        server.faults.by_name.clear()
    assert evaluation.result.value == "temperror"


def test_empty_mail_from_checks_the_helo(server: TestDnsServer) -> None:
    async def run() -> SpfEvaluation:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3)
        try:
            return await check_identity(resolver, "203.0.113.9", "", "ev.test")
        finally:
            resolver.close()

    evaluation = asyncio.run(run())
    assert evaluation.domain == "ev.test" and evaluation.result.value == "pass"
