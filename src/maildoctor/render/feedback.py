"""What `reports summary` prints: the JSON document, the CSV of every source, and the terminal
tables of the senders of each domain."""

from __future__ import annotations

import csv
import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from maildoctor.facts import jsonable
from maildoctor.feedback.summary import DomainSummary, feedback_facts
from maildoctor.findings import Report
from maildoctor.render.json import versioned
from maildoctor.render.terminal import render_terminal

SOURCES_SHOWN = 25


def summary_rows(summaries: list[DomainSummary]) -> list[dict[str, Any]]:
    """One row per source of every domain, for the CSV of the command and of the dashboard: the
    aligned passes as counts (`*_pass`) and as shares of the source's messages (`*_rate`)."""
    return [
        {
            "domain": summary.domain,
            "source_ip": s.ip,
            "reverse_name": s.reverse_name,
            "provider": s.provider,
            "messages": s.messages,
            "dkim_aligned_pass": s.dkim_pass,
            "spf_aligned_pass": s.spf_pass,
            "dmarc_pass": s.dmarc_pass,
            "dkim_aligned_rate": round(s.rate(s.dkim_pass), 4),
            "spf_aligned_rate": round(s.rate(s.spf_pass), 4),
            "dmarc_rate": round(s.rate(s.dmarc_pass), 4),
            "dkim_domains": " ".join(s.dkim_domains),
            "envelope_domains": " ".join(s.envelope_domains),
        }
        for summary in summaries
        for s in summary.sources
    ]


def summary_document(
    report: Report, summaries: list[DomainSummary], tls: Any, since: float, held: tuple[float, float] | None
) -> dict[str, Any]:
    facts = feedback_facts(report)
    return versioned(
        {
            "since": since,
            "domains": [s.to_json() for s in summaries],
            "data_period": {"begin": held[0], "end": held[1]} if held else None,
            "tls": tls,
            "failure_reports": jsonable(facts.failure_reports),
            "score": report.score,
            "findings": [f.to_json() for f in report.findings],
        }
    )


def write_summary_csv(summaries: list[DomainSummary], out: TextIO) -> None:
    """Every source of every domain (the terminal shows the first 25)."""
    rows = summary_rows(summaries)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["domain", "source_ip", "messages"])
    writer.writeheader()
    writer.writerows(rows)


def _day(when: float) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).date().isoformat()


def render_summary(
    console: Console, report: Report, summaries: list[DomainSummary], tls: Any, since: float, held: tuple[float, float] | None
) -> None:
    facts = feedback_facts(report)
    if not summaries and not tls and not facts.failure_reports and not facts.reputation:
        if held is None:
            console.print("No reports yet. Ingest some with: maildoctor reports ingest PATH")
        else:  # the period excludes what there is: say which period holds data
            console.print(
                f"No reports since {_day(since)}. The reports held cover {_day(held[0])} to {_day(held[1])}:"
                f" run again with --since {_day(held[0])}, or without --since for all of them."
            )
    for entry in facts.failure_reports:
        sources = ", ".join(f"{ip} ({n})" for ip, n in sorted(entry.sources.items(), key=lambda kv: -kv[1])[:5])
        console.print(f"{entry.domain}: {entry.reports} DMARC failure report(s), from {sources}")
    for summary in summaries:
        rate = summary.dmarc_pass / summary.messages if summary.messages else 0
        table = Table(
            title=f"{summary.domain}: {summary.messages} messages in {summary.reports} report(s), {rate:.0%} pass DMARC",
            title_justify="left",
            header_style="bold",
        )
        for column in ("source", "reverse name / provider", "messages", "DKIM", "SPF", "DMARC"):
            table.add_column(column, justify="right" if column in ("messages", "DKIM", "SPF", "DMARC") else "left")
        for s in summary.sources[:SOURCES_SHOWN]:
            style = "green" if s.rate(s.dmarc_pass) >= 0.9 else "yellow" if s.rate(s.dmarc_pass) >= 0.5 else "red"
            table.add_row(
                s.ip,
                " / ".join(x for x in (s.reverse_name, s.provider) if x) or "-",
                str(s.messages),
                f"{s.rate(s.dkim_pass):.0%}",
                f"{s.rate(s.spf_pass):.0%}",
                f"[{style}]{s.rate(s.dmarc_pass):.0%}[/{style}]",
            )
        console.print(table)
        if len(summary.sources) > SOURCES_SHOWN:
            console.print(f"  … and {len(summary.sources) - SOURCES_SHOWN} more sources (--format csv lists them all)")
        console.print()
    render_terminal(report, console)


SUPPRESSION_COLUMNS = ("address", "why", "reason", "bounces", "last_seen", "evidence")


def write_suppressions_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=SUPPRESSION_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def bounces_document(results: list[tuple[Any, list[Any]]]) -> dict[str, Any]:
    """`bounces classify`: per file, what each bounce or complaint says."""
    return versioned({"files": [{"file": str(path), "bounces": [b.to_json() for b in found]} for path, found in results]})
