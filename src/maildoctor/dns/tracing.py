"""The per-audit wrapper: each (name, type) is asked once, and every question is kept as evidence."""
from __future__ import annotations

import asyncio
import time

from maildoctor.dns.answer import Answer, QueryRecord, Resolver, normalize_name


class TracingResolver:
    def __init__(self, inner: Resolver) -> None:
        self.inner = inner
        self._answers: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        self.trace: list[QueryRecord] = []

    @property
    def query_count(self) -> int:
        return len(self.trace)

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (normalize_name(name), rdtype.upper())
        known = self._answers.get(key)
        if known is not None:
            return await asyncio.shield(known)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        started = time.perf_counter()
        try:
            answer = await self.inner.query(*key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must log it
            del self._answers[key]
            raise
        future.set_result(answer)
        self.trace.append(QueryRecord(answer, (time.perf_counter() - started) * 1000))
        return answer
