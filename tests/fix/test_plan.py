"""maildoctor fix on zone files: each fixable finding of a generated broken zone is gone from the
audit of the patched zone, with no new error; the example zone's patch leaves no SPF, DKIM-record
or zone-file error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from maildoctor.findings import Severity
from maildoctor.fix.plan import FixPlan, plan_zone
from maildoctor.target import Target
from maildoctor.zoneload import read_zone_source, zone_source
from tests.conftest import EXAMPLES
from tests.fix.broken_zones import BROKEN, ORIGIN, Broken, broken_zone, good_lines, zone_text


def plan(text: str, ips: list[str] | None = None) -> FixPlan:
    source = zone_source(text, Path(f"{ORIGIN}.zone"), ORIGIN)
    return asyncio.run(plan_zone(source, Target(domain="", ips=ips or [])))


def test_the_good_zone_has_nothing_to_fix() -> None:
    fixed = plan(zone_text(good_lines()))
    assert fixed.changes.records == [] and fixed.patch is not None and fixed.patch.applied == []
    assert fixed.patch.text.strip() == zone_text(good_lines()).strip()  # not even the serial moves


@pytest.mark.parametrize("broken", BROKEN, ids=[b.finding for b in BROKEN])
def test_the_patch_of_a_broken_zone_fixes_its_finding(broken: Broken) -> None:
    fixed = plan(broken_zone(broken), broken.ips)
    assert broken.finding in {f.id for f in fixed.before.findings}
    assert any(broken.finding in p.resolves for p in fixed.changes.records), "no change claims to resolve it"
    assert fixed.after is not None and broken.finding not in {f.id for f in fixed.after.findings}
    assert fixed.new_problems() == [] and broken.finding in fixed.resolved()
    assert fixed.patch is not None and fixed.patch.serial == (2026010101, fixed.patch.serial[1]) and fixed.patch.serial[1] > 2026010101


def test_the_example_zone_patch_leaves_no_spf_dkim_record_or_zone_error() -> None:
    source = read_zone_source(EXAMPLES / "afspraakmanager.be.zone")
    fixed = asyncio.run(plan_zone(source, Target(domain="")))
    assert fixed.after is not None
    left = [
        f.id for f in fixed.after.findings if f.severity >= Severity.ERROR and f.area in ("spf", "zone") or f.id.startswith("dkim.record")
    ]
    assert left == [] and fixed.new_problems() == []
    assert {"spf.missing", "dmarc.missing", "zone.owner_missing_dot", "dkim.record_escaped"} <= set(fixed.resolved())
    # a DMARC record the fix publishes starts at p=none: tightening it is staged (dmarc build)
    dmarc = next(p.change for p in fixed.changes.records if p.change.name == "_dmarc.afspraakmanager.be")
    assert "p=none" in dmarc.new and "rua=" in dmarc.new
    # every line the patch does not touch is still there, in its order, comments included
    assert fixed.patch is not None
    kept = [line for line in source.text.splitlines() if line in fixed.patch.text.splitlines()]
    assert "; Sender Policy Framework definition" in kept and len(kept) >= len(source.text.splitlines()) - 6


def test_one_record_of_a_kind_per_name_even_when_two_findings_want_one() -> None:
    text = zone_text({**good_lines(), "spf": None})
    fixed = plan(text, ["198.51.100.7"])  # spf.missing; the record offered must also cover the --ip
    spf = [p.change for p in fixed.changes.records if p.change.type == "TXT" and "v=spf1" in p.change.new]
    assert len(spf) == 1 and "198.51.100.7" in spf[0].new
    assert fixed.after is not None and not {"spf.missing", "spf.ip_not_authorized"} & {f.id for f in fixed.after.findings}
