"""Shared fixtures: a real DNS server on loopback serving tests/zones/, and audit helpers."""

from __future__ import annotations

import os

# Before maildoctor is imported: an unknown finding id or an undeclared one fails a test (in
# production it is reported all the same). Subprocesses (the CLI) inherit it.
os.environ["MAILDOCTOR_STRICT"] = "1"

import asyncio  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.engine import run_audit
from maildoctor.findings import Report
from maildoctor.target import Target
from maildoctor.testing.dnsserver import TestDnsServer
from tests.blocklists import blocklist_zone
from tests.keys import publish_txt, rsa_p
from tests.processes import free_port, listening, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent
ZONES = ROOT / "tests" / "zones"
CORPORA = ROOT / "tests" / "corpora"  # public test material, each folder with its licence
EXAMPLES = ROOT / "examples"


# Domains meant to be clean get a DKIM key made for this run (keys are never committed).
SIGNED_DOMAINS = ("good.test", "dmarcnone.test", "spfok.test", "rdns.test")


@pytest.fixture(scope="session")
def test_zones() -> ZoneSet:
    zones = ZoneSet.from_paths([ZONES])
    for domain in SIGNED_DOMAINS:
        publish_txt(zones, f"default._domainkey.{domain}", f"v=DKIM1; k=rsa; p={rsa_p()}")
    for blocklist in shipped_catalog():  # every list answers, and lists nobody but its test entry
        zones.add(blocklist_zone(blocklist))
    return zones


@pytest.fixture
def dns_server(test_zones: ZoneSet) -> Iterator[TestDnsServer]:
    """A real DNS server (UDP and TCP) on 127.0.0.1:<free port>; tests inject faults on it."""
    with TestDnsServer(test_zones) as server:
        yield server


def audit_via(server: TestDnsServer, domain: str, timeout: float = 0.5, **target: object) -> Report:
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=timeout)
        try:
            return await run_audit(Target(domain=domain, **target), resolver)  # type: ignore[arg-type]
        finally:
            resolver.close()

    return asyncio.run(run())


def ids(report: Report) -> set[str]:
    return {f.id for f in report.findings}


def only(report: Report, check_id: str):  # noqa: ANN201
    found = [f for f in report.findings if f.id == check_id]
    assert len(found) == 1, f"expected one {check_id}, got {[f.id for f in report.findings]}"
    return found[0]


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    """Print the RFC 7208 conformance count, as the SPF issue asks."""
    counts = {
        outcome: sum(1 for r in terminalreporter.stats.get(outcome, []) if "test_rfc7208[" in getattr(r, "nodeid", ""))
        for outcome in ("passed", "failed", "error")
    }
    total = sum(counts.values())
    if total:
        terminalreporter.write_line(f"RFC 7208 SPF test suite: {counts['passed']} of {total} test cases pass")


@pytest.fixture(scope="session")
def spamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's spamd on a free loopback port, network tests off (shared by the tests that need one)."""
    binary = shutil.which("spamd") or ("/usr/sbin/spamd" if Path("/usr/sbin/spamd").exists() else None)
    assert binary, "spamd is missing: make test installs Debian's spamassassin and spamd"
    port = free_port()
    log = tmp_path_factory.mktemp("spamd") / "spamd.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [binary, f"--listen=127.0.0.1:{port}", "--max-children=1", "--local", "--nouser-config", "--syslog=stderr", "-u", "nobody"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: listening(port), process, "spamd", 60, log.read_text)  # loading the rules takes a while
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)
