"""The per-audit wrapper: each (name, type) is asked once, and every question is kept as evidence."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Sequence
from typing import Any

from maildoctor.dns.answer import TEMPORARY, Answer, QueryRecord, Resolver, ask_all, normalize_name
from maildoctor.dns.zonedata import OUTSIDE_ZONES

Key = tuple[str, str]

# The temporary failures (timeout, SERVFAIL, ...) among the answers a task has read: the engine
# gives each check its own list, so a check that read failed answers cannot pass for one that ran.
failures_seen: contextvars.ContextVar[list[Answer] | None] = contextvars.ContextVar("failures_seen", default=None)


def note_failures(answers: Sequence[Answer]) -> None:
    """Add the temporary failures among these answers to the running task's list, if it keeps one."""
    seen = failures_seen.get()
    if seen is not None:  # a name outside the zone files is "offline", for the check to say, not a failure
        seen.extend(a for a in answers if a.outcome in TEMPORARY and a.detail != OUTSIDE_ZONES)


class TracingResolver:
    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        # an Answer once known; while in flight, the futures of those waiting for the same question
        self._answers: dict[Key, Answer | list[asyncio.Future[Answer]]] = {}
        self.trace: list[QueryRecord] = []

    @property
    def query_count(self) -> int:
        return len(self.trace)

    def trace_json(self, secret: str | None = None) -> list[dict[str, Any]]:
        """The questions asked, as JSON, with a key some names carry (a Spamhaus DQS key) hidden."""
        questions: list[dict[str, Any]] = [q.to_json() for q in self.trace]
        if secret:
            for question in questions:
                question["name"] = str(question["name"]).replace(secret, "<key>")
        return questions

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (normalize_name(name), rdtype.upper())
        known = self._answers.get(key)
        if isinstance(known, Answer):
            if known.outcome in TEMPORARY:
                note_failures((known,))
            return known
        if known is not None:  # asked already and not answered yet: wait for that answer
            waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            known.append(waiter)
            answer = await waiter
            if answer.outcome in TEMPORARY:
                note_failures((answer,))
            return answer
        self._answers[key] = []
        started = time.perf_counter()
        try:
            answer = await self.inner.query(*key)
        except BaseException as exc:
            self._failed([key], exc)
            raise
        self._answered(key, answer, (time.perf_counter() - started) * 1000)
        if answer.outcome in TEMPORARY:
            note_failures((answer,))
        return answer

    async def query_many(self, questions: Sequence[tuple[str, str]]) -> list[Answer]:
        """As query() for each, with the questions not yet asked sent to the inner resolver as one
        batch. Each is traced with the time the batch took."""
        known = self._answers
        keys = [(normalize_name(name), rdtype.upper()) for name, rdtype in questions]
        to_ask: list[Key] = []
        waiting: list[asyncio.Future[Answer]] = []  # questions asked by another caller, not answered yet
        for key in dict.fromkeys(keys):
            entry = known.get(key)
            if entry is None:
                known[key] = []
                to_ask.append(key)
            elif entry.__class__ is list:  # join now: the answer may come while this batch is out
                waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
                entry.append(waiter)
                waiting.append(waiter)
        if to_ask:
            started = time.perf_counter()
            try:
                answers = await ask_all(self.inner, to_ask)
            except BaseException as exc:
                self._failed(to_ask, exc)
                raise
            ms = (time.perf_counter() - started) * 1000
            for key, answer in zip(to_ask, answers):
                self._answered(key, answer, ms)
        for waiter in waiting:
            await waiter  # the answer is in `known` once the other caller has it; its failure is ours
        found: list[Answer] = [known[key] for key in keys]  # type: ignore[misc]
        for answer in found:
            if answer.outcome in TEMPORARY:
                note_failures(found)
                break
        return found

    def _answered(self, key: Key, answer: Answer, ms: float) -> None:
        waiters = self._answers[key]
        self._answers[key] = answer
        assert isinstance(waiters, list)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(answer)
        self.trace.append(QueryRecord(answer, ms))

    def _failed(self, keys: list[Key], exc: BaseException) -> None:
        for key in keys:
            waiters = self._answers.pop(key)
            assert isinstance(waiters, list)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
