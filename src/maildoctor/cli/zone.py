"""`maildoctor zone`: audit a zone file offline."""

from __future__ import annotations

from pathlib import Path

import click

from maildoctor.cli.common import (
    CONTEXT,
    emit,
    fail,
    output_options,
    run_with_status,
)
from maildoctor.dns.zonedata import NotAZone, ZoneLoadError, ZoneSet
from maildoctor.dns.zoneresolver import ZoneResolver
from maildoctor.engine import run_audit
from maildoctor.findings import Report, make_finding
from maildoctor.target import Target, parse_domain, parse_ip
from maildoctor.zoneload import read_zone_source


@click.command(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor zone example.com.zone
  maildoctor zone db.example --origin example.com --format json
  maildoctor zone example.com.zone --ip 203.0.113.7 -v
  maildoctor zone example.com.zone --ip 2001:db8::25 --reverse-zone 0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone
\b
No network is used: every DNS question is answered from the file.""",
)
@click.argument("zonefile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--origin", help="The zone's domain, when the file has no $ORIGIN and is not named DOMAIN.zone.")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="A sending IP address (repeatable).")
@click.option("--dkim-selector", "-s", "selectors", multiple=True, metavar="SELECTOR", help="A DKIM selector in use (repeatable).")
@click.option(
    "--reverse-zone",
    "reverse_zones",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="The reverse zone of a --ip address (in-addr.arpa, ip6.arpa), to check its PTR; a file or a directory (repeatable).",
)
@output_options
def zone(
    zonefile: Path,
    origin: str | None,
    ips: tuple[str, ...],
    selectors: tuple[str, ...],
    reverse_zones: tuple[Path, ...],
    output_format: str,
    verbose: bool,
    fail_on: str,
) -> None:
    """Audit a zone file offline, before it is published."""
    try:
        if origin:
            origin = parse_domain(origin)
        parsed_ips = [parse_ip(i) for i in ips]
        source = read_zone_source(zonefile, origin)
    except (ValueError, NotAZone) as exc:
        fail(str(exc))
    except ZoneLoadError as exc:
        report = Report(target=origin or zonefile.name, kind="zone")
        report.findings.append(
            make_finding(
                "zone.parse_error",
                f"{zonefile} does not parse",
                str(exc),
                evidence=[str(exc)],
                fix="Correct the line named above; nothing else was checked.",
            )
        )
        emit(report, output_format, verbose, fail_on)
    target = Target(domain=source.domain, ips=parsed_ips, dkim_selectors=list(selectors), known_selectors=source.dkim_selectors())
    try:
        zones = ZoneSet.from_paths(list(reverse_zones))
    except (ValueError, ZoneLoadError) as exc:
        fail(f"--reverse-zone: {exc}")
    zones.add(source.loaded)
    report = run_with_status(run_audit(target, ZoneResolver(zones), zone=source), output_format, str(zonefile))
    emit(report, output_format, verbose, fail_on)
