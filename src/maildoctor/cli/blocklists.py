"""`maildoctor blocklists`: IPs and domains on the DNS blocklists, and the lists' self-test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from maildoctor.cli.common import (
    CONTEXT,
    build_resolver,
    dns_options,
    dqs_option,
    exit_status,
    fail,
    finish,
    output_options,
    run_with_status,
)
from maildoctor.dns.tracing import TracingResolver
from maildoctor.engine import run_of
from maildoctor.findings import Report
from maildoctor.render.json import command_document, dumps
from maildoctor.render.terminal import render_terminal


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor blocklists 203.0.113.7                       # one IP against every list
  maildoctor blocklists 203.0.113.7 2001:db8::25 example.com
  maildoctor blocklists 203.0.113.7 --nameserver 127.0.0.1 # ask your own resolver (public ones are refused)
  maildoctor blocklists example.com --lists my-lists.toml --format json
  maildoctor blocklists --self-test                        # which lists answer their test entry
  MAILDOCTOR_SPAMHAUS_DQS_KEY=... maildoctor blocklists 203.0.113.7   # Spamhaus through DQS (any resolver)
\b
Exit status: 0 not listed at or above --fail-on, 1 listed, 2 bad input,
3 a list could not be asked (--allow-incomplete gives 0 or 1 instead).""",
)
@click.argument("targets", nargs=-1)
@click.option(
    "--lists",
    "lists_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Use the lists in this TOML file (the format of the shipped dnsbls.toml) instead.",
)
@click.option("--self-test", is_flag=True, help="Query each list's documented test entry (must be listed) and 127.0.0.1 (must not be).")
@click.option("--deadline", type=click.FloatRange(0.1, 120), default=10.0, show_default=True, help="Seconds for all the queries together.")
@dqs_option
@dns_options
@output_options
def blocklists(
    targets: tuple[str, ...],
    lists_file: str | None,
    self_test: bool,
    deadline: float,
    spamhaus_dqs_key: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Look up IP addresses (IPv4, IPv6) and domains on the DNS blocklists receivers use: what
    each listing means, the list's reason, and where to request removal."""
    from maildoctor.checks.dnsbl import blocklist_findings, blocklist_verified, catalog_for
    from maildoctor.dnsbl.catalog import CatalogError
    from maildoctor.dnsbl.lookup import Subject, check_all
    from maildoctor.dnsbl.lookup import self_test as run_self_test
    from maildoctor.render.dnsbl import render_results, render_self_test

    if not targets and not self_test:
        fail("give at least one IP address or domain (or --self-test)")
    try:
        subjects = list(dict.fromkeys(Subject.parse(t) for t in targets))
        lists = catalog_for(lists_file, spamhaus_dqs_key)
    except (ValueError, CatalogError) as exc:
        fail(str(exc))
    resolver = TracingResolver(build_resolver(nameservers, zones, timeout))

    async def run() -> tuple[list[Any], dict[str, str]]:
        results = await check_all(resolver, subjects, lists, deadline)
        states = await run_self_test(resolver, lists, deadline) if self_test else {}
        return results, states

    results, states = run_with_status(run(), output_format, f"{len(subjects)} target(s) on {len(lists)} lists")
    report = Report(target=", ".join(s.text for s in subjects) or "self-test", kind="blocklists")
    report.findings = blocklist_findings(results, resolver)
    report.runs = [run_of("dnsbl", "blocklists", report.findings)] if subjects else []
    report.verified = {"dnsbl": blocklist_verified(results)} if subjects else {}
    report.queries = resolver.trace_json(spamhaus_dqs_key)
    rows = [r.to_json() for r in results]
    broken = any(not s.startswith(("working", "no test", "unavailable")) for s in states.values())
    status = max(exit_status(report, fail_on), 1 if broken and fail_on != "never" else 0)
    if output_format == "json":
        fields: dict[str, Any] = {"kind": "blocklists", "targets": [s.text for s in subjects], "lists": len(lists), "results": rows}
        if self_test:
            fields["self_test"] = states
        data = command_document(report, verbose, **fields)
        click.echo(dumps(data))
        finish(status)
    console = Console(highlight=False)
    if states:
        render_self_test(states, console)
    if subjects:
        render_results(rows, console, verbose)
        render_terminal(report, console, verbose=verbose)
    finish(status)
