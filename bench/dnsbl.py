"""Benchmark: blocklist lookups with a 50 ms round trip on every answer.

    python bench/dnsbl.py                  # 1 IP and 1,000 IPs against every list of the catalog
    python bench/dnsbl.py --ips 5000 --in-flight 1000
    python bench/dnsbl.py --server built-in

As root (its own network namespace), NSD serves every list of the shipped catalog, with 1% of the
addresses listed somewhere, behind a relay in its own process that holds each question for the
round trip before passing it on: the time measured is maildoctor's, not a DNS server's. Otherwise
the maildoctor test server, in its own process, waits the round trip before each answer (it
answers one question at a time, so its own time grows with the questions).
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

from nsd import isolate_network, isolation_note, print_table, run_loop  # noqa: E402

from maildoctor.checks.dnsbl import shipped_catalog  # noqa: E402
from maildoctor.dns.answer import Answer, Resolver  # noqa: E402
from maildoctor.dns.live import LiveResolver, Nameserver  # noqa: E402
from maildoctor.dnsbl.lookup import Subject, check_all  # noqa: E402


def addresses(count: int) -> list[str]:
    return [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(1, count + 1)]


def blocklist_zones(count: int) -> list[object]:
    from tests.blocklists import blocklist_zone

    catalog = [b for b in shipped_catalog() if "ipv4" in b.kinds]
    listed = addresses(count)[::100]
    return [
        blocklist_zone(b, [(ip, "127.0.0.2", "listed for the benchmark") for ip in listed] if n % 5 == 0 else [])
        for n, b in enumerate(catalog)
    ] + [blocklist_zone(b) for b in shipped_catalog() if "ipv4" not in b.kinds]


def serve(count: int, delay: float, port_out: multiprocessing.connection.Connection, stop: multiprocessing.synchronize.Event) -> None:
    from maildoctor.dns.zonedata import ZoneSet
    from maildoctor.testing.dnsserver import Faults, TestDnsServer

    zones = ZoneSet(blocklist_zones(count))  # type: ignore[arg-type]
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


def delay_line(upstream: tuple[str, int], delay: float, port_out: multiprocessing.connection.Connection) -> None:
    """A UDP relay that holds every question for `delay` seconds before passing it to the server
    (and the answer straight back): a round trip of `delay` in front of NSD, in its own process."""
    import socket

    async def relay() -> None:
        loop = asyncio.get_running_loop()
        upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}

        class Back(asyncio.DatagramProtocol):
            def __init__(self, client: tuple[str, int]) -> None:
                self.client = client

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                front.sendto(data, self.client)

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                loop.call_later(delay, lambda: asyncio.ensure_future(forward(data, addr)))

        async def forward(data: bytes, client: tuple[str, int]) -> None:
            transport = upstreams.get(client)
            if transport is None:
                transport, _ = await loop.create_datagram_endpoint(lambda: Back(client), remote_addr=upstream)
                upstreams[client] = transport
            transport.sendto(data)

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.bind(("127.0.0.1", 0))
        front, _ = await loop.create_datagram_endpoint(Front, sock=sock)
        port_out.send(sock.getsockname()[1])
        await asyncio.sleep(3600)

    run_loop(relay())


def serve_with_nsd(count: int, delay: float) -> tuple[str, int, object] | None:
    """NSD on the zones behind a delay line; None where NSD cannot run (not root, not installed)."""
    import tempfile

    from nsd import serve_zones

    work = Path(tempfile.mkdtemp(prefix="maildoctor-dnsbl-"))
    for loaded in blocklist_zones(count):
        origin = loaded.origin.to_text().rstrip(".")  # type: ignore[attr-defined]
        (work / f"{origin}.zone").write_text(loaded.zone.to_text(relativize=False))  # type: ignore[attr-defined]
    served = serve_zones(work, "zen.spamhaus.org", prefer_nsd=True)
    if served.kind != "nsd":
        served.stop()  # type: ignore[operator]
        return None
    receive, send = multiprocessing.Pipe(duplex=False)
    relay = multiprocessing.Process(target=delay_line, args=((served.host, served.port), delay, send), daemon=True)
    relay.start()
    port = receive.recv()

    def stop() -> None:
        relay.terminate()
        served.stop()  # type: ignore[operator]

    return "127.0.0.1", port, stop


def round_trip(host: str, port: int) -> float:
    """One question and its answer, in seconds (the best of five)."""
    import dns.message
    import dns.query

    times = []
    for _ in range(5):
        started = time.perf_counter()
        dns.query.udp(dns.message.make_query("zen.spamhaus.org", "SOA"), host, port=port, timeout=2)
        times.append(time.perf_counter() - started)
    return min(times)


async def lookup(host: str, port: int, ips: list[str], in_flight: int, timeout: float) -> tuple[float, Counting, dict[str, int]]:
    resolver = LiveResolver([Nameserver(host, port)], timeout=timeout)
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
    parser.add_argument("--server", choices=("nsd", "built-in"), default="nsd", help="NSD with a netem delay where possible")
    args = parser.parse_args()
    isolate_network(sys.argv)

    nsd = serve_with_nsd(args.ips, args.delay) if args.server == "nsd" else None
    if nsd is not None:
        host, port, stop_nsd = nsd
        server = f"NSD behind a delay line ({args.delay * 1000:g} ms per question, own process) on {host}:{port}, {isolation_note()}"
        child = None
    else:
        receive, send = multiprocessing.Pipe(duplex=False)
        stop = multiprocessing.Event()
        child = multiprocessing.Process(target=serve, args=(args.ips, args.delay, send, stop), daemon=True)
        child.start()
        if not receive.poll(120):
            raise SystemExit("the test DNS server did not start")
        host, port = "127.0.0.1", receive.recv()
        server = f"maildoctor test server (own process) on {host}:{port}, {args.delay * 1000:.0f} ms per answer, {isolation_note()}"
    try:
        trip = round_trip(host, port)
        single = [asyncio.run(lookup(host, port, ["10.0.0.1"], args.in_flight, 2.0)) for _ in range(args.repeat)]
        many_elapsed, many, statuses = asyncio.run(lookup(host, port, addresses(args.ips), args.in_flight, 5.0))
    finally:
        if child is not None:
            stop.set()
            child.join(10)
        else:
            stop_nsd()  # type: ignore[operator]
    one_ms = [s[0] * 1000 for s in single]
    lists = len([b for b in shipped_catalog() if "ipv4" in b.kinds])
    median = statistics.median(one_ms)
    print_table(
        [
            ("DNS server", server),
            ("one round trip", f"{trip * 1000:.1f} ms"),
            ("IPv4 lists in the catalog", str(lists)),
            (
                "1 IP x all lists: wall time",
                f"median {median:.0f} ms, max {max(one_ms):.0f} ms ({args.repeat} runs): {median / (trip * 1000):.2f} round trips"
                " (target <= 1.5, test entries and 127.0.0.1 included)",
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
