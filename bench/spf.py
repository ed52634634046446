"""Benchmark: evaluate (IP, domain) pairs with maildoctor's SPF evaluator, zones served by NSD.

    python bench/spf.py                          # 100,000 pairs over 1,000 generated domains
    python bench/spf.py --peer pyspf             # and pyspf on (a sample of) the same pairs, with the ratio

Two passes: 'DNS per evaluation' asks the server for every evaluation (each evaluation has its
own cache, as a receiver handling one message would); 'DNS cached' keeps the answers across
evaluations, so it measures the evaluator itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nsd import ServedZones, isolate_network, isolation_note, print_table, run_loop, serve_zones, udp_receive_errors  # noqa: E402
from zones import domain_name, write_zones  # noqa: E402

from maildoctor.dns.answer import Resolver  # noqa: E402
from maildoctor.dns.cache import CachingResolver  # noqa: E402
from maildoctor.dns.live import LiveResolver, Nameserver  # noqa: E402
from maildoctor.dns.tracing import TracingResolver  # noqa: E402
from maildoctor.spf.evaluator import check_host  # noqa: E402

Pair = tuple[str, str]


def make_pairs(count: int, domains: int) -> list[Pair]:
    """A third each: the domain's MX host (pass via mx), the provider's range (pass via include), a stranger (fail)."""
    pairs = []
    for n in range(count):
        i = n % domains
        kind = n % 3
        if kind == 0:
            ip = f"127.0.{i // 250 % 250}.{i % 250 + 1}"
        elif kind == 1:
            ip = f"192.0.2.{n % 250 + 1}"
        else:
            ip = f"198.51.100.{n % 250 + 1}"
        pairs.append((ip, domain_name(i)))
    return pairs


async def evaluate_all(
    pairs: list[Pair], make_resolver: callable[[], Resolver], concurrency: int
) -> tuple[float, Counter[str], list[float]]:  # type: ignore[valid-type]
    results: Counter[str] = Counter()
    latencies: list[float] = []

    async def worker(pending: Iterator[Pair]) -> None:
        for ip, domain in pending:
            started = time.perf_counter()
            evaluation = await check_host(make_resolver(), ip, domain)
            latencies.append(time.perf_counter() - started)
            results[evaluation.result.value] += 1

    started = time.perf_counter()
    pending = iter(pairs)
    await asyncio.gather(*(worker(pending) for _ in range(concurrency)))
    return time.perf_counter() - started, results, latencies


PEER_SCRIPT = """
import json, sys, time
import dns.resolver, spf
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [sys.argv[1]]
if sys.argv[2] == "cached":
    resolver.cache = dns.resolver.Cache()
dns.resolver.default_resolver = resolver
pairs = json.loads(sys.stdin.read())

def evaluate():
    results = {}
    for ip, domain in pairs:
        result = spf.check2(i=ip, s="postmaster@" + domain, h="unknown")[0]
        results[result] = results.get(result, 0) + 1
    return results

if sys.argv[2] == "cached":
    evaluate()  # warm the cache
started = time.perf_counter()
results = evaluate()
print(json.dumps({"elapsed": time.perf_counter() - started, "results": results}))
"""


def run_pyspf(pairs: list[Pair], server: ServedZones, mode: str) -> tuple[float, dict[str, int]]:
    if server.port != 53:
        raise SystemExit("pyspf can only ask port 53: run as root with NSD installed (make bench)")
    done = subprocess.run(
        [sys.executable, "-c", PEER_SCRIPT, server.host, mode], input=json.dumps(pairs), capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise SystemExit(f"pyspf failed: {done.stderr.strip()[-800:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return len(pairs) / data["elapsed"], data["results"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--peer", choices=["pyspf"])
    parser.add_argument("--peer-pairs", type=int, default=10_000, help="how many of the pairs the (slower) peer evaluates")
    args = parser.parse_args()
    isolate_network(sys.argv)

    pairs = make_pairs(args.pairs, args.domains)
    with tempfile.TemporaryDirectory(prefix="maildoctor-bench-") as tmp:
        zone_dir = Path(tmp) / "zones"
        write_zones(zone_dir, args.domains)
        server = serve_zones(zone_dir, domain_name(0))
        live = LiveResolver([Nameserver(server.host, server.port)], timeout=2.0)

        async def passes():  # noqa: ANN202  (one event loop for every pass: the resolver's socket lives in it)
            uncached = await evaluate_all(pairs, lambda: TracingResolver(live), args.concurrency)
            shared = CachingResolver(live)
            await evaluate_all(pairs[: args.domains * 3], lambda: shared, args.concurrency)  # warm the cache
            cached = await evaluate_all(pairs, lambda: shared, args.concurrency)
            live.close()
            return uncached, cached

        try:
            (elapsed, results, latencies), (cached_elapsed, cached_results, cached_latencies) = run_loop(passes())
            rate = len(pairs) / elapsed
            cached_rate = len(pairs) / cached_elapsed
            rows = [
                ("DNS server", f"{server.kind} on {server.address}, {isolation_note()}"),
                ("pairs evaluated", f"{len(pairs)} over {args.domains} domains"),
                ("results", ", ".join(f"{k} {v}" for k, v in sorted(results.items()))),
                ("questions retried after a timeout", f"{live.retries}"),
                ("UDP datagrams dropped by full receive buffers", f"{udp_receive_errors()}"),
                ("evaluations/s, DNS per evaluation", f"{rate:.0f}"),
                ("evaluations/s, DNS cached", f"{cached_rate:.0f}"),
                (
                    "p50 / p99 latency, DNS cached",
                    f"{percentile(cached_latencies, 0.5) * 1000:.2f} / {percentile(cached_latencies, 0.99) * 1000:.2f} ms (with {args.concurrency} in flight)",
                ),
            ]
            if args.peer == "pyspf":
                sample = pairs[: args.peer_pairs]
                peer_rate, peer_results = run_pyspf(sample, server, "uncached")
                peer_cached_rate, _ = run_pyspf(sample, server, "cached")
                rows += [
                    (f"pyspf evaluations/s, DNS per evaluation ({len(sample)} pairs)", f"{peer_rate:.0f}"),
                    (f"pyspf evaluations/s, DNS cached ({len(sample)} pairs)", f"{peer_cached_rate:.0f}"),
                    ("pyspf results", ", ".join(f"{k} {v}" for k, v in sorted(peer_results.items()))),
                    ("ratio maildoctor / pyspf, DNS per evaluation", f"{rate / peer_rate:.1f}x"),
                    ("ratio maildoctor / pyspf, DNS cached", f"{cached_rate / peer_cached_rate:.1f}x"),
                ]
        finally:
            server.stop()  # type: ignore[operator]
    print_table(rows)


if __name__ == "__main__":
    main()
