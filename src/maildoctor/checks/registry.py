"""What a check is and what it is given: the registries checks join with @check (a domain's checks
here, a message's in maildoctor.message.checks), the context every check is given (what it verified,
what it could not check, work shared between checks) and that of a domain audit (the target, the
traced resolver, the zone, facts), and NotChecked for a check that does not apply. The engine runs
what is registered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from maildoctor.checks.facts import AuditFacts
from maildoctor.dns.tracing import TracingResolver, failures_seen, note_failures
from maildoctor.findings import Finding
from maildoctor.records.zonefile import ZoneSource
from maildoctor.target import Target

# A check takes the context of its registry (AuditContext for a domain's checks, MessageContext for
# a message's): typed where each check is written, Any here where the engine runs them all alike.
CheckFunction = Callable[[Any], Coroutine[Any, Any, list[Finding]]]


@dataclass(frozen=True)
class CheckSpec:
    area: str
    name: str
    emits: tuple[str, ...]
    function: CheckFunction
    needs_zone: bool = False


REGISTRY: list[CheckSpec] = []  # the checks of a domain (or zone) audit


class NotChecked(Exception):
    """Raised by a check that does not apply: the reason says why (not asked, offline, not applicable)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(
    area: str, *, emits: tuple[str, ...], needs_zone: bool = False, into: list[CheckSpec] = REGISTRY
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under its area with the finding ids it may emit (into a domain audit's
    registry unless another is given)."""

    def register(function: CheckFunction) -> CheckFunction:
        into.append(CheckSpec(area, function.__name__, emits, function, needs_zone))
        return function

    return register


@dataclass
class CheckContext:
    """What every check is given, whatever it checks: where it records what it verified and what
    it could not check, and work it shares with the other checks of the same run."""

    verified_lines: dict[str, list[str]] = field(default_factory=dict)
    unchecked_parts: dict[str, list[str]] = field(default_factory=dict)  # per area: what was asked and not checked
    _shared: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    _shared_failures: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def verified(self, area: str, line: str) -> None:
        """Record what a check verified in its area (the record read, the mechanism that matched,
        the key size): a report shows it on pass as on fail."""
        lines = self.verified_lines.setdefault(area, [])
        if line not in lines:
            lines.append(line)

    def not_checked_part(self, area: str, reason: str) -> None:
        """A part of what the user asked that this audit cannot check (the area is then not a pass)."""
        self.unchecked_parts.setdefault(area, []).append(reason)

    async def shared(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """Work several checks need (the MX hosts, the DMARC policy) is done once per audit: within
        the first check that asks (no task of its own), while later ones wait for its result."""
        known = self._shared.get(key)
        if known is not None:
            value = known.result() if known.done() else await asyncio.shield(known)
            note_failures(self._shared_failures.get(key, ()))  # what the work read is what this check rests on
            return value
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._shared[key] = future
        seen = failures_seen.get()
        before = len(seen) if seen is not None else 0
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # those waiting re-raise it; nobody else must log it
            raise
        finally:
            if seen is not None:
                self._shared_failures[key] = tuple(seen[before:])
        future.set_result(value)
        return value

    def known(self, key: str) -> Any:
        """The result of shared work that finished (None if it was never done, failed or is still
        running): what the report's facts show after the checks ran."""
        future = self._shared.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()


@dataclass(kw_only=True)
class AuditContext(CheckContext):
    """The context of a domain (or zone) audit's checks."""

    target: Target
    dns: TracingResolver
    zone: ZoneSource | None = None
    facts: AuditFacts = field(default_factory=AuditFacts)
