"""`maildoctor check`: audit one domain, or many from a file (in worker processes)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from maildoctor import aio
from maildoctor.cli.common import (
    CONTEXT,
    EXIT_INCOMPLETE,
    allow_incomplete,
    build_resolver,
    dns_options,
    dqs_option,
    emit,
    fail,
    finish,
    open_database,
    output_options,
    resolver_spec,
    run_with_status,
    storage_options,
)
from maildoctor.engine import run_audit
from maildoctor.findings import Severity
from maildoctor.target import Target, parse_domain, parse_host_port, parse_ip


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor check example.com
  maildoctor check example.com --ip 203.0.113.7 --ip 2001:db8::25
  maildoctor check example.com --nameserver 127.0.0.1:5353 --format json
  maildoctor check example.com --zone zones/          # DNS answered from zone files
  maildoctor check example.com --fail-on warning      # for CI: exit 1 on any warning
  maildoctor check example.com --probe                # also connect to the MX hosts (port 25)
  maildoctor check example.com --smtp mail.example.com:587
  maildoctor check --domains-file customers.txt --format json > audits.jsonl
\b
Exit status: 0 nothing at or above --fail-on, 1 something was found, 2 bad input,
3 incomplete: an area could not be checked (--allow-incomplete gives 0 or 1 instead).""",
)
@click.argument("domain", required=False)
@click.option("--domains-file", type=click.File("r"), help="Audit every domain in this file (one per line, # comments; - for stdin).")
@click.option(
    "--concurrency", type=click.IntRange(1, 1000), default=50, show_default=True, help="Audits at once with --domains-file (per job)."
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes for --domains-file. [default: one per core, at most one per 50 domains]",
)
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address, IPv4 or IPv6 (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@click.option("--smtp", metavar="HOST[:PORT]", help="Connect to this SMTP server: greeting, EHLO, STARTTLS, certificate.")
@click.option("--probe", is_flag=True, help="Connect to every MX host on port 25, and fetch the MTA-STS policy over HTTPS.")
@click.option(
    "--cafile", type=click.Path(exists=True, dir_okay=False), help="Also trust the CA certificates in this PEM file (private CAs)."
)
@dqs_option
@storage_options
@dns_options
@output_options
def check(
    domain: str | None,
    domains_file: Any,
    concurrency: int,
    jobs: int | None,
    ips: tuple[str, ...],
    selectors: tuple[str, ...],
    smtp: str | None,
    probe: bool,
    cafile: str | None,
    spamhaus_dqs_key: str | None,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Audit the mail set-up of DOMAIN over DNS (and, when asked, its SMTP servers); or of every
    domain in --domains-file, one line per domain (JSON lines with --format json).

    No connection to a mail server is made without --smtp or --probe."""
    if domains_file is not None:
        if domain:
            fail("give DOMAIN or --domains-file, not both")
        if ips or selectors or smtp:
            fail("--ip, --dkim-selector and --smtp describe one domain: they do not go with --domains-file")
        check_many(domains_file, concurrency, jobs, probe, cafile, data_dir, db, nameservers, zones, timeout, output_format, fail_on)
    if not domain:
        fail("give a DOMAIN (or --domains-file)")
    try:
        target = Target(
            domain=parse_domain(domain),
            ips=[parse_ip(i) for i in ips],
            dkim_selectors=list(selectors),
            smtp=smtp,
            probe=probe,
            cafile=cafile,
            spamhaus_dqs_key=spamhaus_dqs_key,
        )
        if smtp:
            parse_host_port(smtp, 25)
    except ValueError as exc:
        fail(str(exc))
    if db or (data_dir / "maildoctor.sqlite3").exists():  # selectors seen in ingested DMARC reports
        from maildoctor.feedback.ingest import selectors_seen

        target.known_selectors = selectors_seen(open_database(data_dir, db), target.domain)
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver), output_format, target.domain)
    emit(report, output_format, verbose, fail_on)


def check_many(
    lines: Any,
    concurrency: int,
    jobs: int | None,
    probe: bool,
    cafile: str | None,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    fail_on: str,
) -> NoReturn:
    from rich.progress import Progress

    from maildoctor.bulk import Finished, audit_many

    targets, problems = [], []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            targets.append(Target(domain=parse_domain(text), probe=probe, cafile=cafile))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    selectors, database = None, None
    if db or (data_dir / "maildoctor.sqlite3").exists():
        from maildoctor.feedback.ingest import selectors_seen

        engine = open_database(data_dir, db)
        selectors = functools.partial(selectors_seen, engine)
        database = db or str(data_dir)
    resolver = build_resolver(nameservers, zones, timeout)
    status = 2 if problems else 0
    for problem in problems:
        click.echo(f"maildoctor: {problem}", err=True)
    console = Console(stderr=True)

    threshold = None if fail_on == "never" else Severity.parse(fail_on)

    from maildoctor.findings import area_title

    incomplete_counts = not allow_incomplete()

    def show(done: Finished) -> int:
        """Print one audit; 1 when it has a finding at or above --fail-on, 3 when it is incomplete."""
        if output_format == "json":
            click.echo(done.line)
        else:
            click.echo(
                f"{done.target:40} {done.score:4.1f}/10  {done.findings:3} finding(s)"
                + (f"  worst: {done.worst[0]} {done.worst[1]}" if done.worst else "")
                + (f"  fail: {', '.join(area_title(a) for a in done.failed)}" if done.failed else "")
                + (f"  incomplete: {', '.join(area_title(a) for a in done.incomplete)}" if done.incomplete else "")
            )
        if done.incomplete and incomplete_counts:
            return EXIT_INCOMPLETE
        return int(threshold is not None and done.worst is not None and Severity.parse(done.worst[0]) >= threshold)

    async def run() -> int:
        worst = 0
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("Auditing", total=len(targets))
            async for report in audit_many(targets, resolver, concurrency, selectors):
                progress.advance(task)
                worst = max(worst, show(Finished.of(report)))
        return worst

    if jobs is None:
        from maildoctor.bulk import workers_for

        jobs = workers_for(len(targets), os.cpu_count() or 1)
    if jobs > 1:
        from maildoctor.bulk import audit_many_processes

        worst = 0
        finished = audit_many_processes(
            [t.domain for t in targets], resolver_spec(nameservers, zones, timeout), jobs, concurrency, probe, cafile, database
        )
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("Auditing", total=len(targets))
            for done in finished:
                progress.advance(task)
                worst = max(worst, show(done))
        finish(max(status, worst))
    finish(max(status, aio.run(run())))
