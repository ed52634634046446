"""The SMTP probe against real SMTP servers (aiosmtpd) on loopback, with certificates made here."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.engine import run_audit
from maildoctor.findings import Report
from maildoctor.probes.smtp import name_matches, probe_smtp
from maildoctor.records import change
from maildoctor.target import Target
from maildoctor.testing.dnsserver import TestDnsServer
from tests.processes import free_port
from tests.tls import TestCA, make_ca

ZONE = """$ORIGIN smtptest.test.
$TTL 300
@ IN SOA ns h 1 2 3 4 5
@ IN NS ns
@ IN MX 10 mx
mx IN A 127.0.0.1
other IN A 192.0.2.1
"""


class Sink:
    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        return "250 OK"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def dns_server() -> Iterator[TestDnsServer]:
    with TestDnsServer(ZoneSet([load_zone_text(ZONE, None)])) as server:
        yield server


def smtp_server(banner_name: str = "mx.smtptest.test", tls: ssl.SSLContext | None = None) -> Controller:
    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port(), server_hostname=banner_name, tls_context=tls, ready_timeout=10)
    controller.start()
    return controller


def old_tls(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def audit(dns_server: TestDnsServer, port: int, ca: TestCA, **target: object) -> Report:
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.5)
        try:
            return await run_audit(
                Target(domain="smtptest.test", smtp=f"mx.smtptest.test:{port}", cafile=ca.cafile, **target),  # type: ignore[arg-type]
                resolver,
                areas=("smtp",),
            )
        finally:
            resolver.close()

    return asyncio.run(run())


def smtp_ids(report: Report) -> list[str]:
    return sorted(f.id for f in report.findings)


def test_good_server(dns_server: TestDnsServer, ca: TestCA) -> None:
    controller = smtp_server(tls=ca.issue(["mx.smtptest.test"]))
    try:
        report = audit(dns_server, controller.port, ca)
    finally:
        controller.stop()
    assert smtp_ids(report) == []
    server = report.facts.to_json()["smtp"][0]
    assert server["starttls"] and server["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert server["certificate"]["names"] == ["mx.smtptest.test"] and server["banner"].startswith("220 mx.smtptest.test")
    assert any(line.startswith("C: STARTTLS") for line in server["transcript"])


@pytest.mark.parametrize(
    "banner,tls,expected",
    [
        ("mx.smtptest.test", None, ["smtp.no_starttls"]),
        ("localhost", "good", ["smtp.banner_not_fqdn"]),
        ("other.smtptest.test", "good", ["smtp.banner_mismatch"]),
        ("mx.smtptest.test", "self-signed", ["smtp.cert_invalid"]),
        ("mx.smtptest.test", "expired", ["smtp.cert_invalid"]),
        ("mx.smtptest.test", "wrong-name", ["smtp.cert_invalid"]),
        ("mx.smtptest.test", "tls1.1", ["smtp.tls_old_version"]),
    ],
)
def test_each_problem(dns_server: TestDnsServer, ca: TestCA, banner: str, tls: str | None, expected: list[str]) -> None:
    context = {
        None: None,
        "good": lambda: ca.issue(["mx.smtptest.test"]),
        "self-signed": lambda: ca.issue(["mx.smtptest.test"], self_signed=True),
        "expired": lambda: ca.issue(["mx.smtptest.test"], expired=True),
        "wrong-name": lambda: ca.issue(["www.elsewhere.test"]),
        "tls1.1": lambda: old_tls(ca.issue(["mx.smtptest.test"])),
    }[tls]
    controller = smtp_server(banner, context() if context else None)
    try:
        report = audit(dns_server, controller.port, ca)
    finally:
        controller.stop()
    assert smtp_ids(report) == expected
    settings = {
        "smtp.no_starttls": "smtpd_tls_security_level = may",
        "smtp.banner_not_fqdn": "myhostname = mx.smtptest.test",
        "smtp.tls_old_version": "smtpd_tls_protocols = >=TLSv1.2",
    }
    if expected[0] in settings:  # the fix as a Postfix setting a program can apply
        [found] = [f for f in report.findings if f.id == expected[0]]
        lines = [c.config_line() for c in found.changes if isinstance(c, change.SettingChange) and c.software == "postfix"]
        assert settings[expected[0]] in lines and found.to_json()["changes"][0]["file"] == "main.cf"
    if tls == "expired":
        assert "expired" in report.findings[0].detail
    if tls == "wrong-name":
        assert "not mx.smtptest.test" in report.findings[0].detail


def test_closed_port_is_unreachable(dns_server: TestDnsServer, ca: TestCA) -> None:
    report = audit(dns_server, free_port(), ca)
    assert smtp_ids(report) == ["smtp.unreachable"]


def test_no_connection_without_being_asked(dns_server: TestDnsServer) -> None:
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.5)
        try:
            return await run_audit(Target(domain="smtptest.test"), resolver, areas=("smtp",))
        finally:
            resolver.close()

    report = asyncio.run(run())
    assert report.findings == [] and "smtp" not in report.facts.to_json()


def test_server_that_hangs_up_gives_a_finding_not_a_crash() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    async def run():  # noqa: ANN202
        task = asyncio.ensure_future(probe_smtp("127.0.0.1", "127.0.0.1", port, timeout=1.0))
        conn, _ = await asyncio.get_running_loop().run_in_executor(None, listener.accept)
        conn.sendall(b"garbage that is not SMTP\r\n")
        conn.close()
        return await task

    probe = asyncio.run(run())
    listener.close()
    assert probe.connected and "not an SMTP reply" in probe.error


@pytest.mark.parametrize(
    "pattern,host,match",
    [
        ("mx.example.com", "MX.example.com.", True),
        ("*.example.com", "mx.example.com", True),
        ("*.example.com", "a.mx.example.com", False),
        ("*.example.com", "example.com", False),
    ],
)
def test_name_matching(pattern: str, host: str, match: bool) -> None:
    assert name_matches(pattern, host) is match


def test_probe_finds_the_mx_hosts(dns_server: TestDnsServer, tmp_path: Path) -> None:
    # --probe asks for port 25 on the MX hosts; here mx.smtptest.test is 127.0.0.1, where nothing listens on 25
    async def run() -> Report:
        resolver = LiveResolver([Nameserver.parse(dns_server.address)], timeout=0.5)
        try:
            return await run_audit(Target(domain="smtptest.test", probe=True), resolver, areas=("smtp",))
        finally:
            resolver.close()

    report = asyncio.run(run())
    assert report.facts.to_json()["smtp"][0]["host"] == "mx.smtptest.test" and report.facts.to_json()["smtp"][0]["port"] == 25
