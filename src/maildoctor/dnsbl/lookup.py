"""Querying blocklists: every list for every target at once, under one overall deadline.

DNS goes through the project's resolver. A list that times out, fails or refuses is
'unavailable' or 'refused', never 'listed'."""

from __future__ import annotations

import asyncio
import ipaddress
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from maildoctor.dns.answer import Answer, Outcome, Resolver, ask_all
from maildoctor.dnsbl.catalog import Blocklist, Reading, interpret
from maildoctor.frozen import quick_init
from maildoctor.target import parse_domain

DEFAULT_DEADLINE = 10.0
DEFAULT_IN_FLIGHT = 500
EAGER_REASONS_UP_TO = 256  # (target, list) pairs; beyond that, TXT only for listings

LISTED, CLEAN, REFUSED, UNAVAILABLE = "listed", "clean", "refused", "unavailable"


@quick_init
@dataclass(frozen=True)
class Subject:
    """What is looked up: an IP address (v4 or v6) or a domain name."""

    text: str
    kind: str  # "ipv4", "ipv6" or "domain"

    @classmethod
    def test_entry(cls, blocklist: Blocklist) -> Subject:
        """The list's own test entry as a subject ("test" is the RFC 5782 domain, not a valid domain name)."""
        return cls("test", "domain") if blocklist.test.lower() == "test" else cls.parse(blocklist.test)

    @classmethod
    def parse(cls, text: str) -> Subject:
        try:
            address = ipaddress.ip_address(text.strip())
            return cls(str(address), f"ipv{address.version}")
        except ValueError:
            return cls(parse_domain(text), "domain")

    def query_name(self, zone: str) -> str:
        """RFC 5782 §2.1 (IPv4 octets reversed), §2.4 (IPv6 nibbles reversed), §2.2 (domains as they are)."""
        if self.kind == "domain":
            return f"{self.text}.{zone}"
        return ipaddress.ip_address(self.text).reverse_pointer.rsplit(".", 2)[0] + "." + zone


@dataclass
class Result:
    subject: Subject
    blocklist: Blocklist
    status: str  # listed, clean, refused, unavailable
    query: str
    reading: Reading = field(default_factory=Reading)
    reason: str = ""  # the list's TXT record, when it gives one
    detail: str = ""  # why refused or unavailable
    ms: float = 0.0
    canary: str = ""  # the status of the canary that made this answer unavailable (the test entry's, or LISTED for 127.0.0.1)
    dns_outcome: str = ""  # the outcome of the A question (answer, nxdomain, refused, timeout, ...)

    @property
    def shown_query(self) -> str:
        return self.blocklist.shown(self.query)

    def outcome(self) -> str:
        """What the list said of the subject, in a few words: listed (codes, meanings), clean, refused or unavailable (why)."""
        if self.status == LISTED:
            return f"listed ({', '.join(self.reading.codes)}: {'; '.join(dict.fromkeys(self.reading.meanings))})"
        if self.status in (REFUSED, UNAVAILABLE):
            return f"{self.status}: {self.detail}"
        return "not listed"

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.subject.text,
            "kind": self.subject.kind,
            "list": self.blocklist.zone,
            "name": self.blocklist.name,
            "status": self.status,
            "codes": self.reading.codes,
            "meanings": self.reading.meanings,
            "severity": self.reading.severity if self.status == LISTED else None,
            "reason": self.reason,
            "detail": self.detail,
            "delist": self.blocklist.delist,
            "query": self.shown_query,
            "ms": round(self.ms, 1),
        }


async def check_one(
    resolver: Resolver, subject: Subject, blocklist: Blocklist, eager_reason: bool = False, reason_wanted: bool = True
) -> Result:
    """eager_reason asks for the TXT reason together with the A record: one round trip instead of
    two for a listing, at the price of a TXT question per list (worth it for a few targets)."""
    name = subject.query_name(blocklist.query_zone)
    started = time.perf_counter()
    reason = asyncio.ensure_future(resolver.query(name, "TXT")) if eager_reason else None
    try:
        answer = await resolver.query(name, "A")
    except BaseException:
        if reason is not None:
            reason.cancel()
        raise
    result = _read(subject, blocklist, name, answer)
    if result.status == LISTED and reason_wanted:
        txt = await (reason or resolver.query(name, "TXT"))
        result.reason = " ".join(txt.texts()) if txt.ok else ""
    if reason is not None and not reason.done():
        reason.cancel()
    result.ms = (time.perf_counter() - started) * 1000
    return result


