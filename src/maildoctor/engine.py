"""The check engine: runs registered checks concurrently — a domain's (run_audit) or a message's
(maildoctor.message.checks, through run_checks) — and gathers their findings and runs.

Each check runs isolated: an exception, or running past the audit's time budget, becomes a
recorded run (state `crashed`) and an `engine.check_crashed` finding, never a hang and never the
loss of the other checks' findings. Every report carries the run of each check.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import traceback
from typing import Any

import maildoctor.checks  # noqa: F401  (importing the package registers every area's checks)
from maildoctor import findings as findings_module
from maildoctor.checks.dkim import selector_data
from maildoctor.checks.dnsbl import shipped_catalog
from maildoctor.checks.registry import REGISTRY, AuditContext, CheckContext, CheckSpec, NotChecked
from maildoctor.dmarc.orgdomain import organizational_domain
from maildoctor.dns.answer import Answer, Resolver
from maildoctor.dns.tracing import TracingResolver, failures_seen
from maildoctor.findings import (
    CRASHED,
    NOT_ASKED,
    PARTIAL,
    RAN,
    SKIPPED,
    UNAVAILABLE,
    CheckRun,
    Finding,
    Report,
    fold_under,
    log,
    make_finding,
    says_unavailable,
    share_fixes,
)
from maildoctor.records.zonefile import ZoneSource
from maildoctor.target import Target

CHECK_BUDGET = 60.0  # seconds for every check of an audit; each DNS question and probe has its own, shorter timeout


# What a domain that does not exist implies: reported once, under domain.nxdomain.
IMPLIED_BY_NXDOMAIN = frozenset(
    (
        "spf.missing",
        "dmarc.missing",
        "dkim.no_keys_found",
        "dkim.key_missing",
        "mtasts.missing",
        "tlsrpt.missing",
        "dnssec.unsigned",
        "rdns.unrelated_domain",
    )
)


def load_checks() -> list[CheckSpec]:
    return REGISTRY  # filled as maildoctor.checks imported each area's module


def load_data() -> None:
    """Read now the data every audit reads on first use (the finding catalog, the blocklists, the
    DKIM selectors, the Public Suffix List): worker processes forked after this share it, where
    each would otherwise read it again (the Public Suffix List alone is 0.2 s of CPU)."""
    findings_module.area_order()
    shipped_catalog()
    selector_data()
    organizational_domain("example.com")


async def run_audit(
    target: Target, resolver: Resolver, zone: ZoneSource | None = None, areas: tuple[str, ...] = (), budget: float = CHECK_BUDGET
) -> Report:
    """Every registered check of the target (or those of `areas`), each isolated, within `budget` seconds."""
    context = AuditContext(target=target, dns=TracingResolver(resolver), zone=zone)
    report = Report(target=target.domain, kind="zone" if zone is not None else "domain")
    specs = []
    for spec in load_checks():
        if areas and spec.area not in areas:
            report.runs.append(CheckRun(spec.area, spec.name, SKIPPED, NOT_ASKED))
        elif spec.needs_zone and zone is None:
            report.runs.append(CheckRun(spec.area, spec.name, SKIPPED, "not applicable: no zone file"))
        else:
            specs.append(spec)
    found, runs = await run_checks(specs, context, budget)
    report.findings += found
    report.runs += runs
    report.findings = share_fixes(fold_under(report.findings, "domain.nxdomain", IMPLIED_BY_NXDOMAIN))
    report.queries = context.dns.trace_json(target.spamhaus_dqs_key)
    report.facts = context.facts
    report.verified = context.verified_lines
    return report


async def run_checks(specs: list[CheckSpec], context: CheckContext, budget: float) -> tuple[list[Finding], list[CheckRun]]:
    """Run these checks on one context, each isolated, within `budget` seconds: their findings, and
    a run per check (and one per area with parts that could not be checked)."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    tasks: list[asyncio.Task[list[Finding]]] = []
    failures: list[list[Answer]] = []
    finished: dict[asyncio.Task[list[Finding]], float] = {}  # when each task ended
    for spec in specs:
        # Each check is a task of its own with its own list of the failed DNS answers it reads; no
        # wrapper coroutine, which every resumption of the check would have to pass through.
        seen: list[Any] = []
        own = contextvars.copy_context()
        own.run(failures_seen.set, seen)
        task = loop.create_task(spec.function(context), context=own)
        task.add_done_callback(lambda t: finished.__setitem__(t, time.perf_counter()))
        tasks.append(task)
        failures.append(seen)
    if tasks:
        _, late = await asyncio.wait(tasks, timeout=budget)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)  # a check that swallows its cancellation is left behind
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for spec, task, seen in zip(specs, tasks, failures):
        found, run = _outcome(spec, task, seen, (finished.get(task, time.perf_counter()) - started) * 1000, budget)
        findings += found
        runs.append(run)
    for area, reasons in context.unchecked_parts.items():
        runs.append(CheckRun(area, f"{area}_parts", PARTIAL, "; ".join(reasons)))
    return findings, runs


