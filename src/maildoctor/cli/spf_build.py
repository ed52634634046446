"""`maildoctor spf build`: an SPF record from what sends for a domain, evaluated before it is offered."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from maildoctor import aio
from maildoctor.checks.common import quote_txt, zone_line
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail
from maildoctor.fix.spf import LOOKUP_LIMIT, build_spf, providers
from maildoctor.render.json import dumps, versioned
from maildoctor.target import parse_domain


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor spf build example.com --mx --ip 203.0.113.7
  maildoctor spf build example.com --mx --a --ip 203.0.113.7 --include google --include mailchimp
  maildoctor spf build example.com --include spf.example.net --all fail --format json
\b
Known services for --include: """
    + ", ".join(sorted(providers()))
    + """ (or give the include's domain).""",
)
@click.argument("domain")
@click.option("--mx", is_flag=True, help="The domain's MX hosts send mail.")
@click.option("--a", "a_record", is_flag=True, help="The host the domain's A/AAAA records name sends mail.")
@click.option("--ip", "ips", multiple=True, metavar="IP[/PREFIX]", help="An address or network that sends mail (repeatable).")
@click.option("--include", "includes", multiple=True, metavar="SERVICE|DOMAIN", help="A sending service (repeatable).")
@click.option("--all", "all_term", type=click.Choice(["softfail", "fail"]), default="softfail", show_default=True, help="~all or -all.")
@dns_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def spf_build(
    domain: str,
    mx: bool,
    a_record: bool,
    ips: tuple[str, ...],
    includes: tuple[str, ...],
    all_term: str,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
) -> None:
    """Build DOMAIN's SPF record: its DNS lookups counted as receivers count them (the limit is
    10), flattened to addresses when they are more."""
    try:
        name = parse_domain(domain)
        resolver = build_resolver(nameservers, zones, timeout)
        build = aio.run(build_spf(resolver, name, mx, a_record, list(ips), list(includes), "~all" if all_term == "softfail" else "-all"))
    except ValueError as exc:
        fail(str(exc))
    if output_format == "json":
        click.echo(dumps(versioned({"kind": "spf_build", **build.to_json()})))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]SPF record for {escape(name)}[/bold] ({build.lookups}/{LOOKUP_LIMIT} DNS lookups)")
    console.print(escape(zone_line(name, 3600, "TXT", quote_txt(build.record))))
    for note in build.notes:
        console.print(f"[dim]{escape(note)}[/dim]")
    console.print("Publish it as the only TXT record starting with v=spf1 at the domain (replace any other).")
