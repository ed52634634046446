"""The shipped blocklist catalog, the catalog format's validation, and reading list answers."""

import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dnsbl.catalog import CatalogError, interpret, parse_catalog

MAJOR = {
    "zen.spamhaus.org",
    "dbl.spamhaus.org",
    "bl.spamcop.net",
    "b.barracudacentral.org",
    "dnsbl-1.uceprotect.net",
    "dnsbl-2.uceprotect.net",
    "dnsbl-3.uceprotect.net",
    "psbl.surriel.com",
    "bl.mailspike.net",
    "multi.surbl.org",
    "multi.uribl.com",
}


def by_zone(zone: str):  # noqa: ANN201
    return next(b for b in shipped_catalog() if b.zone == zone)


def test_the_shipped_catalog() -> None:
    lists = shipped_catalog()
    assert len(lists) >= 50 and MAJOR <= {b.zone for b in lists}
    assert {k for b in lists for k in b.kinds} == {"ipv4", "ipv6", "domain"}
    assert all(b.delist.startswith(("https://", "http://")) and b.lists and b.codes for b in lists)
    assert not by_zone("zen.spamhaus.org").public_resolvers and by_zone("bl.spamcop.net").public_resolvers


def test_codes_are_decoded_with_their_own_severity() -> None:
    zen = by_zone("zen.spamhaus.org")
    sbl = interpret(zen, ["127.0.0.2"])
    assert sbl.listed and sbl.severity == "critical" and "SBL" in sbl.meanings[0]
    pbl = interpret(zen, ["127.0.0.11"])
    assert pbl.listed and pbl.severity == "error" and "PBL" in pbl.meanings[0]
    both = interpret(zen, ["127.0.0.11", "127.0.0.4"])
    assert both.severity == "critical" and len(both.meanings) == 2


@pytest.mark.parametrize("answer", ["127.255.255.254", "127.255.255.255", "127.255.255.252"])
def test_refusal_codes_are_never_listings(answer: str) -> None:
    for zone in ("zen.spamhaus.org", "bl.spamcop.net"):  # documented for Spamhaus, treated alike everywhere
        reading = interpret(by_zone(zone), [answer])
        assert not reading.listed and reading.refused


def test_answers_outside_loopback_are_refused() -> None:
    reading = interpret(by_zone("bl.spamcop.net"), ["192.0.2.1"])
    assert not reading.listed and "outside 127.0.0.0/8" in reading.refused
    assert interpret(by_zone("bl.spamcop.net"), ["127.0.0.2", "10.0.0.1"]).refused  # one bad answer spoils the set


def test_bitmask_lists() -> None:
    uribl = by_zone("multi.uribl.com")
    reading = interpret(uribl, ["127.0.0.6"])
    assert reading.listed and reading.severity == "critical" and len(reading.meanings) == 2
    assert "grey" in interpret(uribl, ["127.0.0.4"]).meanings[0] and interpret(uribl, ["127.0.0.4"]).severity == "warning"
    assert interpret(uribl, ["127.0.0.1"]).refused  # URIBL's "query blocked"


def test_codes_that_are_not_listings() -> None:
    hostkarma = by_zone("hostkarma.junkemailfilter.com")
    assert not interpret(hostkarma, ["127.0.0.1"]).listed  # whitelisted
    assert interpret(hostkarma, ["127.0.0.2"]).listed
    undocumented = interpret(by_zone("bl.spamcop.net"), ["127.0.0.9"])
    assert undocumented.listed and "not documented" in undocumented.meanings[0]


GOOD = """
[[list]]
zone = "bl.example.test"
name = "Example"
lists = "spam"
kinds = ["ipv4"]
severity = "error"
delist = "https://example.test/"
[list.codes]
"127.0.0.2" = "spam"
"""


def test_a_user_catalog() -> None:
    [only] = parse_catalog(GOOD, "mine.toml")
    assert only.zone == "bl.example.test" and only.public_resolvers and only.codes[0].severity == "error"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[list]\nzone=", "not valid TOML"),
        ("title = 'x'", "no [[list]] entries"),
        (GOOD.replace('"ipv4"', '"ipv5"'), "list 1 (bl.example.test): 'kinds'"),
        (GOOD.replace('severity = "error"', 'severity = "fatal"'), "severity 'fatal'"),
        (GOOD.replace('zone = "bl.example.test"\n', ""), "list 1: 'zone'"),
        (GOOD + GOOD, "list 2 (bl.example.test): zone bl.example.test appears twice"),
        (GOOD.replace('"127.0.0.2" = "spam"', '"localhost" = "spam"'), "'localhost' is not an IPv4 address"),
    ],
)
def test_catalog_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as error:
        parse_catalog(text, "mine.toml")
    assert message in str(error.value) and str(error.value).startswith("mine.toml")
