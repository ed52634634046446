"""Bulk audits: how many worker processes a run starts by default, and the JSON lines it writes."""

from maildoctor.bulk import DOMAINS_PER_WORKER, workers_for


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
