"""The answer to "who sends mail as my domain, and does it pass?": per domain and period, each
sending source with its volume and pass rates, its reverse name and likely provider (looked up
afterwards, concurrently, with a deadline), and what to do about the ones that fail."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from maildoctor.dns.answer import Resolver
from maildoctor.facts import Facts
from maildoctor.feedback.reputation import Observation, reputation_findings
from maildoctor.findings import Finding, Report, make_finding
from maildoctor.store.database import dmarc_records, failure_reports, reports, reputation, tls_results

SIGNIFICANT_SHARE = 0.01  # sources below 1% of a domain's mail are listed, not preached about
REVERSE_DEADLINE = 5.0
TOP_SOURCES = 200


@dataclass
class Source:
    ip: str
    messages: int
    dkim_pass: int
    spf_pass: int
    dmarc_pass: int
    reverse_name: str = ""
    provider: str = ""
    dkim_domains: list[str] = field(default_factory=list)
    envelope_domains: list[str] = field(default_factory=list)

    def rate(self, value: int) -> float:
        return value / self.messages if self.messages else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "ip": self.ip,
            "messages": self.messages,
            "reverse_name": self.reverse_name,
            "provider": self.provider,
            "dkim_aligned_pass": round(self.rate(self.dkim_pass), 4),
            "spf_aligned_pass": round(self.rate(self.spf_pass), 4),
            "dmarc_pass": round(self.rate(self.dmarc_pass), 4),
            "dkim_domains": self.dkim_domains,
            "envelope_domains": self.envelope_domains,
        }


@dataclass
class DomainSummary:
    domain: str
    reports: int
    messages: int
    dmarc_pass: int
    sources: list[Source]

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "reports": self.reports,
            "messages": self.messages,
            "dmarc_pass": round(self.dmarc_pass / self.messages, 4) if self.messages else None,
            "sources": [s.to_json() for s in self.sources],
        }


@cache
def providers() -> dict[str, str]:
    return json.loads(resources.files("maildoctor.data").joinpath("providers.json").read_text("utf-8"))["providers"]


def provider_of(name: str) -> str:
    name = name.lower().rstrip(".")
    for suffix, provider in providers().items():
        if name == suffix or name.endswith("." + suffix):
            return provider
    return ""


def data_period(engine: Engine, domain: str | None = None) -> tuple[float, float] | None:
    """(first begin, last end) of the DMARC and TLS reports held (for the domain), or None."""
    where = [reports.c.domain == domain.lower()] if domain else []
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(reports.c.begin), func.max(reports.c.end)).where(*where)).one()
    return (float(first), float(last)) if first is not None else None


def summarize(engine: Engine, domain: str | None = None, since: float = 0.0) -> list[DomainSummary]:
    passed = case((dmarc_records.c.dkim == "pass", dmarc_records.c.count), (dmarc_records.c.spf == "pass", dmarc_records.c.count), else_=0)
    where = [dmarc_records.c.begin >= since] + ([dmarc_records.c.domain == domain.lower()] if domain else [])
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                dmarc_records.c.domain,
                dmarc_records.c.source_ip,
                func.sum(dmarc_records.c.count),
                func.sum(case((dmarc_records.c.dkim == "pass", dmarc_records.c.count), else_=0)),
                func.sum(case((dmarc_records.c.spf == "pass", dmarc_records.c.count), else_=0)),
                func.sum(passed),
            )
            .where(*where)
            .group_by(dmarc_records.c.domain, dmarc_records.c.source_ip)
        ).all()
        report_counts: dict[str, int] = dict(
            conn.execute(
                select(reports.c.domain, func.count()).where(reports.c.kind == "dmarc", reports.c.begin >= since).group_by(reports.c.domain)
            ).all()
        )
        summaries: dict[str, DomainSummary] = {}
        for dom, ip, total, dkim_pass, spf_pass, dmarc_pass in rows:
            summary = summaries.setdefault(dom, DomainSummary(dom, report_counts.get(dom, 0), 0, 0, []))
            summary.messages += int(total or 0)
            summary.dmarc_pass += int(dmarc_pass or 0)
            summary.sources.append(Source(ip, int(total or 0), int(dkim_pass or 0), int(spf_pass or 0), int(dmarc_pass or 0)))
        for summary in summaries.values():
            summary.sources.sort(key=lambda s: -s.messages)
            summary.sources = summary.sources[:TOP_SOURCES]
            for source in summary.sources[:20]:  # who signs and bounces for the biggest senders
                detail = conn.execute(
                    select(dmarc_records.c.dkim_results, dmarc_records.c.envelope_from, dmarc_records.c.count)
                    .where(*where, dmarc_records.c.domain == summary.domain, dmarc_records.c.source_ip == source.ip)
                    .limit(500)
                ).all()
                signers: Counter[str] = Counter()
                envelopes: Counter[str] = Counter()
                for dkim_results, envelope, count in detail:
                    for result in json.loads(dkim_results):
                        signers[result[0]] += count
                    if envelope:
                        envelopes[envelope] += count
                source.dkim_domains = [d for d, _ in signers.most_common(3)]
                source.envelope_domains = [d for d, _ in envelopes.most_common(3)]
    return sorted(summaries.values(), key=lambda s: -s.messages)


async def name_sources(summaries: list[DomainSummary], resolver: Resolver, deadline: float = REVERSE_DEADLINE) -> None:
    """Reverse names and providers of the listed sources: concurrently, each IP once, within the deadline."""
    ips = list(dict.fromkeys(s.ip for summary in summaries for s in summary.sources))

    async def one(ip: str) -> tuple[str, str]:
        answer = await resolver.query(ipaddress.ip_address(ip).reverse_pointer, "PTR")
        return ip, str(answer.records[0].target).rstrip(".") if answer.ok and answer.records else ""

    tasks = [asyncio.ensure_future(one(ip)) for ip in ips]
    if tasks:
        await asyncio.wait(tasks, timeout=deadline)
    names = {}
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is None:
            ip, name = task.result()
            names[ip] = name
        else:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for summary in summaries:
        for source in summary.sources:
            source.reverse_name = names.get(source.ip, "")
            source.provider = provider_of(source.reverse_name) or next((provider_of(d) for d in source.dkim_domains if provider_of(d)), "")


def tls_failures(engine: Engine, domain: str | None = None, since: float = 0.0) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                tls_results.c.policy_domain, tls_results.c.policy_type, func.sum(tls_results.c.successes), func.sum(tls_results.c.failures)
            )
            .select_from(tls_results.join(reports, reports.c.id == tls_results.c.report))
            .where(reports.c.begin >= since, *([tls_results.c.policy_domain == domain.lower()] if domain else []))
            .group_by(tls_results.c.policy_domain, tls_results.c.policy_type)
        ).all()
        details = conn.execute(
            select(tls_results.c.policy_domain, tls_results.c.details)
            .select_from(tls_results.join(reports, reports.c.id == tls_results.c.report))
            .where(reports.c.begin >= since, tls_results.c.failures > 0)
        ).all()
    kinds: dict[str, Counter[str]] = {}
    for dom, text in details:
        for entry in json.loads(text):
            kinds.setdefault(dom, Counter())[str(entry.get("result-type", "?"))] += int(entry.get("failed-session-count", 0) or 0)
    return [
        {"policy_domain": d, "policy_type": t, "successes": int(s or 0), "failures": int(f or 0), "failure_types": dict(kinds.get(d, {}))}
        for d, t, s, f in rows
    ]


def summary_findings(summaries: list[DomainSummary], tls: list[dict[str, object]]) -> list[Finding]:
    findings = []
    for summary in summaries:
        for source in summary.sources:
            share = source.messages / summary.messages if summary.messages else 0
            if share < SIGNIFICANT_SHARE or source.rate(source.dmarc_pass) >= 0.5:
                continue
            who = source.provider or source.reverse_name or "an unknown sender"
            failing = [m for m, v in (("DKIM", source.dkim_pass), ("SPF", source.spf_pass)) if source.rate(v) < 0.5]
            if source.provider and source.dkim_domains and summary.domain not in source.dkim_domains[0]:
                advice = (
                    f"It is probably a service you use ({source.provider}), signing with d={source.dkim_domains[0]}: have it"
                    f" sign with {summary.domain} (publish the key it gives you) and use a bounce domain under {summary.domain}."
                )
            elif source.provider:
                advice = (
                    f"It is probably a service you use ({source.provider}): authorize it in SPF and have it sign with"
                    f" {summary.domain}, or, if you do not use it, someone is sending as you."
                )
            else:
                advice = (
                    f"If this is your server, authorize {source.ip} in SPF and sign its mail with DKIM for {summary.domain};"
                    " if you do not know it, someone is sending as you, and p=quarantine/reject stops it."
                )
            findings.append(
                make_finding(
                    "feedback.unaligned_source",
                    f"{source.ip} sends {share:.0%} of the mail of {summary.domain} and fails {' and '.join(failing) or 'DMARC'}",
                    f"{source.messages} of {summary.messages} messages came from {source.ip} ({who}); only"
                    f" {source.rate(source.dmarc_pass):.0%} passed DMARC (aligned DKIM {source.rate(source.dkim_pass):.0%},"
                    f" aligned SPF {source.rate(source.spf_pass):.0%}).",
                    evidence=[
                        f"reverse name: {source.reverse_name or '-'}",
                        f"DKIM signers: {', '.join(source.dkim_domains) or 'none'}",
                        f"envelope domains: {', '.join(source.envelope_domains) or '-'}",
                    ],
                    fix=advice,
                )
            )
    for entry in tls:
        if int(entry["failures"]) > 0:  # type: ignore[call-overload]
            kinds = ", ".join(f"{k} ({v})" for k, v in entry["failure_types"].items()) or "unspecified"  # type: ignore[attr-defined]
            findings.append(
                make_finding(
                    "feedback.tls_failures",
                    f"Senders failed {entry['failures']} TLS sessions to {entry['policy_domain']}",
                    f"TLS-RPT reports show {entry['failures']} failed and {entry['successes']} successful sessions under the"
                    f" {entry['policy_type']} policy of {entry['policy_domain']}: {kinds}.",
                    fix="Fix what the failure types name (an expired or wrong certificate, STARTTLS missing on an MX, MTA-STS"
                    " patterns that do not cover an MX), then watch the next reports.",
                )
            )
    return findings


def latest_report(engine: Engine) -> float | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(dmarc_records.c.begin))).scalar()


def daily_volume(engine: Engine, domain: str | None, since: float = 0.0, source_ip: str | None = None) -> list[tuple[float, int, int]]:
    """(day start, messages, DMARC passes) per day of report, oldest first: of a domain, a source, or both."""
    passed = case((dmarc_records.c.dkim == "pass", dmarc_records.c.count), (dmarc_records.c.spf == "pass", dmarc_records.c.count), else_=0)
    day = func.floor(dmarc_records.c.begin / 86400)
    where = (
        [dmarc_records.c.begin >= since]
        + ([dmarc_records.c.domain == domain] if domain else [])
        + ([dmarc_records.c.source_ip == source_ip] if source_ip else [])
    )
    with engine.connect() as conn:
        rows = conn.execute(select(day, func.sum(dmarc_records.c.count), func.sum(passed)).where(*where).group_by(day).order_by(day)).all()
    return [(float(d) * 86400, int(total or 0), int(ok or 0)) for d, total, ok in rows]


@dataclass
class FailureReports:
    """The DMARC failure reports of one domain: how many, and from which addresses the failing mail came."""

    domain: str
    reports: int = 0
    sources: dict[str, int] = field(default_factory=dict)  # source IP -> reports


@dataclass
class FeedbackFacts(Facts):
    since: float | None = None
    generated: float | None = None
    failure_reports: list[FailureReports] = field(default_factory=list)
    reputation: list[Observation] = field(default_factory=list)


def failures(engine: Engine, domain: str | None = None, since: float = 0.0) -> list[FailureReports]:
    """Failure reports per domain, with the addresses the failing messages came from."""
    where = [failure_reports.c.arrival >= since] + ([failure_reports.c.domain == domain.lower()] if domain else [])
    with engine.connect() as conn:
        rows = conn.execute(
            select(failure_reports.c.domain, failure_reports.c.source_ip, func.count())
            .where(*where)
            .group_by(failure_reports.c.domain, failure_reports.c.source_ip)
        ).all()
    out: dict[str, FailureReports] = {}
    for dom, ip, count in rows:
        entry = out.setdefault(dom, FailureReports(dom))
        entry.reports += int(count)
        entry.sources[ip] = int(count)
    return sorted(out.values(), key=lambda e: -e.reports)


async def summary_report(
    engine: Engine, resolver: Resolver, domain: str | None, since: float
) -> tuple[Report, list[DomainSummary], list[dict[str, object]]]:
    summaries = summarize(engine, domain, since)
    await name_sources(summaries, resolver)
    tls = tls_failures(engine, domain, since)
    report = Report(target=domain or "all domains", kind="feedback")
    seen = observations(engine, since, domain)
    report.findings = summary_findings(summaries, tls) + reputation_findings(seen)
    report.facts = FeedbackFacts(since, time.time(), failures(engine, domain, since), seen)
    return report, summaries, tls


def daily_volume_by_source(
    engine: Engine, domain: str, since: float = 0.0, top: int = 5
) -> tuple[list[str], list[tuple[float, dict[str, int]]]]:
    """The `top` biggest sources of the domain, and per day of report the messages of each
    ("other" for the rest), oldest first."""
    day = func.floor(dmarc_records.c.begin / 86400)
    where = [dmarc_records.c.domain == domain, dmarc_records.c.begin >= since]
    with engine.connect() as conn:
        biggest = [
            ip
            for (ip,) in conn.execute(
                select(dmarc_records.c.source_ip)
                .where(*where)
                .group_by(dmarc_records.c.source_ip)
                .order_by(func.sum(dmarc_records.c.count).desc())
                .limit(top)
            )
        ]
        rows = conn.execute(
            select(day, dmarc_records.c.source_ip, func.sum(dmarc_records.c.count))
            .where(*where)
            .group_by(day, dmarc_records.c.source_ip)
            .order_by(day)
        ).all()
    days: dict[float, dict[str, int]] = {}
    for d, ip, count in rows:
        key = ip if ip in biggest else "other"
        per_day = days.setdefault(float(d) * 86400, {})
        per_day[key] = per_day.get(key, 0) + int(count or 0)
    names = biggest + (["other"] if any("other" in v for v in days.values()) else [])
    return names, sorted(days.items())


@dataclass
class SourceUse:
    """What one sending IP did for one domain: volume and results, who signed, which envelope domains."""

    domain: str
    messages: int
    dkim_pass: int
    spf_pass: int
    dmarc_pass: int
    dispositions: dict[str, int]
    dkim_domains: dict[str, int]
    envelope_domains: dict[str, int]
    first: float  # the begin of the first and of the last report that names it
    last: float

    def rate(self, value: int) -> float:
        return value / self.messages if self.messages else 0.0

    def failing(self) -> list[str]:
        return [
            name for name, value in (("DKIM", self.dkim_pass), ("SPF", self.spf_pass), ("DMARC", self.dmarc_pass)) if self.rate(value) < 0.5
        ]


def source_uses(engine: Engine, ip: str, since: float = 0.0) -> list[SourceUse]:
    """Per domain, what the reports say about mail from this IP, biggest first."""
    where = [dmarc_records.c.source_ip == ip, dmarc_records.c.begin >= since]
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                dmarc_records.c.domain,
                dmarc_records.c.count,
                dmarc_records.c.dkim,
                dmarc_records.c.spf,
                dmarc_records.c.disposition,
                dmarc_records.c.dkim_results,
                dmarc_records.c.envelope_from,
                dmarc_records.c.begin,
            )
            .where(*where)
            .limit(100_000)
        ).all()
    uses: dict[str, SourceUse] = {}
    for domain, count, dkim, spf, disposition, dkim_results, envelope, begin in rows:
        use = uses.setdefault(domain, SourceUse(domain, 0, 0, 0, 0, Counter(), Counter(), Counter(), begin, begin))
        use.messages += count
        use.dkim_pass += count if dkim == "pass" else 0
        use.spf_pass += count if spf == "pass" else 0
        use.dmarc_pass += count if "pass" in (dkim, spf) else 0
        use.dispositions[disposition or "none"] += count
        for result in json.loads(dkim_results):
            use.dkim_domains[f"{result[0]} ({result[2]})"] += count
        if envelope:
            use.envelope_domains[envelope] += count
        use.first, use.last = min(use.first, begin), max(use.last, begin)
    return sorted(uses.values(), key=lambda u: -u.messages)


def observations(engine: Engine, since: float = 0.0, domain: str | None = None, ip: str | None = None) -> list[Observation]:
    """SNDS and Postmaster Tools rows, oldest first: of a domain (Postmaster's, and SNDS's for the IPs
    that send as it), of one IP, or all."""
    where = [reputation.c.end >= since]
    if ip:
        where.append(reputation.c.subject == ip)
    elif domain:
        with engine.connect() as conn:
            ips = [
                row[0]
                for row in conn.execute(
                    select(dmarc_records.c.source_ip).where(dmarc_records.c.domain == domain.lower()).group_by(dmarc_records.c.source_ip)
                )
            ]
        where.append(reputation.c.subject.in_([domain.lower(), *ips]))
    with engine.connect() as conn:
        rows = conn.execute(
            select(reputation.c.source, reputation.c.subject, reputation.c.begin, reputation.c.end, reputation.c.data)
            .where(*where)
            .order_by(reputation.c.begin)
            .limit(100_000)
        ).all()
    return [Observation(source, subject, begin, end, json.loads(data)) for source, subject, begin, end, data in rows]


def feedback_facts(report: Report) -> FeedbackFacts:
    """The facts of a feedback summary's report (empty for a report of another kind)."""
    return report.facts if isinstance(report.facts, FeedbackFacts) else FeedbackFacts()
