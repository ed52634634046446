"""A recipient list by provider and cleaned: domains resolved through the test DNS server (a
company domain whose MX is Google's counts as Google), each reason for removing an address."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.audience.hygiene import Hygiene, resolve_domains, typo_of
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer
from tests.test_cli import run

ZONES = {
    "company.lab": "@ IN MX 1 aspmx.l.google.com.\n@ IN MX 5 alt1.aspmx.l.google.com.",
    "corp.lab": "@ IN MX 0 corp-lab.mail.protection.outlook.com.",
    "own.lab": "@ IN MX 10 mx.own.lab.\nmx IN A 192.0.2.5",
    "nomx.lab": '@ IN TXT "v=spf1 -all"',
    "implicit.lab": "@ IN A 192.0.2.6",
    "nullmx.lab": "@ IN MX 0 .",
    "gmail.com": "@ IN MX 5 gmail-smtp-in.l.google.com.",
    "flaky.lab": "@ IN MX 10 mx.flaky.lab.",
}


@pytest.fixture(scope="module")
def dns() -> Iterator[TestDnsServer]:
    zones = ZoneSet(
        [load_zone_text(f"$ORIGIN {d}.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n{records}\n", None) for d, records in ZONES.items()]
    )
    with TestDnsServer(zones) as server:
        server.faults.set("flaky.lab", "servfail", "MX")
        yield server


def hygiene(dns: TestDnsServer, domains: list[str], suppressed: frozenset[str] = frozenset()) -> Hygiene:
    async def go() -> Hygiene:
        resolver = LiveResolver([Nameserver.parse(dns.address)], timeout=0.5)
        try:
            return Hygiene(domains=await resolve_domains(resolver, domains), suppressed=suppressed)
        finally:
            resolver.close()

    return asyncio.run(go())


def test_each_address_is_judged_and_its_provider_found_by_mx(dns: TestDnsServer) -> None:
    h = hygiene(dns, [*ZONES, "missing.own.lab"], frozenset({"gone@own.lab"}))
    cases = {
        "alice@company.lab": ("kept", "Google"),
        "bob@corp.lab": ("kept", "Microsoft"),
        "carol@own.lab": ("kept", "other"),
        "dave@implicit.lab": ("kept", "other"),  # no MX: the domain's own address takes mail
        "eve@gmail.com": ("kept", "Google"),
        "frank@nomx.lab": ("no_mail_server", "none"),
        "grace@nullmx.lab": ("null_mx", "none"),
        "heidi@missing.own.lab": ("no_domain", "none"),
        "ivan@gmial.com": ("typo", "unknown"),
        "info@own.lab": ("role_account", "other"),
        "judy@mailinator.com": ("disposable", "unknown"),
        "gone@own.lab": ("suppressed", "other"),
        "Alice@company.lab": ("duplicate", "Google"),  # the same mailbox as alice@ (the domain part is case-blind; we fold all)
        "not an address": ("syntax", "none"),
        "kim@flaky.lab": ("unchecked", "unknown"),  # its DNS did not answer: kept, never called invalid
    }
    for address, expected in cases.items():
        verdict = h.judge(address)
        assert (verdict.reason, verdict.provider) == expected, (address, verdict)
    summary = h.summary()
    assert summary["addresses"] == len(cases) and summary["kept"] == 6 and summary["unchecked"] == 1
    assert summary["providers"][0] == {"provider": "Google", "addresses": 2, "share": round(2 / 6, 4)}


def test_typos_of_the_big_providers() -> None:
    assert typo_of("gmial.com") == "gmail.com" and typo_of("hotmial.com") == "hotmail.com" and typo_of("gmail.con") == "gmail.com"
    assert typo_of("yaho.com") == "yahoo.com" and typo_of("gmail.com") == "" and typo_of("example.com") == ""


def test_clean_writes_the_kept_and_the_rejected_lists(dns: TestDnsServer, tmp_path: Path) -> None:
    recipients = tmp_path / "recipients.csv"
    recipients.write_text("name,email\nAlice,alice@company.lab\nFrank,frank@nomx.lab\nIvan,ivan@gmial.com\nAlice again,ALICE@company.lab\n")
    out, rejected = tmp_path / "clean.csv", tmp_path / "rejected.csv"
    done = run(
        "audience",
        "clean",
        str(recipients),
        "--out",
        str(out),
        "--rejected",
        str(rejected),
        "--nameserver",
        dns.address,
        "--data",
        str(tmp_path / "data"),
    )
    assert done.returncode == 0, done.stderr
    assert list(csv.reader(out.open())) == [["name", "email"], ["Alice", "alice@company.lab"]]
    removed = list(csv.DictReader(rejected.open()))
    assert [(r["email"], r["reason"]) for r in removed] == [
        ("frank@nomx.lab", "no_mail_server"),
        ("ivan@gmial.com", "typo"),
        ("ALICE@company.lab", "duplicate"),
    ]
    assert "gmail.com" in removed[1]["detail"]
    analysed = json.loads(run("audience", "analyse", str(recipients), "--nameserver", dns.address, "--format", "json").stdout)
    assert analysed["kind"] == "audience" and analysed["providers"] == [{"provider": "Google", "addresses": 1, "share": 1.0}]
    assert analysed["reasons"] == {"no_mail_server": 1, "typo": 1, "duplicate": 1}


@pytest.mark.parametrize(
    "address",
    ["a@b.lab", "first.last+tag@sub.domain.lab", "a..b@x.lab", ".a@x.lab", "a.@x.lab", "a@-x.lab", "a@x", "a@x..lab", "a@x.test",
     "x" * 64 + "@a.lab", "x" * 65 + "@a.lab", "a@" + "b" * 64 + ".lab", "a@" + ("b" * 60 + ".") * 5 + "lab", "Δ@x.lab", "a b@x.lab",
     '"a b"@x.lab', "a@[192.0.2.1]", "user@EXAMPLE.lab", "a@localhost", "a@x.lab."],
)  # fmt: skip
def test_the_fast_path_agrees_with_email_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from maildoctor.audience.hygiene import check_syntax

    try:
        expected: tuple[str, str] | None = (lambda v: (v.normalized, v.ascii_domain.lower()))(
            validate_email(address, check_deliverability=False, allow_smtputf8=True)
        )
    except EmailNotValidError:
        expected = None
    found = check_syntax(address)
    assert (None if isinstance(found, str) else found) == expected
