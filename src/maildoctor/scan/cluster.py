"""A scan on a Dask cluster: each partition a task that a worker audits and writes (the output is
a folder or URL every worker reaches); a partition whose worker died is given to another by the
scheduler (up to its allowed-failures, 3 by default), one that raised is retried RETRIES times.
The scheduler is Dask's; nothing of ours schedules."""

from __future__ import annotations

from collections.abc import Callable

from distributed import Client, as_completed

from maildoctor.dns.spec import ResolverSpec
from maildoctor.scan.parquet import absolute
from maildoctor.scan.run import PARTITION, pending, scan_partition

RETRIES = 3  # times a partition whose audit raised is run again


def scan_on_cluster(
    address: str, domains: list[str], out: str, spec: ResolverSpec, size: int = PARTITION, progress: Callable[[int], None] | None = None
) -> int:
    """Every partition not yet written, on the cluster; the domains audited."""
    out = absolute(out)
    todo = pending(domains, out, size)
    audited = 0
    with Client(address) as client:
        futures = {
            client.submit(scan_partition, out, index, chunk, spec, key=f"maildoctor-scan-{index}", retries=RETRIES, pure=False): len(chunk)
            for index, chunk in todo
        }
        for future in as_completed(futures):
            audited += future.result()
            if progress:
                progress(futures[future])
    return audited
