"""Blocklist queries against the loopback DNS server serving blocklist zones, with faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.dnsbl.lookup import Result, Subject, check_all, self_test
from maildoctor.testing.dnsserver import TestDnsServer
from tests.blocklists import blocklist_zone

LISTINGS = {
    "zen.spamhaus.org": [
        ("192.0.2.99", "127.0.0.2", "SBL999 spam operation"),
        ("192.0.2.99", "127.0.0.4", ""),
        ("2001:db8::99", "127.0.0.3", ""),
        ("192.0.2.98", "127.255.255.254", ""),
    ],
    "dbl.spamhaus.org": [("spammy.test", "127.0.1.2", "")],
    "multi.uribl.com": [("spammy.test", "127.0.0.8", "")],
    "bl.spamcop.net": [("192.0.2.99", "127.0.0.2", "Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.99")],
    "dnsbl-1.uceprotect.net": [("127.0.0.1", "127.0.0.2", "")],  # a broken list: lists everything
}
DEAD = "ips.backscatterer.org"  # serves the zone, but without its test entry
EVERYTHING = "dnsbl-1.uceprotect.net"  # lists 127.0.0.1 too
UNTRUSTED = (DEAD, EVERYTHING)


@pytest.fixture(scope="module")
def server() -> Iterator[TestDnsServer]:
    zones = ZoneSet([blocklist_zone(b, LISTINGS.get(b.zone, []), test_entry=b.zone != DEAD) for b in shipped_catalog()])
    with TestDnsServer(zones) as srv:
        yield srv


def run(
    server: TestDnsServer, targets: list[str], deadline: float = 5.0, timeout: float = 0.3, eager: bool = True
) -> dict[tuple[str, str], Result]:
    """eager=False is an audit's way: the A questions as one batch, TXT only for listings."""

    async def go() -> list[Result]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=timeout)
        try:
            return await check_all(resolver, [Subject.parse(t) for t in targets], list(shipped_catalog()), deadline, eager_reasons=eager)
        finally:
            resolver.close()

    return {(r.subject.text, r.blocklist.zone): r for r in asyncio.run(go())}


def test_query_names() -> None:
    assert Subject.parse("192.0.2.99").query_name("bl.test") == "99.2.0.192.bl.test"
    v6 = Subject.parse("2001:DB8::99").query_name("bl.test")
    assert v6 == "9.9.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.bl.test" and len(v6.split(".")) == 34
    assert Subject.parse("Example.COM.").query_name("dbl.test") == "example.com.dbl.test"
    with pytest.raises(ValueError):
        Subject.parse("not a target")


@pytest.mark.parametrize("others", [1, 6])  # few targets: TXT asked with A; many: TXT only for listings
def test_listed_clean_and_reasons(server: TestDnsServer, others: int) -> None:
    results = run(server, ["192.0.2.99"] + [f"192.0.2.{i}" for i in range(1, others + 1)])
    zen = results[("192.0.2.99", "zen.spamhaus.org")]
    assert zen.status == "listed" and sorted(zen.reading.codes) == ["127.0.0.2", "127.0.0.4"]
    assert zen.reading.severity == "critical" and zen.reason == "SBL999 spam operation"
    assert results[("192.0.2.99", "bl.spamcop.net")].reason.startswith("Blocked")
    assert all(r.status == "clean" for (t, z), r in results.items() if t == "192.0.2.1" and z not in UNTRUSTED)
    dead = results[("192.0.2.1", DEAD)]  # its test entry is missing: its silence proves nothing
    assert dead.status == "unavailable" and "test entry 127.0.0.2 is not listed" in dead.detail
    ipv4_lists = [b for b in shipped_catalog() if "ipv4" in b.kinds]
    assert sum(1 for t, _ in results if t == "192.0.2.1") == len(ipv4_lists)  # every IPv4 list, each once


def test_ipv6_and_domains_use_only_their_lists(server: TestDnsServer) -> None:
    results = run(server, ["2001:db8::99", "spammy.test"])
    assert results[("2001:db8::99", "zen.spamhaus.org")].status == "listed"
    assert {z for t, z in results if t == "2001:db8::99"} == {b.zone for b in shipped_catalog() if "ipv6" in b.kinds}
    assert results[("spammy.test", "dbl.spamhaus.org")].status == "listed"
    uribl = results[("spammy.test", "multi.uribl.com")]
    assert uribl.status == "listed" and uribl.reading.severity == "warning" and "red" in uribl.reading.meanings[0]
    assert ("spammy.test", "bl.spamcop.net") not in results


