"""Findings and reports: everything maildoctor says is a Finding inside a Report."""

from __future__ import annotations

import enum
import functools
import logging
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from maildoctor import catalog
from maildoctor.facts import Facts
from maildoctor.frozen import quick_init
from maildoctor.records.change import Change


class Severity(enum.IntEnum):
    INFO = 0
    NOTICE = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


def area_of(finding_id: str) -> str:
    """The area a finding speaks about: its id's prefix, except that a message's own SPF, DKIM and
    DMARC results (auth.spf_fail, auth.dkim_none, ...) belong to those areas."""
    prefix, _, rest = finding_id.partition(".")
    if prefix == "auth":
        for area in ("spf", "dkim", "dmarc"):
            if rest.startswith(area):
                return area
    return prefix


@quick_init
@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    title: str
    detail: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    refs: tuple[str, ...] = ()
    folded: tuple[Finding, ...] = ()  # findings this one is the cause of: shown under it, not scored
    changes: tuple[Change, ...] = ()  # the fix as changes a program can apply (a zone patch, MTA settings)

    @property
    def area(self) -> str:
        return area_of(self.id)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "area": self.area,
            "severity": str(self.severity),
            "title": self.title,
            "detail": self.detail,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "refs": list(self.refs),
            "changes": [c.to_json() for c in self.changes],
        }
        if self.folded:
            data["folded"] = [f.to_json() for f in self.folded]
        return data


log = logging.getLogger("maildoctor")
# The test suite sets MAILDOCTOR_STRICT=1: a finding id missing from the catalog, or emitted by a
# check that does not declare it, fails there; in production it is reported all the same.
STRICT = os.environ.get("MAILDOCTOR_STRICT") == "1"


class UnknownFinding(KeyError):
    """A finding id that is not in the catalog (raised only when STRICT)."""


def make_finding(
    check_id: str,
    title: str,
    detail: str,
    *,
    evidence: list[str] | tuple[str, ...] = (),
    fix: str | None = None,
    severity: Severity | None = None,
    refs: tuple[str, ...] | None = None,
    changes: Sequence[Change] = (),
) -> Finding:
    """Build a finding whose severity, default fix and reference come from the catalog."""
    try:
        known = catalog.entry(check_id)
    except KeyError:
        if STRICT:
            raise UnknownFinding(f"finding id {check_id!r} is not in the check catalog") from None
        log.error("finding id %r is not in the check catalog", check_id)
        known = catalog.CatalogEntry(check_id, "warning", "", "", "")
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
        changes=tuple(changes),
    )


def catalog_finding(
    check_id: str,
    detail: str,
    *,
    evidence: list[str] | tuple[str, ...] = (),
    fix: str | None = None,
    severity: Severity | None = None,
    refs: tuple[str, ...] | None = None,
    changes: Sequence[Change] = (),
) -> Finding:
    """A finding whose title is the catalog's (findings that always say the same thing)."""
    title = catalog.entry(check_id).title
    if not title:
        raise KeyError(f"the catalog gives {check_id!r} no title: build its title with make_finding")
    return make_finding(check_id, title, detail, evidence=evidence, fix=fix, severity=severity, refs=refs, changes=changes)


@quick_init
@dataclass(frozen=True)
class CheckRun:
    """How one check of an audit went: ran; skipped (why: not asked, offline, not applicable);
    partial (a part of what was asked could not be checked, and why); unavailable (the DNS
    answers it needed failed); crashed (exception type and message)."""

    area: str
    check: str
    state: str
    reason: str = ""
    ms: float = 0.0
    traceback: str = ""  # of a crash; shown with --verbose

    def to_json(self, verbose: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"area": self.area, "check": self.check, "state": self.state, "reason": self.reason, "ms": round(self.ms, 1)}
        if verbose and self.traceback:
            data["traceback"] = self.traceback
        return data


RAN, SKIPPED, UNAVAILABLE, CRASHED = "ran", "skipped", "unavailable", "crashed"
PARTIAL = "partial"  # a part of what was asked could not be checked here (a --ip outside the zone files)
INCOMPLETE_STATES = (UNAVAILABLE, CRASHED)
NOT_ASKED = "not asked"  # the reason of a check a command does not cover (`maildoctor dkim` asks only DKIM)

# Area states (the README documents them): derived from the check runs, never from the absence of findings.
PASS, FAIL, NOT_CHECKED = "pass", "fail", "not_checked"
AREA_STATES = (PASS, FAIL, NOT_CHECKED, UNAVAILABLE)


