"""Benchmark: a recipient list of 1,000,000 addresses over 50,000 domains.

    python bench/audience.py                      # 1,000,000 addresses, 50,000 domains
    python bench/audience.py --addresses 100000 --domains 5000

NSD (as root, in its own network namespace with only loopback) serves the domains: a fifth on
Google's MX hosts, a fifth on Microsoft's, the rest on their own; 1% of the addresses have a typo,
1% are role accounts. The list is read as `audience analyse` reads it: its domains first (then
resolved, 200 at a time), then every address judged; the target is >= 50,000 addresses/s once the
domains are resolved, in under 300 MB.
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

from nsd import isolate_network, isolation_note, print_table, run_loop, serve_zones  # noqa: E402

ZONE = "lab"


def write_inputs(work: Path, addresses: int, domains: int) -> Path:
    lines = [f"$ORIGIN {ZONE}.", "$TTL 3600", "@ IN SOA ns hostmaster 1 3600 600 86400 300", "@ IN NS ns", "ns IN A 127.0.0.53"]
    for i in range(domains):
        mx = "aspmx.l.google.com." if i % 5 == 0 else "d{i:05d}-lab.mail.protection.outlook.com." if i % 5 == 1 else f"mx.d{i:05d}"
        lines.append(f"d{i:05d} IN MX 10 {mx.format(i=i)}")
        if i % 5 > 1:
            lines.append(f"mx.d{i:05d} IN A 127.0.0.1")
    (work / "zones").mkdir()
    (work / "zones" / f"{ZONE}.zone").write_text("\n".join(lines) + "\n")
    recipients = work / "recipients.txt"
    with recipients.open("w") as out:
        for n in range(addresses):
            local = "info" if n % 100 == 7 else f"user{n}"
            domain = "gmial.com" if n % 100 == 3 else f"d{n % domains:05d}.{ZONE}"
            out.write(f"{local}@{domain}\n")
    return recipients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--domains", type=int, default=50_000)
    args = parser.parse_args()
    isolate_network(sys.argv)
    from maildoctor.audience.hygiene import Hygiene, domains_in, read_addresses, resolve_domains
    from maildoctor.dns.live import LiveResolver, Nameserver

    work = Path(tempfile.mkdtemp(prefix="maildoctor-audience-"))
    recipients = write_inputs(work, args.addresses, args.domains)
    served = serve_zones(work / "zones", f"d00000.{ZONE}", prefer_nsd=True)
    try:
        started = time.perf_counter()
        with recipients.open() as handle:
            domains = domains_in(handle)
        read = time.perf_counter() - started
        live = LiveResolver([Nameserver.parse(served.address)], timeout=2.0)
        started = time.perf_counter()
        mail = run_loop(resolve_domains(live, sorted(domains)))
        resolved = time.perf_counter() - started
        live.close()
        hygiene = Hygiene(domains=mail)
        started = time.perf_counter()
        with recipients.open() as handle:
            for _, text in read_addresses(handle):
                hygiene.judge(text)
        judged = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = hygiene.summary()
        providers = ", ".join(f"{p['provider']} {p['share']:.0%}" for p in summary["providers"][:3])
        print_table(
            [
                ("DNS server", f"{served.kind} on {served.address}, {isolation_note()}"),
                ("list", f"{args.addresses:,} addresses over {len(domains):,} domains"),
                ("first pass (the domains)", f"{read:.1f} s ({args.addresses / read:,.0f} addresses/s)"),
                ("domains resolved", f"{resolved:.1f} s ({len(domains) / resolved:,.0f} domains/s)"),
                ("addresses judged, domains resolved", f"{judged:.1f} s ({args.addresses / judged:,.0f} addresses/s; target >= 50,000)"),
                (
                    "kept / removed",
                    f"{summary['kept']:,} / {summary['rejected']:,} ({', '.join(f'{r} {n:,}' for r, n in summary['reasons'].items())})",
                ),
                ("by provider", providers),
                ("peak memory (RSS)", f"{peak:.0f} MB (target < 300 MB)"),
            ]
        )
    finally:
        served.stop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