@pytest.mark.parametrize("eager", [True, False])
def test_refusal_codes(server: TestDnsServer, eager: bool) -> None:
    result = run(server, ["192.0.2.98"], eager=eager)[("192.0.2.98", "zen.spamhaus.org")]
    assert result.status == "refused" and "public" in result.detail


@pytest.mark.parametrize("eager", [True, False])
@pytest.mark.parametrize("fault", ["timeout", "servfail", "refused"])
def test_failures_are_unavailable_never_listed(server: TestDnsServer, fault: str, eager: bool) -> None:
    server.faults.set("99.2.0.192.bl.spamcop.net", fault)
    try:
        results = run(server, ["192.0.2.99"], eager=eager)
    finally:
        server.faults.by_name.clear()
    assert results[("192.0.2.99", "bl.spamcop.net")].status == "unavailable"
    assert results[("192.0.2.99", "zen.spamhaus.org")].status == "listed"  # the others still answer


def test_one_overall_deadline(server: TestDnsServer) -> None:
    server.faults.set("99.2.0.192.psbl.surriel.com", "timeout")
    try:
        started = time.perf_counter()
        results = run(server, ["192.0.2.99"], deadline=0.4, timeout=2.0)
        elapsed = time.perf_counter() - started
    finally:
        server.faults.by_name.clear()
    psbl = results[("192.0.2.99", "psbl.surriel.com")]
    assert psbl.status == "unavailable" and "deadline" in psbl.detail
    assert elapsed < 1.5  # the deadline, not the 2 s x 2 attempts of one silent list
    assert results[("192.0.2.99", "zen.spamhaus.org")].status == "listed"


def test_a_batch_past_the_deadline_is_unavailable_as_a_whole(server: TestDnsServer) -> None:
    # An audit asks the lists as one batch: what the resolver's own timeouts (2 s x 2 attempts)
    # have not ended by the deadline is all unavailable, and the audit goes on.
    server.faults.set("99.2.0.192.psbl.surriel.com", "timeout")
    try:
        started = time.perf_counter()
        results = run(server, ["192.0.2.99"], deadline=0.4, timeout=2.0, eager=False)
        elapsed = time.perf_counter() - started
    finally:
        server.faults.by_name.clear()
    assert elapsed < 1.5 and all(r.status == "unavailable" and "deadline" in r.detail for r in results.values())


def test_a_batch_asks_the_reason_of_listings_only(server: TestDnsServer) -> None:
    before = server.questions
    results = run(server, ["192.0.2.99"], eager=False)
    listed = [r for r in results.values() if r.status == "listed"]
    assert results[("192.0.2.99", "zen.spamhaus.org")].reason == "SBL999 spam operation"
    lists = {z for _, z in results}  # and each list's test entry and 127.0.0.1, in the same batch, without reasons
    assert server.questions - before == len(results) + len(listed) + 2 * len(lists)


def test_all_lists_are_asked_at_once(server: TestDnsServer) -> None:
    server.faults.delay = 0.2
    try:
        started = time.perf_counter()
        results = run(server, ["192.0.2.1"], timeout=1.0)
        elapsed = time.perf_counter() - started
    finally:
        server.faults.delay = 0.0
    assert all(r.status == "clean" for (_, z), r in results.items() if z not in UNTRUSTED) and len(results) > 40
    assert elapsed < 1.5  # one delay for all lists, not forty


def test_self_test(server: TestDnsServer) -> None:
    async def go() -> dict[str, str]:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.3)
        try:
            return await self_test(resolver, list(shipped_catalog()), 5.0)
        finally:
            resolver.close()

    states = asyncio.run(go())
    assert states["zen.spamhaus.org"] == "working" and states["multi.surbl.org"] == "working"
    assert states[DEAD].startswith("dead") and states["dnsbl-1.uceprotect.net"].startswith("lists everything")
    assert states["bl.ipv6.spameatingmonkey.net"] == "working"  # by the entry RFC 5782 §5 requires (::ffff:7f00:2)


def _through(zones: ZoneSet, targets: list[str]) -> dict[tuple[str, str], Result]:
    with TestDnsServer(zones) as other:
        return run(other, targets)


