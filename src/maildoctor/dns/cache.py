"""A DNS cache shared across audits and evaluations, as a receiver's resolver keeps one.

Answers live for their TTL (capped), negative answers for a short while, temporary failures are
not kept; identical questions in flight are asked once. The size is bounded (least recently used
entries go first), so a long-running service does not grow without end.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from maildoctor.dns.answer import Answer, Resolver, normalize_name

NEGATIVE_TTL = 60.0  # seconds a NXDOMAIN/NODATA is trusted (RFC 2308 lets the SOA say; we keep it short)
MAX_TTL = 3600.0


class CachingResolver:
    def __init__(self, inner: Resolver, max_entries: int = 100_000, max_ttl: float = MAX_TTL, negative_ttl: float = NEGATIVE_TTL) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.negative_ttl = negative_ttl
        self._entries: OrderedDict[tuple[str, str], tuple[float, Answer]] = OrderedDict()
        self._in_flight: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        self.hits = 0
        self.misses = 0

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (normalize_name(name), rdtype.upper())
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > time.monotonic():
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            del self._entries[key]
        waiting = self._in_flight.get(key)
        if waiting is not None:
            self.hits += 1
            return await asyncio.shield(waiting)
        self.misses += 1
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await self.inner.query(*key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; nobody else must log it
            raise
        finally:
            self._in_flight.pop(key, None)
        future.set_result(answer)
        self._store(key, answer)
        return answer

    def _store(self, key: tuple[str, str], answer: Answer) -> None:
        if answer.outcome.is_temporary:
            return
        lifetime = min(float(answer.ttl), self.max_ttl) if answer.ok else self.negative_ttl
        if lifetime <= 0:
            return
        self._entries[key] = (time.monotonic() + lifetime, answer)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