def says_unavailable(finding_id: str) -> bool:
    """Findings that say an area could not be checked (or that its answers cannot be trusted)."""
    return finding_id.endswith(".lookup_failed") or finding_id in (
        "dnsbl.unavailable",
        "dnsbl.query_refused",
        "dnsbl.public_resolver",
        "content.engine_unavailable",
    )


def _titles(found: list[Finding], shown: int = 3) -> str:
    titles = list(dict.fromkeys(f.title for f in found))
    more = f" (and {len(titles) - shown} more)" if len(titles) > shown else ""
    return "; ".join(titles[:shown]) + more


@quick_init
@dataclass(frozen=True)
class AreaResult:
    """One area of a report: its state, why (for every state but pass), the points its findings
    cost, and what was verified (shown on pass as on fail)."""

    area: str
    state: str
    reason: str = ""
    points_lost: float = 0.0
    verified: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return area_title(self.area)

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "title": self.title,
            "state": self.state,
            "reason": self.reason,
            "points_lost": self.points_lost,
            "verified": list(self.verified),
        }


@functools.cache
def area_order() -> dict[str, int]:
    """The areas in the catalog's order."""
    return {area: i for i, area in enumerate(dict.fromkeys(e.area for e in catalog.catalog().values()))}


def area_results(runs: list[CheckRun], findings: list[Finding], verified: dict[str, list[str]]) -> list[AreaResult]:
    """Each area's state: fail when a finding of at least warning names a problem there (a folded
    one too: its cause is scored elsewhere); otherwise unavailable when a check of the area could
    not finish or its answers failed; not_checked when every check of the area was skipped (with
    their reasons); pass only when a check of the area ran to an answer."""
    order = area_order()
    runs_of: dict[str, list[CheckRun]] = {}
    for run in runs:
        runs_of.setdefault(run.area, []).append(run)
    problems: dict[str, list[Finding]] = {}
    lost: dict[str, float] = {}
    for finding in findings:
        lost[finding.area] = lost.get(finding.area, 0.0) + DEDUCTION[finding.severity]
        for f in (finding, *finding.folded):
            if f.severity >= Severity.WARNING and not says_unavailable(f.id):
                problems.setdefault(f.area, []).append(f)
    notes: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.severity == Severity.NOTICE:
            notes.setdefault(finding.area, []).append(finding)
    areas = [a for a in dict.fromkeys([*runs_of, *lost]) if a != "engine"]  # a crash is its area's, shown there
    out = []
    for area in sorted(areas, key=lambda a: order.get(a, len(order))):
        mine = runs_of.get(area, [])
        if area not in problems and len(mine) == 1 and mine[0].state == RAN:  # most areas: one check, which ran
            state, reason = PASS, _titles(notes[area]) if area in notes else ""
        else:
            state, reason = _area_state(mine, problems.get(area), notes.get(area, []))
        out.append(AreaResult(area, state, reason, round(lost.get(area, 0.0), 1), tuple(verified.get(area, ()))))
    return out


def _area_state(mine: list[CheckRun], problems: list[Finding] | None, notes: list[Finding]) -> tuple[str, str]:
    """An area's state and why, from its check runs and the problems and notices found there."""
    incomplete = [r for r in mine if r.state in INCOMPLETE_STATES]
    if problems:
        reason = _titles(problems)
        if incomplete:
            reason += "; not checked to the end: " + "; ".join(dict.fromkeys(r.reason for r in incomplete))
        return FAIL, reason
    if incomplete:
        return UNAVAILABLE, "; ".join(dict.fromkeys(r.reason for r in incomplete))
    if mine and all(r.state == SKIPPED for r in mine):
        return NOT_CHECKED, "; ".join(dict.fromkeys(r.reason for r in mine))
    if any(r.state == PARTIAL for r in mine):
        return NOT_CHECKED, "; ".join(dict.fromkeys(r.reason for r in mine if r.state == PARTIAL))
    return PASS, _titles(notes)  # a pass may still carry notices: said, and their points shown


def fold_under(findings: list[Finding], cause_id: str, implied: frozenset[str]) -> list[Finding]:
    """The findings with those implied by the cause moved under it (one root cause, scored once)."""
    cause = next((f for f in findings if f.id == cause_id), None)
    if cause is None:
        return findings
    moved = tuple(f for f in findings if f.id in implied)
    if not moved:
        return findings
    kept = [f for f in findings if f.id not in implied and f is not cause]
    return [replace(cause, folded=cause.folded + moved)] + kept


def _records_of(fix: str) -> frozenset[str]:
    """The zone-file lines of a fix (indented by two spaces)."""
    return frozenset(line.strip() for line in fix.splitlines() if line.startswith("  ") and " IN " in line)


