"""Benchmark: analyse signed messages (DKIM verification included), the senders' zones served by NSD.

    python bench/message.py                         # 10,000 messages from 50 sending domains
    python bench/message.py --peer spamassassin     # and spamc/spamd on a sample of the same messages

Two passes over the same messages: 'DNS per message' gives every analysis its own DNS (each
message asks for its keys, SPF and DMARC), 'DNS cached' shares a cache of answers across
messages, as a receiving server's resolver does. Each message is signed with a 2048-bit RSA key
of its domain and sent from an address its SPF authorizes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import dkim  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from nsd import isolate_network, isolation_note, print_table, run_loop, serve_zones  # noqa: E402

from maildoctor.dns.answer import Resolver  # noqa: E402
from maildoctor.dns.cache import CachingResolver  # noqa: E402
from maildoctor.dns.live import LiveResolver, Nameserver  # noqa: E402
from maildoctor.message.analyse import analyse_message  # noqa: E402
from maildoctor.message.facts import MessageFacts  # noqa: E402
from maildoctor.message.options import MessageOptions  # noqa: E402

Sample = tuple[bytes, str, str]  # (message, client IP, MAIL FROM)


def domain(i: int) -> str:
    return f"sender{i:03d}.example"


def write_zones(directory: Path, count: int) -> list[bytes]:
    """Zones with SPF, DMARC and a DKIM key per domain; returns the private keys (PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = []
    for i in range(count):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys.append(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        )
        public = base64.b64encode(
            key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).decode()
        strings = " ".join(f'"{public[j : j + 250]}"' for j in range(0, len(public), 250))
        d = domain(i)
        (directory / f"{d}.zone").write_text(f"""$ORIGIN {d}.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 127.0.0.53
@ IN MX 10 mail
mail IN A 10.1.{i}.1
@ IN TXT "v=spf1 ip4:10.1.{i}.0/24 -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"
s1._domainkey IN TXT "v=DKIM1; k=rsa; p=" {strings}
""")
    return keys


def make_messages(count: int, keys: list[bytes], processes: int = 1) -> list[Sample]:
    if processes > 1:  # dkimpy signs in pure Python: share the work
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.starmap(_make_range, [(range(i, count, processes), keys) for i in range(processes)])
        merged = [sample for part in parts for sample in part]
        return sorted(merged, key=lambda s: int(s[2].split("-")[1].split("@")[0]))
    return _make_range(range(count), keys)


def _make_range(numbers: range, keys: list[bytes]) -> list[Sample]:
    samples = []
    for n in numbers:
        i = n % len(keys)
        d = domain(i)
        body = (
            f"Hello,\r\n\r\nthis is message {n} of the benchmark. Your order {n * 7919 % 100000} has shipped and"
            " will arrive on Thursday.\r\n\r\nKind regards,\r\nthe shop\r\n"
        )
        raw = (
            f"From: Shop <orders@{d}>\r\nTo: customer{n}@example.net\r\nSubject: Your order {n}\r\n"
            f"Date: {formatdate()}\r\nMessage-ID: <{n}.bench@{d}>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        ).encode()
        signature = dkim.sign(
            raw,
            b"s1",
            d.encode(),
            keys[i],
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"],
        )
        samples.append((signature + raw, f"10.1.{i}.{n % 200 + 10}", f"bounce-{n}@{d}"))
    return samples


async def analyse_all(samples: list[Sample], resolver: Resolver, concurrency: int) -> tuple[float, list[float], dict[str, int]]:
    """Analyse with `concurrency` messages in flight; (seconds, latencies in ms, verdict counts)."""
    latencies: list[float] = []
    verdicts: dict[str, int] = {}

    async def one(sample: Sample) -> None:
        raw, ip, mail_from = sample
        started = time.perf_counter()
        report = await analyse_message(
            raw, resolver, MessageOptions(client_ip=ip, helo=f"mail.{mail_from.split('@')[1]}", mail_from=mail_from)
        )
        latencies.append((time.perf_counter() - started) * 1000)
        facts = report.facts
        assert isinstance(facts, MessageFacts) and facts.dkim and facts.dmarc
        key = f"dkim {facts.dkim[0].result}, dmarc {'pass' if facts.dmarc.passed else 'fail'}"
        verdicts[key] = verdicts.get(key, 0) + 1

    async def worker(pending: list[Sample]) -> None:
        while pending:
            await one(pending.pop())

    queue = list(reversed(samples))
    started = time.perf_counter()
    await asyncio.gather(*(worker(queue) for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, verdicts


def run_pass(job: tuple[str, list[Sample], str, int, int, bool]) -> tuple[float, list[float], dict[str, int]]:
    """One worker process: its share of the messages, with its own DNS client (and cache)."""
    kind, share, host, port, concurrency, warm = job
    live = LiveResolver([Nameserver(host, port)], timeout=2.0)
    resolver: Resolver = CachingResolver(live) if kind == "cached" else live

    async def go() -> tuple[float, list[float], dict[str, int]]:
        if warm:
            await analyse_all(list(share), resolver, concurrency)
        return await analyse_all(share, resolver, concurrency)

    return run_loop(go())


def run_parallel(
    kind: str, samples: list[Sample], host: str, port: int, processes: int, concurrency: int
) -> tuple[float, list[float], dict[str, int]]:
    import multiprocessing

    shares = [samples[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        started = time.perf_counter()
        parts = pool.map(run_pass, [(kind, share, host, port, concurrency, kind == "cached") for share in shares])
        wall = time.perf_counter() - started
    if kind == "cached":  # the warm-up pass ran inside the timed window: count the measured pass only
        wall = max(p[0] for p in parts)
    latencies = [ms for p in parts for ms in p[1]]
    verdicts: dict[str, int] = {}
    for p in parts:
        for k, v in p[2].items():
            verdicts[k] = verdicts.get(k, 0) + v
    return wall, latencies, verdicts


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def run_spamc(samples: list[Sample], workers: int) -> float:
    spamd = shutil.which("spamd") or "/usr/sbin/spamd"
    spamc = shutil.which("spamc")
    if not spamc or not Path(spamd).exists():
        raise SystemExit("spamd/spamc missing: apt-get install spamassassin spamd spamc")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            spamd,
            f"--listen=127.0.0.1:{port}",
            f"--max-children={workers}",
            f"--min-children={workers}",
            "--local",
            "--nouser-config",
            "-u",
            "nobody",
            "--syslog=stderr",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        time.sleep(1.0)  # let the children finish loading
        from concurrent.futures import ThreadPoolExecutor

        def one(sample: Sample) -> None:
            subprocess.run([spamc, "-d", "127.0.0.1", "-p", str(port), "-c"], input=sample[0], capture_output=True, timeout=120)

        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, samples))
        return len(samples) / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50, help="messages in flight per process")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (the machine has 2 cores)")
    parser.add_argument("--latency-messages", type=int, default=1000, help="messages analysed one at a time for the latency")
    parser.add_argument("--peer", choices=["spamassassin"])
    parser.add_argument("--peer-messages", type=int, default=300)
    args = parser.parse_args()
    isolate_network(sys.argv)

    with tempfile.TemporaryDirectory(prefix="maildoctor-bench-") as tmp:
        zone_dir = Path(tmp) / "zones"
        started = time.perf_counter()
        keys = write_zones(zone_dir, args.domains)
        samples = make_messages(args.messages, keys, args.processes)
        prepared = time.perf_counter() - started
        server = serve_zones(zone_dir, domain(0))
        try:
            cold_s, _, verdicts = run_parallel("per-message", samples, server.host, server.port, args.processes, args.concurrency)
            cached_s, _, _ = run_parallel("cached", samples, server.host, server.port, args.processes, args.concurrency)
            _, one_ms, _ = run_pass(("cached", samples[: args.latency_messages], server.host, server.port, 1, True))
            _, cold_one_ms, _ = run_pass(("per-message", samples[: args.latency_messages], server.host, server.port, 1, False))
            rows = [
                ("DNS server", f"{server.kind} on {server.address}, {isolation_note()}"),
                ("messages", f"{len(samples)} from {args.domains} domains, RSA-2048 signatures (made in {prepared:.0f} s)"),
                ("verdicts", ", ".join(f"{k}: {v}" for k, v in sorted(verdicts.items()))),
                ("worker processes x messages in flight", f"{args.processes} x {args.concurrency}"),
                ("DNS per message: messages/s", f"{len(samples) / cold_s:,.0f}"),
                ("DNS cached: messages/s", f"{len(samples) / cached_s:,.0f}"),
                (
                    "latency one at a time, DNS per message: p50 / p99",
                    f"{statistics.median(cold_one_ms):.1f} / {percentile(cold_one_ms, 0.99):.1f} ms",
                ),
                ("latency one at a time, DNS cached: p50 / p99", f"{statistics.median(one_ms):.1f} / {percentile(one_ms, 0.99):.1f} ms"),
            ]
            if args.peer == "spamassassin":
                sample = samples[: args.peer_messages]
                peer_rate = run_spamc(sample, workers=args.processes)
                rows += [
                    (f"spamc + spamd ({args.processes} children, --local), {len(sample)} messages", f"{peer_rate:.1f} messages/s"),
                    (
                        "ratio maildoctor / spamc: DNS per message, cached",
                        f"{len(samples) / cold_s / peer_rate:.0f}x, {len(samples) / cached_s / peer_rate:.0f}x",
                    ),
                ]
        finally:
            server.stop()  # type: ignore[operator]
    print_table(rows)


if __name__ == "__main__":
    main()