def _read(subject: Subject, blocklist: Blocklist, name: str, answer: Answer) -> Result:
    """What a list's A answer says of a subject (the TXT reason is asked separately)."""
    result = Result(subject, blocklist, CLEAN, name, dns_outcome=answer.outcome.value)
    if answer.outcome.is_temporary:
        result.status, result.detail = UNAVAILABLE, f"{answer.outcome.value}{': ' + answer.detail if answer.detail else ''}"
    elif answer.ok:
        result.reading = interpret(blocklist, answer.addresses())
        if result.reading.refused:
            result.status, result.detail = REFUSED, result.reading.refused
        elif result.reading.listed:
            result.status = LISTED
    elif answer.outcome is not Outcome.NXDOMAIN and answer.outcome is not Outcome.NODATA:
        result.status, result.detail = UNAVAILABLE, answer.outcome.value
    return result


async def _check_batch(resolver: Resolver, pairs: list[tuple[Subject, Blocklist]], deadline: float, with_reasons: int) -> list[Result]:
    """Every pair's A question as one batch, then the TXT reasons of the listings as another: an
    audit's way, with no task per list. A batch still unanswered at the deadline is all 'unavailable'."""
    names = [subject.query_name(blocklist.query_zone) for subject, blocklist in pairs]
    started = time.perf_counter()
    try:
        answers = await asyncio.wait_for(ask_all(resolver, [(name, "A") for name in names]), deadline)
    except Exception as exc:  # noqa: BLE001  (a resolver's failure makes the lists unavailable, not the audit fail)
        detail = f"no answer within the {deadline:g} s deadline" if isinstance(exc, asyncio.TimeoutError) else f"failed: {exc}"
        return [Result(s, b, UNAVAILABLE, name, detail=detail) for (s, b), name in zip(pairs, names)]
    results = [_read(s, b, name, answer) for (s, b), name, answer in zip(pairs, names, answers)]
    listed = [r for r in results[:with_reasons] if r.status == LISTED]
    if listed:
        left = max(deadline - (time.perf_counter() - started), 0.001)
        try:
            reasons = await asyncio.wait_for(ask_all(resolver, [(r.query, "TXT") for r in listed]), left)
        except Exception:  # noqa: BLE001  (the listing stands without its reason)
            reasons = []
        for result, txt in zip(listed, reasons):
            result.reason = " ".join(txt.texts()) if txt.ok else ""
    elapsed = (time.perf_counter() - started) * 1000
    for result in results:
        result.ms = elapsed
    return results


# A list's test entry answered through a resolver, remembered for a while: the canary proves the
# path to the list works, and a bulk run of many audits need not ask it again for every domain.
CANARY_SECONDS = 300.0
CANARY_RETRY_SECONDS = 30.0  # after a test entry got no answer
# Per list, two canaries (RFC 5782 §5): its test entry must be listed, and 127.0.0.1 must not be
# (for IPv4 lists): a resolver that answers every name with 127.0.0.2 passes the first, not the second.
TEST, CONTROL = "test entry", "127.0.0.1"
_CONTROL_SUBJECT = Subject(CONTROL, "ipv4")
CanaryKey = tuple[str, str]  # (zone, TEST or CONTROL)
_canaries: weakref.WeakKeyDictionary[Any, dict[CanaryKey, tuple[float, Result]]] = weakref.WeakKeyDictionary()


def _remembered(resolver: Resolver) -> dict[CanaryKey, tuple[float, Result]]:
    base = getattr(resolver, "inner", resolver)  # the per-audit tracer wraps the shared client
    try:
        return _canaries.setdefault(base, {})
    except TypeError:  # an object that cannot be weakly referenced: nothing is remembered
        return {}


