"""Auditing many domains in one run (a hosting provider's nightly check): concurrent audits over one
DNS client, each report streamed out as soon as it is done. (A cache shared across the audits was
measured: for distinct domains it cost more CPU than it saved.)"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import queue
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from maildoctor import aio
from maildoctor.dns.answer import Resolver
from maildoctor.engine import CHECK_BUDGET, load_data, run_audit
from maildoctor.findings import Report, crashed_report
from maildoctor.render.json import document
from maildoctor.target import Target


async def audit_many(
    targets: Iterable[Target],
    resolver: Resolver,
    concurrency: int = 50,
    selectors: Callable[[str], list[str]] | None = None,
    budget: float = CHECK_BUDGET,
) -> AsyncIterator[Report]:
    """Reports in the order they finish; at most `concurrency` audits run at once."""
    pending = iter(targets)
    done: asyncio.Queue[Report | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def worker() -> None:
        try:
            for target in pending:  # the workers share one iterator
                await done.put(await _audit_one(target, resolver, selectors, budget))
        finally:  # whatever happened, the reader is told this worker is done: it never waits for ever
            await done.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    finished = 0
    try:
        while finished < len(workers):
            report = await done.get()
            if report is None:
                finished += 1
            else:
                yield report
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _audit_one(target: Target, resolver: Resolver, selectors: Callable[[str], list[str]] | None, budget: float) -> Report:
    """One domain's report; a failure outside the checks (the selector lookup, the engine itself)
    is that domain's crashed run, not the end of the bulk run."""
    try:
        if selectors is not None:
            target.known_selectors = selectors(target.domain)
        return await run_audit(target, resolver, budget=budget)
    except Exception as exc:  # noqa: BLE001
        return crashed_report(target.domain, "domain", "audit", exc)


@dataclass(frozen=True)
class Finished:
    """A finished audit as a bulk run prints it: the report document as one line of JSON, and what
    the one-line summary and the exit status need. Workers send this, not the document, so the
    parent process only writes text out."""

    line: str
    target: str
    score: float
    findings: int
    worst: tuple[str, str] | None  # (severity, id) of the worst finding
    incomplete: tuple[str, ...] = ()  # the areas that could not be checked
    failed: tuple[str, ...] = ()  # the areas in state fail

    @classmethod
    def of(cls, report: Report) -> Finished:
        data = document(report)
        top = data["findings"][0] if data["findings"] else None  # findings come worst first
        return cls(
            json_line(data),
            report.target,
            data["score"],
            len(data["findings"]),
            (top["severity"], top["id"]) if top else None,
            tuple(data["incomplete"]),
            tuple(a["area"] for a in data["areas"] if a["state"] == "fail"),
        )


