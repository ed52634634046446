"""Bulk audits: how many worker processes a run starts by default, and the JSON lines it writes."""

from maildoctor.bulk import DOMAINS_PER_WORKER, workers_for
from maildoctor.testing.dnsserver import TestDnsServer


def test_small_runs_stay_in_one_process_and_large_ones_use_every_core() -> None:
    assert workers_for(3, 8) == 1
    assert workers_for(DOMAINS_PER_WORKER * 2 - 1, 8) == 1
    assert workers_for(DOMAINS_PER_WORKER * 2, 8) == 2
    assert workers_for(100_000, 2) == 2
    assert workers_for(100_000, 1) == 1


def test_a_report_line_reads_back_as_its_document_whatever_it_holds() -> None:
    import json

    from maildoctor.bulk import json_line

    plain = {"target": "straße.example", "score": 7.5, "findings": [{"id": "spf.missing", "evidence": ["ü"]}]}
    assert "\n" not in json_line(plain) and json.loads(json_line(plain)) == plain
    # what orjson refuses is written all the same
    odd = {"big": 2**70, "keys": {1: "one"}}
    assert json.loads(json_line(odd)) == {"big": 2**70, "keys": {"1": "one"}}


def test_workers_are_forked_from_a_single_threaded_parent_and_come_from_a_fork_server_otherwise(dns_server: TestDnsServer) -> None:
    """A fork copies locks another thread may hold: with threads (here the test DNS server's), the
    workers come from a fork server, and still deliver every report."""
    import subprocess
    import sys
    import threading

    from maildoctor.bulk import _worker_context, audit_many_processes
    from maildoctor.dns.spec import ResolverSpec

    alone = subprocess.run(
        [sys.executable, "-c", "from maildoctor.bulk import _worker_context; print(_worker_context().get_start_method())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert alone.stdout.strip() == "fork"
    assert threading.active_count() > 1 and _worker_context().get_start_method() == "forkserver"
    domains = ["good.test", "dmarcnone.test", "mxdup.test", "spfok.test"]
    finished = list(audit_many_processes(domains, ResolverSpec((dns_server.address,), (), 1.0), 2, 10))
    assert sorted(f.target for f in finished) == sorted(domains)
    assert {f.target: f.findings for f in finished}["good.test"] == 0


def test_workers_take_the_domains_chunk_by_chunk_and_audit_each_exactly_once(dns_server: TestDnsServer) -> None:
    """Workers take chunks from a shared counter as they are ready: a count that is no multiple of
    the chunk size nor of the workers loses none and doubles none."""
    from collections import Counter

    from maildoctor.bulk import CHUNK, audit_many_processes
    from maildoctor.dns.spec import ResolverSpec

    names = ["good.test", "dmarcnone.test", "mxdup.test", "spfok.test", "nxdomain-here.test"]
    domains = [names[i % len(names)] for i in range(3 * CHUNK + 7)]
    finished = list(audit_many_processes(domains, ResolverSpec((dns_server.address,), (), 1.0), 3, 5))
    assert Counter(f.target for f in finished) == Counter(domains)


def test_a_worker_killed_mid_run_leaves_its_domains_as_crashed_audits_not_a_hang(dns_server: TestDnsServer) -> None:
    """Killed (here with SIGKILL, as the kernel's out-of-memory killer does), a worker never says it
    is done: the run still ends, and every domain it had not reported is a crashed audit."""
    import multiprocessing
    import os
    import signal
    from collections import Counter

    from maildoctor.bulk import audit_many_processes
    from maildoctor.dns.spec import ResolverSpec

    dns_server.faults.delay = 0.05  # every answer late: the run lasts long enough to kill a worker in it
    domains = [f"{name}" for name in ("good.test", "spfok.test", "mxdup.test") for _ in range(20)]
    finished = []
    for done in audit_many_processes(domains, ResolverSpec((dns_server.address,), (), 1.0), 2, 2):
        if not finished:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
        finished.append(done)
    assert Counter(f.target for f in finished) == Counter(domains)
    crashed = [f for f in finished if f.worst is not None and f.worst[1] == "engine.check_crashed"]
    assert crashed and all("stopped" in f.line for f in crashed)
