"""The fix of an audit, proven where it can be: with a zone file, the change set is applied to the
file, the patched zone audited again, and what that audit still asks for (a record that only the
first fix made checkable) planned in a further round, a few rounds at most; every change is then
one change from the original file (a record replaced twice is one replace), and the final audit
says what the patch resolves and whether it brings a new problem."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from maildoctor.dns.answer import Resolver
from maildoctor.dns.zonedata import ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import run_audit
from maildoctor.findings import FAIL, PASS, Report, Severity
from maildoctor.fix.changeset import ChangeSet, Planned, change_set
from maildoctor.records.change import RecordChange
from maildoctor.records.zonefile import ZoneSource
from maildoctor.records.zonepatch import ZonePatch, patch_zone
from maildoctor.target import Target
from maildoctor.zoneload import zone_source

ROUNDS = 3  # audits of the patched zone that may add changes; a fix needing more is left for the next run
# A DMARC policy is tightened in stages, with the reports watched between them (maildoctor dmarc
# build): a record this fix publishes is not tightened by the same fix.
STAGED = frozenset(("dmarc.policy_none", "dmarc.pct_partial", "dmarc.subdomain_none"))


@dataclass
class FixPlan:
    target: Target  # what was audited
    before: Report
    changes: ChangeSet
    after: Report | None = None  # the audit of the patched zone (None without a zone file)
    patch: ZonePatch | None = None
    original: str = ""  # the zone file as given
    rounds: int = 1
    notes: list[str] = field(default_factory=list)

    def resolved(self) -> list[str]:
        """The problems of the first audit the patch makes go away (by the patched zone's audit)."""
        if self.after is None:
            return []
        left = {f.id for f in self.after.findings}
        # a finding gone from an area the second audit could not check is not resolved, only unseen
        answered = {a.area for a in self.after.areas() if a.state in (PASS, FAIL)}
        return list(
            dict.fromkeys(f.id for f in self.before.findings if f.severity >= Severity.NOTICE and f.id not in left and f.area in answered)
        )

    def new_problems(self) -> list[str]:
        """Errors the patched zone has that the original did not: a patch must bring none."""
        if self.after is None:
            return []
        had = {f.id for f in self.before.findings}
        return [f.id for f in self.after.findings if f.severity >= Severity.ERROR and f.id not in had]

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.changes.domain,
            "changes": self.changes.to_json(),
            "verified": self.after is not None,
            "resolved": self.resolved(),
            "new_problems": self.new_problems(),
            "left": [f.id for f in self.after.findings if f.severity >= Severity.WARNING] if self.after else [],
            "serial": list(self.patch.serial) if self.patch and self.patch.serial else None,
            "outside_the_zone": [c.to_json() for c in self.patch.outside] if self.patch else [],
            "rounds": self.rounds,
            "notes": self.notes,
        }


async def plan_domain(target: Target, resolver: Resolver) -> FixPlan:
    """The change set of a live audit (applied by the user, or sent with --apply)."""
    report = await run_audit(target, resolver)
    return FixPlan(target=target, before=report, changes=change_set(report))


async def plan_zone(source: ZoneSource, target: Target, other_zones: ZoneSet | None = None) -> FixPlan:
    audited = _zone_target(source, target)
    before = await _audit_zone(source, audited, other_zones)
    plan = FixPlan(target=audited, before=before, changes=change_set(before), original=source.text)
    path = source.path or Path(f"{source.domain}.zone")
    report = before
    for round_number in range(1, ROUNDS + 1):
        plan.rounds = round_number
        plan.patch = patch_zone(source.text, source.origin, plan.changes.record_changes(), plan.changes.notes())
        patched = zone_source(plan.patch.text, path, source.domain)
        report = await _audit_zone(patched, audited, other_zones)
        more = [p for p in change_set(report).records if _is_new(plan.changes, p) and not set(p.resolves) <= STAGED]
        if not more or round_number == ROUNDS:
            break
        for planned in more:
            _compose(plan.changes, planned)
    plan.after = report
    for change in plan.patch.missing if plan.patch else []:
        plan.notes.append(f"not applied: {change.old} is not at {change.name} {change.type} in the file")
    return plan


def _zone_target(source: ZoneSource, target: Target) -> Target:
    known = list(dict.fromkeys(target.known_selectors + source.dkim_selectors()))
    return replace(target, domain=source.domain, known_selectors=known)


async def _audit_zone(source: ZoneSource, target: Target, other_zones: ZoneSet | None) -> Report:
    zones = ZoneSet(list(other_zones.zones) if other_zones else [])
    zones.add(source.loaded)
    return await run_audit(target, ZoneResolver(zones), zone=source)


def _is_new(changes: ChangeSet, planned: Planned) -> bool:
    return all(p.change != planned.change for p in changes.records)


def _compose(changes: ChangeSet, planned: Planned) -> None:
    """Plan a change found on the patched zone as a change of the original file: one that touches
    a record an earlier change put there becomes part of that change."""
    later = planned.change
    assert isinstance(later, RecordChange)
    for earlier in changes.records:
        first = earlier.change
        if not isinstance(first, RecordChange) or (first.name, first.type) != (later.name, later.type) or not later.old:
            continue
        if first.new and later.old == first.new:
            if later.new:
                earlier.change = RecordChange(first.op, first.name, first.type, later.ttl or first.ttl, first.old, later.new)
            elif first.old:
                earlier.change = RecordChange("remove", first.name, first.type, None, old=first.old)
            else:  # an added record removed again
                changes.records.remove(earlier)
                return
            earlier.resolves += [i for i in planned.resolves if i not in earlier.resolves]
            earlier.reasons += planned.reasons
            return
    changes.records.append(planned)
