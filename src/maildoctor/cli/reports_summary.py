"""`maildoctor reports summary`: who sends as each domain, and what fails."""

from __future__ import annotations

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
    from maildoctor.feedback.summary import data_period, summary_report
    from maildoctor.render.feedback import render_summary, summary_document, write_summary_csv
    from maildoctor.render.json import dumps

    try:
        start = parse_since(since) if since else 0.0
        domain = parse_domain(domain) if domain else None
    except ValueError as exc:
        fail(str(exc))
    engine = open_database(data_dir, db)
    resolver = build_resolver(nameservers, zones, timeout)
    report, summaries, tls = aio.run(summary_report(engine, resolver, domain, start))
    held = data_period(engine, domain)
    if output_format == "json":
        click.echo(dumps(summary_document(report, summaries, tls, start, held)))
    elif output_format == "csv":
        write_summary_csv(summaries, sys.stdout)
    else:
        render_summary(Console(highlight=False), report, summaries, tls, start, held)
    finish(exit_status(report, "error"))
