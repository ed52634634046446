"""Running a scan: the domain list cut into partitions, each audited (on this machine, in worker
processes with --jobs) and written; with resume, the partitions already written are skipped."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import islice
from pathlib import Path

from maildoctor import aio
from maildoctor.bulk import audit_many
from maildoctor.dns.spec import ResolverSpec, close_resolver
from maildoctor.scan.parquet import PartitionRows, absolute, done, write_partition
from maildoctor.target import Target, parse_domain

PARTITION = 1000  # domains a partition
CONCURRENCY = 100  # audits in flight, per process


def partitions(domains: list[str], size: int = PARTITION) -> Iterator[tuple[int, list[str]]]:
    it = iter(domains)
    index = 0
    while chunk := list(islice(it, size)):
        yield index, chunk
        index += 1


def read_domains(path: Path) -> tuple[list[str], list[str]]:
    """The domains of the file (one a line, # comments), once each, and the lines that are no domain."""
    found, bad = [], []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(parse_domain(text))
        except ValueError:
            bad.append(text)
    return list(dict.fromkeys(found)), bad


def pending(domains: list[str], out: str, size: int) -> list[tuple[int, list[str]]]:
    """The partitions not written yet."""
    return [(i, chunk) for i, chunk in partitions(domains, size) if not done(out, i)]


def scan_partition(out: str, index: int, domains: list[str], spec: ResolverSpec) -> int:
    """Audit one partition and write it; the domains audited (a process of its own can run it)."""

    async def run() -> PartitionRows:
        resolver = spec.build()
        rows = PartitionRows()
        try:
            async for report in audit_many((Target(domain=d) for d in domains), resolver, CONCURRENCY):
                rows.add(report)
        finally:
            close_resolver(resolver)
        return rows

    write_partition(out, index, aio.run_batch(run()))
    return len(domains)


def scan(
    domains: list[str], out: str, spec: ResolverSpec, jobs: int = 1, size: int = PARTITION, progress: Callable[[int], None] | None = None
) -> int:
    """Every partition not yet written; the domains audited in this run."""
    out = absolute(out)
    todo = pending(domains, out, size)
    audited = 0
    if jobs <= 1:
        for index, chunk in todo:
            audited += scan_partition(out, index, chunk, spec)
            if progress:
                progress(len(chunk))
        return audited
    # spawned, not forked: a child forked from a process with threads (the progress bar's) can hang
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(scan_partition, out, i, chunk, spec): len(chunk) for i, chunk in todo}
        for future in as_completed(futures):
            audited += future.result()
            if progress:
                progress(futures[future])
    return audited
