"""`maildoctor audience analyse` and `audience clean`: a recipient list by provider, and cleaned."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from maildoctor import aio
from maildoctor.audience.hygiene import KEPT, UNCHECKED, Hygiene, judge_list, resolve_list
from maildoctor.cli.common import CONTEXT, build_resolver, dns_options, fail, open_database, storage_options
from maildoctor.render.json import versioned

LIST = click.argument("recipients", type=click.Path(exists=True, dir_okay=False, path_type=Path))
SUPPRESSIONS = click.option(
    "--suppressions", is_flag=True, help="Also reject the addresses on the suppression list (bounces, complaints) in --data."
)


@click.group(
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor audience analyse recipients.csv
  maildoctor audience clean recipients.csv --out clean.csv --rejected rejected.csv --suppressions""",
)
def audience() -> None:
    """A recipient list: who runs each recipient's mail (Google, Microsoft, ...) and what to remove
    before sending."""


def _hygiene(
    recipients: Path,
    suppressions: bool,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> Hygiene:
    resolver = build_resolver(nameservers, zones, timeout)
    try:
        domains = aio.run(resolve_list(resolver, recipients))
    except OSError as exc:
        fail(f"cannot read {recipients}: {exc.strerror}")
    suppressed: frozenset[str] = frozenset()
    if suppressions:
        from maildoctor.feedback.ingest import suppressions as suppressed_addresses

        suppressed = frozenset(str(s["address"]).lower() for s in suppressed_addresses(open_database(data_dir, db)))
    return Hygiene(domains=domains, suppressed=suppressed)


@audience.command(
    "analyse",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor audience analyse recipients.csv
  maildoctor audience analyse recipients.txt --format json --nameserver 127.0.0.1:5353
  maildoctor audience analyse recipients.csv --suppressions --data /var/lib/maildoctor
\b
The list is a CSV with an email column (email, e-mail, address, mail) or one address per line.""",
)
@LIST
@SUPPRESSIONS
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@storage_options
@dns_options
def analyse(
    recipients: Path,
    suppressions: bool,
    output_format: str,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Count the recipients by the provider that runs their mail (by MX: a company domain on
    Google Workspace is Google) and by what would be removed, and why."""
    hygiene = _hygiene(recipients, suppressions, data_dir, db, nameservers, zones, timeout)
    for _ in judge_list(hygiene, recipients):
        pass
    summary = hygiene.summary()
    if output_format == "json":
        click.echo(json.dumps(versioned({"kind": "audience", **summary}), indent=2))
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["provider", "addresses", "share"])
        for row in summary["providers"]:
            writer.writerow([row["provider"], row["addresses"], row["share"]])
        return
    console = Console(highlight=False)
    console.print(
        f"[bold]{summary['addresses']} addresses[/bold]: {summary['kept']} kept, {summary['rejected']} to remove"
        + (f", {summary['unchecked']} whose domain did not answer (kept)" if summary["unchecked"] else "")
    )
    table = Table(title="By provider (the addresses kept)", title_justify="left", header_style="bold")
    for column in ("provider", "addresses", "share"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for row in summary["providers"]:
        table.add_row(escape(row["provider"]), str(row["addresses"]), f"{row['share']:.1%}")
    console.print(table)
    for reason, count in summary["reasons"].items():
        console.print(f"  {reason.replace('_', ' ')}: {count}")


@audience.command(
    "clean",
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  maildoctor audience clean recipients.csv --out clean.csv --rejected rejected.csv
  maildoctor audience clean recipients.csv --out clean.csv --rejected rejected.csv --suppressions""",
)
@LIST
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The addresses kept (the same rows)."
)
@click.option(
    "--rejected",
    "rejected_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The addresses removed, with the reason.",
)
@SUPPRESSIONS
@storage_options
@dns_options
def clean(
    recipients: Path,
    out_path: Path,
    rejected_path: Path,
    suppressions: bool,
    data_dir: Path,
    db: str | None,
    nameservers: tuple[str, ...],
    zones: tuple[Path, ...],
    timeout: float,
) -> None:
    """Write the list without the addresses that would bounce, trap or complain, and those removed
    with a reason each."""
    hygiene = _hygiene(recipients, suppressions, data_dir, db, nameservers, zones, timeout)
    try:
        with (
            out_path.open("w", newline="") as out,
            rejected_path.open("w", newline="") as rejected,
        ):
            kept_writer, rejected_writer = csv.writer(out), csv.writer(rejected)
            header_done = False
            for row, text, verdict in judge_list(hygiene, recipients):
                if not header_done:
                    names = list(row) if row is not None else ["email"]
                    kept_writer.writerow(names)
                    rejected_writer.writerow([*names, "reason", "detail"])
                    header_done = True
                values = list(row.values()) if row is not None else [text]
                if verdict.reason in (KEPT, UNCHECKED):
                    kept_writer.writerow(values)
                else:
                    rejected_writer.writerow([*values, verdict.reason, verdict.detail])
    except OSError as exc:
        fail(f"cannot write the lists: {exc.strerror}")
    summary = hygiene.summary()
    click.echo(
        f"{summary['kept']} kept in {out_path}, {summary['rejected']} removed in {rejected_path}"
        + "".join(f"; {r.replace('_', ' ')} {n}" for r, n in summary["reasons"].items())
    )
