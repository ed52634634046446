"""Running the event loop: on uvloop when it is installed (it is a dependency on Linux), which
halves the cost of each DNS question; asyncio's own loop otherwise."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# An audit allocates many small short-lived objects (answers, futures, findings). With Python's
# default threshold (700) the collector ran so often, and its full passes walked every object loaded
# at start-up (the Public Suffix List, the catalogs), that it took 12-20% of an audit's CPU time.
# A young-generation pass walks every young object still alive: with 100 audits in flight some
# 70,000 of them, whatever the threshold, so at 20,000 the passes still took 14% of the CPU time
# (bench/audit.py, 8,000 domains: 83 passes, 3.3 s). At 100,000 they take under 1%, with the same
# peak memory: most objects are freed by their reference counts, and the count that triggers a
# pass grows only with what stays alive or is cyclic garbage.
YOUNG_GENERATION_THRESHOLD = 100_000

_tuned = False


def tune_garbage_collector() -> None:
    """Move what exists now (modules, data loaded at start-up) out of the collector's sight, and
    collect the young generation less often; memory is still reclaimed, a little later. Once per
    process: a second freeze would also pin whatever garbage the first run left."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_GENERATION_THRESHOLD, young), middle, old)


def run(coro: Coroutine[Any, Any, T]) -> T:
    tune_garbage_collector()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_batch(coro: Coroutine[Any, Any, T]) -> T:
    """run(), in a process that runs batch after batch (a scan's partitions, a cluster's tasks),
    with a full collection after each: tuned as above, the collector reaches the oldest
    generation so seldom that a 100,000-domain scan grew a worker by 9 MB a partition, to 1 GB.
    After the freeze a full collection costs well under a millisecond."""
    try:
        return run(coro)
    finally:
        gc.collect()


async def concurrently(*aws: Awaitable[Any]) -> list[Any]:
    """What asyncio.gather() gives, with the first awaitable run in the calling task and only the
    others in tasks of their own: a task costs a few microseconds, and an audit gathers a few
    times (gathering three coroutines took 16 µs, this 10 µs). The first exception is raised
    once the first awaitable is done, the others going on as under gather(); when the caller is
    cancelled, they are cancelled too."""
    if not aws:
        return []
    rest = asyncio.gather(*aws[1:]) if len(aws) > 1 else None
    try:
        first = await aws[0]
    except BaseException as exc:
        if rest is not None:
            if isinstance(exc, asyncio.CancelledError):
                rest.cancel()
            rest.add_done_callback(_retrieved)  # the others' failure is not this caller's to report twice
        raise
    return [first, *await rest] if rest is not None else [first]


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
