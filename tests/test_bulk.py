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