def share_fixes(findings: list[Finding]) -> list[Finding]:
    """One fix per problem: a finding whose records are all in the fix of a worse (or earlier)
    finding points to that one instead of printing them again."""
    order = sorted(range(len(findings)), key=lambda i: (-findings[i].severity, i))
    given: list[tuple[frozenset[str], Finding]] = []
    out = list(findings)
    for i in order:
        finding = findings[i]
        records = _records_of(finding.fix)
        owner = next((f for seen, f in given if records and records <= seen), None) if records else None
        if owner is None:
            if records:
                given.append((records, finding))
            continue
        words = " ".join(line.strip() for line in finding.fix.splitlines() if line.strip() not in records).rstrip(" :")
        out[i] = replace(
            finding,
            fix=f"{words}: the records are those of the fix of {owner.id} ({owner.title}).",
            changes=tuple(c for c in finding.changes if c not in owner.changes),  # what only this fix changes stays
        )
    return out


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
    facts: Facts = field(default_factory=Facts)  # typed per kind of report: AuditFacts, MessageFacts, ...
    runs: list[CheckRun] = field(default_factory=list)
    verified: dict[str, list[str]] = field(default_factory=dict)  # per area: what the checks verified

    @property
    def score(self) -> float:
        return score(self.findings)

    @property
    def complete(self) -> bool:
        """Every check asked for ran to an answer (or was skipped for a stated reason)."""
        return not any(run.state in INCOMPLETE_STATES for run in self.runs)

    def incomplete_areas(self) -> list[str]:
        """The areas that could not be checked, in the order of the runs."""
        return list(dict.fromkeys(run.area for run in self.runs if run.state in INCOMPLETE_STATES))

    def incomplete_text(self, missing: list[str] | None = None) -> str:
        """' — incomplete: SPF, DMARC could not be checked', or '' when every area was checked."""
        missing = self.incomplete_areas() if missing is None else missing
        return f" — incomplete: {', '.join(area_title(a) for a in missing)} could not be checked" if missing else ""

    def score_text(self, value: float | None = None, missing: list[str] | None = None) -> str:
        """The score as shown: never a plain grade when something could not be checked."""
        return f"{self.score if value is None else value:.1f}/10{self.incomplete_text(missing)}"

    def areas(self) -> list[AreaResult]:
        return area_results(self.runs, self.findings, self.verified)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def by_area(self) -> dict[str, list[Finding]]:
        """Findings grouped by area, areas in the catalog's order, worst finding first within each."""
        order = area_order()
        grouped: dict[str, list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: (order.get(f.area, len(order)), -f.severity, f.id)):
            grouped.setdefault(f.area, []).append(f)
        return grouped

    def to_json(self, verbose: bool = False) -> dict[str, Any]:
        value, missing = self.score, self.incomplete_areas()
        return {
            "target": self.target,
            "kind": self.kind,
            "score": value,
            "complete": not missing,
            "incomplete": missing,
            "score_text": self.score_text(value, missing),
            "areas": [a.to_json() for a in self.areas()],
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: (-f.severity, f.id))],
            "runs": [run.to_json(verbose) for run in self.runs],
            "facts": self.facts.to_json(),
            "queries": self.queries,
        }


AREA_TITLES = {
    "domain": "Domain",
    "zone": "Zone file",
    "mx": "MX",
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "rdns": "Reverse DNS",
    "smtp": "SMTP",
    "mtasts": "MTA-STS",
    "tlsrpt": "TLS-RPT",
    "dane": "DANE",
    "dnssec": "DNSSEC",
    "bimi": "BIMI",
    "dnsbl": "Blocklists",
    "msg": "Message",
    "auth": "Authentication",
    "content": "Content",
    "tls": "TLS",
    "feedback": "Feedback",
    "engine": "maildoctor",
    "message": "Message",
}


def area_title(area: str) -> str:
    return AREA_TITLES.get(area, area)


def crashed_report(target: str, kind: str, area: str, exc: BaseException) -> Report:
    """The report of a run that failed outside the isolated checks: its crash, recorded as a check's."""
    log.error("%s of %s crashed", area, target, exc_info=exc)
    what = f"{type(exc).__name__}: {exc}"
    report = Report(target=target, kind=kind)
    report.findings.append(
        catalog_finding(
            "engine.check_crashed",
            f"maildoctor stopped with {what}. Nothing is known from this run; run it again, and report it to the"
            " maildoctor developers if it repeats.",
            evidence=[what],
        )
    )
    report.runs.append(CheckRun(area, area, CRASHED, what, 0.0, "".join(traceback.format_exception(exc))))
    return report