def _distrusted(result: Result, canary: Result) -> Result:
    """An answer from a list whose canary failed: unavailable, with why."""
    test = canary.subject.text
    if test == CONTROL and canary.status == LISTED:
        why = "it lists 127.0.0.1, which no list may (RFC 5782 §5): it, or the resolver, lists everything"
    elif canary.status == REFUSED:
        why = f"the list refused this resolver when asked for its test entry {test} ({canary.detail})"
        if not result.blocklist.public_resolvers:
            why += "; it answers no public resolver: query it from your own resolver"
            if result.blocklist.zone.endswith(".spamhaus.org"):
                why += ", or with a Spamhaus DQS key"
    elif canary.status == UNAVAILABLE:
        why = f"its test entry {test} got no answer ({canary.detail})"
    else:
        why = (
            f"its test entry {test} is not listed: the resolver does not reach the list (it answers"
            " NXDOMAIN for everything, or the list is gone), so 'not listed' means nothing"
        )
    result.status, result.detail, result.canary = UNAVAILABLE, why, canary.status
    return result


async def check_all(
    resolver: Resolver,
    subjects: list[Subject],
    lists: list[Blocklist],
    deadline: float = DEFAULT_DEADLINE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    eager_reasons: bool = True,
) -> list[Result]:
    """Every list that serves a subject's kind, for every subject; results in (subject, list) order.
    Whatever has not answered when the deadline passes is 'unavailable'. eager_reasons asks for
    the listing reasons (TXT) together with the A records, up to EAGER_REASONS_UP_TO pairs.

    Each list's test entry rides in the same batch (unless answered through this resolver in the
    last CANARY_SECONDS): an absence is read as 'clean' only from a list that lists its test entry."""
    pairs = [(s, b) for s in subjects for b in lists if b.serves(s.kind)]
    remembered = _remembered(resolver)
    now = time.monotonic()
    used = {b.query_zone: b for _, b in pairs}
    shut = {zone: canary for zone in used if (canary := _standing_refusal(remembered, zone, now)) is not None}
    asked = [(s, b) for s, b in pairs if b.query_zone not in shut] if shut else pairs
    due = [(key, b) for zone, b in used.items() for key in ((zone, TEST), (zone, CONTROL)) if remembered.get(key, (0.0,))[0] <= now]
    ask = [
        (key, Subject.test_entry(b) if key[1] == TEST else _CONTROL_SUBJECT, b)
        for key, b in due
        if (b.test if key[1] == TEST else "ipv4" in b.kinds)
    ]
    found = await _check_pairs(resolver, asked + [(s, b) for _, s, b in ask], deadline, in_flight, eager_reasons, len(asked))
    for (key, _, _), canary in zip(ask, found[len(asked) :]):  # a failure is asked again sooner: it may pass
        remembered[key] = (now + (CANARY_SECONDS if canary.status != UNAVAILABLE else CANARY_RETRY_SECONDS), canary)
    for result in found[: len(asked)]:
        test, control = (remembered.get((result.blocklist.query_zone, which), (0.0, None))[1] for which in (TEST, CONTROL))
        if control is not None and control.status == LISTED:
            _distrusted(result, control)
        elif result.status == CLEAN and test is not None and test.status != LISTED:
            _distrusted(result, test)
    if not shut:
        return found[: len(pairs)]
    answers = iter(found)
    return [_not_asked(s, b, shut[b.query_zone]) if b.query_zone in shut else next(answers) for s, b in pairs]


def _standing_refusal(remembered: dict[CanaryKey, tuple[float, Result]], zone: str, now: float) -> Result | None:
    """The list's fresh canary, when it shows that no answer of this list through this resolver
    can count: the list refused its test entry (its refusal code, or the server's REFUSED), or it
    lists 127.0.0.1. Such a list is not asked again until its canary is (Spamhaus, for one, asks
    refused resolvers to stop). A test entry that timed out proves no such thing: the list is
    still asked."""
    control = remembered.get((zone, CONTROL))
    if control is not None and control[0] > now and control[1].status == LISTED:
        return control[1]
    test = remembered.get((zone, TEST))
    if test is not None and test[0] > now and (test[1].status == REFUSED or test[1].dns_outcome == Outcome.REFUSED.value):
        return test[1]
    return None


