"""Serve generated zones with NSD on loopback, so benchmarks measure maildoctor, not a DNS server.

NSD listens on 127.0.0.53:53 (port 53 needs root; peers like checkdmarc can only talk to
port 53). Without root or without NSD, the built-in test server is used instead, and the
benchmark's table says so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from maildoctor.dns.zonedata import ZoneSet  # noqa: E402
from maildoctor.testing.dnsserver import Faults, TestDnsServer  # noqa: E402

NSD_ADDRESS = "127.0.0.53"


def nsd_binary() -> str | None:
    return shutil.which("nsd") or (os.path.exists("/usr/sbin/nsd") and "/usr/sbin/nsd") or None


@dataclass
class ServedZones:
    host: str
    port: int
    kind: str  # "nsd" or "built-in"
    stop: object

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _wait_for_dns(host: str, port: int, name: str, seconds: float = 60.0) -> None:
    import dns.message
    import dns.query

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            dns.query.udp(dns.message.make_query(name, "SOA"), host, port=port, timeout=0.5)
            return
        except Exception:  # noqa: BLE001  (not up yet)
            time.sleep(0.2)
    raise RuntimeError(f"the DNS server on {host}:{port} did not come up within {seconds:.0f}s")


def serve_zones(zone_dir: Path, probe_name: str, delay: float = 0.0, prefer_nsd: bool = True) -> ServedZones:
    """Start NSD (or the built-in server) on the *.zone files of zone_dir; stop() ends it."""
    binary = nsd_binary()
    if prefer_nsd and binary and os.geteuid() == 0 and delay == 0.0 and _port_free(NSD_ADDRESS, 53):
        return _start_nsd(binary, zone_dir, probe_name)
    server = TestDnsServer(ZoneSet.from_paths([zone_dir]), faults=Faults(delay=delay)).start()
    return ServedZones(server.host, server.port, "built-in", server.stop)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def _start_nsd(binary: str, zone_dir: Path, probe_name: str) -> ServedZones:
    work = Path(tempfile.mkdtemp(prefix="maildoctor-nsd-"))
    zones = sorted(zone_dir.glob("*.zone"))
    lines = [
        "server:",
        f"  ip-address: {NSD_ADDRESS}",
        "  port: 53",
        "  server-count: 1",
        '  username: ""',
        f'  zonesdir: "{zone_dir}"',
        '  database: ""',
        f'  zonelistfile: "{work}/zone.list"',
        f'  xfrdfile: "{work}/xfrd.state"',
        f'  pidfile: "{work}/nsd.pid"',
        f'  logfile: "{work}/nsd.log"',
        "  verbosity: 0",
        "  hide-version: yes",
        "  round-robin: no",
        "  refuse-any: yes",
        "  rrl-ratelimit: 0",  # response-rate limiting would drop the repeated identical answers a benchmark asks for
        "  rrl-whitelist-ratelimit: 0",
        "remote-control:",
        "  control-enable: no",
    ]
    for path in zones:
        lines += ["zone:", f'  name: "{path.name[:-5]}"', f'  zonefile: "{path.name}"']
    conf = work / "nsd.conf"
    conf.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_dns(NSD_ADDRESS, 53, probe_name)
    except RuntimeError:
        process.kill()
        err = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"NSD did not start: {err.strip()[-500:]}") from None

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)

    return ServedZones(NSD_ADDRESS, 53, "nsd", stop)


def isolate_network(argv: list[str]) -> None:
    """Re-run this benchmark in a new network namespace that has only loopback, when we can.

    Then nothing the benchmark or a peer tool does can reach any address but 127.0.0.0/8 and ::1.
    """
    if os.environ.get("MAILDOCTOR_BENCH_ISOLATED") or os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return
    env = dict(os.environ, MAILDOCTOR_BENCH_ISOLATED="1")
    command = 'ip link set lo up && exec "$0" "$@"'
    os.execvpe("unshare", ["unshare", "--net", "--", "sh", "-c", command, sys.executable, *argv], env)


def isolation_note() -> str:
    return (
        "own network namespace (loopback only)" if os.environ.get("MAILDOCTOR_BENCH_ISOLATED") else "host network, loopback addresses only"
    )


def udp_receive_errors() -> int:
    """Datagrams the kernel dropped for full receive buffers (this namespace: the benchmark's own)."""
    try:
        lines = [row.split() for row in Path("/proc/net/snmp").read_text().splitlines() if row.startswith("Udp:")]
        header, values = lines[0], lines[1]
        return int(values[header.index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return -1


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"{'metric'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 30}")
    for key, value in rows:
        print(f"{key.ljust(width)} | {value}")


def run_loop(coro):  # noqa: ANN001, ANN201
    """The event loop maildoctor itself runs on (uvloop when installed)."""
    from maildoctor import aio

    return aio.run(coro)
