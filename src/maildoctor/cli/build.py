"""`maildoctor dmarc build`, `mta-sts build` and `bimi build`: the records to publish, built from
the domain's own (its current DMARC record, its MX hosts), with the steps around them."""

from __future__ import annotations

import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from maildoctor import aio
from maildoctor.checks.common import quote_txt, zone_line
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail
from maildoctor.dmarc.discovery import discover_dmarc
from maildoctor.fix.dmarc import STAGE_DAYS, dmarc_stages
from maildoctor.fix.mtasts import build_mtasts, mx_hosts
from maildoctor.records.dmarc import parse_dmarc
from maildoctor.render.json import dumps, versioned
from maildoctor.target import parse_domain

FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
NAMESERVER = click.option(
    "--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]", help="Ask this DNS server instead of the system's resolver."
)
TIMEOUT = click.option(
    "--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True, help="Seconds to wait for each DNS answer."
)


def _mailto(value: str, option: str) -> str:
    if not value.startswith("mailto:") or "@" not in value:
        fail(f"{option} {value!r}: give a mailto: address, e.g. mailto:dmarc-reports@example.com")
    return value


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dmarc build example.com --rua mailto:dmarc@example.com""",
)
def dmarc() -> None:
    """DMARC: build the policy in stages (dmarc build)."""


@dmarc.command(
    "build",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor dmarc build example.com --rua mailto:dmarc@example.com
  maildoctor dmarc build example.com --rua mailto:dmarc@example.com --start 2027-01-04 --format json""",
)
@click.argument("domain")
@click.option("--rua", required=True, metavar="mailto:ADDRESS", help="Where receivers send the aggregate reports.")
@click.option("--start", metavar="YYYY-MM-DD", help="When the first stage is published (default: today).")
@dns_options
@FORMAT
def dmarc_build(
    domain: str, rua: str, start: str | None, nameservers: tuple[str, ...], zones: tuple[Path, ...], timeout: float, output_format: str
) -> None:
    """A staged plan from the domain's current DMARC record to p=reject: each record with its date
    and what the reports must show before the next."""
    try:
        name = parse_domain(domain)
        first = datetime.date.fromisoformat(start) if start else datetime.date.today()
    except ValueError as exc:
        fail(str(exc))
    found = aio.run(discover_dmarc(build_resolver(nameservers, zones, timeout), name))
    if found.failure is not None:
        fail(f"the DMARC record of {name} could not be read ({found.failure.describe()}): the plan would start from a guess")
    current = parse_dmarc(found.records[0]) if len(found.records) == 1 and found.record_domain == name else None
    stages = dmarc_stages(name, _mailto(rua, "--rua"), current, first)
    if output_format == "json":
        click.echo(
            dumps(
                versioned(
                    {
                        "kind": "dmarc_build",
                        "domain": name,
                        "current": current.text if current else None,
                        "stages": [s.to_json() for s in stages],
                    }
                )
            )
        )
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]DMARC for {escape(name)}[/bold]: now " + (escape(current.text) if current else "no record of its own"))
    for number, stage in enumerate(stages, 1):
        console.print(f"\n[bold]{number}. from {stage.start.isoformat()}[/bold]")
        console.print("  " + escape(zone_line(f"_dmarc.{name}", 3600, "TXT", quote_txt(stage.record))))
        when = f"before the next stage ({STAGE_DAYS} days at least)" if number < len(stages) else "then"
        console.print(f"  [dim]{when}: {escape(stage.watch)}[/dim]")


@click.group(
    "mta-sts",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor mta-sts build example.com --out mta-sts.txt""",
)
def mta_sts() -> None:
    """MTA-STS: build the policy from the MX hosts (mta-sts build)."""


@mta_sts.command(
    "build",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor mta-sts build example.com
  maildoctor mta-sts build example.com --mode enforce --out mta-sts.txt""",
)
@click.argument("domain")
@click.option(
    "--mode",
    type=click.Choice(["testing", "enforce"]),
    default="testing",
    show_default=True,
    help="Start with testing; enforce once TLS-RPT reports are clean.",
)
@click.option("--rua", metavar="mailto:ADDRESS", help="Where TLS-RPT reports go (default: mailto:tls-reports@DOMAIN).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the policy file here.")
@dns_options
@FORMAT
def mtasts_build(
    domain: str,
    mode: str,
    rua: str | None,
    out_file: Path | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
    output_format: str,
) -> None:
    """The MTA-STS policy file from DOMAIN's MX hosts, its _mta-sts record with a fresh id, and the
    TLS-RPT record."""
    try:
        name = parse_domain(domain)
        hosts = aio.run(mx_hosts(build_resolver(nameservers, zones, timeout), name))
    except ValueError as exc:
        fail(str(exc))
    build = build_mtasts(name, hosts, mode, _mailto(rua or f"mailto:tls-reports@{name}", "--rua"))
    if out_file is not None:
        try:
            out_file.write_text(build.policy, "utf-8")
        except OSError as exc:
            fail(f"cannot write {out_file}: {exc.strerror}")
    if output_format == "json":
        click.echo(dumps(versioned({"kind": "mtasts_build", **build.to_json()})))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]MTA-STS for {escape(name)}[/bold] ({mode})")
    console.print(f"\nServe this file at {escape(build.url)} (HTTPS, a valid certificate for mta-sts.{escape(name)}, text/plain):")
    console.print(escape(build.policy).rstrip())
    console.print("\nPublish (change the id whenever the policy changes):")
    console.print("  " + escape(zone_line(f"_mta-sts.{name}", 3600, "TXT", quote_txt(build.txt))))
    console.print("  " + escape(zone_line(f"_smtp._tls.{name}", 3600, "TXT", quote_txt(build.tlsrpt))))
    console.print(f"  and an A/AAAA or CNAME record for mta-sts.{escape(name)} pointing at the web server.")
    if out_file is not None:
        console.print(f"Wrote {escape(str(out_file))}.")


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor bimi build example.com --logo https://example.com/bimi/logo.svg""",
)
def bimi() -> None:
    """BIMI: the record skeleton (bimi build)."""


@bimi.command(
    "build",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor bimi build example.com --logo https://example.com/bimi/logo.svg
  maildoctor bimi build example.com --logo https://example.com/logo.svg --vmc https://example.com/vmc.pem""",
)
@click.argument("domain")
@click.option("--logo", required=True, metavar="URL", help="The logo: an HTTPS URL of an SVG Tiny PS file.")
@click.option("--vmc", metavar="URL", help="The HTTPS URL of the Verified Mark Certificate (Gmail and Apple Mail need one).")
@FORMAT
def bimi_build(domain: str, logo: str, vmc: str | None, output_format: str) -> None:
    """The BIMI record for DOMAIN (default selector)."""
    try:
        name = parse_domain(domain)
    except ValueError as exc:
        fail(str(exc))
    for option, url in (("--logo", logo), ("--vmc", vmc)):
        if url is not None and not url.startswith("https://"):
            fail(f"{option} {url!r}: BIMI takes HTTPS URLs only")
    record = f"v=BIMI1; l={logo}; a={vmc or ''}"
    if output_format == "json":
        click.echo(dumps(versioned({"kind": "bimi_build", "domain": name, "name": f"default._bimi.{name}", "record": record})))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(escape(zone_line(f"default._bimi.{name}", 3600, "TXT", quote_txt(record))))
    console.print("[dim]BIMI is shown only when DMARC is at p=quarantine or p=reject for all mail (no pct below 100).[/dim]")