def _not_asked(subject: Subject, blocklist: Blocklist, canary: Result) -> Result:
    """What a list that refuses this resolver would say of the subject, without asking it."""
    name = subject.query_name(blocklist.query_zone)
    if canary.status == REFUSED:
        detail = f"not asked: it refused its test entry {canary.subject.text} through this resolver ({canary.detail})"
        return Result(subject, blocklist, REFUSED, name, reading=canary.reading, detail=detail, canary=REFUSED)
    result = _distrusted(Result(subject, blocklist, UNAVAILABLE, name), canary)
    result.detail = f"not asked: {result.detail}"
    return result


async def _check_pairs(
    resolver: Resolver,
    pairs: list[tuple[Subject, Blocklist]],
    deadline: float,
    in_flight: int,
    eager_reasons: bool,
    with_reasons: int,
) -> list[Result]:
    """The first with_reasons pairs are the targets (their listings get their TXT reason); the rest
    are the lists' test entries, which need none."""
    limit = asyncio.Semaphore(in_flight)
    eager = eager_reasons and len(pairs) <= EAGER_REASONS_UP_TO

    async def bounded(subject: Subject, blocklist: Blocklist, eager: bool, wanted: bool) -> Result:
        async with limit:
            return await check_one(resolver, subject, blocklist, eager, wanted)

    few = len(pairs) <= in_flight  # then no bound is needed, nor its cost per question
    if few and not eager:
        return await _check_batch(resolver, pairs, deadline, with_reasons)
    tasks = [
        asyncio.ensure_future(
            check_one(resolver, s, b, eager and i < with_reasons, i < with_reasons)
            if few
            else bounded(s, b, eager and i < with_reasons, i < with_reasons)
        )
        for i, (s, b) in enumerate(pairs)
    ]
    if tasks:
        await asyncio.wait(tasks, timeout=deadline)
    results = []
    for (subject, blocklist), task in zip(pairs, tasks):
        if task.done() and not task.cancelled() and task.exception() is None:
            results.append(task.result())
            continue
        detail = f"no answer within the {deadline:g} s deadline"
        if task.done() and not task.cancelled():
            detail = f"failed: {task.exception()}"
        task.cancel()
        results.append(Result(subject, blocklist, UNAVAILABLE, subject.query_name(blocklist.query_zone), detail=detail))
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def self_test(resolver: Resolver, lists: list[Blocklist], deadline: float = DEFAULT_DEADLINE) -> dict[str, str]:
    """Each list's state from its test entry (must be listed) and 127.0.0.1 (must not be, RFC 5782 §5):
    working, dead (the test entry is not listed), lists everything, refused or unavailable."""
    probes = [(b, Subject.test_entry(b)) for b in lists if b.test]
    results: dict[str, str] = {}

    async def probe(blocklist: Blocklist, entry: Subject) -> None:
        listed = await check_one(resolver, entry, blocklist)
        if listed.status in (REFUSED, UNAVAILABLE):
            results[blocklist.zone] = f"{listed.status}: {listed.detail}"
            return
        if listed.status != LISTED:
            results[blocklist.zone] = f"dead: the test entry {entry.text} is not listed"
            return
        if "ipv4" in blocklist.kinds:
            control = await check_one(resolver, Subject("127.0.0.1", "ipv4"), blocklist)
            if control.status == LISTED:
                results[blocklist.zone] = "lists everything: 127.0.0.1 is listed"
                return
        results[blocklist.zone] = "working"

    tasks = [asyncio.ensure_future(probe(b, s)) for b, s in probes]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for blocklist in lists:
        results.setdefault(blocklist.zone, "unavailable: no answer in time" if blocklist.test else "no test entry documented")
    return results
