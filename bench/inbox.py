"""Benchmark: the test inbox under load. N concurrent SMTP clients send M DKIM-signed messages to
`maildoctor serve`; the senders' zones are served by NSD (or the built-in server).

    python bench/inbox.py                      # 50 clients, 10,000 messages
    python bench/inbox.py --clients 10 --messages 1000
    python bench/inbox.py --messages 1000 --spamd      # Debian's spamd scoring every message

Prints accepted messages/s, graded messages/s, time from acceptance to grade (p50/p99, read from
the server's database), how many accepted messages were not graded, and the server's peak memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from message import domain, make_messages, write_zones  # noqa: E402
from nsd import isolate_network, isolation_note, print_table, serve_zones  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_spamd(children: int) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's spamd on a free loopback port, network tests off."""
    binary = shutil.which("spamd") or "/usr/sbin/spamd"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--listen=127.0.0.1:{port}",
            f"--max-children={children}",
            "--local",
            "--nouser-config",
            "--syslog=stderr",
            "-u",
            "nobody",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("spamd did not start")


def start_server(data: Path, nameserver: str, spamassassin: str | None = None) -> tuple[subprocess.Popen[bytes], int, int]:
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maildoctor",
            "serve",
            "--data",
            str(data),
            "--domain",
            "inbox.bench",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
            "--nameserver",
            nameserver,
            "--max-connections-per-ip",
            "1000",
            *(("--spamassassin", spamassassin) if spamassassin else ("--no-local-spamd",)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(data.parent / "serve.log").open("wb"),  # a file: serve logs a line per message, which would fill a pipe nobody reads
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", http_port), 0.2), socket.create_connection(("127.0.0.1", smtp_port), 0.2):
                return process, smtp_port, http_port
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"maildoctor serve exited: {(data.parent / 'serve.log').read_text()[-1000:]}") from None
            time.sleep(0.1)
    raise SystemExit("maildoctor serve did not start")


def write_blocklist_zones(directory: Path) -> None:
    """Every list of the catalog, listing nobody but its test entry, and the reverse zone of 127.0.0.1:
    what a receiving server's resolver answers (and caches) for a clean sender."""
    from maildoctor.checks.dnsbl import shipped_catalog
    from tests.blocklists import blocklist_zone

    head = "$TTL 3600\n@ IN SOA ns1.{z}. hostmaster.{z}. 1 3600 600 86400 300\n@ IN NS ns1.{z}.\nns1.{z}. IN A 127.0.0.53\n"
    for blocklist in shipped_catalog():  # each lists its test entry with a code that means listed, as the canaries want
        (directory / f"{blocklist.zone}.zone").write_text(blocklist_zone(blocklist).zone.to_text(relativize=False))
    zone = "0.0.127.in-addr.arpa"
    (directory / f"{zone}.zone").write_text(f"$ORIGIN {zone}.\n" + head.format(z=zone) + "1 IN PTR mail.bench.example.\n")


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of the process and of its children (the grader processes), added up."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            total += int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        total += sum(peak_rss_mb(int(child)) for child in children)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--distinct", type=int, default=500, help="distinct signed messages (reused round-robin)")
    parser.add_argument("--grade-timeout", type=float, default=600.0)
    parser.add_argument("--spamd", action="store_true", help="score every message with Debian's spamd (started here)")
    parser.add_argument("--spamd-children", type=int, default=4)
    args = parser.parse_args()
    isolate_network(sys.argv)

    with tempfile.TemporaryDirectory(prefix="maildoctor-bench-") as tmp:
        zone_dir = Path(tmp) / "zones"
        keys = write_zones(zone_dir, args.domains)
        write_blocklist_zones(zone_dir)
        samples = make_messages(args.distinct, keys, processes=2)
        dns = serve_zones(zone_dir, domain(0))
        spamd, spamd_at = start_spamd(args.spamd_children) if args.spamd else (None, None)
        process, smtp_port, http_port = start_server(Path(tmp) / "data", dns.address, spamd_at)
        try:
            addresses = []
            for _ in range(args.clients):
                request = urllib.request.Request(f"http://127.0.0.1:{http_port}/api/tests", method="POST")
                addresses.append(json.load(urllib.request.urlopen(request, timeout=10))["address"])
            accepted = [0] * args.clients
            refused: list[str] = []
            share = [args.messages // args.clients + (1 if i < args.messages % args.clients else 0) for i in range(args.clients)]

            def client(index: int) -> None:
                try:
                    with smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="mail.bench.example", timeout=60) as smtp:
                        for n in range(share[index]):
                            raw, _, mail_from = samples[(index * 7919 + n) % len(samples)]
                            smtp.sendmail(mail_from, [addresses[index]], raw)
                            accepted[index] += 1
                except (smtplib.SMTPException, OSError) as exc:
                    refused.append(f"client {index}: {exc}")

            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            started = time.time()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent_in = time.time() - started
            total = sum(accepted)
            database = Path(tmp) / "data" / "maildoctor.sqlite3"
            deadline = time.time() + args.grade_timeout
            graded = 0
            while time.time() < deadline:
                with sqlite3.connect(database, timeout=30) as db:
                    graded = db.execute("SELECT COUNT(*) FROM messages WHERE report IS NOT NULL").fetchone()[0]
                if graded >= total:
                    break
                time.sleep(0.5)
            with sqlite3.connect(database, timeout=30) as db:
                rows = db.execute("SELECT received, graded FROM messages WHERE graded IS NOT NULL").fetchall()
                stored = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            memory = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(30)
            if spamd is not None:
                spamd.terminate()
                spamd.wait(30)
            dns.stop()  # type: ignore[operator]
    delays = sorted(g - r for r, g in rows)
    last = max(g for _, g in rows) if rows else started
    print_table(
        [
            ("DNS server", f"{dns.kind} on {dns.address}, {isolation_note()}"),
            ("content filter", f"spamd ({args.spamd_children} children, --local) on {spamd_at}" if spamd_at else "none"),
            (
                "clients x messages",
                f"{args.clients} x {args.messages} ({args.distinct} distinct RSA-2048-signed messages from {args.domains} domains)",
            ),
            (
                "accepted (250)",
                f"{total} in {sent_in:.1f} s: {total / sent_in:,.0f} messages/s" + (f"; {len(refused)} client errors" if refused else ""),
            ),
            (
                "graded",
                f"{len(rows)} of {total}; all graded {last - started:.1f} s after the start: {len(rows) / (last - started):,.0f} messages/s",
            ),
            (
                "time to graded p50 / p99",
                f"{statistics.median(delays):.2f} / {delays[int(len(delays) * 0.99) - 1]:.2f} s" if delays else "-",
            ),
            ("lost (accepted, not stored or not graded)", f"{total - stored} not stored, {total - len(rows)} not graded"),
            ("server peak memory (RSS, with its grader processes)", f"{memory:.0f} MB"),
        ]
    )


if __name__ == "__main__":
    main()
