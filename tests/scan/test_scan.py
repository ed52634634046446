"""maildoctor scan: Parquet partitions, the same rows from one process or several, resumed after a
cut without a domain lost or counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from maildoctor.dns.spec import ResolverSpec
from maildoctor.scan.parquet import DOMAINS, FINDINGS, partition_path, read_scan
from maildoctor.scan.run import scan as scan_domains
from maildoctor.testing.dnsserver import TestDnsServer
from tests.conftest import ROOT, ZONES
from tests.processes import wait_until
from tests.test_cli import run

DOMAINS_LIST = ["good.test", "spfnone.test", "nomx.test", "dmarcweak.test", "mxcname.test", "spfmulti.test", "nullmx.test"]


def scan(tmp_path: Path, name: str, *more: str) -> tuple[Path, str]:
    listing = tmp_path / "domains.txt"
    listing.write_text("# the scan's domains\n" + "\n".join(DOMAINS_LIST) + "\n")
    out = tmp_path / name
    done = run("scan", str(listing), "--out", str(out), "--zone", str(ZONES), "--partition", "3", *more)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def written(out: Path, kind: str, index: int) -> Path:
    return Path(partition_path(str(out), kind, index))


def rows(out: Path | str, kind: str = DOMAINS) -> list[dict[str, object]]:
    return sorted(read_scan(str(out), kind).to_pylist(), key=lambda r: (r["domain"], str(r.get("id", ""))))


def test_one_process_and_several_write_the_same_rows(tmp_path: Path) -> None:
    one, _ = scan(tmp_path, "one")
    two, _ = scan(tmp_path, "two", "--jobs", "2")
    assert [r["domain"] for r in rows(one)] == sorted(DOMAINS_LIST)
    assert rows(one) == rows(two) and rows(one, FINDINGS) == rows(two, FINDINGS)
    good = next(r for r in rows(one) if r["domain"] == "good.test")
    assert good["complete"] and good["area_spf"] == "pass" and isinstance(good["score"], float)
    spfnone = next(r for r in rows(one) if r["domain"] == "spfnone.test")
    assert "spf.missing" in spfnone["findings"] and any(
        f["id"] == "spf.missing" for f in rows(one, FINDINGS) if f["domain"] == "spfnone.test"
    )


def test_a_scan_cut_off_resumes_where_it_stopped(tmp_path: Path) -> None:
    out, _ = scan(tmp_path, "cut")
    kept = written(out, DOMAINS, 0)
    before = kept.stat().st_mtime_ns
    written(out, DOMAINS, 2).unlink()  # the last partition was being written when the scan stopped
    Path(partition_path(str(out), FINDINGS, 2) + ".part").write_bytes(b"half a file")
    again = run("scan", str(tmp_path / "domains.txt"), "--out", str(out), "--zone", str(ZONES), "--partition", "3")
    assert again.returncode == 2 and "--resume" in again.stderr  # never over a scan by mistake
    _, said = scan(tmp_path, "cut", "--resume")
    assert said.startswith("1 domains audited (6 already written)")
    assert kept.stat().st_mtime_ns == before  # what was written stays as it was
    assert [r["domain"] for r in rows(out)] == sorted(DOMAINS_LIST)  # each domain once


def test_a_list_with_a_line_that_is_no_domain_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("good.test\nnot a domain\n")
    done = run("scan", str(listing), "--out", str(tmp_path / "out"), "--zone", str(ZONES))
    assert done.returncode == 2 and "'not a domain'" in done.stderr


def test_a_dask_cluster_writes_the_same_rows_as_one_machine(tmp_path: Path) -> None:
    from distributed import LocalCluster

    one, _ = scan(tmp_path, "one")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        spread, said = scan(tmp_path, "spread", "--dask", cluster.scheduler_address)
        assert said.startswith(f"{len(DOMAINS_LIST)} domains audited")
        written(spread, DOMAINS, 1).unlink()  # a partition lost: --resume on the cluster redoes it alone
        _, again = scan(tmp_path, "spread", "--dask", cluster.scheduler_address, "--resume")
        assert again.startswith("3 domains audited (4 already written)")
    assert rows(one) == rows(spread) and rows(one, FINDINGS) == rows(spread, FINDINGS)


def test_a_scan_report_counts_and_draws(tmp_path: Path) -> None:
    import json

    out, _ = scan(tmp_path, "report")
    html_path = tmp_path / "report.html"
    done = run("scan", "report", str(out), "--html", str(html_path), "--format", "json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["kind"] == "scan_report" and stats["domains"] == len(DOMAINS_LIST)
    spf_states = stats["areas"]["spf"]
    assert sum(spf_states.values()) == len(DOMAINS_LIST) and stats["pass_share"]["spf"] == round(
        spf_states.get("pass", 0) / len(DOMAINS_LIST), 4
    )
    assert any(f["id"] == "spf.missing" for f in stats["top_findings"]) and "no MX" in stats["providers"]
    page = html_path.read_text()
    assert page.count("<svg") == 4 and "<script" not in page and 'href="http' not in page and "src=" not in page  # nothing loaded
    assert run("scan", "report", str(tmp_path)).returncode == 2  # no scan there


def scan_via(server: TestDnsServer, out: Path, size: int) -> None:
    scan_domains(DOMAINS_LIST, str(out), ResolverSpec((server.address,), (), 2.0), size=size)


def test_a_worker_killed_mid_scan_has_its_partitions_redone(dns_server: TestDnsServer, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    from maildoctor.scan.cluster import scan_on_cluster

    scan_via(dns_server, tmp_path / "one", 1)
    dns_server.faults.delay = 0.1  # a partition takes long enough to be cut off in the middle
    spec = ResolverSpec((dns_server.address,), (), 2.0)
    audited: list[int] = []
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster.scheduler_address) as client:
            pids = client.run(os.getpid)
            scanning = threading.Thread(
                target=lambda: audited.append(scan_on_cluster(cluster.scheduler_address, DOMAINS_LIST, str(tmp_path / "spread"), spec, 1))
            )
            scanning.start()
            deadline = time.monotonic() + 30
            while not any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.02)
            victim = next(worker for worker, keys in client.processing().items() if keys)
            os.kill(pids[victim], signal.SIGKILL)  # in the middle of its partition
            scanning.join(timeout=120)
            assert not scanning.is_alive() and audited == [len(DOMAINS_LIST)]
            assert victim not in client.scheduler_info()["workers"]  # the worker did die; another did its work
    assert rows(tmp_path / "one") == rows(tmp_path / "spread") and rows(tmp_path / "one", FINDINGS) == rows(tmp_path / "spread", FINDINGS)


def test_a_scan_killed_resumes_with_nothing_lost_or_doubled(dns_server: TestDnsServer, tmp_path: Path) -> None:
    scan_via(dns_server, tmp_path / "one", 2)
    dns_server.faults.delay = 0.05
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(DOMAINS_LIST) + "\n")
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "maildoctor", "scan", str(listing), "--out", str(out), "--nameserver", dns_server.address]
    scanning = subprocess.Popen([*command, "--partition", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until(lambda: written(out, DOMAINS, 0).exists(), scanning, "the scan", 60)
    scanning.kill()  # SIGKILL: no clean-up of any kind
    scanning.wait(10)
    kept = len(list(out.glob(f"{DOMAINS}-*.parquet")))
    assert 1 <= kept < 4
    again = subprocess.run([*command, "--partition", "2", "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{len(DOMAINS_LIST) - 2 * kept} domains audited ({2 * kept} already written)")
    assert rows(tmp_path / "one") == rows(out) and rows(tmp_path / "one", FINDINGS) == rows(out, FINDINGS)


def test_the_output_can_be_a_url_fsspec_understands(tmp_path: Path) -> None:
    one, _ = scan(tmp_path, "one")
    target = f"file://{tmp_path / 'by-url'}"
    done = run("scan", str(tmp_path / "domains.txt"), "--out", target, "--zone", str(ZONES), "--partition", "3")
    assert done.returncode == 0, done.stderr
    assert rows(one) == rows(tmp_path / "by-url") and rows(one) == rows(target)
    report = run("scan", "report", target, "--format", "json")
    assert report.returncode == 0 and f'"domains": {len(DOMAINS_LIST)}' in report.stdout
    unknown = run("scan", str(tmp_path / "domains.txt"), "--out", "nosuch://bucket/scan", "--zone", str(ZONES))
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr and "Traceback" not in unknown.stderr
