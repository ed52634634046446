"""maildoctor.aio.concurrently: gather()'s results with one task fewer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from maildoctor.aio import concurrently


def _run_counting_tasks(coro: Any) -> tuple[Any, int]:
    async def main() -> tuple[Any, int]:
        created = 0

        def counting(loop: asyncio.AbstractEventLoop, inner: Any, **kwargs: Any) -> asyncio.Task[Any]:
            nonlocal created
            created += 1
            return asyncio.Task(inner, loop=loop, **kwargs)

        asyncio.get_running_loop().set_task_factory(counting)
        return await coro(), created

    return asyncio.run(main())


async def _after(seconds: float, value: Any, log: list[str] | None = None) -> Any:
    await asyncio.sleep(seconds)
    if log is not None:
        log.append(str(value))
    return value


def test_results_in_order_the_others_running_while_the_first_waits() -> None:
    log: list[str] = []

    async def run() -> list[Any]:
        return await concurrently(_after(0.05, "first", log), _after(0.01, "second", log), _after(0.0, "third", log))

    results, tasks = _run_counting_tasks(run)
    assert results == ["first", "second", "third"]
    assert log == ["third", "second", "first"]  # the others did not wait for the first
    assert tasks == 2  # the first ran in the caller's task


def test_one_awaitable_needs_no_task_and_none_gives_nothing() -> None:
    async def run() -> tuple[list[Any], list[Any]]:
        return await concurrently(_after(0.0, 1)), await concurrently()

    (one, none), tasks = _run_counting_tasks(run)
    assert one == [1] and none == [] and tasks == 0


def test_an_exception_is_raised_as_gather_raises_it() -> None:
    async def failing(seconds: float) -> None:
        await asyncio.sleep(seconds)
        raise ValueError("broken")

    async def run() -> None:
        await concurrently(_after(0.01, 1), failing(0.0))

    with pytest.raises(ValueError, match="broken"):
        asyncio.run(run())
    with pytest.raises(ValueError, match="broken"):  # the first raising, the other still running
        asyncio.run(concurrently(failing(0.0), _after(0.01, 1)))


def test_cancelling_the_caller_cancels_the_others() -> None:
    async def run() -> bool:
        finished: list[str] = []
        caller = asyncio.ensure_future(concurrently(_after(1.0, "first"), _after(0.2, "second", finished)))
        await asyncio.sleep(0.02)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await asyncio.sleep(0.3)
        return not finished

    assert asyncio.run(run())
