"""The DNS tests' server: each test module serves its own ZONE text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maildoctor.dns.zonedata import ZoneSet, load_zone_text
from maildoctor.testing.dnsserver import TestDnsServer


@pytest.fixture(scope="module")
def zones(request: pytest.FixtureRequest) -> ZoneSet:
    return ZoneSet([load_zone_text(request.module.ZONE, None)])


@pytest.fixture
def server(zones: ZoneSet) -> Iterator[TestDnsServer]:
    with TestDnsServer(zones) as srv:
        yield srv
