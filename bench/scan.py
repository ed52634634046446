"""Benchmark: maildoctor scan of generated domains, on one process, --jobs 2 and a Dask LocalCluster
of 2 worker processes, in the same run.

    python bench/scan.py                       # 100,000 domains
    python bench/scan.py --domains 10000

NSD (as root, in its own network namespace with only loopback) serves the generated domains (MX,
SPF with an include, DMARC, a DKIM key). Each run writes its own Parquet folder; the figures are
domains/s and the peak resident memory of the busiest process (a worker's, with --jobs and the
cluster).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nsd import isolate_network, isolation_note, print_table, serve_zones  # noqa: E402
from zones import write_zones  # noqa: E402


def own_peak_mb() -> float:
    """This process's high-water mark (VmHWM: since it started, which ru_maxrss is not)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def resident_mb(pid: int | str = "self") -> float:
    """The process's resident set now, from /proc (getrusage's ru_maxrss is no use here: a spawned
    process starts its figure at the size of the process that started it)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


class PeakMemory:
    """The highest resident set of each process started below this one while it runs (not the DNS
    server, which was there before), sampled five times a second."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._before: set[int] = set()

    def _descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
        mine, found = {os.getpid()}, True
        while found:
            found = False
            for pid, parent in parents.items():
                if parent in mine and pid not in mine:
                    mine.add(pid)
                    found = True
        return sorted(mine - {os.getpid()})

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in set(self._descendants()) - self._before:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), resident_mb(pid))

    def __enter__(self) -> PeakMemory:
        self._before = set(self._descendants())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busiest(self) -> float:
        return max(self.peaks.values(), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=100_000)
    args = parser.parse_args()
    isolate_network(sys.argv)
    from distributed import LocalCluster

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
            with PeakMemory() as children:
                started = time.perf_counter()
                scan(domains, str(work / label.replace(" ", "-")), spec, jobs=jobs)
                took = time.perf_counter() - started
            rows.append((label, took, children.busiest() if jobs > 1 else own_peak_mb()))
        with PeakMemory() as workers, LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            started = time.perf_counter()
            scan_on_cluster(cluster.scheduler_address, domains, str(work / "cluster"), spec)
            took = time.perf_counter() - started
        rows.append(("LocalCluster, 2 workers", took, workers.busiest()))
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
