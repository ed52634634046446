"""Benchmark: maildoctor scan of generated domains, on one process, --jobs 2 and a Dask LocalCluster
of 2 worker processes, in the same run.

    python bench/scan.py                       # 100,000 domains
    python bench/scan.py --domains 10000

NSD (as root, in its own network namespace with only loopback) serves the generated domains (MX,
SPF with an include, DMARC, a DKIM key). Each run writes its own Parquet folder; the figures are
domains/s and the peak memory of the busiest process (the worker's, for the cluster).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nsd import isolate_network, isolation_note, print_table, serve_zones  # noqa: E402
from zones import write_zones  # noqa: E402


def worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=100_000)
    args = parser.parse_args()
    isolate_network(sys.argv)
    from distributed import Client, LocalCluster

    from maildoctor.dns.spec import ResolverSpec
    from maildoctor.scan.cluster import scan_on_cluster
    from maildoctor.scan.parquet import read_scan
    from maildoctor.scan.run import scan

    work = Path(tempfile.mkdtemp(prefix="maildoctor-scan-"))
    domains = write_zones(work / "zones", args.domains)
    served = serve_zones(work / "zones", domains[0], prefer_nsd=True)
    spec = ResolverSpec((served.address,), (), 2.0)
    rows = []
    try:
        for label, jobs in (("one process", 1), ("--jobs 2", 2)):
            started = time.perf_counter()
            scan(domains, str(work / label.replace(" ", "-")), spec, jobs=jobs)
            took = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN if jobs > 1 else resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append((label, took, peak))
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            started = time.perf_counter()
            scan_on_cluster(cluster.scheduler_address, domains, str(work / "cluster"), spec)
            took = time.perf_counter() - started
            with Client(cluster.scheduler_address) as client:
                peak = max(client.run(worker_peak_mb).values())
            rows.append(("LocalCluster, 2 workers", took, peak))
        written = read_scan(str(work / "cluster")).num_rows
        jobs2 = rows[1][1]
        table = [
            ("DNS server", f"{served.kind} on {served.address}, {isolation_note()}"),
            ("domains", f"{args.domains:,} ({written:,} rows from the cluster)"),
        ]
        for label, took, peak in rows:
            table.append((label, f"{args.domains / took:,.0f} domains/s ({took:.1f} s), peak {peak:.0f} MB"))
        table.append(("cluster / --jobs 2", f"{jobs2 / rows[2][1]:.2f} of the speed (target: within 15%)"))
        print_table(table)
    finally:
        served.stop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
