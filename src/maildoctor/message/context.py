"""What a message's checks are given: the parsed message, how it arrived, and the evaluation pieces
(DKIM keys, our SPF evaluation, the DMARC policy, the signatures, the sender domain's audit, the
content filters, the links) each worked out once, in a task of its own, for the checks that need it."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from maildoctor.checks.registry import CheckContext
from maildoctor.dmarc.alignment import DmarcVerdict, evaluate
from maildoctor.dmarc.discovery import DmarcDiscovery, discover_dmarc
from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.dns.answer import Answer
from maildoctor.dns.tracing import TracingResolver, failures_seen, note_failures
from maildoctor.engine import run_audit
from maildoctor.findings import Report
from maildoctor.message.authfindings import Context as Evaluation
from maildoctor.message.authfindings import Recorded
from maildoctor.message.authresults import AuthResults
from maildoctor.message.connection import Connection
from maildoctor.message.options import MessageOptions
from maildoctor.message.parse import ParsedMessage
from maildoctor.message.signatures import ArcCheck, SignatureCheck, check_arc, check_signatures, fetch_keys
from maildoctor.message.structure import MessageLink
from maildoctor.probes.contentengines import EngineResult, ask_rspamd, ask_spamd
from maildoctor.probes.links import LinkCheck, check_links
from maildoctor.records.dmarc import parse_dmarc
from maildoctor.spf.evaluator import SpfEvaluation, check_identity
from maildoctor.target import Target, is_ip_literal

T = TypeVar("T")


@dataclass(kw_only=True)
class MessageContext(CheckContext):
    message: ParsedMessage
    options: MessageOptions
    dns: TracingResolver
    results: list[AuthResults]  # what receivers recorded (Authentication-Results, Received-SPF)
    connection: Connection
    from_domain: str
    envelope_domain: str
    private_sender: bool  # the connecting IP is one the internet never sees
    links: list[MessageLink]
    signatures_of_from: list[tuple[str, str]]  # (d=, s=) of the signatures by the From domain
    recorded: Recorded = field(init=False)
    _pieces: dict[str, asyncio.Task[tuple[Any, list[Answer]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recorded = Recorded.from_results(self.results)

    async def _piece(self, key: str, compute: Callable[[], Awaitable[T]], rests_on: bool) -> T:
        """The piece's value, worked out once in a task of its own (with its own list of the failed
        DNS answers it read). A check that `rests_on` it takes those failures as its own: its run
        is then unavailable, while a check that only reads the piece for context is not."""
        task = self._pieces.get(key)
        if task is None:
            seen: list[Answer] = []

            async def work() -> tuple[Any, list[Answer]]:
                return await compute(), seen

            own = contextvars.copy_context()
            own.run(failures_seen.set, seen)
            task = asyncio.get_running_loop().create_task(work(), context=own)
            self._pieces[key] = task
        value, failures = await asyncio.shield(task)
        if rests_on:
            note_failures(failures)
        return value

    def known(self, key: str) -> Any:
        """A piece that was worked out (None if it was not, failed or did not finish)."""
        task = self._pieces.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()[0]

    def close(self) -> None:
        """Stop the pieces still running when the checks are over (those of checks given up)."""
        for task in self._pieces.values():
            task.cancel()

    async def keys(self, rests_on: bool = True) -> dict[str, Answer]:
        return await self._piece("keys", lambda: fetch_keys(self.dns, self.message.headers), rests_on)

    async def spf(self, rests_on: bool = True) -> SpfEvaluation | None:
        connection = self.connection

        async def evaluate_spf() -> SpfEvaluation | None:
            if not connection.ip or not (connection.mail_from or connection.helo):
                return None
            return await check_identity(self.dns, connection.ip, connection.mail_from, connection.helo or "unknown")

        return await self._piece("spf", evaluate_spf, rests_on)

    async def dmarc(self, rests_on: bool = True) -> DmarcDiscovery | None:
        async def discover() -> DmarcDiscovery | None:
            return await discover_dmarc(self.dns, self.from_domain) if self.from_domain else None

        return await self._piece("dmarc", discover, rests_on)

    async def signatures(self, rests_on: bool = True) -> list[SignatureCheck]:
        keys = await self.keys(rests_on)
        message = self.message
        return await self._piece("signatures", _now(lambda: check_signatures(message.raw, message.headers, keys, message.has_body)), False)

    async def arc(self, rests_on: bool = True) -> ArcCheck:
        keys = await self.keys(rests_on)
        message = self.message
        return await self._piece("arc", _now(lambda: check_arc(message.raw, message.headers, keys, message.has_body)), False)

    async def spf_result(self, rests_on: bool = True) -> str:
        """Our SPF result, or the receiver's where we could not evaluate it."""
        spf = await self.spf(rests_on)
        return spf.result.value if spf else self.recorded.spf_result

    async def verdict(self, rests_on: bool = True) -> DmarcVerdict | None:
        await self.dmarc(rests_on)  # what the verdict rests on: the policy, when asked so

        async def weigh() -> DmarcVerdict | None:
            found = await self.dmarc(False)
            if not self.from_domain:
                return None
            spf_result = await self.spf_result(False)
            signatures = await self.signatures(False)
            dkim = [(s.domain, s.result if s.result != "unverified" else self.recorded.dkim_result(s.domain)) for s in signatures]
            record = parse_dmarc(found.records[0]) if found and len(found.records) == 1 else None
            record_domain = found.record_domain if found else None
            return evaluate(self.from_domain, record_domain, record, self.envelope_domain, spf_result or "none", dkim)

        return await self._piece("verdict", weigh, False)

    async def audit(self) -> Report | None:
        """The sender domain's audit (its own checks, its own runs): None when not asked or no domain."""

        async def audit_domain() -> Report | None:
            if not self.options.audit_domain or not self.from_domain:
                return None
            keys = await self.keys(False)
            # Other selectors are looked for only when the message gives none that works: that is
            # when "s= has no key, but the domain publishes one under another selector" matters.
            own_keys = [keys.get(f"{s}._domainkey.{d}") for d, s in self.signatures_of_from]
            discover = not own_keys or any(a is None or not a.ok for a in own_keys)
            ip = self.connection.ip
            target = Target(
                domain=self.from_domain,
                ips=[ip] if ip and not self.private_sender else [],  # no PTR or SPF fix for an address nobody outside sees
                known_selectors=list(dict.fromkeys([s for _, s in self.signatures_of_from] + list(self.options.known_selectors))),
                discover_selectors=discover,
                spamhaus_dqs_key=self.options.spamhaus_dqs_key,
                link_domains=list(dict.fromkeys(organizational_domain(d) for d in self.link_domains())),
            )
            return await run_audit(target, self.dns, areas=self.options.audit_areas, budget=self.options.budget)

        return await self._piece("audit", audit_domain, False)  # its checks have runs of their own

    def link_domains(self) -> list[str]:
        """The domains (not addresses) the message links to: the domain blocklists are asked about them."""
        return [link.domain for link in self.links if not is_ip_literal(link.domain)]

    async def engines(self) -> list[EngineResult]:
        async def ask() -> list[EngineResult]:
            options, connection, raw = self.options, self.connection, self.message.raw
            asks = []
            if options.spamassassin:
                asks.append(ask_spamd(options.spamassassin, raw))
            if options.rspamd:
                asks.append(ask_rspamd(options.rspamd, raw, connection.ip, connection.helo, connection.mail_from))
            return list(await asyncio.gather(*asks))

        return await self._piece("engines", ask, True)

    async def link_checks(self) -> list[LinkCheck]:
        async def check() -> list[LinkCheck]:
            hrefs = [link.href for link in self.links]
            return await check_links(self.dns, hrefs, self.options.links_allow_private)

        return await self._piece("links", check, True)

    async def evaluation(self) -> Evaluation:
        """Everything the authentication findings weigh, read for context (a check rests only on the
        pieces it asked for itself)."""
        return Evaluation(
            self.message,
            self.connection,
            await self.spf(False),
            await self.spf_result(False),
            await self.signatures(False),
            await self.arc(False),
            await self.verdict(False),
            self.recorded,
            self.results,
            await self.audit(),
            self.from_domain,
            self.envelope_domain,
            self.private_sender,
        )


def _now(compute: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def run() -> T:
        return compute()

    return run
