"""The per-audit wrapper: each (name, type) is asked once, and every question is kept as evidence."""
from __future__ import annotations

import asyncio
import time

from maildoctor.dns.answer import Answer, QueryRecord, Resolver, normalize_name


class TracingResolver:
    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        # an Answer once known; while in flight, the futures of those waiting for the same question
        self._answers: dict[tuple[str, str], Answer | list[asyncio.Future[Answer]]] = {}
        self.trace: list[QueryRecord] = []

    @property
    def query_count(self) -> int:
        return len(self.trace)

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (normalize_name(name), rdtype.upper())
        known = self._answers.get(key)
        if isinstance(known, Answer):
            return known
        if known is not None:  # asked already and not answered yet: wait for that answer
            waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            known.append(waiter)
            return await waiter
        waiting: list[asyncio.Future[Answer]] = []
        self._answers[key] = waiting
        started = time.perf_counter()
        try:
            answer = await self.inner.query(*key)
        except BaseException as exc:
            del self._answers[key]
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_exception(exc)
            raise
        self._answers[key] = answer
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(answer)
        self.trace.append(QueryRecord(answer, (time.perf_counter() - started) * 1000))
        return answer
