"""The check engine: runs the registered checks of a target concurrently and gathers a Report."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from maildoctor.dns.answer import Resolver
from maildoctor.dns.tracing import TracingResolver
from maildoctor.findings import Finding, Report
from maildoctor.records.zonefile import ZoneSource
from maildoctor.target import Target

CheckFunction = Callable[["AuditContext"], Awaitable[list[Finding]]]


@dataclass(frozen=True)
class CheckSpec:
    area: str
    name: str
    emits: tuple[str, ...]
    function: CheckFunction
    needs_zone: bool = False


REGISTRY: list[CheckSpec] = []


def check(area: str, *, emits: tuple[str, ...], needs_zone: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under its area with the finding ids it may emit."""

    def register(function: CheckFunction) -> CheckFunction:
        REGISTRY.append(CheckSpec(area, function.__name__, emits, function, needs_zone))
        return function

    return register


@dataclass
class AuditContext:
    target: Target
    dns: TracingResolver
    zone: ZoneSource | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    _shared: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    async def shared(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """Work several checks need (the MX hosts, the DMARC policy) is done once per audit: within
        the first check that asks (no task of its own), while later ones wait for its result."""
        known = self._shared.get(key)
        if known is not None:
            return known.result() if known.done() else await asyncio.shield(known)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._shared[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # those waiting re-raise it; nobody else must log it
            raise
        future.set_result(value)
        return value


def load_checks() -> list[CheckSpec]:
    import maildoctor.checks  # noqa: F401  (importing registers every area's checks)

    return REGISTRY


async def run_audit(target: Target, resolver: Resolver, zone: ZoneSource | None = None, areas: tuple[str, ...] = ()) -> Report:
    context = AuditContext(target=target, dns=TracingResolver(resolver), zone=zone)
    specs = [s for s in load_checks() if (zone is not None or not s.needs_zone) and (not areas or s.area in areas)]
    results = await asyncio.gather(*(spec.function(context) for spec in specs))
    report = Report(target=target.domain, kind="zone" if zone is not None else "domain")
    for spec, findings in zip(specs, results):
        for finding in findings:
            if finding.id not in spec.emits:
                raise AssertionError(f"check {spec.name} emitted {finding.id}, which it does not declare")
            report.findings.append(finding)
    report.queries = [q.to_json() for q in context.dns.trace]
    report.facts = context.facts
    return report
