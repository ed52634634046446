"""`maildoctor dkim`: the DKIM keys of a domain, decoded."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from maildoctor.checks.facts import audit_facts
from maildoctor.cli.common import (
    CONTEXT,
    build_resolver,
    dns_options,
    exit_status,
    fail,
    finish,
    output_options,
    run_with_status,
)
from maildoctor.engine import run_audit
from maildoctor.facts import jsonable
from maildoctor.render.dkim import render_keys
from maildoctor.render.json import command_document, dumps
from maildoctor.render.terminal import render_terminal
from maildoctor.target import Target, parse_domain


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dkim example.com -s selector1          # one key, decoded
  maildoctor dkim example.com                       # the common selectors, discovered
  maildoctor dkim example.com -s s1 -s s2 --format json""",
)
@click.argument("domain")
@click.option(
    "--selector",
    "-s",
    "selectors",
    multiple=True,
    metavar="SELECTOR",
    help="A selector in use (repeatable); without it the common ones are tried.",
)
@dns_options
@output_options
def dkim(
    domain: str,
    selectors: tuple[str, ...],
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Show DOMAIN's DKIM key records decoded (key type, bits, flags, hash algorithms) and
    everything wrong with them."""
    try:
        target = Target(domain=parse_domain(domain), dkim_selectors=list(selectors))
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver, areas=("dkim",)), output_format, target.domain)
    keys = audit_facts(report).dkim or {}
    if output_format == "json":
        click.echo(dumps(command_document(report, verbose, domain=target.domain, keys=jsonable(keys))))
        finish(exit_status(report, fail_on))
    console = Console(highlight=False)
    render_keys(keys, target.domain, console)
    render_terminal(report, console, verbose=verbose)
    finish(exit_status(report, fail_on))