def test_a_resolver_that_answers_nxdomain_for_everything_is_no_clean_bill() -> None:
    # every list's zone served, none with an entry: what a resolver that rewrites answers looks like
    lying = ZoneSet([blocklist_zone(b, [], test_entry=False) for b in shipped_catalog()])
    results = _through(lying, ["192.0.2.1", "example.org"])
    assert results and all(r.status == "unavailable" and "is not listed" in r.detail for r in results.values())


def test_spamhaus_refusing_a_public_resolver_is_said_so() -> None:
    # Spamhaus answers 127.255.255.254 to every query through a public resolver, its test entry included
    zones = [blocklist_zone(b) for b in shipped_catalog() if b.zone != "zen.spamhaus.org"]
    zones.append(load_zone_text("$ORIGIN zen.spamhaus.org.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n* IN A 127.255.255.254\n", None))
    results = _through(ZoneSet(zones), ["192.0.2.1"])
    zen = results[("192.0.2.1", "zen.spamhaus.org")]
    assert zen.status == "refused" and "public" in zen.detail  # its own answer for the target says it
    assert results[("192.0.2.1", "bl.spamcop.net")].status == "clean"  # the other lists are unaffected


def test_every_list_of_the_catalog_has_a_test_entry() -> None:
    for blocklist in shipped_catalog():
        assert blocklist.test and Subject.test_entry(blocklist).kind in blocklist.kinds, blocklist.zone


def test_a_list_that_lists_127_0_0_1_lists_everything_and_proves_nothing(server: TestDnsServer) -> None:
    # the module's server has EVERYTHING list 127.0.0.1 (as a resolver that answers
    # every name with an address would): neither its listings nor its silence count
    results = run(server, ["192.0.2.99", "192.0.2.1"])
    for target in ("192.0.2.99", "192.0.2.1"):
        uce = results[(target, EVERYTHING)]
        assert uce.status == "unavailable" and "lists 127.0.0.1" in uce.detail
    assert results[("192.0.2.99", "zen.spamhaus.org")].status == "listed"  # the other lists still count


def test_a_list_that_refused_its_test_entry_is_not_asked_again_until_its_canary_is() -> None:
    """Two audits through one client, as in a bulk run: a list that refused its test entry (by its
    refusal code, or by the server's REFUSED) is not asked about the second target, and says why;
    a list whose test entry only timed out is asked still."""
    import dns.message

    zones = [blocklist_zone(b) for b in shipped_catalog() if b.zone != "zen.spamhaus.org"]
    zones.append(load_zone_text("$ORIGIN zen.spamhaus.org.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n* IN A 127.255.255.254\n", None))
    asked: list[str] = []
    with TestDnsServer(ZoneSet(zones)) as other:
        for name in ("2.0.0.127.bl.spamcop.net", "1.2.0.192.bl.spamcop.net", "2.2.0.192.bl.spamcop.net"):
            other.faults.set(name, "refused")
        other.faults.set("2.0.0.127.psbl.surriel.com", "timeout")
        other.on_udp_question = lambda wire, _: asked.append(str(dns.message.from_wire(wire).question[0].name).rstrip(".").lower())

        async def go() -> list[list[Result]]:
            resolver = LiveResolver([Nameserver.parse(other.address)], timeout=0.3)
            try:
                return [await check_all(resolver, [Subject.parse(ip)], list(shipped_catalog()), 5.0) for ip in ("192.0.2.1", "192.0.2.2")]
            finally:
                resolver.close()

        first, second = ({r.blocklist.zone: r for r in results} for results in asyncio.run(go()))
    assert first["zen.spamhaus.org"].status == "refused" and "not asked" not in first["zen.spamhaus.org"].detail
    assert first["bl.spamcop.net"].status == "unavailable" and "not asked" not in first["bl.spamcop.net"].detail
    assert "2.2.0.192.zen.spamhaus.org" not in asked and "2.2.0.192.bl.spamcop.net" not in asked
    zen, spamcop = second["zen.spamhaus.org"], second["bl.spamcop.net"]
    assert zen.status == "refused" and zen.detail.startswith("not asked") and zen.reading.refused
    assert spamcop.status == "unavailable" and spamcop.detail.startswith("not asked") and "refused" in spamcop.detail
    # a test entry that timed out: the list is asked, and its silence still not trusted
    assert "2.2.0.192.psbl.surriel.com" in asked and second["psbl.surriel.com"].status == "unavailable"
    assert second["cbl.abuseat.org"].status == "clean" and "2.2.0.192.cbl.abuseat.org" in asked
