"""`maildoctor spf`: the SPF tree of a domain, and `spf eval` of one connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from maildoctor import aio
from maildoctor.checks.facts import audit_facts
from maildoctor.cli.common import (
    CONTEXT,
    DomainOrCommand,
    build_resolver,
    dns_options,
    exit_status,
    fail,
    finish,
    output_options,
    run_with_status,
)
from maildoctor.cli.spf_build import spf_build
from maildoctor.dns.tracing import TracingResolver
from maildoctor.engine import run_audit
from maildoctor.render.json import SCHEMA_VERSION, command_document, dumps
from maildoctor.render.spf import render_evaluation, render_tree
from maildoctor.render.terminal import render_terminal
from maildoctor.spf.evaluator import SpfResult, check_identity
from maildoctor.target import Target, parse_domain, parse_ip


@click.group(
    cls=DomainOrCommand,
    default_command="tree",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf example.com                  # the SPF tree: every include, lookups counted
  maildoctor spf example.com --format json
  maildoctor spf eval --ip 203.0.113.7 --mail-from bounce@example.com --helo mail.example.com
  maildoctor spf build example.com --mx --ip 203.0.113.7 --include google""",
)
def spf() -> None:
    """SPF: show a domain's SPF tree (maildoctor spf DOMAIN), evaluate one connection (spf eval),
    or build a record (spf build)."""


spf.add_command(spf_build, "build")


@spf.command(
    "tree",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf example.com
  maildoctor spf example.com --ip 2001:db8::25 --nameserver 127.0.0.1:5353
  maildoctor spf tree example.com --format json""",
)
@click.argument("domain")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="Also say whether this sending IP is authorized (repeatable).")
@dns_options
@output_options
def spf_tree(
    domain: str,
    ips: tuple[str, ...],
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Print DOMAIN's SPF record and its whole include/redirect tree, with the DNS lookups each
    branch costs (what receivers count against the limit of 10), void lookups, the address
    ranges each branch authorizes, and every SPF finding."""
    try:
        target = Target(domain=parse_domain(domain), ips=[parse_ip(i) for i in ips])
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver, areas=("spf",)), output_format, target.domain)
    found = audit_facts(report).spf
    tree = found.to_json() if found else None
    if output_format == "json":
        click.echo(
            dumps(command_document(report, verbose, domain=target.domain, lookups=tree["total_lookups"] if tree else None, tree=tree))
        )
        finish(exit_status(report, fail_on))
    console = Console(highlight=False)
    if tree:
        render_tree(tree, console)
        console.print()
    render_terminal(report, console, verbose=verbose)
    finish(exit_status(report, fail_on))


@spf.command(
    "eval",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf eval --ip 203.0.113.7 --mail-from bounce@example.com --helo mail.example.com
  maildoctor spf eval --ip 2001:db8::25 --helo mail.example.com          # the HELO identity
  maildoctor spf eval --ip 203.0.113.7 --mail-from a@example.com --format json
\b
Exit status: 0 pass, 1 any other result, 2 bad input.""",
)
@click.option("--ip", required=True, metavar="IP", help="The connecting client's address.")
@click.option("--mail-from", default="", metavar="ADDRESS", help="The envelope sender (MAIL FROM); empty checks the HELO name.")
@click.option("--helo", default="", metavar="NAME", help="The HELO/EHLO name the client gave.")
@dns_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Show every step of the evaluation and the DNS queries.")
def spf_eval(
    ip: str,
    mail_from: str,
    helo: str,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
    verbose: bool,
) -> None:
    """Evaluate SPF as a receiver would (RFC 7208 check_host()): the result, the mechanism that
    decided it, and the explanation a receiver would give."""
    try:
        address = parse_ip(ip)
    except ValueError as exc:
        fail(str(exc))
    if not mail_from and not helo:
        fail("give --mail-from, --helo, or both")
    resolver = TracingResolver(build_resolver(nameservers, zones, timeout))
    evaluation = aio.run(check_identity(resolver, address, mail_from, helo or "unknown"))
    data: dict[str, Any] = {"schema": SCHEMA_VERSION, **evaluation.to_json()}
    data["receiver_says"] = receiver_words(evaluation.result.value, address, evaluation.domain, evaluation.explanation)
    data["queries"] = [q.to_json() for q in resolver.trace]
    if output_format == "json":
        click.echo(dumps(data))
    else:
        console = Console(highlight=False)
        render_evaluation(data, console)
        if verbose:
            console.print("\nSteps:\n" + "\n".join("  " + s for s in evaluation.steps))
            console.print(
                "DNS queries:\n"
                + "\n".join(f"  {q['name']} {q['type']}: {q['outcome']} {' | '.join(q['records'])}" for q in data["queries"])
            )
    finish(0 if evaluation.result is SpfResult.PASS else 1)


def receiver_words(result: str, ip: str, domain: str, explanation: str) -> str:
    """What a receiver writes in Received-SPF for this result (the wording Gmail and others use)."""
    text = {
        "pass": f"domain of {domain} designates {ip} as permitted sender",
        "fail": f"domain of {domain} does not designate {ip} as permitted sender",
        "softfail": f"domain of transitioning {domain} does not designate {ip} as permitted sender",
        "neutral": f"{ip} is neither permitted nor denied by domain of {domain}",
        "none": f"domain of {domain} does not designate permitted sender hosts",
        "permerror": f"permanent error in processing the SPF record of {domain}",
        "temperror": f"temporary error in processing during lookup of {domain}",
    }[result]
    if result == "fail" and explanation and explanation != "DEFAULT":
        text += f" ({explanation})"
    return f"{result} ({text})"
