"""`maildoctor reports summary`: who sends as each domain, and what fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from maildoctor import aio
from maildoctor.cli.common import (
    CONTEXT,
    build_resolver,
    dns_options,
    exit_status,
    fail,
    finish,
    open_database,
    parse_since,
    storage_options,
)
from maildoctor.render.json import SCHEMA_VERSION
from maildoctor.render.terminal import render_terminal
from maildoctor.target import parse_domain


@click.command(
    "summary",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports summary
  maildoctor reports summary --domain example.com --since 30d --format json
  maildoctor reports summary --since 2026-11-01 --format csv""",
)
@click.option("--domain", help="Only this domain.")
@click.option("--since", help="30d, 12h, 90m ago, or a date YYYY-MM-DD. [default: all the data there is]")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@storage_options
@dns_options
def reports_summary(
    domain: str | None,
    since: str | None,
    output_format: str,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Per domain: the sources that send as it (IP, reverse name, likely provider), their volume and
    aligned SPF/DKIM/DMARC pass rates, TLS-RPT failures, and what to do about what fails."""
    import csv
    import datetime

    from maildoctor.feedback.summary import data_period, summary_report

    try:
        start = parse_since(since) if since else 0.0
        domain = parse_domain(domain) if domain else None
    except ValueError as exc:
        fail(str(exc))
    engine = open_database(data_dir, db)
    resolver = build_resolver(nameservers, zones, timeout)
    report, summaries, tls = aio.run(summary_report(engine, resolver, domain, start))
    held = data_period(engine, domain)

    def day(when: float) -> str:
        return datetime.datetime.fromtimestamp(when, datetime.UTC).date().isoformat()

    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "schema": SCHEMA_VERSION,
                    "since": start,
                    "domains": [s.to_json() for s in summaries],
                    "data_period": {"begin": held[0], "end": held[1]} if held else None,
                    "tls": tls,
                    "failure_reports": report.facts["failure_reports"],
                    "score": report.score,
                    "findings": [f.to_json() for f in report.findings],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    elif output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(
            [
                "domain",
                "source_ip",
                "reverse_name",
                "provider",
                "messages",
                "dkim_aligned_pass",
                "spf_aligned_pass",
                "dmarc_pass",
                "dkim_domains",
                "envelope_domains",
            ]
        )
        for summary in summaries:
            for s in summary.sources:
                writer.writerow(
                    [
                        summary.domain,
                        s.ip,
                        s.reverse_name,
                        s.provider,
                        s.messages,
                        s.dkim_pass,
                        s.spf_pass,
                        s.dmarc_pass,
                        " ".join(s.dkim_domains),
                        " ".join(s.envelope_domains),
                    ]
                )
    else:
        from rich.table import Table

        console = Console(highlight=False)
        if not summaries and not tls and not report.facts["failure_reports"] and not report.facts["reputation"]:
            if held is None:
                console.print("No reports yet. Ingest some with: maildoctor reports ingest PATH")
            else:  # the period excludes what there is: say which period holds data
                console.print(
                    f"No reports since {day(start)}. The reports held cover {day(held[0])} to {day(held[1])}:"
                    f" run again with --since {day(held[0])}, or without --since for all of them."
                )
        for entry in report.facts["failure_reports"]:
            sources = ", ".join(f"{ip} ({n})" for ip, n in sorted(entry["sources"].items(), key=lambda kv: -kv[1])[:5])
            console.print(f"{entry['domain']}: {entry['reports']} DMARC failure report(s), from {sources}")
        for summary in summaries:
            rate = summary.dmarc_pass / summary.messages if summary.messages else 0
            table = Table(
                title=f"{summary.domain}: {summary.messages} messages in {summary.reports} report(s), {rate:.0%} pass DMARC",
                title_justify="left",
                header_style="bold",
            )
            for column in ("source", "reverse name / provider", "messages", "DKIM", "SPF", "DMARC"):
                table.add_column(column, justify="right" if column in ("messages", "DKIM", "SPF", "DMARC") else "left")
            for s in summary.sources[:25]:
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
            if len(summary.sources) > 25:
                console.print(f"  … and {len(summary.sources) - 25} more sources (--format csv lists them all)")
            console.print()
        render_terminal(report, console)
    finish(exit_status(report, "error"))
