"""Findings and reports: everything maildoctor says is a Finding inside a Report."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from maildoctor import catalog


class Severity(enum.IntEnum):
    INFO = 0
    NOTICE = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    title: str
    detail: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    refs: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "title": self.title,
            "detail": self.detail,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "refs": list(self.refs),
        }


def make_finding(
    check_id: str,
    title: str,
    detail: str,
    *,
    evidence: list[str] | tuple[str, ...] = (),
    fix: str | None = None,
    severity: Severity | None = None,
    refs: tuple[str, ...] | None = None,
) -> Finding:
    """Build a finding whose severity, default fix and reference come from the catalog."""
    known = catalog.entry(check_id)
    if severity is None:
        severity = Severity.parse(known.severity)
    return Finding(
        id=check_id,
        severity=severity,
        title=title,
        detail=detail,
        evidence=tuple(evidence),
        fix=fix if fix is not None else known.fix,
        refs=refs if refs is not None else tuple(r.strip() for r in known.ref.split(",") if r.strip() not in ("", "—")),
    )


# The score model (documented in the README): start from 10 and take off points per finding;
# any critical finding caps the score, so one fatal mistake can never be hidden by many
# good results.
DEDUCTION = {
    Severity.CRITICAL: 3.0,
    Severity.ERROR: 1.5,
    Severity.WARNING: 0.5,
    Severity.NOTICE: 0.1,
    Severity.INFO: 0.0,
}
CRITICAL_CAP = 4.0
ERROR_CAP = 8.0


def score(findings: list[Finding] | tuple[Finding, ...]) -> float:
    total = 10.0 - sum(DEDUCTION[f.severity] for f in findings)
    worst = max((f.severity for f in findings), default=Severity.INFO)
    if worst >= Severity.CRITICAL:
        total = min(total, CRITICAL_CAP)
    elif worst >= Severity.ERROR:
        total = min(total, ERROR_CAP)
    return round(max(total, 0.0), 1)


@dataclass
class Report:
    target: str
    kind: str  # "domain", "zone", ...
    findings: list[Finding] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return score(self.findings)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def by_area(self) -> dict[str, list[Finding]]:
        """Findings grouped by area, areas in the catalog's order, worst finding first within each."""
        order = {area: i for i, area in enumerate(dict.fromkeys(e.area for e in catalog.catalog().values()))}
        grouped: dict[str, list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: (order.get(f.area, len(order)), -f.severity, f.id)):
            grouped.setdefault(f.area, []).append(f)
        return grouped

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "score": self.score,
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: (-f.severity, f.id))],
            "facts": self.facts,
            "queries": self.queries,
        }
