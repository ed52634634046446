"""The MTA-STS policy fetch (--probe) against a real HTTPS server on loopback, with certificates made here."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.findings import Finding
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import audit_via
from tests.tls import TestCA, make_ca

GOOD = "version: STSv1\r\nmode: enforce\r\nmx: mx.{d}\r\nmx: *.backup.{d}\r\nmax_age: 604800\r\n"
POLICIES: dict[str, tuple[int, str, str]] = {  # domain: (HTTP status, Content-Type, body)
    "sts-ok.test": (200, "text/plain; charset=utf-8", GOOD),
    "sts-testing.test": (200, "text/plain", GOOD.replace("enforce", "testing")),
    "sts-uncovered.test": (200, "text/plain", "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n"),
    "sts-invalid.test": (200, "text/html", "version: STSv2\nmode: strict\n"),
    "sts-missing.test": (404, "text/plain", "not found"),
    "sts-redirect.test": (302, "text/plain", ""),
    "sts-badcert.test": (200, "text/plain", GOOD),
}
DOMAINS = [*POLICIES, "sts-noaddr.test"]


def zone(domain: str) -> str:
    host = "" if domain == "sts-noaddr.test" else "mta-sts IN A 127.0.0.1\n"
    return (
        f"$ORIGIN {domain}.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\n@ IN MX 10 mx\n@ IN MX 20 b1.backup\n"
        f'mx IN A 192.0.2.1\nb1.backup IN A 192.0.2.2\n_mta-sts IN TXT "v=STSv1; id=1"\n{host}'
    )


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        domain = self.headers.get("Host", "").split(":")[0].removeprefix("mta-sts.")
        status, content_type, body = POLICIES.get(domain, (404, "text/plain", ""))
        if self.path != "/.well-known/mta-sts.txt":
            status, body = 404, ""
        data = body.format(d=domain).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status == 302:
            self.send_header("Location", "https://www.example.test/policy.txt")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def https_port(ca: TestCA) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PolicyHandler)
    names = [f"mta-sts.{d}" for d in POLICIES if d != "sts-badcert.test"]
    context = ca.issue(names)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def dns() -> Iterator[TestDnsServer]:
    with TestDnsServer(ZoneSet([load_zone_text(zone(d), None) for d in DOMAINS])) as server:
        yield server


def mtasts(dns: TestDnsServer, ca: TestCA, port: int, domain: str, probe: bool = True) -> dict[str, Finding]:
    report = audit_via(dns, domain, probe=probe, cafile=ca.cafile, https_port=port, timeout=1.0)
    return {f.id: f for f in report.findings if f.area == "mtasts"}


def test_a_valid_enforced_policy_covering_every_mx_is_clean(dns: TestDnsServer, ca: TestCA, https_port: int) -> None:
    assert mtasts(dns, ca, https_port, "sts-ok.test") == {}


def test_nothing_is_fetched_without_probe(dns: TestDnsServer, ca: TestCA, https_port: int) -> None:
    assert mtasts(dns, ca, https_port, "sts-missing.test", probe=False) == {}


def test_testing_mode_is_information(dns: TestDnsServer, ca: TestCA, https_port: int) -> None:
    assert set(mtasts(dns, ca, https_port, "sts-testing.test")) == {"mtasts.testing_mode"}


def test_mx_hosts_outside_the_patterns(dns: TestDnsServer, ca: TestCA, https_port: int) -> None:
    found = mtasts(dns, ca, https_port, "sts-uncovered.test")
    assert set(found) == {"mtasts.mx_not_covered"}
    finding = found["mtasts.mx_not_covered"]
    assert "mx.sts-uncovered.test" in finding.title and "b1.backup.sts-uncovered.test" in finding.title
    assert "mx: mx.sts-uncovered.test" in finding.fix and "refuse" in finding.detail


def test_malformed_policy(dns: TestDnsServer, ca: TestCA, https_port: int) -> None:
    found = mtasts(dns, ca, https_port, "sts-invalid.test")
    detail = found["mtasts.policy_invalid"].detail
    assert "text/html" in detail and "STSv2" in detail and "strict" in detail and "max_age" in detail
    assert "mtasts.mx_not_covered" not in found  # an invalid policy is ignored by senders, so it covers nothing


@pytest.mark.parametrize(
    "domain, reason",
    [
        ("sts-missing.test", "HTTP 404"),
        ("sts-redirect.test", "redirects to https://www.example.test/policy.txt"),
        ("sts-badcert.test", "certificate does not verify"),
        ("sts-noaddr.test", "has no address"),
    ],
)
def test_unreachable_policies(dns: TestDnsServer, ca: TestCA, https_port: int, domain: str, reason: str) -> None:
    found = mtasts(dns, ca, https_port, domain)
    assert set(found) == {"mtasts.policy_unreachable"}
    finding = found["mtasts.policy_unreachable"]
    assert reason in finding.detail
    assert f"mx: mx.{domain}" in finding.fix and "mode: testing" in finding.fix


def test_a_port_that_does_not_answer(dns: TestDnsServer, ca: TestCA) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    found = mtasts(dns, ca, port, "sts-ok.test")
    assert "cannot connect" in found["mtasts.policy_unreachable"].detail.lower()
