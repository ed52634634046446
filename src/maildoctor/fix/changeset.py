"""One change set for everything an audit found: the record changes of its findings (each once,
with the findings it resolves and why), where two findings want different things for one record
the worse one's (the other said as a conflict), the MTA settings, and the steps no DNS change
makes (a PTR at the address's owner, a listing, a policy file to serve)."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildoctor.findings import Finding, Report, Severity
from maildoctor.records.change import RecordChange, SettingChange

# TXT records of which a name holds one: a second one of the same kind breaks the first
SINGLE_TXT = ("v=spf1", "v=dmarc1", "v=stsv1", "v=tlsrptv1", "v=bimi1")


@dataclass
class Planned:
    """One change and the findings it resolves (their ids and titles)."""

    change: RecordChange | SettingChange
    resolves: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {**self.change.to_json(), "resolves": self.resolves, "reasons": self.reasons}


@dataclass(frozen=True)
class Step:
    """What no record change does: the finding and its fix, for a person to carry out."""

    finding_id: str
    severity: str
    title: str
    fix: str

    def to_json(self) -> dict[str, object]:
        return {"finding": self.finding_id, "severity": self.severity, "title": self.title, "fix": self.fix}


@dataclass
class ChangeSet:
    domain: str
    records: list[Planned] = field(default_factory=list)
    settings: list[Planned] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def record_changes(self) -> list[RecordChange]:
        return [p.change for p in self.records if isinstance(p.change, RecordChange)]

    def notes(self) -> dict[RecordChange, str]:
        """Why each record change is made, in a few words (the comment of a zone patch)."""
        return {p.change: ", ".join(p.resolves) for p in self.records if isinstance(p.change, RecordChange)}

    def add(self, finding: Finding) -> None:
        """Take in one finding's changes (findings come worst first)."""
        record_changes = [c for c in finding.changes if isinstance(c, RecordChange)]
        for setting in (c for c in finding.changes if isinstance(c, SettingChange)):
            _merge(self.settings, setting, finding)
        for record in record_changes:
            clash = self._clash(record)
            if clash is not None and clash.change != record:
                self.conflicts.append(
                    f"{finding.id} would {record.op} {record.name} {record.type} {record.new or record.old}, but"
                    f" {', '.join(clash.resolves)} changes that record already; {finding.id} is left for the next audit"
                )
                continue
            _merge(self.records, record, finding)
        if not finding.changes and finding.fix and finding.severity >= Severity.WARNING:
            self.steps.append(Step(finding.id, str(finding.severity), finding.title, finding.fix))

    def _clash(self, record: RecordChange) -> Planned | None:
        """A planned change this one cannot go with: another change of the same old data, or a
        second record of a kind a name holds once."""
        for planned in self.records:
            other = planned.change
            if not isinstance(other, RecordChange) or (other.name, other.type) != (record.name, record.type):
                continue
            if record.old and other.old == record.old:
                return planned
            kind = _single_kind(record)
            if kind and record.new and other.new and _single_kind(other) == kind:
                return planned
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "records": [p.to_json() for p in self.records],
            "settings": [p.to_json() for p in self.settings],
            "steps": [s.to_json() for s in self.steps],
            "conflicts": self.conflicts,
        }


def _single_kind(record: RecordChange) -> str:
    if record.type != "TXT":
        return ""
    text = "".join(part.strip('"') for part in record.new.split('" "')).strip().lower()
    return next((kind for kind in SINGLE_TXT if text.startswith(kind)), "")


def _merge(planned: list[Planned], change: RecordChange | SettingChange, finding: Finding) -> None:
    known = next((p for p in planned if p.change == change), None)
    if known is None:
        known = Planned(change)
        planned.append(known)
    if finding.id not in known.resolves:
        known.resolves.append(finding.id)
        known.reasons.append(finding.title)


def change_set(report: Report) -> ChangeSet:
    """The change set of a report's findings, worst first."""
    changes = ChangeSet(report.target)
    for finding in sorted(report.findings, key=lambda f: -f.severity):
        changes.add(finding)
    return changes
