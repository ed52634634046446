"""A scan on a Dask cluster: each partition a task that a worker audits and writes (the output
folder is one every worker reaches); a partition whose worker died is retried on another. The
scheduler is Dask's; nothing of ours schedules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from distributed import Client, as_completed

from maildoctor.dns.spec import ResolverSpec
from maildoctor.scan.run import PARTITION, pending, scan_partition

RETRIES = 3  # times a partition is given to another worker when its worker is lost


def scan_on_cluster(
    address: str, domains: list[str], out: Path, spec: ResolverSpec, size: int = PARTITION, progress: Callable[[int], None] | None = None
) -> int:
    """Every partition not yet written, on the cluster; the domains audited."""
    out.mkdir(parents=True, exist_ok=True)
    todo = pending(domains, out, size)
    audited = 0
    with Client(address) as client:
        futures = {
            client.submit(
                scan_partition, str(out.resolve()), index, chunk, spec, key=f"maildoctor-scan-{index}", retries=RETRIES, pure=False
            ): len(chunk)
            for index, chunk in todo
        }
        for future in as_completed(futures):
            audited += future.result()
            if progress:
                progress(futures[future])
    return audited
