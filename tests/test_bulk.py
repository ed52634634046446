"""How many worker processes a bulk audit starts by default."""

from maildoctor.bulk import DOMAINS_PER_WORKER, workers_for


def test_small_runs_stay_in_one_process_and_large_ones_use_every_core() -> None:
    assert workers_for(3, 8) == 1
    assert workers_for(DOMAINS_PER_WORKER * 2 - 1, 8) == 1
    assert workers_for(DOMAINS_PER_WORKER * 2, 8) == 2
    assert workers_for(100_000, 2) == 2
    assert workers_for(100_000, 1) == 1
