"""Benchmark: audit N generated domains concurrently over DNS (NSD on loopback) and print a table.

The --jobs run starts from a fresh process, as `maildoctor check --domains-file --jobs` does.

python bench/audit.py                       # 1000 domains
python bench/audit.py --domains 10000       # the memory target
python bench/audit.py --jobs 1              # one process only (by default also one worker per core)
python bench/audit.py --peer checkdmarc     # and checkdmarc on the same domains, with the ratio
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nsd import ServedZones, isolate_network, isolation_note, print_table, run_loop, serve_zones  # noqa: E402
from zones import write_zones  # noqa: E402

from maildoctor.bulk import Finished, audit_many  # noqa: E402
from maildoctor.dmarc.orgdomain import organizational_domain  # noqa: E402
from maildoctor.dns.live import LiveResolver, Nameserver  # noqa: E402
from maildoctor.target import Target  # noqa: E402


@dataclass
class AuditRun:
    elapsed: float
    cpu: float
    queries: int
    outcomes: dict[str, int]
    retries: int


async def audit_all(domains: list[str], server: ServedZones, concurrency: int, out: Path) -> AuditRun:
    """Through the product's bulk path (`maildoctor check --domains-file --jobs 1`): concurrent
    audits over one DNS client, each report written out as a JSON line as it finishes."""
    resolver = LiveResolver([Nameserver(server.host, server.port)], timeout=2.0)
    organizational_domain("warm.example")  # load the Public Suffix List outside the timed window
    with out.open("w") as sink:
        started = time.perf_counter()
        cpu_started = time.process_time()
        async for report in audit_many((Target(domain=d) for d in domains), resolver, concurrency):
            sink.write(Finished.of(report).line + "\n")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    resolver.close()
    return AuditRun(elapsed, cpu, *_questions_asked(out), resolver.retries)


JOBS_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from maildoctor.bulk import audit_many_processes
from maildoctor.dns.spec import ResolverSpec
domains = open(sys.argv[2]).read().split()
spec = ResolverSpec((sys.argv[3],), (), 2.0)
with open(sys.argv[6], "w") as sink:
    started = time.perf_counter()
    for done in audit_many_processes(domains, spec, int(sys.argv[4]), int(sys.argv[5])):
        sink.write(done.line + "\\n")
    elapsed = time.perf_counter() - started
workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"elapsed": elapsed, "workers_mb": workers_mb}))
"""


def audit_all_processes(domains: list[str], server: ServedZones, jobs: int, concurrency: int, out: Path) -> tuple[AuditRun, float]:
    """`jobs` processes, each with its own event loop and DNS client (`check --domains-file --jobs`),
    started from a process that has done nothing else, as the command starts them (forked from this
    one after its own run, they would inherit its heap and collector state: 10-20% slower). The run
    and the peak memory of the largest worker."""
    listed = out.with_suffix(".domains")
    listed.write_text("\n".join(domains))
    source = str(Path(__file__).resolve().parent.parent / "src")
    command = [sys.executable, "-c", JOBS_SCRIPT, source, str(listed), server.address, str(jobs), str(concurrency), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"the --jobs run failed: {result.stderr.strip()[-800:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return AuditRun(data["elapsed"], float("nan"), *_questions_asked(out), 0), data["workers_mb"]


def _questions_asked(reports: Path) -> tuple[int, dict[str, int]]:
    """The questions of every report written, and how many got each outcome (read after the timed run)."""
    queries = 0
    outcomes: dict[str, int] = {}
    with reports.open() as lines:
        for line in lines:
            for query in json.loads(line)["queries"]:
                queries += 1
                outcomes[query["outcome"]] = outcomes.get(query["outcome"], 0) + 1
    return queries, outcomes


PEER_SCRIPT = """
import json, sys, time, checkdmarc
domains = sys.argv[2:]
started = time.perf_counter()
results = checkdmarc.check_domains(domains, skip_tls=True, nameservers=[sys.argv[1]], timeout=2.0)
elapsed = time.perf_counter() - started
results = results if isinstance(results, list) else [results]
print(json.dumps({"elapsed": elapsed, "count": len(results)}))
"""


def run_checkdmarc(domains: list[str], server: ServedZones) -> float:
    if server.port != 53:
        raise SystemExit("checkdmarc can only ask port 53: run as root with NSD installed (make bench)")
    result = subprocess.run([sys.executable, "-c", PEER_SCRIPT, server.host, *domains], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"checkdmarc failed: {result.stderr.strip()[-800:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["count"] / data["elapsed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100, help="audits in flight (per process)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the second run, as check --domains-file --jobs (default: one per core; 1: skip it)",
    )
    parser.add_argument("--peer", choices=["checkdmarc"])
    parser.add_argument("--peer-domains", type=int, default=200, help="how many of the domains the (slower) peer audits")
    parser.add_argument("--builtin-server", action="store_true", help="use the built-in DNS server instead of NSD")
    args = parser.parse_args()
    isolate_network(sys.argv)

    with tempfile.TemporaryDirectory(prefix="maildoctor-bench-") as tmp:
        zone_dir = Path(tmp) / "zones"
        domains = write_zones(zone_dir, args.domains)
        server = serve_zones(zone_dir, domains[0], prefer_nsd=not args.builtin_server)
        try:
            single = run_loop(audit_all(domains, server, args.concurrency, Path(tmp) / "reports.jsonl"))
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rate = len(domains) / single.elapsed
            rows = [
                ("DNS server", f"{server.kind} on {server.address}, {isolation_note()}"),
                ("domains audited", f"{len(domains)}"),
                ("domains/s, one process", f"{rate:.0f} ({single.elapsed:.2f} s)"),
                ("CPU time per domain, one process", f"{single.cpu / len(domains) * 1000:.2f} ms"),
                ("DNS queries per domain", f"{single.queries / len(domains):.2f}"),
                ("query outcomes", ", ".join(f"{k} {v}" for k, v in sorted(single.outcomes.items()))),
                ("questions retried after a timeout", f"{single.retries}"),
                ("peak memory (RSS), one process", f"{peak_mb:.0f} MB"),
            ]
            if args.jobs > 1:
                multi, child_mb = audit_all_processes(domains, server, args.jobs, args.concurrency, Path(tmp) / "reports.jsonl")
                rate = max(rate, len(domains) / multi.elapsed)
                rows += [
                    (f"domains/s, --jobs {args.jobs}", f"{len(domains) / multi.elapsed:.0f} ({multi.elapsed:.2f} s)"),
                    (f"peak memory (RSS), largest of the {args.jobs} workers", f"{child_mb:.0f} MB"),
                ]
            if args.peer == "checkdmarc":
                sample = domains[: args.peer_domains]
                peer_rate = run_checkdmarc(sample, server)
                rows += [
                    (f"checkdmarc domains/s ({len(sample)} domains)", f"{peer_rate:.1f}"),
                    ("ratio maildoctor (the faster run above) / checkdmarc", f"{rate / peer_rate:.1f}x"),
                ]
        finally:
            server.stop()  # type: ignore[operator]
    print_table(rows)


if __name__ == "__main__":
    main()