def json_line(data: dict[str, Any]) -> str:
    """A document as one line of JSON. orjson writes a 20 KB report in a quarter of the time the
    standard library takes (0.1 against 0.37 ms, a twentieth of an audit's CPU); what it cannot
    write (an integer over 64 bits, a key that is not a string) the standard library does."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False)


# A worker sends its finished audits to the command a few at a time: each send wakes the queue's
# feeder thread, which then takes the interpreter from the worker's event loop.
SEND_BATCH = 32
SEND_INTERVAL = 0.2  # seconds: a slow run still shows its progress
CHUNK = 16  # domains a worker takes at a time
WORKER_CHECK_SECONDS = 1.0  # how often a wait for the workers' results looks whether they are still alive

# A forked worker starts in milliseconds. Measured on two cores (bench/audit.py): two workers audit
# 50 domains 30-80% faster than one process, 100 domains 80% faster.
DOMAINS_PER_WORKER = 50


def workers_for(domains: int, cores: int) -> int:
    """How many worker processes a run of this many domains is worth: one per core at most."""
    return max(1, min(cores, domains // DOMAINS_PER_WORKER))


def _taken(domains: list[str], next_start: Any) -> Iterator[str]:
    """The domains a worker audits: chunk after chunk, each taken from the shared counter when the
    worker is ready for more, so that workers slowed by others (the name server on their core)
    take fewer and all finish together; with fixed shares the last of a run went on one core."""
    while True:
        with next_start.get_lock():
            start = next_start.value
            next_start.value = start + CHUNK
        if start >= len(domains):
            return
        yield from domains[start : start + CHUNK]


def _audit_in_child(
    domains: list[str], next_start: Any, spec: Any, concurrency: int, out: Any, probe: bool, cafile: str | None, database: str | None
) -> None:
    async def run() -> None:
        resolver = spec.build()
        selectors = None
        if database is not None:  # the DKIM selectors the domains' DMARC reports have shown
            # imported here: SQLAlchemy is a third of a worker's start, and most runs have no database
            from maildoctor.feedback.ingest import selectors_seen
            from maildoctor.store.database import connect

            engine = connect(database)
            selectors = functools.partial(selectors_seen, engine)
        targets = (Target(domain=d, probe=probe, cafile=cafile) for d in _taken(domains, next_start))
        batch: list[Finished] = []
        sent = time.monotonic()
        try:
            async for report in audit_many(targets, resolver, concurrency, selectors):
                batch.append(Finished.of(report))
                if len(batch) >= SEND_BATCH or time.monotonic() - sent >= SEND_INTERVAL:
                    out.put(batch)
                    batch, sent = [], time.monotonic()
        finally:
            if batch:
                out.put(batch)

    try:
        aio.run(run())
    finally:
        out.put(None)


def _worker_context() -> Any:
    """How workers start. A fork costs nothing: the parent has imported the checks already, where a
    spawned worker spends 0.7 s importing them again (a fifth of a 1000-domain run on two cores).
    But a fork copies locks that another thread may hold (a progress bar's refresh thread), so a
    parent with threads starts its workers from a fork server, one clean process that imports the
    checks once for all of them."""
    import multiprocessing
    import threading

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["maildoctor.bulk"])
        return context
    return multiprocessing.get_context("spawn")


def audit_many_processes(
    domains: list[str], spec: Any, jobs: int, concurrency: int, probe: bool = False, cafile: str | None = None, database: str | None = None
) -> Iterator[Finished]:
    """The same in `jobs` worker processes (one event loop each, so every core works): the audits
    in the order they finish. database: where the DMARC reports are (a data directory or a
    database URL, already migrated), for the DKIM selectors they have shown. The workers start
    now, not at the first read: before the caller starts threads of its own (a progress bar)."""
    context = _worker_context()
    if context.get_start_method() == "fork":  # what the workers inherit, they need not read again each
        load_data()
    out: Any = context.Queue(maxsize=1000)
    next_start = context.Value("q", 0)  # the first domain not yet taken by a worker
    workers = [
        context.Process(target=_audit_in_child, args=(domains, next_start, spec, concurrency, out, probe, cafile, database), daemon=True)
        for _ in range(min(jobs, (len(domains) + CHUNK - 1) // CHUNK))
    ]
    for worker in workers:
        worker.start()
    return _collect(out, workers, domains, next_start)


def _collect(out: Any, workers: list[Any], domains: list[str], shared: Any) -> Iterator[Finished]:
    """The workers' audits as they come. A worker that dies without saying it is done (killed, out
    of memory) ends the wait once the others are done too: each domain with no report is then a
    crashed audit, never a silent gap. shared: what the workers were given that must outlive
    their start (a fork server's children open the shared counter's lock after we return)."""
    running = len(workers)
    reported: collections.Counter[str] = collections.Counter()
    try:
        while running:
            try:
                item = out.get(timeout=WORKER_CHECK_SECONDS)
            except queue.Empty:
                if any(worker.is_alive() for worker in workers):
                    continue
                try:  # all have exited: what the last of them sent may still be on its way
                    item = out.get(timeout=WORKER_CHECK_SECONDS)
                except queue.Empty:
                    break
            if item is None:
                running -= 1
                continue
            for done in item:
                reported[done.target] += 1
                yield done
        if running:
            codes = ", ".join(str(worker.exitcode) for worker in workers if worker.exitcode)
            died = RuntimeError(f"the worker process auditing it stopped (exit status {codes or 'unknown'})")
            for domain, count in (collections.Counter(domains) - reported).items():
                for _ in range(count):
                    yield Finished.of(crashed_report(domain, "domain", "audit", died))
    finally:
        del shared
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.terminate()
