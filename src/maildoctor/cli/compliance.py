"""`maildoctor compliance`: each big provider's sender rules, checked for a domain and a sample message."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from maildoctor import aio
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail, finish
from maildoctor.compliance import FAIL, PASS, UNKNOWN, compliance, one_click_url
from maildoctor.engine import run_audit
from maildoctor.message.analyse import analyse_message
from maildoctor.message.options import MessageOptions
from maildoctor.probes.links import one_click_post
from maildoctor.render.json import versioned
from maildoctor.target import Target, parse_domain, parse_ip

STYLE = {PASS: "green", FAIL: "bold red", UNKNOWN: "yellow", "not_applicable": "dim"}


@click.command(
    "compliance",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor compliance example.com
  maildoctor compliance example.com --message sample.eml --daily-volume 20000
  maildoctor compliance example.com --message sample.eml --ip 203.0.113.7 --format json
\b
Exit status: 0 no rule fails, 1 a rule fails, 2 bad input. A rule that could not be checked is
unknown (and said), never a pass.""",
)
@click.argument("domain")
@click.option(
    "--message", "message_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A sample message as received (.eml)."
)
@click.option("--daily-volume", type=click.IntRange(0), help="Messages a day: the bulk-sender rules apply over the providers' thresholds.")
@click.option("--ip", "ip", metavar="IP", help="The sending IP (for the reverse DNS rules).")
@click.option("--probe", is_flag=True, help="POST to the message's one-click unsubscribe URL, as a provider does (public addresses only).")
@click.option("--probe-allow-private", is_flag=True, hidden=True)
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="Extra CA certificates to trust for --probe (a private CA).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@dns_options
def compliance_command(
    domain: str,
    message_file: Path | None,
    daily_volume: int | None,
    ip: str | None,
    probe: bool,
    probe_allow_private: bool,
    cafile: str | None,
    output_format: str,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """The sender rules of Gmail, Yahoo, Outlook.com, GMX/Web.de and Apple, each pass, fail or
    unknown, with the provider's wording and rejection code."""
    try:
        name = parse_domain(domain)
        ips = [parse_ip(ip)] if ip else []
        data = message_file.read_bytes() if message_file else None
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read {message_file}: {exc.strerror}")
    resolver = build_resolver(nameservers, zones, timeout)
    audit = aio.run(run_audit(Target(domain=name, ips=ips), resolver, areas=("spf", "dkim", "dmarc", "rdns")))
    message = aio.run(analyse_message(data, resolver, MessageOptions(audit_domain=False))) if data is not None else None
    if probe and message is None:
        fail("--probe needs --message: it posts to the message's one-click unsubscribe URL")
    posted = None
    url = one_click_url(message) if message is not None and probe else ""
    if url:
        posted = aio.run(one_click_post(resolver, url, probe_allow_private, cafile))
    results = compliance(audit, message, daily_volume, bool(ips), posted)
    if output_format == "json":
        click.echo(json.dumps(versioned({"kind": "compliance", "domain": name, "rules": [r.to_json() for r in results]}), indent=2))
    else:
        table = Table(title=f"Sender rules for {name}", title_justify="left", header_style="bold", show_lines=False)
        for column in ("provider", "rule", "state", "why", "code"):
            table.add_column(column)
        for r in results:
            hint = ""
            if r.state == UNKNOWN:  # what would let the rule be checked
                hint = " (give --ip)" if r.check == "ptr" and not ips else " (give --message)" if data is None and r.check != "ptr" else ""
            state = f"[{STYLE[r.state]}]{r.state.replace('_', ' ')}[/{STYLE[r.state]}]"
            table.add_row(escape(r.provider), escape(r.words), state, escape(r.evidence + hint), escape(r.code))
        Console(highlight=False).print(table)
    finish(1 if any(r.state == FAIL for r in results) else 0)