def _outcome(
    spec: CheckSpec, task: asyncio.Task[list[Finding]], failed_answers: list[Any], ms: float, budget: float
) -> tuple[list[Finding], CheckRun]:
    """A finished (or given up) check task as findings and its run."""
    if not task.done() or task.cancelled():
        return [_crash_finding(spec, f"it did not finish within the audit's {budget:g} s")], CheckRun(
            spec.area, spec.name, CRASHED, f"did not finish within {budget:g} s", ms
        )
    exc = task.exception()
    if isinstance(exc, NotChecked):
        if failed_answers:  # "nothing to check" is not known when what it rests on failed
            return [], run_of(spec.area, spec.name, [], ms, failed_answers)
        return [], CheckRun(spec.area, spec.name, SKIPPED, exc.reason, ms)
    if isinstance(exc, findings_module.UnknownFinding):
        raise exc  # only under MAILDOCTOR_STRICT: a test must see it
    if exc is not None:  # a bug in one check must not cost the others
        log.error("check %s crashed", spec.name, exc_info=exc)
        what = f"{type(exc).__name__}: {exc}"
        return [_crash_finding(spec, what)], CheckRun(spec.area, spec.name, CRASHED, what, ms, "".join(traceback.format_exception(exc)))
    found = task.result()
    for finding in found:
        if finding.id not in spec.emits:
            message = f"check {spec.name} emitted {finding.id}, which it does not declare"
            if findings_module.STRICT:
                raise AssertionError(message)
            log.error(message)
    return found, run_of(spec.area, spec.name, found, ms, failed_answers)


def run_of(area: str, name: str, found: list[Finding], ms: float = 0.0, failed_answers: Any = ()) -> CheckRun:
    """The run of a check that returned these findings, having read these failed DNS answers:
    unavailable when a finding says a lookup failed, or when any answer it rests on failed (a
    check that says nothing about a failure must not pass for one that checked)."""
    failed = [f for f in found if says_unavailable(f.id)]
    if failed:
        return CheckRun(area, name, UNAVAILABLE, "; ".join(dict.fromkeys(f.title for f in failed)), ms)
    if failed_answers:
        questions = list(dict.fromkeys(f"{a.name} {a.rdtype} ({a.outcome.value})" for a in failed_answers))
        more = f" and {len(questions) - 3} more" if len(questions) > 3 else ""
        return CheckRun(area, name, UNAVAILABLE, "DNS questions failed: " + ", ".join(questions[:3]) + more, ms)
    return CheckRun(area, name, RAN, "", ms)


def _crash_finding(spec: CheckSpec, what: str) -> Finding:
    return make_finding(
        "engine.check_crashed",
        f"The {findings_module.area_title(spec.area)} check could not finish",
        f"maildoctor's check {spec.name} stopped: {what}. Nothing is known about this area from this run; the other areas' findings stand.",
        evidence=[what],
        fix="Run the audit again; if it happens again, report it to the maildoctor developers with the output of --verbose.",
    )
