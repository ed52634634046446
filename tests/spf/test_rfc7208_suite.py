"""The official RFC 7208 test suite, every scenario, through the real DNS test server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.spf.evaluator import DEFAULT_EXPLANATION, check_identity
from maildoctor.testing.dnsserver import TestDnsServer
from tests.spf.rfc7208_suite import Scenario, SuiteCase, build_zones, load_scenarios

SCENARIOS = load_scenarios()  # tests/corpora/spf: a missing suite fails the run, it is never skipped
CASES = [(s, c) for s in SCENARIOS for c in s.cases]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, TestDnsServer]]:
    running = {}
    for scenario in SCENARIOS:
        zones, faults = build_zones(scenario.zonedata)
        running[scenario.description] = TestDnsServer(zones, faults=faults).start()
    yield running
    for server in running.values():
        server.stop()


@pytest.mark.parametrize("scenario,case", CASES, ids=[f"{s.description}/{c.name}" for s, c in CASES])
def test_rfc7208(servers: dict[str, TestDnsServer], scenario: Scenario, case: SuiteCase) -> None:
    server = servers[scenario.description]

    async def run():  # noqa: ANN202
        resolver = LiveResolver([Nameserver.parse(server.address)], timeout=0.15, attempts=1)
        try:
            return await check_identity(resolver, case.host, case.mailfrom, case.helo)
        finally:
            resolver.close()

    evaluation = asyncio.run(run())
    assert evaluation.result.value in case.results, (
        f"{case.name}: got {evaluation.result.value} ({evaluation.reason}); steps: {evaluation.steps}"
    )
    if case.explanation is not None and evaluation.result.value == "fail":
        expected = DEFAULT_EXPLANATION if case.explanation == "DEFAULT" else case.explanation
        assert evaluation.explanation == expected
