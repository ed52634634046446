"""The command line: parse arguments, build a target and a resolver, run the engine, render."""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from maildoctor import __version__
from maildoctor.dns.answer import Resolver
from maildoctor.dns.chain import ZonesThenResolver
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.zonedata import ZoneLoadError, ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import run_audit
from maildoctor.findings import Report, Severity, make_finding
from maildoctor.render.json import render_json
from maildoctor.render.terminal import render_terminal
from maildoctor.target import Target, parse_domain, parse_ip
from maildoctor.zoneload import read_zone_source

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FAIL_ON = ["critical", "error", "warning", "notice", "info", "never"]


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2, never a traceback."""
    click.echo(f"maildoctor: error: {message}", err=True)
    sys.exit(2)


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True,
                        help="Exit with status 1 when a finding at or above this severity is found.")(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Show the evidence of each finding and every DNS query made.")(func)
    func = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
                        show_default=True, help="text for people, json for scripts (quiet: only the JSON on stdout).")(func)
    return func


def dns_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True,
                        help="Seconds to wait for each DNS answer (two attempts).")(func)
    func = click.option("--zone", "zones", multiple=True, type=click.Path(exists=True, path_type=Path),
                        help="Answer DNS from zone files: a *.zone file or a directory of them (repeatable).")(func)
    func = click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]",
                        help="Ask this DNS server instead of the system's resolver (repeatable).")(func)
    return func


def build_resolver(nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float) -> Resolver:
    try:
        servers = [Nameserver.parse(n) for n in nameservers]
    except ValueError as exc:
        fail(str(exc))
    live = LiveResolver(servers or None, timeout=timeout) if servers or not zones else None
    if not zones:
        assert live is not None
        return live
    try:
        zone_set = ZoneSet.from_paths(list(zones))
    except ZoneLoadError as exc:
        fail(f"cannot read zone file: {exc}")
    if not zone_set.zones:
        fail(f"no zone files (*.zone) found in {', '.join(map(str, zones))}")
    return ZonesThenResolver(zone_set, live) if live else ZoneResolver(zone_set)


def emit(report: Report, output_format: str, verbose: bool, fail_on: str) -> NoReturn:
    if output_format == "json":
        click.echo(render_json(report))
    else:
        render_terminal(report, Console(highlight=False), verbose=verbose)
    worst = report.worst()
    threshold = None if fail_on == "never" else Severity.parse(fail_on)
    sys.exit(1 if threshold is not None and worst is not None and worst >= threshold else 0)


def run_with_status(coro: Any, output_format: str, what: str) -> Any:
    console = Console(stderr=True)
    if output_format == "text" and console.is_terminal:
        with console.status(f"Auditing {what}…"):
            return asyncio.run(coro)
    return asyncio.run(coro)


@click.group(context_settings=CONTEXT, epilog="""\b
Examples:
  maildoctor check example.com
  maildoctor check example.com --ip 203.0.113.7 --format json
  maildoctor zone example.com.zone
Run 'maildoctor COMMAND --help' for each command's options.""")
@click.version_option(__version__, prog_name="maildoctor")
def main() -> None:
    """Why do my mails end up in spam? maildoctor audits a sending domain, its DNS and its
    zone file, and says exactly what to change."""


@main.command(context_settings=CONTEXT, epilog="""\b
Examples:
  maildoctor check example.com
  maildoctor check example.com --ip 203.0.113.7 --ip 2001:db8::25
  maildoctor check example.com --nameserver 127.0.0.1:5353 --format json
  maildoctor check example.com --zone zones/          # DNS answered from zone files
  maildoctor check example.com --fail-on warning      # for CI: exit 1 on any warning
\b
Exit status: 0 nothing at or above --fail-on, 1 something was found, 2 bad input.""")
@click.argument("domain")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address, IPv4 or IPv6 (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@dns_options
@output_options
def check(domain: str, ips: tuple[str, ...], selectors: tuple[str, ...], nameservers: tuple[str, ...],
          zones: tuple[Path, ...], timeout: float, output_format: str, verbose: bool, fail_on: str) -> None:
    """Audit the mail set-up of DOMAIN over DNS."""
    try:
        target = Target(domain=parse_domain(domain), ips=[parse_ip(i) for i in ips], dkim_selectors=list(selectors))
    except ValueError as exc:
        fail(str(exc))
    resolver = build_resolver(nameservers, zones, timeout)
    report = run_with_status(run_audit(target, resolver), output_format, target.domain)
    emit(report, output_format, verbose, fail_on)


@main.command(context_settings=CONTEXT, epilog="""\b
Examples:
  maildoctor zone example.com.zone
  maildoctor zone db.example --origin example.com --format json
  maildoctor zone example.com.zone --ip 203.0.113.7 -v
\b
No network is used: every DNS question is answered from the file.""")
@click.argument("zonefile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--origin", help="The zone's domain, when the file has no $ORIGIN and is not named DOMAIN.zone.")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@output_options
def zone(zonefile: Path, origin: str | None, ips: tuple[str, ...], selectors: tuple[str, ...],
         output_format: str, verbose: bool, fail_on: str) -> None:
    """Audit a zone file offline, before it is published."""
    try:
        if origin:
            origin = parse_domain(origin)
        parsed_ips = [parse_ip(i) for i in ips]
        source = read_zone_source(zonefile, origin)
    except ValueError as exc:
        fail(str(exc))
    except ZoneLoadError as exc:
        report = Report(target=origin or zonefile.name, kind="zone")
        report.findings.append(make_finding(
            "zone.parse_error", f"{zonefile} does not parse", str(exc),
            evidence=[str(exc)], fix="Correct the line named above; nothing else was checked.",
        ))
        emit(report, output_format, verbose, fail_on)
    found = [s for s in source.dkim_selectors() if s not in selectors]
    target = Target(domain=source.domain, ips=parsed_ips, dkim_selectors=list(selectors) + found)
    report = run_with_status(run_audit(target, ZoneResolver(ZoneSet([source.loaded])), zone=source),
                             output_format, str(zonefile))
    emit(report, output_format, verbose, fail_on)
