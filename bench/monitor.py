"""Benchmark: one monitor cycle for 10,000 IPs and 1,000 domains.

    python bench/monitor.py                       # 10,000 IPs on every IP list, 1,000 domains' audits
    python bench/monitor.py --ips 2000 --domains 200

NSD (as root, in its own network namespace with only loopback) serves every list of the shipped
catalog, with 1% of the IPs listed on a fifth of the lists, and the generated domains' zones. The
cycle is the monitor's own (Monitor.cycle: the lists' canaries, the budgets, the domain audits,
the state kept in SQLite), timed from start to end; the target is to fit a 15-minute interval
using at most a quarter of it, in under 300 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnsbl import Counting, addresses, blocklist_zones  # noqa: E402
from nsd import isolate_network, isolation_note, print_table, run_loop, serve_zones  # noqa: E402
from zones import domain_name, write_zones  # noqa: E402

INTERVAL = 900.0


def write_all(directory: str, ips: int, domains: int) -> None:
    """The zones, written in a process of their own: the benchmark's memory is the monitor's."""
    work = Path(directory)
    write_zones(work, domains)
    for loaded in blocklist_zones(ips):
        origin = loaded.origin.to_text().rstrip(".")  # type: ignore[attr-defined]
        (work / f"{origin}.zone").write_text(loaded.zone.to_text(relativize=False))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ips", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=1_000)
    args = parser.parse_args()
    isolate_network(sys.argv)
    from maildoctor.dns.live import LiveResolver, Nameserver
    from maildoctor.monitor.config import MonitorConfig
    from maildoctor.monitor.service import Monitor
    from maildoctor.store.database import Store
    from maildoctor.store.monitor import MonitorStore

    work = tempfile.mkdtemp(prefix="maildoctor-monitor-")
    started = time.perf_counter()
    writer = multiprocessing.Process(target=write_all, args=(work, args.ips, args.domains))
    writer.start()
    writer.join()
    served = serve_zones(Path(work), "zen.spamhaus.org", prefer_nsd=True)
    made = time.perf_counter() - started
    try:
        ips = addresses(args.ips)
        config = MonitorConfig(
            path=Path(work) / "monitor.toml",
            interval=INTERVAL,
            ips=tuple(ips),
            domains=tuple(domain_name(i) for i in range(args.domains)),
            nameservers=(served.address,),
        )
        live = LiveResolver([Nameserver.parse(served.address)], timeout=2.0)
        counting = Counting(live)
        monitor = Monitor(config, MonitorStore(Store(str(Path(work) / "data")).engine), counting)  # type: ignore[arg-type]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu, wall = time.process_time(), time.perf_counter()
        events = run_loop(monitor.cycle())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        live.close()
        listed = sum(1 for e in events if e.alert.kind == "listed")
        status = monitor.status()
        print_table(
            [
                ("DNS server", f"{served.kind} on {served.address}, {isolation_note()}"),
                (
                    "watched",
                    f"{args.ips} IPs on every IP list, {args.domains} domains (audit: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, BIMI, domain lists)",
                ),
                ("zones made and served in", f"{made:.1f} s"),
                ("one cycle, wall time", f"{wall:.1f} s ({wall / INTERVAL:.1%} of a 15-minute interval; target <= 25%)"),
                ("one cycle, CPU time", f"{cpu:.1f} s"),
                ("DNS questions", f"{counting.asked} ({counting.asked / wall:,.0f}/s, at most {counting.peak} in flight)"),
                ("listing alerts opened", f"{listed} (1% of the IPs on a fifth of the lists)"),
                (
                    "lists asked less often (budget)",
                    ", ".join(f"{b['list']} every {b['every_cycles']} cycles" for b in status["budgets"]) or "none",
                ),
                ("peak memory (RSS)", f"{peak:.0f} MB (before the cycle {rss_before / 1024:.0f} MB; target < 300 MB)"),
            ]
        )
    finally:
        served.stop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
