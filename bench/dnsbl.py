"""Benchmark: blocklist lookups through the test DNS server with a 50 ms delay on every answer.

    python bench/dnsbl.py                  # 1 IP and 1,000 IPs against every list of the catalog
    python bench/dnsbl.py --ips 5000 --in-flight 1000

The server runs in its own process (so it does not share the interpreter lock with the client)
and serves every list of the shipped catalog, with 1% of the addresses listed somewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nsd import isolate_network, isolation_note, print_table  # noqa: E402

from maildoctor.checks.dnsbl import shipped_catalog  # noqa: E402
from maildoctor.dns.answer import Answer, Resolver  # noqa: E402
from maildoctor.dns.live import LiveResolver, Nameserver  # noqa: E402
from maildoctor.dnsbl.lookup import Subject, check_all  # noqa: E402


def addresses(count: int) -> list[str]:
    return [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(1, count + 1)]


def serve(count: int, delay: float, port_out: multiprocessing.connection.Connection, stop: multiprocessing.synchronize.Event) -> None:
    from maildoctor.dns.zonedata import ZoneSet
    from maildoctor.testing.dnsserver import Faults, TestDnsServer
    from tests.blocklists import blocklist_zone

    catalog = [b for b in shipped_catalog() if "ipv4" in b.kinds]
    listed = addresses(count)[::100]
    zones = ZoneSet(
        [
            blocklist_zone(b, [(ip, "127.0.0.2", "listed for the benchmark") for ip in listed] if n % 5 == 0 else [])
            for n, b in enumerate(catalog)
        ]
        + [blocklist_zone(b) for b in shipped_catalog() if "ipv4" not in b.kinds]
    )
    server = TestDnsServer(zones, faults=Faults(delay=delay)).start()
    port_out.send(server.port)
    stop.wait(3600)
    server.stop()


class Counting:
    """Counts the questions and the most in flight at once."""

    def __init__(self, inner: Resolver) -> None:
        self.inner, self.asked, self.now, self.peak = inner, 0, 0, 0

    async def query(self, name: str, rdtype: str) -> Answer:
        self.asked += 1
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            return await self.inner.query(name, rdtype)
        finally:
            self.now -= 1


async def lookup(port: int, ips: list[str], in_flight: int, timeout: float) -> tuple[float, Counting, dict[str, int]]:
    resolver = LiveResolver([Nameserver("127.0.0.1", port)], timeout=timeout)
    counting = Counting(resolver)
    started = time.perf_counter()
    results = await check_all(counting, [Subject.parse(ip) for ip in ips], list(shipped_catalog()), deadline=600, in_flight=in_flight)
    elapsed = time.perf_counter() - started
    resolver.close()
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return elapsed, counting, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ips", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the server waits before each answer")
    parser.add_argument("--in-flight", type=int, default=500, help="the bound on questions in flight")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the single-IP case")
    args = parser.parse_args()
    isolate_network(sys.argv)

    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(args.ips, args.delay, send, stop), daemon=True)
    child.start()
    if not receive.poll(120):
        raise SystemExit("the test DNS server did not start")
    port = receive.recv()
    try:
        single = [asyncio.run(lookup(port, ["10.0.0.1"], args.in_flight, 2.0)) for _ in range(args.repeat)]
        many_elapsed, many, statuses = asyncio.run(lookup(port, addresses(args.ips), args.in_flight, 5.0))
    finally:
        stop.set()
        child.join(10)
    one_ms = [s[0] * 1000 for s in single]
    lists = len([b for b in shipped_catalog() if "ipv4" in b.kinds])
    print_table(
        [
            (
                "DNS server",
                f"maildoctor test server (own process) on 127.0.0.1:{port}, {args.delay * 1000:.0f} ms per answer, {isolation_note()}",
            ),
            ("IPv4 lists in the catalog", str(lists)),
            (
                "1 IP x all lists: wall time",
                f"median {statistics.median(one_ms):.0f} ms, max {max(one_ms):.0f} ms ({args.repeat} runs; target <= 120 ms)",
            ),
            ("1 IP x all lists: queries", str(single[0][1].asked)),
            (f"{args.ips} IPs x all lists: wall time", f"{many_elapsed:.2f} s"),
            (f"{args.ips} IPs x all lists: queries", f"{many.asked} ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})"),
            (f"{args.ips} IPs x all lists: queries/s", f"{many.asked / many_elapsed:,.0f} (target >= 2,000)"),
            ("most questions in flight", f"{many.peak} (bound {args.in_flight})"),
        ]
    )


if __name__ == "__main__":
    main()
