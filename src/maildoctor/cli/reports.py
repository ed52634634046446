"""`maildoctor reports` and `reports ingest`: DMARC, TLS, failure reports, bounces and reputation data into the database."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console

from maildoctor.cli.common import (
    CONTEXT,
    fail,
    finish,
    open_database,
    storage_options,
)
from maildoctor.cli.reports_summary import reports_summary
from maildoctor.render.json import dumps, versioned


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports ingest reports/                  # files, directories; xml, gz, zip, json, .eml, mbox
  maildoctor reports summary --domain example.com --since 30d
  maildoctor reports summary --format csv > sources.csv""",
)
def reports() -> None:
    """DMARC aggregate and TLS-RPT reports: ingest them, then see who sends as your domain."""


@reports.command(
    "ingest",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor reports ingest reports/
  maildoctor reports ingest 'google.com!example.com!1700000000!1700086399.zip' dmarc.mbox
  maildoctor reports ingest reports/ --format json
  MAILDOCTOR_IMAP_PASSWORD=... maildoctor reports ingest --imap imaps://dmarc@mail.example.com/INBOX""",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--imap",
    "imap_url",
    metavar="URL",
    help="Also fetch unseen mail from imaps://user@host[:port]/MAILBOX (password in MAILDOCTOR_IMAP_PASSWORD).",
)
@click.option("--imap-all", is_flag=True, help="Fetch every message of the mailbox, not only the unseen ones.")
@click.option("--imap-cafile", type=click.Path(exists=True, dir_okay=False), help="Trust this CA for the IMAP server (private CAs).")
@storage_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def reports_ingest(
    paths: tuple[Path, ...],
    imap_url: str | None,
    imap_all: bool,
    imap_cafile: str | None,
    data_dir: Path,
    db: str | None,
    output_format: str,
) -> None:
    """Read report files into the database: each report once (by organization and report id);
    files that cannot be read are kept aside with the reason and do not stop the others. The DKIM
    selectors seen are remembered for later audits of the domain."""

    from rich.progress import Progress

    from maildoctor.feedback.imap import ImapSource, add_results, fetch_and_ingest
    from maildoctor.feedback.ingest import ingest, report_files

    if not paths and not imap_url:
        fail("give files or directories to ingest, or --imap URL")
    source = None
    if imap_url:
        try:
            source = ImapSource.parse(imap_url)
        except ValueError as exc:
            fail(str(exc))
        if "MAILDOCTOR_IMAP_PASSWORD" not in os.environ:
            fail("set MAILDOCTOR_IMAP_PASSWORD to the IMAP password (kept out of the command line and shell history)")
    engine = open_database(data_dir, db)
    files = list(report_files(paths))
    console = Console(stderr=True)
    if output_format == "text" and console.is_terminal and len(files) > 1:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Ingesting", total=len(files))
            result = ingest(engine, files, progress=lambda _: progress.advance(task))
    else:
        result = ingest(engine, files)
    if source is not None:
        try:
            add_results(result, fetch_and_ingest(engine, source, os.environ["MAILDOCTOR_IMAP_PASSWORD"], imap_all, imap_cafile), "imap")
        except ValueError as exc:
            fail(str(exc))
    if output_format == "json":
        click.echo(dumps(versioned(result.to_json())))
    else:
        click.echo(
            f"{result.files} file(s): {result.reports} DMARC aggregate report(s) with {result.records} record(s),"
            f" {result.tls_reports} TLS report(s), {result.failure_reports} failure report(s), {result.bounces} bounce(s),"
            f" {result.complaints} complaint(s), {result.reputation} reputation row(s) (SNDS, Postmaster Tools),"
            f" {result.duplicates} duplicate(s), {len(result.rejected)} rejected"
        )
        for where, reason in result.rejected:
            click.echo(f"  rejected {where}: {reason}")
        for where, repair in result.repaired:
            click.echo(f"  repaired {where}: {repair}")
        for where, warning in result.warnings:
            click.echo(f"  warning {where}: {warning}")
    finish(1 if result.rejected else 0)


reports.add_command(reports_summary)
